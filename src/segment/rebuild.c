/*
 * rebuild.c - `segctl segments rebuild`: classify everyone, publish once.
 *
 * Pass 1 streams every customer's facts from a read-only handle (one
 * snapshot) and writes each classification into a new generation through
 * the caller's handle.  Reading and classifying run in a thread of their
 * own while this one writes, through a small bounded queue: the two halves
 * cost about the same, and on two cores they overlap.  The queue passes
 * customers a batch at a time: one hand-over each would wake the other
 * thread a million times (a tenth of the CPU time at 1M customers, spent
 * in futex calls).  Each handle stays with one thread.  The VIP threshold
 * is then the K-th highest value among eligible customers, found by the
 * store without holding a million values in memory.  Pass 2 revisits the
 * customers at or above it, and the generation is published.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"
#include "store.h"
#include "xalloc.h"

#define BATCH_LEN	64	/* classified customers handed over at once */
#define QUEUE_LEN	4	/* batches filled or being written */

struct rebuild_item {
	int64_t			 customer_id;
	struct segment_result	 res;
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

/* Reader thread: classifies one customer into the batch being filled. */
static int
rebuild_classify(const struct segment_facts *f, void *arg)
{
	struct rebuild_ctx *ctx = arg;
	struct rebuild_item *it;

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
	it = &ctx->filling->items[ctx->filling->n++];
	it->customer_id = f->cust.id;
	segment_classify(ctx->rules, f, ctx->now, &it->res);
	/* provisional: as if nobody were VIP, until the cut is known */
	it->res.lifecycle = segment_pick(ctx->rules, it->res.flags,
	    it->res.vip_eligible, it->res.vip_value, INT64_MAX,
	    &it->res.flags);
	ctx->stats->customers++;
	ctx->stats->counts[it->res.lifecycle]++;
	rebuild_note_misses(ctx->stats, &it->res);

	if (ctx->filling->n == BATCH_LEN)
		return rebuild_hand_over(ctx);
	return 0;
}

static void *
rebuild_reader(void *arg)
{
	struct rebuild_ctx *ctx = arg;
	int rc;

	rc = store_facts_scan(ctx->reader, rebuild_classify, ctx);
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

/* This thread: writes what the reader queues.  0, or -1 on a store error. */
static int
rebuild_write(struct rebuild_ctx *ctx)
{
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
			if (store_rebuild_add(ctx->rb, b->items[i].customer_id,
			    &b->items[i].res) == -1) {
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
		written += (int64_t)n;
		if (ctx->progress != NULL)
			ctx->progress(written, ctx->total, ctx->progress_arg);
	}
}

/* Pass 1.  0, or -1 with ERR. */
static int
rebuild_pass1(struct rebuild_ctx *ctx, struct store *st, char *err,
    size_t errlen)
{
	pthread_t tid;
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
	if (store_rebuild_begin(st, &ctx.rb) == -1)
		goto fail_store;
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
