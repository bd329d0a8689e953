/*
 * cmd_report.c - segctl report [--format text|csv|json] CAMPAIGN | --last N:
 * what happened to a campaign, by segment: for email, delivered and
 * suppressed by reason; for SMS (when the campaign has any), sent, still
 * queued, failed or expired at the gateway, and refused by reason.
 *
 * Read from the audit log, so the segment is the one each recipient was
 * in when segmilter decided, whatever rebuilds happened since.  A
 * delivery whose copy failed, expired or was cancelled in the outbox is
 * counted as not_sent.  Then what came back from the deliveries (segctl
 * bounce): hard and soft bounces and complaints by segment and variant,
 * each as a rate of the deliveries, the figure mailbox providers judge a
 * sender by (Gmail and Yahoo want complaints under 0.3%).  Last, what
 * the recipients did (report.h, lift.h): their orders within the
 * attribution window per segment, variant and arm, and the arms
 * compared.  --last N pools that last part over the N latest campaigns.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "campaign.h"
#include "cli.h"
#include "csv.h"
#include "parse.h"
#include "policy.h"
#include "report.h"
#include "report_out.h"
#include "store_report.h"
#include "xalloc.h"

#define REPORT_SEGMENTS	64
#define REPORT_COLUMNS	16
#define REPORT_DECISIONS 5	/* audit decisions in one column, at most */

/* A column and the audit decisions counted in it. */
struct report_column {
	const char	*name;
	const char	*decisions[REPORT_DECISIONS];
};


/* Email: the policy reasons; a retried copy is on its way again. */
_Static_assert(POLICY_NREASONS == 13, "email_columns names every reason");
static const struct report_column email_columns[] = {
	{ "deliver", { "deliver", "broad", "copy_retried", "copy_passed" } },
	{ "unknown", { "unknown" } },
	{ "duplicate", { "duplicate" } },
	{ "unsubscribed", { "unsubscribed" } },
	{ "no_consent", { "no_consent" } },
	{ "bounced", { "bounced" } },
	{ "audience", { "audience" } },
	{ "fatigued", { "fatigued" } },
	{ "held_out", { "held_out" } },
	{ "bad_record", { "bad_record" } },
	{ "goal_met", { "goal_met", "copy_goal_met" } },
	{ "by_sms", { "by_sms" } },
	{ "cannot_hold", { "cannot_hold" } },
	{ "not_sent", { "copy_failed", "copy_expired", "copy_cancelled",
	    "copy_withdrawn" } },
	{ NULL, { NULL } }
};

static const struct report_column sms_columns[] = {
	{ "sent", { "sms_sent" } },
	{ "queued", { "queued", "sms_retried" } },
	{ "failed", { "sms_failed", "sms_cancelled" } },
	{ "expired", { "sms_expired" } },
	{ "withdrawn", { "sms_withdrawn" } },
	{ "opted_out", { "opted_out" } },
	{ "no_sms_consent", { "no_sms_consent" } },
	{ "no_evidence", { "no_evidence" } },
	{ "bad_number", { "bad_number" } },
	{ "duplicate", { "duplicate" } },
	{ "capped", { "capped" } },
	{ "too_long", { "too_long", "no_text" } },
	{ "no_place", { "no_place" } },
	{ NULL, { NULL } }
};

struct report {
	const struct report_column *cols;
	int	 ncols;
	char	 segment[REPORT_SEGMENTS][64];
	int64_t	 count[REPORT_SEGMENTS][REPORT_COLUMNS];
	int64_t	 total[REPORT_COLUMNS];
	size_t	 nsegments;
};

static int
report_row(const char *segment, const char *decision, int64_t count,
    void *arg)
{
	struct report *r = arg;
	size_t i;
	int d, k;

	if (segment == NULL || *segment == '\0')
		segment = "(none)";
	for (d = 0; d < r->ncols; d++) {
		for (k = 0; k < REPORT_DECISIONS &&
		    r->cols[d].decisions[k] != NULL; k++)
			if (strcmp(decision, r->cols[d].decisions[k]) == 0)
				break;
		if (k < REPORT_DECISIONS && r->cols[d].decisions[k] != NULL)
			break;
	}
	if (d == r->ncols)
		return 0;
	for (i = 0; i < r->nsegments; i++)
		if (strcmp(r->segment[i], segment) == 0)
			break;
	if (i == r->nsegments) {
		if (i == REPORT_SEGMENTS)
			return 0;
		snprintf(r->segment[i], sizeof(r->segment[i]), "%s", segment);
		r->nsegments++;
	}
	r->count[i][d] += count;
	r->total[d] += count;
	return 0;
}

