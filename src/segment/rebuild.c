/*
 * rebuild.c - `segctl segments rebuild`: classify everyone, publish once.
 *
 * Pass 1 streams every customer's facts from a read-only handle (one
 * snapshot) and writes each classification into a new generation through
 * the caller's handle.  Reading runs in a thread of its own while this one
 * classifies and writes, through a small bounded queue of the facts'
 * copies: on two cores the halves overlap, and reading is the longer
 * (classifying in the reading thread left this one idle a third of the
 * time).  The queue passes customers a batch at a time: one hand-over each
 * would wake the other thread a million times (a tenth of the CPU time at
 * 1M customers, spent in futex calls).  Each handle stays with one
 * thread.  The VIP threshold is then the K-th highest value among
 * eligible customers, found by the store without holding a million
 * values in memory.  Pass 2 revisits the customers at or above it, and
 * the generation is published.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"
#include "store_segment.h"
#include "xalloc.h"

#define BATCH_LEN	64	/* customers handed over at once */
#define QUEUE_LEN	4	/* batches filled or being written */

/*
 * A customer's facts, copied out of the scan (the scan's own last only
 * for the call) into arrays and strings of the item's own, kept from one
 * batch to the next: the queue's memory is that of its largest customers.
 */
struct rebuild_item {
	struct segment_facts	 f;
	size_t			 orders_cap, lines_cap, events_cap;
	char			*strings;
	size_t			 strings_cap;
};

struct rebuild_batch {
	size_t			 n;
	struct rebuild_item	 items[BATCH_LEN];
};

struct rebuild_ctx {
	const struct conf_segments	*rules;
	int64_t				 now;
	struct store_rebuild		*rb;
	struct segment_rebuild_stats	*stats;
	int64_t				 threshold;
	progress_fn		 progress;
	void				*progress_arg;
	int64_t				 total;		/* about, for progress */

	/* the queue between the reading thread and the writing one: the
	 * batches from head on, count of them, are the writer's; the next
	 * one is the reader's while it fills it (filling) */
	pthread_mutex_t			 lock;
	pthread_cond_t			 not_empty, not_full;
	struct rebuild_batch		*queue;
	size_t				 head, count;
	struct rebuild_batch		*filling;
	int				 done;		/* reader finished */
	int				 stop;		/* writer failed */
	int				 scan_rc;
	struct store			*reader;
};

/* Adds what the rules could not read for one customer to the totals. */
static void
rebuild_note_misses(struct segment_rebuild_stats *stats,
    const struct segment_result *res)
{
	size_t i;

	stats->order_lines += res->order_lines;
	stats->uncategorised_lines += res->uncategorised_lines;
	if (res->unrated_orders == 0)
		return;
	stats->unrated_orders += res->unrated_orders;
	for (i = 0; i < stats->nunrated; i++)
		if (strcmp(stats->unrated[i], res->unrated_currency) == 0)
			return;
	if (stats->nunrated < SEGMENT_UNRATED_MAX)
		snprintf(stats->unrated[stats->nunrated++],
		    sizeof(stats->unrated[0]), "%s", res->unrated_currency);
}

/*
 * Copies S to *AT and moves *AT past it; with AT NULL, only counts its
 * bytes into *N.  Each of the facts' strings goes through here, so that
 * the counting and the copying name them once (rebuild_strings).
 */
static const char *
rebuild_string(const char *s, char **at, size_t *n)
{
	size_t len;

	if (s == NULL)
		return NULL;
	len = strlen(s) + 1;
	if (at == NULL) {
		*n += len;
		return s;
	}
	memcpy(*at, s, len);
	*at += len;
	return *at - len;
}

/* Every string of F (segment.h's struct segment_facts) through
 * rebuild_string: into F itself from AT, or with AT NULL counted. */
