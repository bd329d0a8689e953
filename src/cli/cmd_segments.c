/*
 * cmd_segments.c - segctl segments [rebuild] and segctl explain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "parse.h"
#include "daemon.h"
#include "policy.h"
#include "progress.h"
#include "segment.h"
#include "store_lookup.h"
#include "store_record.h"
#include "store_segment.h"
#include "xalloc.h"

static double
segments_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * What the rules could not read is said even with -q: segments computed
 * from it are wrong in a way nobody would otherwise see.
 */
static void
segments_warn_misses(const struct segment_rebuild_stats *s,
    const struct conf_segments *rules)
{
	char list[SEGMENT_UNRATED_MAX * 5 + 8] = "";
	size_t i;

	if (s->uncategorised_lines > 0)
		cli_warnx("warning: %lld of %lld order lines map to no"
		    " category (no products export names their SKU, and"
		    " segments.categories matches nothing):"
		    " category interest and lapsed cycles leave them out",
		    (long long)s->uncategorised_lines,
		    (long long)s->order_lines);
	if (s->unrated_orders == 0)
		return;
	for (i = 0; i < s->nunrated; i++) {
		if (i > 0)
			strcat(list, ", ");
		strcat(list, s->unrated[i]);
	}
	if (s->nunrated == SEGMENT_UNRATED_MAX)
		strcat(list, ", ...");
	cli_warnx("warning: %lld order%s in %s, which"
	    " segments.currency_rates does not rate: counted 1:1 as %s in"
	    " spend, margin and the VIP cut", (long long)s->unrated_orders,
	    s->unrated_orders == 1 ? "" : "s", list, rules->base_currency);
}

static int
segments_rebuild(struct cli *cli)
{
	struct segment_rebuild_stats stats;
	struct progress bar;
	struct store *st;
	struct conf *cf;
	char err[1024], money[32];
	double t0;
	int i, rc, draw;

	if ((cf = cli_conf(cli)) == NULL ||
	    (st = cli_store(cli, STORE_BULK)) == NULL)
		return 1;
	draw = !cli->quiet && isatty(STDERR_FILENO);
	progress_start(&bar, stderr, "segments rebuild", "customers");
	t0 = segments_clock();
	rc = segment_rebuild(st, cf, cli->now, draw ? progress_step : NULL,
	    &bar, &stats, err, sizeof(err));
	if (draw)
		progress_clear(&bar);
	store_close(st);
	if (rc == -1) {
		cli_warnx("rebuild: %s", err);
		return 1;
	}
	/* the timers of a fleet's relays fire together: one builds */
	if (rc == 1) {
		if (!cli->quiet)
			printf("rebuild: %s: nothing done\n", err);
		return 0;
	}
	segments_warn_misses(&stats, &cf->seg);
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
	char		 facet[32];
	struct cli_rows	*rows;		/* --format csv or json */
};

static const struct cli_column count_columns[] = {
	{ "facet", 0 }, { "value", 0 }, { "customers", 1 },
};

