/*
 * cmd_report.c - segctl report CAMPAIGN: what happened to a campaign, by
 * segment: for email, delivered and suppressed by reason; for SMS (when
 * the campaign has any), sent, still queued, failed or expired at the
 * gateway, and refused by reason.
 *
 * Read from the audit log, so the segment is the one each recipient was
 * in when segmilter decided, whatever rebuilds happened since.  A
 * delivery whose copy failed, expired or was cancelled in the outbox is
 * counted as not_sent.  Then what came back from the deliveries (segctl
 * bounce): hard and soft bounces and complaints by segment and variant,
 * each as a rate of the deliveries, the figure mailbox providers judge a
 * sender by (Gmail and Yahoo want complaints under 0.3%).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "policy.h"
#include "store.h"

#define REPORT_SEGMENTS	64
#define REPORT_COLUMNS	16

/* A column and the audit decisions counted in it. */
struct report_column {
	const char	*name;
	const char	*decisions[5];
};

/* Email: the policy reasons; a retried copy is on its way again. */
_Static_assert(POLICY_NREASONS == 10, "email_columns names every reason");
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
	{ "not_sent", { "copy_failed", "copy_expired", "copy_cancelled" } },
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
		for (k = 0; k < 4 && r->cols[d].decisions[k] != NULL; k++)
			if (strcmp(decision, r->cols[d].decisions[k]) == 0)
				break;
		if (k < 4 && r->cols[d].decisions[k] != NULL)
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

/* The deliveries' bounces and complaints, a line per segment and variant. */
struct bounces {
	struct store_bounce_row	 all;
	int			 lines;
};

static void
bounce_line(const struct store_bounce_row *b)
{
	double n = b->delivered > 0 ? (double)b->delivered : 1;

	printf("%-12s %-10s %9" PRId64 " %7" PRId64 " %7" PRId64 " %10" PRId64
	    " %6.2f%% %6.2f%% %9.2f%%\n", b->segment, b->variant, b->delivered,
	    b->hard, b->soft, b->complaints, 100.0 * (double)b->hard / n,
	    100.0 * (double)b->soft / n, 100.0 * (double)b->complaints / n);
}

static int
bounce_row(const struct store_bounce_row *row, void *arg)
{
	struct bounces *b = arg;
	struct store_bounce_row r = *row;

	if (b->lines++ == 0)
		printf("\nbounces and complaints, of the recipients delivered"
		    " to (segctl bounce):\n%-12s %-10s %9s %7s %7s %10s %7s"
		    " %7s %10s\n", "segment", "variant", "delivered", "hard",
		    "soft", "complaints", "hard", "soft", "complaint");
	if (*r.segment == '\0')
		r.segment = "(none)";
	bounce_line(&r);
	b->all.delivered += r.delivered;
	b->all.hard += r.hard;
	b->all.soft += r.soft;
	b->all.complaints += r.complaints;
	return 0;
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

int
cmd_report(struct cli *cli, int argc, char **argv)
{
	struct report email, sms;
	struct bounces b;
	struct store *st;
	int rc;

	if (argc != 2) {
		cli_warnx("usage: segctl report CAMPAIGN");
		return 2;
	}
	if ((st = cli_store(cli, STORE_READONLY)) == NULL)
		return 1;
	if (report_load(st, argv[1], "email", email_columns, &email) == -1 ||
	    report_load(st, argv[1], "sms", sms_columns, &sms) == -1) {
		store_close(st);
		return 1;
	}
	if (email.nsegments == 0) {
		store_close(st);
		cli_warnx("campaign '%s': no decisions recorded", argv[1]);
		return 1;
	}
	printf("campaign %s: recipients by segment at the time of sending\n",
	    argv[1]);
	report_print(&email);
	memset(&b, 0, sizeof(b));
	b.all.segment = "all";
	b.all.variant = "";
	if ((rc = store_campaign_bounces(st, argv[1], bounce_row, &b)) == -1)
		cli_warnx("report: %s", store_error(st));
	else if (b.lines > 0)
		bounce_line(&b.all);
	store_close(st);
	if (rc == -1)
		return 1;
	if (sms.nsegments > 0) {
		printf("\nSMS, recipients the email went to in the campaign's"
		    " SMS segments:\n");
		report_print(&sms);
	}
	return 0;
}
