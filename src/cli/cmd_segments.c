/*
 * cmd_segments.c - segctl segments [rebuild] and segctl explain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "parse.h"
#include "segment.h"
#include "store.h"

static double
segments_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
segments_rebuild(struct cli *cli)
{
	struct segment_rebuild_stats stats;
	struct store *st;
	struct conf *cf;
	char err[1024], money[32];
	double t0;
	int i;

	if ((cf = cli_conf(cli)) == NULL || (st = cli_store(cli, STORE_BULK)) == NULL)
		return 1;
	t0 = segments_clock();
	if (segment_rebuild(st, cf, cli->now, &stats, err, sizeof(err)) ==
	    -1) {
		cli_warnx("rebuild: %s", err);
		store_close(st);
		return 1;
	}
	store_close(st);
	if (cli->quiet)
		return 0;
	printf("generation %lld: %lld customers in %.2f s\n",
	    (long long)stats.generation, (long long)stats.customers,
	    segments_clock() - t0);
	for (i = 0; i < LC_COUNT; i++)
		printf("  %-11s %lld\n", conf_lifecycle_name(cf->seg.priority[i]),
		    (long long)stats.counts[cf->seg.priority[i]]);
	if (stats.vip_threshold != INT64_MAX) {
		segment_format_money(stats.vip_threshold, money, sizeof(money));
		printf("VIP cut: %s %s (%s, top %g%% of %lld eligible)\n",
		    cf->seg.vip.metric == VIP_ORDER_COUNT ? "" : money,
		    cf->seg.vip.metric == VIP_ORDER_COUNT ? "" :
		    cf->seg.base_currency, conf_vip_metric_name(
		    cf->seg.vip.metric), cf->seg.vip.top_percent,
		    (long long)stats.vip_eligible);
	}
	return 0;
}

struct count_print {
	char	facet[32];
};

static int
segments_print_count(const char *facet, const char *value, int64_t count,
    void *arg)
{
	struct count_print *cp = arg;

	if (strcmp(cp->facet, facet) != 0) {
		snprintf(cp->facet, sizeof(cp->facet), "%s", facet);
		printf("%s\n", facet);
	}
	printf("  %-24s %lld\n", value, (long long)count);
	return 0;
}

int
cmd_segments(struct cli *cli, int argc, char **argv)
{
	struct store_segment_meta meta;
	struct count_print cp;
	struct store *st;
	char when[32];
	int rc;

	if (argc == 2 && strcmp(argv[1], "rebuild") == 0)
		return segments_rebuild(cli);
	if (argc != 1) {
		cli_warnx("usage: segctl segments [rebuild]");
		return 2;
	}
	if ((st = cli_store(cli, STORE_READONLY)) == NULL)
		return 1;
	rc = store_segment_meta(st, &meta);
	if (rc != 0) {
		if (rc == 1)
			cli_warnx("no segments yet: run `segctl segments"
			    " rebuild`");
		else
			cli_warnx("%s", store_error(st));
		store_close(st);
		return 1;
	}
	format_time(meta.built_at, when, sizeof(when));
	printf("generation %lld, built %s, %lld customers\n",
	    (long long)meta.generation, when, (long long)meta.customers);
	memset(&cp, 0, sizeof(cp));
	rc = store_segment_counts(st, segments_print_count, &cp);
	if (rc != 0)
		cli_warnx("%s", store_error(st));
	store_close(st);
	return rc != 0;
}

struct explain_ctx {
	const struct conf	*cf;
	int64_t			 now;
	int64_t			 threshold;
	struct segment_result	 res;
};

static int
explain_classify(const struct segment_facts *f, void *arg)
{
	struct explain_ctx *ctx = arg;

	segment_classify(&ctx->cf->seg, f, ctx->now, &ctx->res);
	ctx->res.lifecycle = segment_pick(&ctx->cf->seg, ctx->res.flags,
	    ctx->res.vip_eligible, ctx->res.vip_value, ctx->threshold,
	    &ctx->res.flags);
	return 0;
}

static void
explain_consent(struct store *st, int64_t id, enum store_channel ch)
{
	struct store_consent c;
	char when[32];
	int rc;

	rc = store_consent_get(st, id, ch, &c);
	printf("  %-11s ", ch == CHANNEL_SMS ? "sms" : "email");
	if (rc == 1) {
		printf("no record: no consent\n");
		return;
	}
	if (rc == -1) {
		printf("unreadable: %s\n", store_error(st));
		return;
	}
	format_time(c.recorded_at, when, sizeof(when));
	printf("%s %s via %s%s%s\n", c.granted ? "granted" : "revoked", when,
	    c.source, c.evidence ? ": " : "", c.evidence ? c.evidence : "");
}

static void
explain_engagement(struct store *st, int64_t id)
{
	struct store_engagement_summary sum;
	char when[32];
	int t, any = 0;

	if (store_engagement_summary(st, id, &sum) == -1)
		return;
	printf("engagement ");
	for (t = 0; t < ENG_COUNT; t++) {
		if (sum.count[t] == 0)
			continue;
		format_time(sum.last[t], when, sizeof(when));
		printf("%s %s %lld (last %.10s)", any ? "," : "",
		    store_engagement_name(t), (long long)sum.count[t], when);
		any = 1;
	}
	printf("%s\n", any ? "" : " none recorded");
}

static int
explain_source(const struct store_fact_source *f, void *arg)
{
	char at[32], arrived[32];

	(void)arg;
	format_time(f->at, at, sizeof(at));
	format_time(f->arrived, arrived, sizeof(arrived));
	if (f->kind == FACT_PROFILE)
		printf("  profile     ");
	else if (f->kind == FACT_ORDER)
		printf("  order %s of %s: ", f->ref, at);
	else
		printf("  %s %s: ", f->ref, at);
	if (f->source != NULL)
		printf("%s, arrived %s\n", f->source, arrived);
	else
		printf("source not recorded (written before schema 13)\n");
	return 0;
}

/* When each fact arrived, and from where. */
static void
explain_sources(struct store *st, int64_t id)
{
	int64_t more = 0;

	printf("facts\n");
	if (store_fact_sources(st, id, explain_source, NULL, &more) == -1) {
		printf("  unreadable: %s\n", store_error(st));
		return;
	}
	if (more > 0)
		printf("  (%lld older orders)\n", (long long)more);
}