static void
rebuild_strings(struct segment_facts *f, char **at, size_t *n)
{
	struct segment_customer *c = &f->cust;
	size_t i;

	c->email = rebuild_string(c->email, at, n);
	c->country = rebuild_string(c->country, at, n);
	c->currency = rebuild_string(c->currency, at, n);
	c->language = rebuild_string(c->language, at, n);
	c->time_zone = rebuild_string(c->time_zone, at, n);
	c->account_type = rebuild_string(c->account_type, at, n);
	c->company = rebuild_string(c->company, at, n);
	c->tags = rebuild_string(c->tags, at, n);
	for (i = 0; i < f->norders; i++) {
		f->orders[i].financial_status =
		    rebuild_string(f->orders[i].financial_status, at, n);
		f->orders[i].currency = rebuild_string(f->orders[i].currency,
		    at, n);
	}
	for (i = 0; i < f->nlines; i++) {
		f->lines[i].sku = rebuild_string(f->lines[i].sku, at, n);
		f->lines[i].product = rebuild_string(f->lines[i].product, at,
		    n);
		f->lines[i].category = rebuild_string(f->lines[i].category,
		    at, n);
	}
	for (i = 0; i < f->nevents; i++)
		f->events[i].category = rebuild_string(f->events[i].category,
		    at, n);
}

/* F into IT, the reader's copy of it. */
static void
rebuild_keep(struct rebuild_item *it, const struct segment_facts *f)
{
	size_t need = 0;
	char *at;

	if (f->norders > it->orders_cap) {
		it->f.orders = xreallocarray(it->f.orders, f->norders,
		    sizeof(*f->orders));
		it->orders_cap = f->norders;
	}
	if (f->nlines > it->lines_cap) {
		it->f.lines = xreallocarray(it->f.lines, f->nlines,
		    sizeof(*f->lines));
		it->lines_cap = f->nlines;
	}
	if (f->nevents > it->events_cap) {
		it->f.events = xreallocarray(it->f.events, f->nevents,
		    sizeof(*f->events));
		it->events_cap = f->nevents;
	}
	it->f.cust = f->cust;
	it->f.norders = f->norders;
	it->f.nlines = f->nlines;
	it->f.nevents = f->nevents;
	if (f->norders > 0)
		memcpy(it->f.orders, f->orders, f->norders * sizeof(*f->orders));
	if (f->nlines > 0)
		memcpy(it->f.lines, f->lines, f->nlines * sizeof(*f->lines));
	if (f->nevents > 0)
		memcpy(it->f.events, f->events, f->nevents *
		    sizeof(*f->events));
	/* the pointers still name the scan's strings: count, then copy */
	rebuild_strings(&it->f, NULL, &need);
	if (need > it->strings_cap) {
		it->strings = xreallocarray(it->strings, need, 1);
		it->strings_cap = need;
	}
	at = it->strings;
	rebuild_strings(&it->f, &at, &need);
}

/* Hands the batch being filled to the writer.  0, or 1 if it stopped. */
static int
rebuild_hand_over(struct rebuild_ctx *ctx)
{
	int stop;

	pthread_mutex_lock(&ctx->lock);
	if (ctx->filling != NULL && ctx->filling->n > 0) {
		ctx->count++;
		pthread_cond_signal(&ctx->not_empty);
	}
	ctx->filling = NULL;
	stop = ctx->stop;
	pthread_mutex_unlock(&ctx->lock);
	return stop;
}

/* Reader thread: copies one customer's facts into the batch being
 * filled. */
static int
rebuild_queue(const struct segment_facts *f, void *arg)
{
	struct rebuild_ctx *ctx = arg;

	if (ctx->filling == NULL) {
		pthread_mutex_lock(&ctx->lock);
		while (ctx->count == QUEUE_LEN && !ctx->stop)
			pthread_cond_wait(&ctx->not_full, &ctx->lock);
		if (ctx->stop) {
			pthread_mutex_unlock(&ctx->lock);
			return 1;
		}
		/* the batch is ours until count says otherwise */
		ctx->filling = &ctx->queue[(ctx->head + ctx->count) %
		    QUEUE_LEN];
		ctx->filling->n = 0;
		pthread_mutex_unlock(&ctx->lock);
	}
	rebuild_keep(&ctx->filling->items[ctx->filling->n++], f);
	if (ctx->filling->n == BATCH_LEN)
		return rebuild_hand_over(ctx);
	return 0;
}

