/*
 * cmd_unsubscribe.c - segctl unsubscribe TOKEN: what a one-click link's
 * POST does (segfeed(8)), by hand.  This checks the token was made with
 * our key and records the unsubscribe with unsub_apply(), the code
 * segfeed uses, so both write the same engagement and audit row and the
 * next campaign suppresses the address.  Asking again changes nothing.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "store.h"
#include "unsub.h"

int
cmd_unsubscribe(struct cli *cli, int argc, char **argv)
{
	char campaign[256], email[320], hash[65];
	struct unsub_request rq;
	enum unsub_outcome out;
	struct store *st;
	struct conf *cf;
	int64_t at;

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
	conf_hash_hex(cf, hash);
	memset(&rq, 0, sizeof(rq));
	rq.choice = UNSUB_UNSUBSCRIBE;
	rq.campaign = campaign;
	rq.email = email;
	rq.token_at = at;
	rq.via = "segctl";
	rq.source = "one-click";
	rq.config_hash = hash;
	rq.now = cli->now;
	if (unsub_apply(st, &rq, &out) == -1) {
		cli_warnx("%s", store_error(st));
		store_close(st);
		return 1;
	}
	store_close(st);
	if (out == UNSUB_NO_CUSTOMER) {
		cli_warnx("%s: no such customer (any more)", email);
		return 1;
	}
	if (!cli->quiet)
		printf(out == UNSUB_DONE ? "%s unsubscribed (campaign %s)\n" :
		    "%s was unsubscribed already (campaign %s)\n", email,
		    campaign);
	return 0;
}
