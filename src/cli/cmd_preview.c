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
			" [--campaigns DIR] [--format text|csv|json] MESSAGE.eml"

static const struct cli_column row_columns[] = {
	{ "recipient", 0 }, { "decision", 0 }, { "variant", 0 },
	{ "arm", 0 }, { "segment", 0 }, { "detail", 0 },
};

static void
preview_row(const struct milter_preview_row *r, void *arg)
{
	cli_rows_add(arg, (const char *const[]){ r->recipient, r->decision,
	    r->variant, r->arm, r->segment, r->detail });
}

int
cmd_preview(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "campaigns", required_argument, NULL, 'C' },
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	enum cli_format fmt = CLI_TEXT;
	struct cli_rows *rows = NULL;
	const char *dir = NULL;
	const char **to = NULL;
	struct daemon_env env;
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
		case 'f':
			if (cli_format_parse(optarg, &fmt) == 0)
				break;
			/* FALLTHROUGH */
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
	if (campaign_set_load(dir, cf, &set, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s", err);
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
	if (fmt == CLI_TEXT)
		rc = milter_preview(&env, st, argv[optind], fd, to, nto,
		    cli->now, stdout, err, sizeof(err));
	else {
		rows = cli_rows_begin(fmt, row_columns,
		    sizeof(row_columns) / sizeof(row_columns[0]));
		/* a refusal's reason goes to stderr: stdout is the rows */
		rc = milter_preview_rows(&env, st, argv[optind], fd, to, nto,
		    cli->now, preview_row, rows, stderr, err, sizeof(err));
		if (cli_rows_end(rows) == -1 && rc == 0)
			rc = 1;
	}
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