static int
width(const struct report *r, int d)
{
	int n = (int)strlen(r->cols[d].name);

	return n > 7 ? n : 7;
}

static void
report_line(const struct report *r, const char *name, const int64_t *count)
{
	int64_t all = 0;
	int d;

	for (d = 0; d < r->ncols; d++)
		all += count[d];
	printf("%-12s %7" PRId64, name, all);
	for (d = 0; d < r->ncols; d++)
		printf(" %*" PRId64, width(r, d), count[d]);
	printf("\n");
}

static void
report_print(const struct report *r)
{
	size_t i;
	int d;

	printf("%-12s %7s", "segment", "total");
	for (d = 0; d < r->ncols; d++)
		printf(" %*s", width(r, d), r->cols[d].name);
	printf("\n");
	for (i = 0; i < r->nsegments; i++)
		report_line(r, r->segment[i], r->count[i]);
	report_line(r, "all", r->total);
}

/* The deliveries' bounces and complaints, a row per segment and variant. */
struct bounce_line {
	char		 segment[64], variant[64];
	int64_t		 delivered, hard, soft, complaints;
};

struct bounces {
	struct bounce_line	*v;
	size_t			 n, cap;
	struct bounce_line	 all;
};

static int
bounce_row(const struct store_bounce_row *row, void *arg)
{
	struct bounces *b = arg;
	struct bounce_line *l;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	l = &b->v[b->n++];
	snprintf(l->segment, sizeof(l->segment), "%s", *row->segment ?
	    row->segment : "(none)");
	snprintf(l->variant, sizeof(l->variant), "%s", row->variant);
	l->delivered = row->delivered;
	l->hard = row->hard;
	l->soft = row->soft;
	l->complaints = row->complaints;
	b->all.delivered += row->delivered;
	b->all.hard += row->hard;
	b->all.soft += row->soft;
	b->all.complaints += row->complaints;
	return 0;
}

static void
bounce_text(const struct bounce_line *b)
{
	double n = b->delivered > 0 ? (double)b->delivered : 1;

	printf("%-12s %-10s %9" PRId64 " %7" PRId64 " %7" PRId64 " %10" PRId64
	    " %6.2f%% %6.2f%% %9.2f%%\n", b->segment, b->variant, b->delivered,
	    b->hard, b->soft, b->complaints, 100.0 * (double)b->hard / n,
	    100.0 * (double)b->soft / n, 100.0 * (double)b->complaints / n);
}

static void
bounces_text(const struct bounces *b)
{
	size_t i;

	if (b->n == 0)
		return;
	printf("\nbounces and complaints, of the recipients delivered to"
	    " (segctl bounce):\n%-12s %-10s %9s %7s %7s %10s %7s %7s %10s\n",
	    "segment", "variant", "delivered", "hard", "soft", "complaints",
	    "hard", "soft", "complaint");
	for (i = 0; i < b->n; i++)
		bounce_text(&b->v[i]);
	bounce_text(&b->all);
}

/* CHANNEL's rows for CAMPAIGN into R; 0, or -1 (reported). */
static int
report_load(struct store *st, const char *campaign, const char *channel,
    const struct report_column *cols, struct report *r)
{
	memset(r, 0, sizeof(*r));
	r->cols = cols;
	while (cols[r->ncols].name != NULL)
		r->ncols++;
	if (store_campaign_report(st, campaign, channel, report_row, r) ==
	    -1) {
		cli_warnx("report: %s", store_error(st));
		return -1;
	}
	return 0;
}

/* The decisions of R (CHANNEL) as CSV rows or JSON members. */
static void
report_csv(const struct report *r, const char *channel)
{
	size_t i;
	int d;

	for (i = 0; i < r->nsegments; i++)
		for (d = 0; d < r->ncols; d++) {
			if (r->count[i][d] == 0)
				continue;
			printf("decision,%s,", channel);
			csv_write_field(stdout, r->segment[i]);
			printf(",%s,%" PRId64 "\n", r->cols[d].name,
			    r->count[i][d]);
		}
}