int
cmd_explain(struct cli *cli, int argc, char **argv)
{
	struct store_segment_meta meta;
	struct segment_vip_cut cut;
	struct store_customer c;
	struct segment_result stored;
	struct explain_ctx ctx;
	struct store *st;
	struct conf *cf;
	struct buf out;
	char email[PARSE_EMAIL_MAX + 1], when[32];
	const char *why;
	int64_t id;
	int rc, have_meta, have_stored;

	if (argc != 2) {
		cli_warnx("usage: segctl explain EMAIL");
		return 2;
	}
	if (parse_email(argv[1], email, sizeof(email), &why) == -1) {
		cli_warnx("'%s': %s", argv[1], why);
		return 2;
	}
	if ((cf = cli_conf(cli)) == NULL ||
	    (st = cli_store(cli, STORE_READONLY)) == NULL)
		return 1;
	rc = store_customer_find(st, email, &id);
	if (rc != 0) {
		if (rc == 1)
			cli_warnx("%s: no such customer", email);
		else
			cli_warnx("%s", store_error(st));
		store_close(st);
		return 1;
	}
	have_meta = store_segment_meta(st, &meta) == 0;
	have_stored = have_meta && store_segment_get(st, id, &stored) == 0;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cf = cf;
	ctx.now = cli->now;
	ctx.threshold = have_meta && meta.vip_eligible > 0 ?
	    meta.vip_threshold : INT64_MAX;
	if (store_facts_get(st, id, explain_classify, &ctx) != 0 ||
	    store_customer_get(st, id, &c) != 0) {
		cli_warnx("%s", store_error(st));
		store_close(st);
		return 1;
	}
	printf("customer    %s (id %lld%s%s)\n", email, (long long)id,
	    c.external_id ? ", external " : "",
	    c.external_id ? c.external_id : "");
	if (have_stored) {
		format_time(meta.built_at, when, sizeof(when));
		printf("segment     %s (generation %lld, built %s)\n",
		    conf_lifecycle_name(stored.lifecycle),
		    (long long)meta.generation, when);
		if (stored.lifecycle != ctx.res.lifecycle)
			printf("            NOTE: the data and configuration now"
			    " give %s; run `segctl segments rebuild`\n",
			    conf_lifecycle_name(ctx.res.lifecycle));
	} else {
		printf("segment     %s (not yet materialised: run `segctl"
		    " segments rebuild`)\n",
		    conf_lifecycle_name(ctx.res.lifecycle));
	}
	buf_init(&out, 1 << 20);
	cut.threshold = ctx.threshold;
	cut.eligible = have_meta ? meta.vip_eligible : 0;
	segment_explain(&cf->seg, &ctx.res, &cut, cli->now, &out);
	fputs(buf_str(&out), stdout);
	buf_free(&out);
	printf("consent\n");
	explain_consent(st, id, CHANNEL_EMAIL);
	explain_consent(st, id, CHANNEL_SMS);
	explain_engagement(st, id);
	explain_sources(st, id);
	store_close(st);
	return 0;
}
