/*
 * cmd_audit.c - segctl audit verify | export | reindex: the compliance
 * log.
 *
 * verify walks the whole chain and prints its head ("SEQ:HASH"), which an
 * auditor records and passes back with --expect later: a chain that was
 * cut short no longer contains it.  export writes JSON lines.  reindex
 * rebuilds the time index export starts from, which is no part of the
 * chain: verify tells a damaged index from a broken chain.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "parse.h"
#include "store.h"

#define AUDIT_USAGE	"usage: segctl audit verify [--expect SEQ:HASH]\n" \
			"       segctl audit export [--since TIME]\n" \
			"       segctl audit reindex"

static int
audit_verify_cmd(struct cli *cli, struct store *st, const char *expect)
{
	struct audit_report rep;
	int rc;

	if ((rc = audit_verify(st, expect, &rep)) == -1) {
		cli_warnx("audit: %s", store_error(st));
		return 1;
	}
	if (rc == 1 && rep.unindexed_seq == 0) {
		printf("audit chain BROKEN after %" PRId64 " rows: %s\n",
		    rep.rows, rep.why);
		return 1;
	}
	if (!cli->quiet)
		printf("audit chain intact: %" PRId64 " rows%s\n", rep.rows,
		    expect ? ", recorded head found" : "");
	printf("head %" PRId64 ":%s\n", rep.head.seq, rep.head.hash);
	if (rc == 1) {
		printf("audit time index DAMAGED: %s; rebuild it with"
		    " `segctl audit reindex`\n", rep.why);
		return 1;
	}
	return 0;
}

int
cmd_audit(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "expect", required_argument, NULL, 'e' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *expect = NULL, *why, *verb;
	int64_t since = INT64_MIN, rows;
	struct store *st;
	int ch, rc;

	if (argc < 2) {
		cli_warnx("%s", AUDIT_USAGE);
		return 2;
	}
	verb = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			expect = optarg;
			break;
		case 's':
			if (parse_time(optarg, &since, &why) == -1) {
				cli_warnx("--since: '%s': %s", optarg, why);
				return 2;
			}
			break;
		default:
			cli_warnx("%s", AUDIT_USAGE);
			return 2;
		}
	}
	if (optind != argc || (strcmp(verb, "verify") != 0 &&
	    strcmp(verb, "export") != 0 && strcmp(verb, "reindex") != 0) ||
	    (expect != NULL && strcmp(verb, "verify") != 0) ||
	    (since != INT64_MIN && strcmp(verb, "export") != 0)) {
		cli_warnx("%s", AUDIT_USAGE);
		return 2;
	}
	if ((st = cli_store(cli, strcmp(verb, "reindex") == 0 ? 0 :
	    STORE_READONLY)) == NULL)
		return 1;
	if (strcmp(verb, "verify") == 0)
		rc = audit_verify_cmd(cli, st, expect);
	else if (strcmp(verb, "reindex") == 0) {
		rc = 0;
		if (store_audit_reindex(st) == -1) {
			cli_warnx("audit reindex: %s", store_error(st));
			rc = 1;
		} else if (!cli->quiet)
			fprintf(stderr, "segctl: audit time index rebuilt\n");
	} else if ((rows = audit_export(st, since, stdout)) == -1) {
		cli_warnx("audit export: %s", store_error(st));
		rc = 1;
	} else {
		rc = fflush(stdout) == 0 ? 0 : 1;
		if (!cli->quiet)
			fprintf(stderr, "segctl: %" PRId64 " audit rows"
			    " exported\n", rows);
	}
	store_close(st);
	return rc;
}
