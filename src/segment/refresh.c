/*
 * refresh.c - one customer's segments again, as a change arrives
 * (segment.h, segment_refresh): the rebuild's classification, for one.
 */
#include <stdint.h>
#include <string.h>

#include "segment.h"
#include "store_segment.h"

struct refresh_ctx {
	const struct conf_segments	*rules;
	int64_t				 now;
	int64_t				 threshold;
	struct segment_result		 res;
	struct segment_result		 building;	/* no VIP cut yet */
	int				 found;
};

static int
refresh_classify(const struct segment_facts *f, void *arg)
{
	struct refresh_ctx *ctx = arg;

	segment_classify(ctx->rules, f, ctx->now, &ctx->res);
	ctx->building = ctx->res;
	ctx->res.lifecycle = segment_pick(ctx->rules, ctx->res.flags,
	    ctx->res.vip_eligible, ctx->res.vip_value, ctx->threshold,
	    &ctx->res.flags);
	ctx->building.lifecycle = segment_pick(ctx->rules,
	    ctx->building.flags, ctx->building.vip_eligible,
	    ctx->building.vip_value, INT64_MAX, &ctx->building.flags);
	ctx->found = 1;
	return 0;
}

int
segment_refresh(struct store *st, const struct conf_segments *rules,
    int64_t customer_id, int64_t now)
{
	struct store_segment_meta meta;
	struct refresh_ctx ctx;
	int rc;

	/* never built: the first rebuild classifies everyone */
	if ((rc = store_segment_meta(st, &meta)) != 0)
		return rc == 1 ? 0 : -1;
	memset(&ctx, 0, sizeof(ctx));
	ctx.rules = rules;
	ctx.now = now;
	ctx.threshold = meta.vip_eligible > 0 ? meta.vip_threshold :
	    INT64_MAX;
	if (store_facts_get(st, customer_id, refresh_classify, &ctx) != 0)
		return -1;
	if (!ctx.found)
		return 0;
	return store_segment_put(st, customer_id, &ctx.res, &ctx.building);
}
