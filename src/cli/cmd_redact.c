/*
 * cmd_redact.c - segctl redact [--yes] EMAIL: a customer's personal data
 * erased on request (a GDPR erasure that did not come as Shopify's
 * customers/redact, which segfeed(8) applies itself), with the same
 * audit_redact() segfeed uses.  Without --yes it only says what would
 * go, from a transaction it rolls back.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "conf.h"
#include "parse.h"
#include "store.h"

static void
redact_print(const char *email, int64_t id, const struct store_redaction *r,
    int done)
{
	printf("%s (customer %lld) %s: %lld audit rows blanked, %lld ledger"
	    " rows, %lld outbox jobs, %lld consent rows, %lld events\n",
	    email, (long long)id, done ? "erased" : "would be erased",
	    (long long)r->audit_rows, (long long)r->ledger_rows,
	    (long long)r->jobs, (long long)r->consent_rows,
	    (long long)r->events);
	if (r->audit_unsealed > 0)
		printf("%lld audit rows from before schema version 12 keep"
		    " their recipient: the chain hashed it as it is\n",
		    (long long)r->audit_unsealed);
}

int
cmd_redact(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 }
	};
	char email[PARSE_EMAIL_MAX + 1], hash[65], head[AUDIT_ANCHOR_MAX];
	struct store_redaction r;
	struct audit_chain ch;
	struct store *st;
	struct conf *cf;
	const char *why;
	int64_t id;
	int c, yes = 0, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "y", opts, NULL)) != -1) {
		if (c != 'y') {
			cli_warnx("usage: segctl redact [--yes] EMAIL");
			return 2;
		}
		yes = 1;
	}
	if (argc - optind != 1) {
		cli_warnx("usage: segctl redact [--yes] EMAIL");
		return 2;
	}
	if (parse_email(argv[optind], email, sizeof(email), &why) == -1) {
		cli_warnx("'%s': %s", argv[optind], why);
		return 2;
	}
	if ((cf = cli_conf(cli)) == NULL || (st = cli_store(cli, 0)) == NULL)
		return 1;
	conf_hash_hex(cf, hash);
	if (store_begin(st) == -1 ||
	    (rc = store_customer_find(st, email, &id)) == -1) {
		cli_warnx("%s", store_error(st));
		store_rollback(st);
		store_close(st);
		return 1;
	}
	if (rc == 1) {
		store_rollback(st);
		store_close(st);
		cli_warnx("%s: no such customer: nothing to erase", email);
		return 1;
	}
	if (audit_begin(st, &ch) == -1) {
		cli_warnx("%s", store_error(st));
		store_rollback(st);
		store_close(st);
		return 1;
	}
	rc = audit_redact(st, &ch, id, cli->now, "segctl redact", hash, &r);
	if (rc == 0 && yes)
		rc = store_commit(st);
	else
		store_rollback(st);
	audit_anchor_format(&ch, head, sizeof(head));
	audit_end(&ch);
	if (rc == -1) {
		cli_warnx("%s: %s", email, store_error(st));
		store_rollback(st);
		store_close(st);
		return 1;
	}
	if (yes && (rc = store_checkpoint_truncate(st)) != 0)
		cli_warnx("the erased bytes stay in the WAL until its next"
		    " full checkpoint: %s", rc == 1 ? "a reader holds it" :
		    store_error(st));
	store_close(st);
	redact_print(email, id, &r, yes);
	if (yes)
		printf("%s\n", head);
	else
		printf("nothing changed: run again with --yes to erase\n");
	return 0;
}
