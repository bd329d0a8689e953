/*
 * segctl.c - the segctl(1) command: global options and the command table.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "parse.h"
#include "store.h"

#define DEFAULT_CONF	SEGM_SYSCONFDIR "/segmilter/segmilter.conf"

static const struct {
	const char	*name;
	int		(*run)(struct cli *, int, char **);
	const char	*usage;
} commands[] = {
	{ "init", cmd_init, "init" },
	{ "import", cmd_import, "import [--strict] KIND FILE..." },
	{ "segments", cmd_segments, "segments [--format text|csv|json] |"
	    " segments rebuild" },
	{ "explain", cmd_explain, "explain [--format text|csv|json] EMAIL" },
	{ "demo-data", cmd_demo_data, "demo-data [--customers N] [--seed S]"
	    " DIR | demo-data --outcomes CAMPAIGN [--seed S] FILE" },
	{ "check", cmd_check, "check" },
	{ "info", cmd_info, "info" },
	{ "prune", cmd_prune, "prune [--dry-run]" },
	{ "preview", cmd_preview, "preview [--to EMAIL]... [--campaigns DIR]"
	    " [--format text|csv|json] MESSAGE.eml" },
	{ "report", cmd_report, "report [--format text|csv|json|html]"
	    " CAMPAIGN | report [--format text|csv|json] --last N" },
	{ "outbox", cmd_outbox, "outbox [list] [--format text|csv|json] |"
	    " outbox retry ID | outbox cancel ID" },
	{ "unsubscribe", cmd_unsubscribe, "unsubscribe TOKEN" },
	{ "customer", cmd_customer, "customer export EMAIL |"
	    " customer redact [--yes] EMAIL" },
	{ "optout", cmd_optout, "optout import [--strict] FILE..." },
	{ "bounce", cmd_bounce, "bounce [--recipient ADDR] [--quarantine DIR]"
	    " < MESSAGE" },
	{ "webhook", cmd_webhook, "webhook test [--url URL] |"
	    " webhook prune [--days N]" },
	{ "store", cmd_store, "store copy FROM TO" },
	{ "audit", cmd_audit, "audit verify [--expect SEQ:HASH]"
	    " [--anchors FILE]... | audit export [--since TIME] |"
	    " audit reindex |\n              audit archive [--before TIME |"
	    " --keep-days N]" },
};

void
cli_warnx(const char *fmt, ...)
{
	va_list ap;

	fputs("segctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
usage(void)
{
	size_t i;

	fprintf(stderr, "usage: segctl [-q] [-c config] [-s store]"
	    " [--now time] command [args]\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "       segctl %s\n", commands[i].usage);
	exit(2);
}

struct conf *
cli_conf(struct cli *cli)
{
	struct stat sb;
	char err[4096];

	if (cli->conf != NULL)
		return cli->conf;
	/* Without -c a missing default file means the built-in defaults. */
	if (cli->conf_path == NULL && stat(DEFAULT_CONF, &sb) == -1 &&
	    errno == ENOENT) {
		cli->conf = conf_defaults();
		return cli->conf;
	}
	if (conf_load(cli->conf_path ? cli->conf_path : DEFAULT_CONF,
	    &cli->conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s%s", err,
		    err[0] && err[strlen(err) - 1] == '\n' ? "" : "\n");
		return NULL;
	}
	return cli->conf;
}

const char *
cli_store_path(struct cli *cli)
{
	struct conf *cf;

	if ((cf = cli_conf(cli)) == NULL)
		return NULL;
	return cli->store_path ? cli->store_path : cf->store_path;
}

int
cli_archive_dir(struct cli *cli, char *dir, size_t len)
{
	const char *store, *slash;

	if ((store = cli_store_path(cli)) == NULL)
		return -1;
	if (*cli->conf->audit.archive_dir != '\0')
		snprintf(dir, len, "%s", cli->conf->audit.archive_dir);
	else if (store_is_server(store))
		/* none beside a server's store: archives need it set */
		snprintf(dir, len, "%s", "");
	else if ((slash = strrchr(store, '/')) == NULL)
		snprintf(dir, len, "audit-archive");
	else
		snprintf(dir, len, "%.*s/audit-archive",
		    (int)(slash - store), store);
	return 0;
}

struct store *
cli_store(struct cli *cli, int flags)
{
	struct store *st;
	struct stat sb;
	const char *path;
	char err[1024];

	if ((path = cli_store_path(cli)) == NULL)
		return NULL;
	if (!(flags & STORE_CREATE) && !store_is_server(path) &&
	    stat(path, &sb) == -1) {
		cli_warnx("%s: %s; create the store with `segctl init`", path,
		    strerror(errno));
		return NULL;
	}
	if (store_open(path, flags, cli->conf->store_timeout_ms, &st, err,
	    sizeof(err)) == -1) {
		cli_warnx("%s", err);
		return NULL;
	}
	return st;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "now", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct cli cli;
	const char *why;
	size_t i;
	int ch, rc, j;

	memset(&cli, 0, sizeof(cli));
	cli.now = time(NULL);
	while ((ch = getopt_long(argc, argv, "+c:s:qhV", longopts, NULL))
	    != -1) {
		switch (ch) {
		case 'c':
			cli.conf_path = optarg;
			break;
		case 's':
			cli.store_path = optarg;
			break;
		case 'q':
			cli.quiet = 1;
			break;
		case 'N':
			if (parse_time(optarg, &cli.now, &why) == -1) {
				cli_warnx("--now: '%s': %s", optarg, why);
				return 2;
			}
			break;
		case 'V':
			printf("segctl %s\n", SEGM_VERSION);
			return 0;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		cli_warnx("unknown command '%s'", argv[0]);
		usage();
	}
	/* COMMAND --help: its usage, asked for: stdout, and success */
	for (j = 1; j < argc && strcmp(argv[j], "--") != 0; j++)
		if (strcmp(argv[j], "--help") == 0 ||
		    strcmp(argv[j], "-h") == 0) {
			printf("usage: segctl [-q] [-c config] [-s store]"
			    " [--now time] %s\n(see segctl(1))\n",
			    commands[i].usage);
			return 0;
		}
	optind = 1;	/* each command parses its own options */
	rc = commands[i].run(&cli, argc, argv);
	conf_free(cli.conf);
	return rc;
}
