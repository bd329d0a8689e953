/*
 * cmd_audit.c - segctl audit verify | export | reindex: the compliance
 * log.
 *
 * verify walks the whole chain and prints its head ("SEQ:HASH"), which an
 * auditor records and passes back with --expect later, and checks the
 * heads segmilter logged ("audit=SEQ:HASH" lines) in the files given
 * with --anchors: a chain that was rewritten or cut short no longer
 * matches them.  export writes JSON lines.  reindex
 * rebuilds the time index export starts from, which is no part of the
 * chain: verify tells a damaged index from a broken chain.  archive
 * moves the rows of past months into archive files, which verify and
 * export then read before the store's rows.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "conf.h"
#include "parse.h"
#include "store_audit.h"
#include "xalloc.h"

#define AUDIT_USAGE	"usage: segctl audit verify [--expect SEQ:HASH]" \
			" [--anchors FILE]...\n" \
			"       segctl audit export [--since TIME]\n" \
			"       segctl audit reindex\n" \
			"       segctl audit archive [--before TIME |" \
			" --keep-days N]"

/*
 * What --keep-days is without it: a year.  `segctl report` counts a
 * campaign's decisions from the store's audit rows, and a year of
 * campaigns keeps them.
 */
#define AUDIT_KEEP_DAYS	365

/* Heads to check the chain against: --expect's and --anchors'. */
struct anchors {
	struct audit_anchor	*v;
	size_t			 n, cap;
};

static void
anchors_add(struct anchors *a, const struct audit_anchor *one)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->v = xreallocarray(a->v, a->cap, sizeof(*a->v));
	}
	a->v[a->n++] = *one;
}

/* The anchors in PATH ("-": standard input) appended to A; 0 or -1. */
static int
read_anchors(const char *path, struct anchors *a)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;
	int rc = 0;

	fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (fp == NULL) {
		cli_warnx("--anchors: %s: %s", path, strerror(errno));
		return -1;
	}
	/* a line at a time: a log can be gigabytes, a head is one line */
	while ((n = getline(&line, &cap, fp)) != -1)
		audit_anchors_scan(line, (size_t)n, &a->v, &a->n, &a->cap);
	if (ferror(fp)) {
		cli_warnx("--anchors: %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (fp != stdin)
		fclose(fp);
	free(line);
	return rc;
}

static int
audit_archive_cmd(struct cli *cli, struct store *st, const char *dir,
    int64_t cut)
{
	struct audit_archive_report rep;
	char at[32];

	if (audit_archive(st, dir, cut, cli->now, &rep) == -1) {
		cli_warnx("audit archive: %s", rep.why);
		return 1;
	}
	if (cli->quiet)
		return 0;
	format_time(cut, at, sizeof(at));
	if (rep.files == 0)
		printf("no audit rows before %s to archive\n", at);
	else
		printf("%" PRId64 " audit rows (%" PRId64 " to %" PRId64 ")"
		    " before %s archived in %" PRId64 " files in %s\n",
		    rep.rows, rep.first_seq, rep.last_seq, at, rep.files,
		    dir);
	return 0;
}

static int
audit_verify_cmd(struct cli *cli, struct store *st, const char *dir,
    const struct anchors *a)
{
	struct audit_report rep;
	int rc;

	if ((rc = audit_verify(st, dir, a->v, a->n, &rep)) == -1) {
		cli_warnx("audit: %s", store_error(st));
		return 1;
	}
	if (rc == 1 && rep.unindexed_seq == 0) {
		printf("audit chain BROKEN after %" PRId64 " rows: %s\n",
		    rep.rows, rep.why);
		return 1;
	}
	if (!cli->quiet) {
		printf("audit chain intact: %" PRId64 " rows", rep.rows);
		if (rep.archives > 0)
			printf(" (%" PRId64 " archive files and the store)",
			    rep.archives);
		if (a->n > 0)
			printf(", %zu anchors found (the latest at row %"
			    PRId64 ")", rep.anchors_found, rep.anchor_last);
		printf("\n");
	}
	printf("head %" PRId64 ":%s\n", rep.head.seq, rep.head.hash);
	if (rc == 1) {
		printf("audit time index DAMAGED: %s; rebuild it with"
		    " `segctl audit reindex`\n", rep.why);
		return 1;
	}
	return 0;
}

/* What the options asked for. */
struct audit_opts {
	struct anchors	 anchors;
	int64_t		 since;		/* INT64_MIN: none */
	int64_t		 before;	/* INT64_MIN: none */
	int64_t		 keep;		/* -1: none */
};

/* ARGV's options after the verb into O: 0, or the exit status. */
static int
audit_getopt(int argc, char **argv, struct audit_opts *o)
{
	static const struct option longopts[] = {
		{ "anchors", required_argument, NULL, 'a' },
		{ "before", required_argument, NULL, 'b' },
		{ "expect", required_argument, NULL, 'e' },
		{ "keep-days", required_argument, NULL, 'k' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct audit_anchor one;
	const char *why;
	char *end;
	int ch;

	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			if (read_anchors(optarg, &o->anchors) == -1)
				return 1;
			break;
		case 'b':
			if (parse_time(optarg, &o->before, &why) == -1) {
				cli_warnx("--before: '%s': %s", optarg, why);
				return 2;
			}
			break;
		case 'e':
			if (audit_anchor_parse(optarg, &one) == -1) {
				cli_warnx("--expect: '%s' is not SEQ:HASH",
				    optarg);
				return 2;
			}
			anchors_add(&o->anchors, &one);
			break;
		case 'k':
			errno = 0;
			o->keep = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    o->keep < 0 || o->keep > 100 * 366) {
				cli_warnx("--keep-days: '%s' is not a number"
				    " of days", optarg);
				return 2;
			}
			break;
		case 's':
			if (parse_time(optarg, &o->since, &why) == -1) {
				cli_warnx("--since: '%s': %s", optarg, why);
				return 2;
			}
			break;
		default:
			cli_warnx("%s", AUDIT_USAGE);
			return 2;
		}
	}
	return 0;
}

