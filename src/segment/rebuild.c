/*
 * rebuild.c - `segctl segments rebuild`: classify everyone, publish once.
 *
 * Pass 1 streams every customer's facts from a read-only handle (one
 * snapshot) and writes each classification into a new generation through
 * the caller's handle.  The VIP threshold is then the K-th highest value
 * among eligible customers, found by the store without holding a million
 * values in memory.  Pass 2 picks each lifecycle segment by priority, and
 * the generation is published.
 */
#include <stdio.h>
#include <string.h>

#include "segment.h"
#include "store.h"

struct rebuild_ctx {
	const struct conf_segments	*rules;
	int64_t				 now;
	struct store_rebuild		*rb;
	struct segment_rebuild_stats	*stats;
	int64_t				 threshold;
	struct segment_result		 res;	/* reused: it is large */
};

static int
rebuild_classify(const struct segment_facts *f, void *arg)
{
	struct rebuild_ctx *ctx = arg;

	segment_classify(ctx->rules, f, ctx->now, &ctx->res);
	ctx->stats->customers++;
	return store_rebuild_add(ctx->rb, f->cust.id, &ctx->res);
}

static enum conf_lifecycle
rebuild_pick(unsigned flags, int eligible, int64_t value, unsigned *flags_out,
    void *arg)
{
	struct rebuild_ctx *ctx = arg;
	enum conf_lifecycle lc;

	lc = segment_pick(ctx->rules, flags, eligible, value, ctx->threshold,
	    flags_out);
	ctx->stats->counts[lc]++;
	return lc;
}

int
segment_rebuild(struct store *st, const struct conf *cf, int64_t now,
    struct segment_rebuild_stats *stats, char *err, size_t errlen)
{
	struct store_segment_meta meta;
	struct rebuild_ctx ctx;
	struct store *reader = NULL;
	int64_t k;
	size_t i;

	memset(stats, 0, sizeof(*stats));
	memset(&ctx, 0, sizeof(ctx));
	ctx.rules = &cf->seg;
	ctx.now = now;
	ctx.stats = stats;

	if (store_open(store_path(st), STORE_READONLY, cf->store_timeout_ms,
	    &reader, err, errlen) == -1)
		return -1;
	if (store_rebuild_begin(st, &ctx.rb) == -1)
		goto fail_store;
	if (store_facts_scan(reader, rebuild_classify, &ctx) != 0) {
		snprintf(err, errlen, "%s", *store_error(reader) ?
		    store_error(reader) : store_error(st));
		goto fail;
	}
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
	if (store_rebuild_assign(ctx.rb, rebuild_pick, &ctx) == -1)
		goto fail_store;

	memset(&meta, 0, sizeof(meta));
	meta.built_at = now;
	meta.customers = stats->customers;
	meta.vip_threshold = ctx.threshold;
	meta.vip_eligible = stats->vip_eligible;
	snprintf(meta.vip_metric, sizeof(meta.vip_metric), "%s",
	    conf_vip_metric_name(ctx.rules->vip.metric));
	meta.vip_top_percent = ctx.rules->vip.top_percent;
	for (i = 0; i < sizeof(cf->hash); i++)
		snprintf(meta.config_hash + 2 * i, 3, "%02x", cf->hash[i]);
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