static void
report_json(JsonBuilder *b, const struct report *r, const char *channel)
{
	size_t i;
	int d;

	json_builder_set_member_name(b, channel);
	json_builder_begin_array(b);
	for (i = 0; i < r->nsegments; i++) {
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "segment");
		json_builder_add_string_value(b, r->segment[i]);
		for (d = 0; d < r->ncols; d++) {
			json_builder_set_member_name(b, r->cols[d].name);
			json_builder_add_int_value(b, r->count[i][d]);
		}
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

static void
bounces_json(JsonBuilder *b, const struct bounces *bo)
{
	size_t i;

	json_builder_set_member_name(b, "bounces");
	json_builder_begin_array(b);
	for (i = 0; i < bo->n; i++) {
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "segment");
		json_builder_add_string_value(b, bo->v[i].segment);
		json_builder_set_member_name(b, "variant");
		json_builder_add_string_value(b, bo->v[i].variant);
		json_builder_set_member_name(b, "delivered");
		json_builder_add_int_value(b, bo->v[i].delivered);
		json_builder_set_member_name(b, "hard");
		json_builder_add_int_value(b, bo->v[i].hard);
		json_builder_set_member_name(b, "soft");
		json_builder_add_int_value(b, bo->v[i].soft);
		json_builder_set_member_name(b, "complaints");
		json_builder_add_int_value(b, bo->v[i].complaints);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

struct pool {
	struct store			*st;
	const struct conf		*cf;
	const struct campaign_set	*set;	/* NULL: files unreadable */
	const struct report_windows	*w;
	struct lift			*l;
	JsonBuilder			*names;	/* JSON: the campaigns */
	int64_t				 n;
};

static int
pool_one(const char *campaign, void *arg)
{
	struct pool *p = arg;

	p->n++;
	if (p->names != NULL)
		json_builder_add_string_value(p->names, campaign);
	return report_lift(p->st, &p->cf->seg, campaign, p->set != NULL ?
	    campaign_find(p->set, campaign) : NULL, 1, p->w, p->l);
}

/* --last N: the lift pooled over the latest campaigns. */
static int
report_last(struct store *st, const struct conf *cf,
    const struct campaign_set *set, int64_t n, enum cli_format fmt,
    const struct report_windows *w)
{
	struct pool p = { st, cf, set, w, NULL, NULL, 0 };
	struct lift l;
	JsonBuilder *b = NULL;
	int rc;

	lift_init(&l);
	p.l = &l;
	if (fmt == CLI_JSON) {
		b = json_builder_new();
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "campaigns");
		json_builder_begin_array(b);
		p.names = b;
	}
	rc = store_recent_campaigns(st, n, pool_one, &p);
	if (b != NULL)
		json_builder_end_array(b);
	if (rc != 0) {
		cli_warnx("report: %s", store_error(st));
		lift_free(&l);
		if (b != NULL)
			g_object_unref(b);
		return 1;
	}
	lift_compare(&l, cf->report.min_effect_points / 100);
	if (fmt == CLI_TEXT) {
		printf("the %" PRId64 " latest campaigns, pooled per segment"
		    " and arm\n", p.n);
		report_lift_text(stdout, &l, cf, 0);
	} else if (fmt == CLI_CSV) {
		report_lift_csv(stdout, &l);
	} else {
		report_lift_json(b, &l, cf);
		json_builder_end_object(b);
		rc = cli_json_print(b);
		g_object_unref(b);
	}
	lift_free(&l);
	return rc != 0;
}

/* The funnel from the decisions: every column but deliver suppressed. */
static void
report_html(const struct report *r, const char *campaign, int64_t now,
    const struct lift *l, const struct conf *cf)
{
	struct report_funnel f[REPORT_SEGMENTS];
	char when[32];
	size_t i;
	int d;

	for (i = 0; i < r->nsegments; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		f[i].segment = r->segment[i];
		for (d = 0; d < r->ncols; d++) {
			f[i].total += r->count[i][d];
			if (strcmp(r->cols[d].name, "deliver") == 0)
				f[i].delivered = r->count[i][d];
			else if (strcmp(r->cols[d].name, "held_out") == 0)
				f[i].held_out = r->count[i][d];
		}
	}
	format_time(now, when, sizeof(when));
	report_lift_html(stdout, campaign, when, f, r->nsegments, l, cf);
}

#define REPORT_USAGE	"usage: segctl report [--format text|csv|json|html]" \
	" CAMPAIGN | --last N"

int
cmd_report(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "last", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	enum cli_format fmt = CLI_TEXT;
	struct report_windows w;
	struct campaign_set *set = NULL;
	struct report email, sms;
	struct store_closed_campaign closed;
	struct bounces b;
	struct lift l;
	struct store *st;
	struct conf *cf;
	JsonBuilder *jb;
	const char *campaign;
	char err[4096], closed_on[32], *end;
	long long last = 0;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f' && strcmp(optarg, "html") == 0)
			fmt = CLI_HTML;
		else if (c == 'f' && cli_format_parse(optarg, &fmt) == 0)
			continue;
		else if (c == 'l') {
			last = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || last < 1 ||
			    last > 1000) {
				cli_warnx("--last: '%s' is not 1 to 1000",
				    optarg);
				return 2;
			}
		} else {
			cli_warnx("%s", REPORT_USAGE);
			return 2;
		}
	}
	if (argc - optind != (last > 0 ? 0 : 1)) {
		cli_warnx("%s", REPORT_USAGE);
		return 2;
	}
	if (last > 0 && fmt == CLI_HTML) {
		cli_warnx("--format html: one campaign at a time");
		return 2;
	}
	if ((cf = cli_conf(cli)) == NULL ||
	    (st = cli_store(cli, STORE_READONLY)) == NULL)
		return 1;
	w.email_s = cf->report.attribution_days * 86400;
	w.sms_s = cf->report.sms_attribution_days * 86400;
	/* the files, for their codes; gone or broken, the rest counts */
	if (campaign_set_load(cf->milter.campaigns_dir, NULL, &set, err,
	    sizeof(err)) == -1)
		set = NULL;
	if (last > 0) {
		rc = report_last(st, cf, set, last, fmt, &w);
		campaign_set_free(set);
		store_close(st);
		return rc;
	}
	campaign = argv[optind];
	if (report_load(st, campaign, "email", email_columns, &email) == -1 ||
	    report_load(st, campaign, "sms", sms_columns, &sms) == -1) {
		campaign_set_free(set);
		store_close(st);
		return 1;
	}
	/* closed: the decisions are the audit's (unless archived), the
	 * lift had the ledger */
	memset(&closed, 0, sizeof(closed));
	if ((rc = store_campaign_closed(st, campaign, &closed)) == -1)
		cli_warnx("report: %s", store_error(st));
	else if (rc == 0)
		format_time(closed.closed_at, closed_on, sizeof(closed_on));
	if (email.nsegments == 0 && rc == 0)
		cli_warnx("campaign '%s': closed by retention %s (%lld"
		    " decided, %lld delivered); its decisions are in the audit"
		    " archives", campaign, closed_on,
		    (long long)closed.decided, (long long)closed.delivered);
	else if (email.nsegments == 0 && rc == 1)
		cli_warnx("campaign '%s': no decisions recorded", campaign);
	if (email.nsegments == 0 || rc == -1) {
		campaign_set_free(set);
		store_close(st);
		return 1;
	}
	memset(&b, 0, sizeof(b));
	snprintf(b.all.segment, sizeof(b.all.segment), "all");
	lift_init(&l);
	if ((rc = store_campaign_bounces(st, campaign, bounce_row, &b)) ==
	    -1 || (rc = report_lift(st, &cf->seg, campaign, set != NULL ?
	    campaign_find(set, campaign) : NULL, 0, &w, &l)) == -1)
		cli_warnx("report: %s", store_error(st));
	store_close(st);
	campaign_set_free(set);
	if (rc == -1) {
		free(b.v);
		lift_free(&l);
		return 1;
	}
	lift_compare(&l, cf->report.min_effect_points / 100);
	switch (fmt) {
	case CLI_TEXT:
		printf("campaign %s: recipients by segment at the time of"
		    " sending\n", campaign);
		report_print(&email);
		if (closed.closed_at != 0)
			printf("closed by retention %s: %lld decided, %lld"
			    " delivered; no figures per arm\n", closed_on,
			    (long long)closed.decided,
			    (long long)closed.delivered);
		bounces_text(&b);
		if (sms.nsegments > 0) {
			printf("\nSMS, recipients the email went to in the"
			    " campaign's SMS segments:\n");
			report_print(&sms);
		}
		report_lift_text(stdout, &l, cf, 1);
		break;
	case CLI_CSV:
		printf("table,channel,segment,decision,count\n");
		report_csv(&email, "email");
		report_csv(&sms, "sms");
		report_lift_csv(stdout, &l);
		break;
	case CLI_HTML:
		report_html(&email, campaign, cli->now, &l, cf);
		break;
	case CLI_JSON:
		jb = json_builder_new();
		json_builder_begin_object(jb);
		json_builder_set_member_name(jb, "campaign");
		json_builder_add_string_value(jb, campaign);
		if (closed.closed_at != 0) {
			json_builder_set_member_name(jb, "closed_at");
			json_builder_add_string_value(jb, closed_on);
		}
		json_builder_set_member_name(jb, "decisions");
		json_builder_begin_object(jb);
		report_json(jb, &email, "email");
		report_json(jb, &sms, "sms");
		json_builder_end_object(jb);
		bounces_json(jb, &b);
		report_lift_json(jb, &l, cf);
		json_builder_end_object(jb);
		rc = cli_json_print(jb);
		g_object_unref(jb);
		break;
	}
	free(b.v);
	lift_free(&l);
	return rc != 0;
}