/* Whether O's options are VERB's, and nothing follows them. */
static int
audit_opts_fit(const char *verb, const struct audit_opts *o, int rest)
{
	if (rest != 0 || (strcmp(verb, "verify") != 0 &&
	    strcmp(verb, "export") != 0 && strcmp(verb, "reindex") != 0 &&
	    strcmp(verb, "archive") != 0))
		return 0;
	if (o->anchors.n > 0 && strcmp(verb, "verify") != 0)
		return 0;
	if (o->since != INT64_MIN && strcmp(verb, "export") != 0)
		return 0;
	if ((o->before != INT64_MIN || o->keep != -1) &&
	    strcmp(verb, "archive") != 0)
		return 0;
	return o->before == INT64_MIN || o->keep == -1;
}

static int
audit_export_cmd(struct cli *cli, struct store *st, const char *dir,
    int64_t since)
{
	char err[512];
	int64_t rows;

	if ((rows = audit_export(st, dir, since, stdout, err,
	    sizeof(err))) == -1) {
		cli_warnx("audit export: %s", err);
		return 1;
	}
	if (fflush(stdout) != 0)
		return 1;
	if (!cli->quiet)
		fprintf(stderr, "segctl: %" PRId64 " audit rows exported\n",
		    rows);
	return 0;
}

int
cmd_audit(struct cli *cli, int argc, char **argv)
{
	struct audit_opts o = { { NULL, 0, 0 }, INT64_MIN, INT64_MIN, -1 };
	char dir[PATH_MAX];
	const char *verb;
	struct store *st;
	int rc;

	if (argc < 2) {
		cli_warnx("%s", AUDIT_USAGE);
		return 2;
	}
	verb = argv[1];
	if ((rc = audit_getopt(argc, argv, &o)) != 0) {
		free(o.anchors.v);
		return rc;
	}
	if (!audit_opts_fit(verb, &o, argc - optind)) {
		cli_warnx("%s", AUDIT_USAGE);
		free(o.anchors.v);
		return 2;
	}
	if (cli_archive_dir(cli, dir, sizeof(dir)) == -1 ||
	    (st = cli_store(cli, strcmp(verb, "reindex") == 0 ||
	    strcmp(verb, "archive") == 0 ? 0 : STORE_READONLY)) == NULL) {
		free(o.anchors.v);
		return 1;
	}
	if (o.before == INT64_MIN)
		o.before = cli->now - (o.keep == -1 ? AUDIT_KEEP_DAYS :
		    o.keep) * 86400;
	if (strcmp(verb, "verify") == 0)
		rc = audit_verify_cmd(cli, st, *dir ? dir : NULL, &o.anchors);
	else if (strcmp(verb, "archive") == 0 && *dir == '\0') {
		cli_warnx("audit archive: set audit.archive_dir: a PostgreSQL"
		    " store has no directory to keep archives beside");
		rc = 1;
	} else if (strcmp(verb, "archive") == 0)
		rc = audit_archive_cmd(cli, st, dir,
		    audit_archive_month_start(o.before));
	else if (strcmp(verb, "export") == 0)
		rc = audit_export_cmd(cli, st, *dir ? dir : NULL, o.since);
	else if (store_audit_reindex(st) == -1) {
		cli_warnx("audit reindex: %s", store_error(st));
		rc = 1;
	} else if (!cli->quiet)
		fprintf(stderr, "segctl: audit time index rebuilt\n");
	store_close(st);
	free(o.anchors.v);
	return rc;
}