static void *
rebuild_reader(void *arg)
{
	struct rebuild_ctx *ctx = arg;
	int rc;

	rc = store_facts_scan(ctx->reader, rebuild_queue, ctx);
	/* the last batch, however full */
	if (rc == 0)
		rebuild_hand_over(ctx);
	pthread_mutex_lock(&ctx->lock);
	ctx->scan_rc = rc;
	ctx->done = 1;
	pthread_cond_signal(&ctx->not_empty);
	pthread_mutex_unlock(&ctx->lock);
	return NULL;
}

/* This thread: classifies one customer and writes the result. */
static int
rebuild_classify(struct rebuild_ctx *ctx, const struct segment_facts *f,
    struct segment_result *res)
{
	segment_classify(ctx->rules, f, ctx->now, res);
	/* provisional: as if nobody were VIP, until the cut is known */
	res->lifecycle = segment_pick(ctx->rules, res->flags,
	    res->vip_eligible, res->vip_value, INT64_MAX, &res->flags);
	ctx->stats->customers++;
	ctx->stats->counts[res->lifecycle]++;
	rebuild_note_misses(ctx->stats, res);
	return store_rebuild_add(ctx->rb, f->cust.id, res);
}

/* This thread: classifies and writes what the reader queues.  0, or -1 on
 * a store error. */
static int
rebuild_write(struct rebuild_ctx *ctx)
{
	struct segment_result res;
	struct rebuild_batch *b;
	int64_t written = 0;
	size_t i, n;

	for (;;) {
		pthread_mutex_lock(&ctx->lock);
		while (ctx->count == 0 && !ctx->done)
			pthread_cond_wait(&ctx->not_empty, &ctx->lock);
		if (ctx->count == 0) {
			pthread_mutex_unlock(&ctx->lock);
			return 0;
		}
		b = &ctx->queue[ctx->head];
		pthread_mutex_unlock(&ctx->lock);

		for (i = 0, n = b->n; i < n; i++)
			if (rebuild_classify(ctx, &b->items[i].f, &res) ==
			    -1) {
				pthread_mutex_lock(&ctx->lock);
				ctx->stop = 1;
				pthread_cond_signal(&ctx->not_full);
				pthread_mutex_unlock(&ctx->lock);
				return -1;
			}
		pthread_mutex_lock(&ctx->lock);
		ctx->head = (ctx->head + 1) % QUEUE_LEN;
		ctx->count--;
		pthread_cond_signal(&ctx->not_full);
		pthread_mutex_unlock(&ctx->lock);
		/* every 4,096 customers, as before batches: a batch divides it */
		written += (int64_t)n;
		if (ctx->progress != NULL &&
		    written / 4096 != (written - (int64_t)n) / 4096)
			ctx->progress(written, ctx->total, ctx->progress_arg);
	}
}

/* Pass 1.  0, or -1 with ERR. */
static int
rebuild_pass1(struct rebuild_ctx *ctx, struct store *st, char *err,
    size_t errlen)
{
	struct rebuild_item *it;
	pthread_t tid;
	size_t i;
	int wrc;

	ctx->queue = xcalloc(QUEUE_LEN, sizeof(*ctx->queue));
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_cond_init(&ctx->not_empty, NULL);
	pthread_cond_init(&ctx->not_full, NULL);
	if ((errno = pthread_create(&tid, NULL, rebuild_reader, ctx)) != 0) {
		snprintf(err, errlen, "rebuild: thread: %s", strerror(errno));
		wrc = -1;
		goto out;
	}
	wrc = rebuild_write(ctx);
	pthread_join(tid, NULL);
	if (wrc == -1)
		snprintf(err, errlen, "%s", store_error(st));
	else if (ctx->scan_rc != 0) {
		snprintf(err, errlen, "%s", store_error(ctx->reader));
		wrc = -1;
	}
out:
	pthread_cond_destroy(&ctx->not_full);
	pthread_cond_destroy(&ctx->not_empty);
	pthread_mutex_destroy(&ctx->lock);
	for (i = 0; i < QUEUE_LEN * BATCH_LEN; i++) {
		it = &ctx->queue[i / BATCH_LEN].items[i % BATCH_LEN];
		free(it->f.orders);
		free(it->f.lines);
		free(it->f.events);
		free(it->strings);
	}
	free(ctx->queue);
	return wrc;
}