static int
segments_print_count(const char *facet, const char *value, int64_t count,
    void *arg)
{
	struct count_print *cp = arg;
	char n[24];

	if (cp->rows != NULL) {
		snprintf(n, sizeof(n), "%lld", (long long)count);
		cli_rows_add(cp->rows, (const char *const[]){ facet, value,
		    n });
		return 0;
	}
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

	enum cli_format fmt = CLI_TEXT;

	if (argc == 2 && strcmp(argv[1], "rebuild") == 0)
		return segments_rebuild(cli);
	if (argc == 3 && strcmp(argv[1], "--format") == 0 &&
	    cli_format_parse(argv[2], &fmt) == 0)
		argc -= 2;
	if (argc != 1) {
		cli_warnx("usage: segctl segments [--format text|csv|json] |"
		    " segments rebuild");
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
	memset(&cp, 0, sizeof(cp));
	if (fmt == CLI_TEXT) {
		format_time(meta.built_at, when, sizeof(when));
		printf("generation %lld, built %s, %lld customers\n",
		    (long long)meta.generation, when,
		    (long long)meta.customers);
	} else
		cp.rows = cli_rows_begin(fmt, count_columns,
		    sizeof(count_columns) / sizeof(count_columns[0]));
	rc = store_segment_counts(st, segments_print_count, &cp);
	if (rc != 0)
		cli_warnx("%s", store_error(st));
	if (cp.rows != NULL && cli_rows_end(cp.rows) == -1)
		rc = -1;
	store_close(st);
	return rc != 0;
}

struct explain_ctx {
	const struct conf	*cf;
	int64_t			 now;
	int64_t			 threshold;
	struct segment_result	 res;
	struct segment_category	 cats[SEGMENT_MAX_CATEGORIES];
	size_t			 ncats;
};

static int
explain_classify(const struct segment_facts *f, void *arg)
{
	struct explain_ctx *ctx = arg;

	segment_classify(&ctx->cf->seg, f, ctx->now, &ctx->res);
	ctx->ncats = segment_categories(&ctx->cf->seg, f, ctx->now,
	    ctx->cats);
	ctx->res.lifecycle = segment_pick(&ctx->cf->seg, ctx->res.flags,
	    ctx->res.vip_eligible, ctx->res.vip_value, ctx->threshold,
	    &ctx->res.flags);
	return 0;
}

/* A section, key and value: explain's rows for --format csv or json. */
static const struct cli_column explain_columns[] = {
	{ "section", 0 }, { "key", 0 }, { "value", 0 },
};

static void
explain_row(struct cli_rows *rows, const char *section, const char *key,
    const char *value)
{
	cli_rows_add(rows, (const char *const[]){ section, key, value });
}

static void
explain_consent(struct store *st, int64_t id, enum store_channel ch,
    struct cli_rows *rows)
{
	const char *name = ch == CHANNEL_SMS ? "sms" : "email";
	struct store_consent c;
	char when[32], section[32];
	int rc;

	rc = store_consent_get(st, id, ch, &c);
	snprintf(section, sizeof(section), "consent.%s", name);
	if (rc != 0) {
		if (rows != NULL)
			explain_row(rows, section, "state", rc == 1 ? "none" :
			    "unreadable");
		else if (rc == 1)
			printf("  %-11s no record: no consent\n", name);
		else
			printf("  %-11s unreadable: %s\n", name,
			    store_error(st));
		return;
	}
	format_time(c.recorded_at, when, sizeof(when));
	if (rows == NULL) {
		printf("  %-11s %s %s via %s%s%s\n", name, c.granted ?
		    "granted" : "revoked", when, c.source, c.evidence ? ": " :
		    "", c.evidence ? c.evidence : "");
		return;
	}
	explain_row(rows, section, "state", c.granted ? "granted" : "revoked");
	explain_row(rows, section, "recorded_at", when);
	explain_row(rows, section, "source", c.source);
	explain_row(rows, section, "evidence", c.evidence);
}

static void
explain_engagement(struct store *st, int64_t id, struct cli_rows *rows)
{
	struct store_engagement_summary sum;
	char when[32], n[24], section[48];
	int t, any = 0;

	if (store_engagement_summary(st, id, &sum) == -1)
		return;
	if (rows == NULL)
		printf("engagement ");
	for (t = 0; t < ENG_COUNT; t++) {
		if (sum.count[t] == 0)
			continue;
		format_time(sum.last[t], when, sizeof(when));
		if (rows != NULL) {
			snprintf(section, sizeof(section), "engagement.%s",
			    store_engagement_name(t));
			snprintf(n, sizeof(n), "%lld", (long long)sum.count[t]);
			explain_row(rows, section, "count", n);
			explain_row(rows, section, "last", when);
			continue;
		}
		printf("%s %s %lld (last %.10s)", any ? "," : "",
		    store_engagement_name(t), (long long)sum.count[t], when);
		any = 1;
	}
	if (rows == NULL)
		printf("%s\n", any ? "" : " none recorded");
}

static int
explain_source(const struct store_fact_source *f, void *arg)
{
	struct cli_rows *rows = arg;
	char at[32], arrived[32], key[160], value[320];

	format_time(f->at, at, sizeof(at));
	format_time(f->arrived, arrived, sizeof(arrived));
	if (f->kind == FACT_PROFILE)
		snprintf(key, sizeof(key), "profile");
	else if (f->kind == FACT_ORDER)
		snprintf(key, sizeof(key), "order %s of %s", f->ref, at);
	else
		snprintf(key, sizeof(key), "%s %s", f->ref, at);
	if (f->source != NULL)
		snprintf(value, sizeof(value), "%s, arrived %s", f->source,
		    arrived);
	else
		snprintf(value, sizeof(value), "source not recorded (written"
		    " before schema 13)");
	if (rows != NULL)
		explain_row(rows, "facts", key, value);
	else if (f->kind == FACT_PROFILE)
		printf("  profile     %s\n", value);
	else
		printf("  %s: %s\n", key, value);
	return 0;
}

/* When each fact arrived, and from where. */
static void
explain_sources(struct store *st, int64_t id, struct cli_rows *rows)
{
	int64_t more = 0;
	char n[24];

	if (rows == NULL)
		printf("facts\n");
	if (store_fact_sources(st, id, explain_source, rows, &more) == -1) {
		if (rows == NULL)
			printf("  unreadable: %s\n", store_error(st));
		return;
	}
	if (more > 0 && rows != NULL) {
		snprintf(n, sizeof(n), "%lld", (long long)more);
		explain_row(rows, "facts", "older orders", n);
	} else if (more > 0)
		printf("  (%lld older orders)\n", (long long)more);
}

/*
 * Fatigue and the frequency cap: the counts the milter reads, and what
 * it would decide for a campaign to everyone now.
 */
static void
explain_fatigue(struct store *st, const struct conf *cf, const char *email,
    int64_t now, struct cli_rows *rows)
{
	const struct conf_policy *pol = &cf->policy;
	struct policy_campaign pc;
	struct store_recipient r;
	struct policy_facts f;
	struct policy_decision d;
	char last[32], answer[32], line[512], decision[256], cadence[48];

	if (store_recipient_get(st, email, "", now, pol->cap_window_hours *
	    3600, &r) == -1)
		return;
	daemon_policy_facts(&f, &r);
	memset(&pc, 0, sizeof(pc));
	policy_decide(pol, &pc, &f, now, &d);
	format_time(r.last_delivery_at, last, sizeof(last));
	format_time(r.last_answer_at, answer, sizeof(answer));
	if (r.min_gap_days > 0)
		snprintf(cadence, sizeof(cadence), "one every %lld d",
		    (long long)r.min_gap_days);
	else
		snprintf(cadence, sizeof(cadence), "none");
	snprintf(line, sizeof(line), "%lld campaigns unanswered since %s"
	    " (limit %lld); last delivered %s; %lld in the last %lld h (cap"
	    " %lld); personal cadence %s", (long long)r.unanswered,
	    r.last_answer_at > 0 ? answer : "ever",
	    (long long)pol->fatigue_unanswered,
	    r.last_delivery_at > 0 ? last : "never", (long long)r.in_window,
	    (long long)pol->cap_window_hours, (long long)pol->cap_count,
	    cadence);
	snprintf(decision, sizeof(decision), "%s%s%s",
	    policy_reason_name(d.reason), d.detail[0] ? ": " : "", d.detail);
	if (rows != NULL) {
		explain_row(rows, "fatigue", "state", line);
		explain_row(rows, "fatigue", "a campaign now", decision);
		return;
	}
	printf("fatigue     %s\n", line);
	printf("            a campaign to everyone now: %s\n", decision);
}

/* segment_explain's lines, one row each. */
static void
explain_rule_rows(struct cli_rows *rows, const char *text)
{
	const char *p, *eol;
	char key[16], *line;
	int n = 0;

	/* whole: the interests line alone may hold 32 categories */
	for (p = text; *p != '\0'; p = *eol ? eol + 1 : eol) {
		if ((eol = strchr(p, '\n')) == NULL)
			eol = p + strlen(p);
		line = xstrndup(p, (size_t)(eol - p));
		snprintf(key, sizeof(key), "%d", ++n);
		explain_row(rows, "rules", key, line);
		free(line);
	}
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
	char email[PARSE_EMAIL_MAX + 1], when[32], n[24];
	enum cli_format fmt = CLI_TEXT;
	struct cli_rows *rows = NULL;
	const char *why;
	int64_t id;
	int rc, have_meta, have_stored;

	if (argc == 4 && strcmp(argv[1], "--format") == 0) {
		if (cli_format_parse(argv[2], &fmt) == -1) {
			cli_warnx("usage: segctl explain [--format"
			    " text|csv|json] EMAIL");
			return 2;
		}
		argv += 2;
		argc -= 2;
	}
	if (argc != 2) {
		cli_warnx("usage: segctl explain [--format text|csv|json]"
		    " EMAIL");
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
	buf_init(&out, 1 << 20);
	cut.threshold = ctx.threshold;
	cut.eligible = have_meta ? meta.vip_eligible : 0;
	segment_explain(&cf->seg, &ctx.res, ctx.cats, ctx.ncats, &cut,
	    cli->now, &out);
	format_time(meta.built_at, when, sizeof(when));
	if (fmt != CLI_TEXT) {
		rows = cli_rows_begin(fmt, explain_columns,
		    sizeof(explain_columns) / sizeof(explain_columns[0]));
		snprintf(n, sizeof(n), "%lld", (long long)id);
		explain_row(rows, "customer", "email", email);
		explain_row(rows, "customer", "id", n);
		explain_row(rows, "customer", "external_id", c.external_id);
		explain_row(rows, "segment", "stored", have_stored ?
		    conf_lifecycle_name(stored.lifecycle) : NULL);
		snprintf(n, sizeof(n), "%lld", (long long)meta.generation);
		explain_row(rows, "segment", "generation", have_meta ? n :
		    NULL);
		explain_row(rows, "segment", "built_at", have_meta ? when :
		    NULL);
		explain_row(rows, "segment", "current",
		    conf_lifecycle_name(ctx.res.lifecycle));
		explain_rule_rows(rows, buf_str(&out));
	} else {
		printf("customer    %s (id %lld%s%s)\n", email, (long long)id,
		    c.external_id ? ", external " : "",
		    c.external_id ? c.external_id : "");
		if (have_stored) {
			printf("segment     %s (generation %lld, built %s)\n",
			    conf_lifecycle_name(stored.lifecycle),
			    (long long)meta.generation, when);
			if (stored.lifecycle != ctx.res.lifecycle)
				printf("            NOTE: the data and"
				    " configuration now give %s; run `segctl"
				    " segments rebuild`\n",
				    conf_lifecycle_name(ctx.res.lifecycle));
		} else {
			printf("segment     %s (not yet materialised: run"
			    " `segctl segments rebuild`)\n",
			    conf_lifecycle_name(ctx.res.lifecycle));
		}
		fputs(buf_str(&out), stdout);
		printf("consent\n");
	}
	buf_free(&out);
	explain_consent(st, id, CHANNEL_EMAIL, rows);
	explain_consent(st, id, CHANNEL_SMS, rows);
	explain_engagement(st, id, rows);
	explain_fatigue(st, cf, email, cli->now, rows);
	explain_sources(st, id, rows);
	store_close(st);
	if (rows != NULL && cli_rows_end(rows) == -1)
		return 1;
	return 0;
}
