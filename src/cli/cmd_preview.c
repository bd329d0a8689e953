/*
 * cmd_preview.c - segctl preview: what segmilter would do with a
 * campaign message, before anyone sends it.
 *
 * The campaign files are read from the configuration's campaigns
 * directory (or --campaigns), so a marketer previews exactly what the
 * running milter will load.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign.h"
#include "cli.h"
#include "digest.h"
#include "conf.h"
#include "milter.h"
#include "policy.h"
#include "render.h"
#include "store.h"
#include "tz.h"
#include "xalloc.h"

#define PREVIEW_USAGE	"usage: segctl preview [--to EMAIL]..." \
			" [--campaigns DIR] MESSAGE.eml"

int
cmd_preview(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "campaigns", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL;
	const char **to = NULL;
	struct milter_env env;
	struct campaign_set *set;
	struct digest_hmac *draws;
	struct store *st;
	struct conf *cf;
	size_t nto = 0;
	char err[8192];
	int ch, fd, rc;

	to = xcalloc((size_t)argc + 1, sizeof(*to));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			to[nto++] = optarg;
			break;
		case 'C':
			dir = optarg;
			break;
		default:
			cli_warnx("%s", PREVIEW_USAGE);
			free(to);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		cli_warnx("%s", PREVIEW_USAGE);
		free(to);
		return 2;
	}
	if ((cf = cli_conf(cli)) == NULL) {
		free(to);
		return 1;
	}
	if (dir == NULL)
		dir = cf->milter.campaigns_dir;
	if (campaign_set_load(dir, &set, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s", err);
		free(to);
		return 1;
	}
	if (campaign_set_check(set, cf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s", err);
		campaign_set_free(set);
		free(to);
		return 1;
	}
	if ((fd = open(argv[optind], O_RDONLY | O_CLOEXEC)) == -1) {
		cli_warnx("%s: %s", argv[optind], strerror(errno));
		campaign_set_free(set);
		free(to);
		return 1;
	}
	if ((st = cli_store(cli, STORE_READONLY)) == NULL) {
		close(fd);
		campaign_set_free(set);
		free(to);
		return 1;
	}
	memset(&env, 0, sizeof(env));
	env.conf = cf;
	env.campaigns = set;
	env.tzdb = tzdb_new(cf->sms.zoneinfo);
	draws = policy_arm_key(cf->outbox.key, cf->outbox.keylen);
	env.draws = draws;
	conf_hash_hex(cf, env.conf_hash);
	render_init();
	rc = milter_preview(&env, st, fd, to, nto, cli->now, stdout, err,
	    sizeof(err));
	tzdb_free(env.tzdb);
	digest_hmac_free(draws);
	if (rc == -1) {
		cli_warnx("%s: %s", argv[optind], err);
		rc = 1;
	}
	store_close(st);
	close(fd);
	campaign_set_free(set);
	free(to);
	return rc;
}
