/*
 * cmd_outbox.c - segctl outbox [list] | retry ID | cancel ID: the copies
 * waiting, sent and failed, and what an operator may do about them.
 *
 * A retried job goes back to the queue due now; the running segmilter's
 * workers pick it up at their next look (within seconds).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "conf.h"
#include "outbox.h"
#include "parse.h"
#include "store_outbox.h"

#define OUTBOX_USAGE	"usage: segctl outbox [list] [--format text|csv|json]" \
	" | retry ID | cancel ID"

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static const struct cli_column job_columns[] = {
	{ "job", 1 }, { "kind", 0 }, { "state", 0 }, { "campaign", 0 },
	{ "variant", 0 }, { "recipients", 1 }, { "attempts", 1 },
	{ "queued", 0 }, { "due", 0 }, { "last_error", 0 }, { "ref", 0 },
};

/* What a sent job became: the copy's queue id, the SMS gateway's id. */
static const char *
job_ref(const struct store_job *j)
{
	return j->gateway_ref != NULL && j->gateway_ref[0] != '\0' ?
	    j->gateway_ref : NULL;
}

static int
print_job(const struct store_job *j, void *arg)
{
	struct cli_rows *rows = arg;
	char created[32], next[32], id[24], n[24], attempts[24];

	format_time(j->created_at, created, sizeof(created));
	format_time(j->next_at, next, sizeof(next));
	if (rows != NULL) {
		snprintf(id, sizeof(id), "%" PRId64, j->id);
		snprintf(n, sizeof(n), "%d", count_lines(j->recipients));
		snprintf(attempts, sizeof(attempts), "%" PRId64, j->attempts);
		cli_rows_add(rows, (const char *const[]){ id, j->kind,
		    store_job_state_name(j->state), j->campaign_id,
		    j->variant, n, attempts, created, j->state == JOB_QUEUED ?
		    next : NULL, j->last_error, job_ref(j) });
		return 0;
	}
	printf("%-6" PRId64 " %-5s %-9s %-20s %-12s %5d %8" PRId64
	    "  %s  %s%s%s%s%s\n", j->id, j->kind,
	    store_job_state_name(j->state), j->campaign_id, j->variant,
	    count_lines(j->recipients), j->attempts, created,
	    j->state == JOB_QUEUED ? "due " : "", j->state == JOB_QUEUED ?
	    next : "", j->last_error != NULL && j->state != JOB_SENT ?
	    j->last_error : "", j->state == JOB_SENT && job_ref(j) ? "as " :
	    "", j->state == JOB_SENT && job_ref(j) ? job_ref(j) : "");
	return 0;
}

static int
outbox_set(struct cli *cli, struct store *st, const char *verb,
    const char *arg)
{
	struct conf *cf = cli_conf(cli);
	char hash[65];
	enum store_job_state to;
	struct store_job *j;
	int64_t id, now = cli->now, due;
	const char *why;
	int rc;

	if (parse_int(arg, 1, INT64_MAX, &id, &why) == -1) {
		cli_warnx("%s: '%s': %s", verb, arg, why);
		return 2;
	}
	/* one transaction, the job's row locked: a worker must not claim
	 * the job between its state read here and its change */
	if (store_begin(st) == -1) {
		cli_warnx("outbox: %s", store_error(st));
		return 1;
	}
	if ((rc = store_outbox_get_locked(st, id, &j)) != 0) {
		if (rc == 1)
			cli_warnx("no outbox job %" PRId64, id);
		else
			cli_warnx("outbox: %s", store_error(st));
		store_rollback(st);
		return 1;
	}
	if (strcmp(verb, "retry") == 0) {
		to = JOB_QUEUED;
		rc = j->state == JOB_FAILED || j->state == JOB_CANCELLED ||
		    j->state == JOB_QUEUED;
	} else {
		to = JOB_CANCELLED;
		rc = j->state == JOB_QUEUED || j->state == JOB_FAILED;
	}
	if (!rc) {
		cli_warnx("job %" PRId64 " is %s: %s", id,
		    store_job_state_name(j->state), to == JOB_QUEUED ?
		    "only queued, failed or cancelled jobs are retried" :
		    "only queued or failed jobs are cancelled");
		store_job_free(j);
		store_rollback(st);
		return 1;
	}
	/* a retried copy still waits for its send_after */
	due = j->not_before > now ? j->not_before : now;
	conf_hash_hex(cf, hash);
	rc = store_outbox_update(st, id, to, due, to == JOB_QUEUED ? NULL :
	    "cancelled by segctl", now) == -1 ||
	    outbox_audit_job(st, j, to == JOB_QUEUED ? "copy_retried" :
	    "copy_cancelled", "by segctl outbox", hash, now, NULL) == -1 ||
	    store_commit(st) == -1;
	store_job_free(j);
	if (rc) {
		cli_warnx("outbox: %s", store_error(st));
		store_rollback(st);
		return 1;
	}
	if (!cli->quiet)
		printf("job %" PRId64 ": %s\n", id, store_job_state_name(to));
	return 0;
}

int
cmd_outbox(struct cli *cli, int argc, char **argv)
{
	enum cli_format fmt = CLI_TEXT;
	struct cli_rows *rows = NULL;
	const char *verb;
	struct store *st;
	int rc;

	/* outbox [list] --format F */
	if (argc >= 3 && strcmp(argv[argc - 2], "--format") == 0) {
		if (cli_format_parse(argv[argc - 1], &fmt) == -1) {
			cli_warnx("%s", OUTBOX_USAGE);
			return 2;
		}
		argc -= 2;
	}
	verb = argc > 1 ? argv[1] : "list";
	if (!((strcmp(verb, "list") == 0 && argc <= 2) ||
	    ((strcmp(verb, "retry") == 0 || strcmp(verb, "cancel") == 0) &&
	    argc == 3))) {
		cli_warnx("%s", OUTBOX_USAGE);
		return 2;
	}
	if ((st = cli_store(cli, strcmp(verb, "list") == 0 ? STORE_READONLY :
	    0)) == NULL)
		return 1;
	if (strcmp(verb, "list") == 0) {
		if (fmt == CLI_TEXT)
			printf("%-6s %-5s %-9s %-20s %-12s %5s %8s  %-20s  %s\n",
			    "job", "kind", "state", "campaign", "variant",
			    "rcpts", "attempts", "queued", "due / last error");
		else
			rows = cli_rows_begin(fmt, job_columns,
			    sizeof(job_columns) / sizeof(job_columns[0]));
		rc = store_outbox_scan(st, print_job, rows) == -1 ? 1 : 0;
		if (rc != 0)
			cli_warnx("outbox: %s", store_error(st));
		if (rows != NULL && cli_rows_end(rows) == -1)
			rc = 1;
	} else {
		rc = outbox_set(cli, st, verb, argv[2]);
	}
	store_close(st);
	return rc;
}
