/*
 * cmd_report.c - segctl report CAMPAIGN: what happened to a campaign, by
 * segment: delivered, and suppressed by reason.
 *
 * Read from the audit log, so the segment is the one each recipient was
 * in when segmilter decided, whatever rebuilds happened since.  A
 * delivery whose copy failed, expired or was cancelled in the outbox is
 * counted as not_sent.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "policy.h"
#include "store.h"

#define REPORT_SEGMENTS	64

/* The policy reasons, then copies that never left: failed, expired or
 * cancelled in the outbox. */
#define REPORT_NOT_SENT	POLICY_NREASONS
#define REPORT_COLUMNS	(POLICY_NREASONS + 1)

struct report {
	char	 segment[REPORT_SEGMENTS][64];
	int64_t	 count[REPORT_SEGMENTS][REPORT_COLUMNS];
	int64_t	 total[REPORT_COLUMNS];
	size_t	 nsegments;
};

static const char *
column_name(int d)
{
	return d == REPORT_NOT_SENT ? "not_sent" : policy_reason_name(d);
}

static int
report_row(const char *segment, const char *decision, int64_t count,
    void *arg)
{
	struct report *r = arg;
	size_t i;
	int d;

	if (segment == NULL || *segment == '\0')
		segment = "(none)";
	/* a retried copy is on its way again: still a delivery */
	if (strcmp(decision, "copy_retried") == 0)
		decision = "deliver";
	for (d = 0; d < POLICY_NREASONS; d++)
		if (strcmp(decision, policy_reason_name(d)) == 0)
			break;
	if (d == POLICY_NREASONS) {
		if (strncmp(decision, "copy_", 5) != 0)
			return 0;
		d = REPORT_NOT_SENT;
	}
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
width(int d)
{
	int n = (int)strlen(column_name(d));

	return n > 7 ? n : 7;
}

static void
report_line(const char *name, const int64_t *count)
{
	int64_t all = 0;
	int d;

	for (d = 0; d < REPORT_COLUMNS; d++)
		all += count[d];
	printf("%-12s %7" PRId64, name, all);
	for (d = 0; d < REPORT_COLUMNS; d++)
		printf(" %*" PRId64, width(d), count[d]);
	printf("\n");
}

int
cmd_report(struct cli *cli, int argc, char **argv)
{
	struct report r;
	struct store *st;
	size_t i;
	int d;

	if (argc != 2) {
		cli_warnx("usage: segctl report CAMPAIGN");
		return 2;
	}
	if ((st = cli_store(cli, STORE_READONLY)) == NULL)
		return 1;
	memset(&r, 0, sizeof(r));
	if (store_campaign_report(st, argv[1], report_row, &r) == -1) {
		cli_warnx("report: %s", store_error(st));
		store_close(st);
		return 1;
	}
	store_close(st);
	if (r.nsegments == 0) {
		cli_warnx("campaign '%s': no decisions recorded", argv[1]);
		return 1;
	}
	printf("campaign %s: recipients by segment at the time of sending\n",
	    argv[1]);
	printf("%-12s %7s", "segment", "total");
	for (d = 0; d < REPORT_COLUMNS; d++)
		printf(" %*s", width(d), column_name(d));
	printf("\n");
	for (i = 0; i < r.nsegments; i++)
		report_line(r.segment[i], r.count[i]);
	report_line("all", r.total);
	return 0;
}