static enum conf_lifecycle
rebuild_pick(unsigned flags, int eligible, int64_t value,
    enum conf_lifecycle old, unsigned *flags_out, void *arg)
{
	struct rebuild_ctx *ctx = arg;
	enum conf_lifecycle lc;

	lc = segment_pick(ctx->rules, flags, eligible, value, ctx->threshold,
	    flags_out);
	ctx->stats->counts[old]--;
	ctx->stats->counts[lc]++;
	return lc;
}

int
segment_rebuild(struct store *st, const struct conf *cf, int64_t now,
    progress_fn progress, void *arg,
    struct segment_rebuild_stats *stats, char *err, size_t errlen)
{
	struct store_segment_meta meta;
	struct rebuild_ctx ctx;
	struct store *reader = NULL;
	int64_t k;
	int rc;

	memset(stats, 0, sizeof(*stats));
	memset(&ctx, 0, sizeof(ctx));
	ctx.rules = &cf->seg;
	ctx.now = now;
	ctx.stats = stats;
	ctx.progress = progress;
	ctx.progress_arg = arg;

	if (store_open(store_path(st), STORE_READONLY | STORE_SCAN,
	    cf->store_timeout_ms, &reader, err, errlen) == -1)
		return -1;
	if (progress != NULL && store_facts_count(reader, &ctx.total) == -1) {
		snprintf(err, errlen, "%s", store_error(reader));
		store_close(reader);
		return -1;
	}
	if ((rc = store_rebuild_begin(st, &ctx.rb)) != 0) {
		snprintf(err, errlen, "%s", store_error(st));
		store_close(reader);
		return rc;
	}
	ctx.reader = reader;
	if (rebuild_pass1(&ctx, st, err, errlen) == -1)
		goto fail;
	store_close(reader);
	reader = NULL;

	if (store_rebuild_kth_value(ctx.rb, 0, &ctx.threshold,
	    &stats->vip_eligible) == -1)
		goto fail_store;
	k = segment_vip_count(ctx.rules, stats->vip_eligible);
	if (k > 0 && store_rebuild_kth_value(ctx.rb, k, &ctx.threshold,
	    &stats->vip_eligible) == -1)
		goto fail_store;
	/* With nobody eligible no value may pass as VIP. */
	if (k == 0)
		ctx.threshold = INT64_MAX;
	stats->vip_threshold = ctx.threshold;
	if (store_rebuild_assign(ctx.rb, ctx.threshold, rebuild_pick,
	    &ctx) == -1)
		goto fail_store;

	memset(&meta, 0, sizeof(meta));
	meta.built_at = now;
	meta.customers = stats->customers;
	meta.vip_threshold = ctx.threshold;
	meta.vip_eligible = stats->vip_eligible;
	snprintf(meta.vip_metric, sizeof(meta.vip_metric), "%s",
	    conf_vip_metric_name(ctx.rules->vip.metric));
	meta.vip_top_percent = ctx.rules->vip.top_percent;
	conf_hash_hex(cf, meta.config_hash);
	stats->generation = 0;
	if (store_rebuild_commit(ctx.rb, &meta) == -1) {
		snprintf(err, errlen, "%s", store_error(st));
		return -1;
	}
	if (store_segment_meta(st, &meta) == 0)
		stats->generation = meta.generation;
	return 0;

fail_store:
	snprintf(err, errlen, "%s", store_error(st));
fail:
	store_close(reader);
	store_rebuild_abort(ctx.rb);
	return -1;
}
