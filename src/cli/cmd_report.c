/*
 * cmd_report.c - segctl report CAMPAIGN: what happened to a campaign, by
 * segment: delivered, and suppressed by reason.
 *
 * Read from the audit log, so the segment is the one each recipient was
 * in when segmilter decided, whatever rebuilds happened since.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "policy.h"
#include "store.h"

#define REPORT_SEGMENTS	64

struct report {
	char	 segment[REPORT_SEGMENTS][64];
	int64_t	 count[REPORT_SEGMENTS][POLICY_NREASONS];
	int64_t	 total[POLICY_NREASONS];
	size_t	 nsegments;
};

static int
report_row(const char *segment, const char *decision, int64_t count,
    void *arg)
{
	struct report *r = arg;
	size_t i;
	int d;

	if (segment == NULL || *segment == '\0')
		segment = "(none)";
	for (d = 0; d < POLICY_NREASONS; d++)
		if (strcmp(decision, policy_reason_name(d)) == 0)
			break;
	if (d == POLICY_NREASONS)
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
width(int d)
{
	int n = (int)strlen(policy_reason_name(d));

	return n > 7 ? n : 7;
}

static void
report_line(const char *name, const int64_t *count)
{
	int64_t all = 0;
	int d;

	for (d = 0; d < POLICY_NREASONS; d++)
		all += count[d];
	printf("%-12s %7" PRId64, name, all);
	for (d = 0; d < POLICY_NREASONS; d++)
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
	for (d = 0; d < POLICY_NREASONS; d++)
		printf(" %*s", width(d), policy_reason_name(d));
	printf("\n");
	for (i = 0; i < r.nsegments; i++)
		report_line(r.segment[i], r.count[i]);
	report_line("all", r.total);
	return 0;
}
