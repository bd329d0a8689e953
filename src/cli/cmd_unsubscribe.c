/*
 * cmd_unsubscribe.c - segctl unsubscribe TOKEN: the one-click link's
 * back end.  The web endpoint behind milter.unsubscribe_url hands the
 * token over (RFC 8058: a POST with List-Unsubscribe=One-Click); this
 * checks it was made with our key and records the unsubscribe, with an
 * audit row, so the next campaign suppresses the address.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "cli.h"
#include "conf.h"
#include "store.h"
#include "unsub.h"

int
cmd_unsubscribe(struct cli *cli, int argc, char **argv)
{
	char campaign[256], email[320], detail[320], hash[65];
	struct store_engagement e;
	struct audit_chain ch = { 0 };
	struct store_audit a;
	enum store_change changed;
	struct store *st;
	struct conf *cf;
	int64_t at, id;
	int rc;

	if (argc != 2) {
		cli_warnx("usage: segctl unsubscribe TOKEN");
		return 2;
	}
	if ((cf = cli_conf(cli)) == NULL)
		return 1;
	if (cf->outbox.keylen == 0) {
		cli_warnx("no outbox.key_file in the configuration: tokens"
		    " cannot be checked");
		return 1;
	}
	if (unsub_token_parse(cf->outbox.key, cf->outbox.keylen, argv[1],
	    campaign, sizeof(campaign), email, sizeof(email), &at) == -1) {
		cli_warnx("not a genuine unsubscribe token");
		return 1;
	}
	if ((st = cli_store(cli, 0)) == NULL)
		return 1;
	if ((rc = store_customer_find(st, email, &id)) != 0) {
		if (rc == 1)
			cli_warnx("%s: no such customer (any more)", email);
		else
			cli_warnx("%s", store_error(st));
		store_close(st);
		return 1;
	}
	memset(&e, 0, sizeof(e));
	e.customer_id = id;
	e.campaign_id = campaign;
	e.type = ENG_UNSUBSCRIBE;
	e.at = cli->now;
	snprintf(detail, sizeof(detail), "one-click link from campaign %s",
	    campaign);
	conf_hash_hex(cf, hash);
	memset(&a, 0, sizeof(a));
	a.at = cli->now;
	a.channel = "email";
	a.queue_id = "segctl";
	a.message_id = "";
	a.campaign_id = campaign;
	a.recipient = email;
	a.customer_id = id;
	a.decision = "unsubscribed";
	a.detail = detail;
	a.segment = "";
	a.variant = "";
	a.consent = "";
	a.config_hash = hash;
	if (store_begin(st) == -1 || store_engagement_add(st, &e,
	    &changed) == -1 || audit_begin(st, &ch) == -1 ||
	    audit_append(st, &ch, &a) == -1 || store_commit(st) == -1) {
		cli_warnx("%s", store_error(st));
		audit_end(&ch);
		store_rollback(st);
		store_close(st);
		return 1;
	}
	audit_end(&ch);
	store_close(st);
	if (!cli->quiet)
		printf("%s unsubscribed (campaign %s)\n", email, campaign);
	return 0;
}
