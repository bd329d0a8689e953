/*
 * cmd_store.c - segctl init, import, check, info, prune and store copy:
 * the store itself.
 *
 * The store holds every customer's data: init creates it 0600 (the
 * store module does) in a directory it creates 0700, and says so when
 * an existing store or directory is open to group or others.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "daemon.h"
#include "conf.h"
#include "import.h"
#include "parse.h"
#include "progress.h"
#include "store_audit.h"
#include "store_lookup.h"
#include "store_report.h"
#include "store_retention.h"
#include "xalloc.h"

#define OPEN_TO_OTHERS	(S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)

/*
 * Warned rather than refused: the store works, and whether the MTA's
 * user shares segmilter's group is the administrator's to fix.  A
 * directory that others may write lets them put a file of their own in
 * the store's place.
 */
static void
warn_open(const char *path, unsigned int want)
{
	struct stat sb;

	if (stat(path, &sb) == -1 || !(sb.st_mode & OPEN_TO_OTHERS))
		return;
	cli_warnx("warning: %s: group or others may read or write it (mode"
	    " %04o): chmod %04o %s", path, (unsigned int)(sb.st_mode & 07777),
	    want, path);
}

/* The store's directory, made 0700 when missing (its own parent must
 * exist).  0, or -1 reported. */
static int
store_dir(const char *path)
{
	struct stat sb;
	char *copy = xstrdup(path), *dir = dirname(copy);
	int rc = 0;

	if (stat(dir, &sb) == 0)
		warn_open(dir, 0700);
	else if (errno != ENOENT || mkdir(dir, 0700) == -1) {
		cli_warnx("%s: %s", dir, strerror(errno));
		rc = -1;
	}
	free(copy);
	return rc;
}

int
cmd_init(struct cli *cli, int argc, char **argv)
{
	struct store *st;
	const char *path;
	int64_t version = 0;

	(void)argv;
	if (argc != 1) {
		cli_warnx("usage: segctl init");
		return 2;
	}
	if ((path = cli_store_path(cli)) == NULL ||
	    (!store_is_server(path) && store_dir(path) == -1))
		return 1;
	/* bulk settings: a migration may copy every row of a table */
	if ((st = cli_store(cli, STORE_CREATE | STORE_BULK)) == NULL)
		return 1;
	/* silent for a store just made: it is 0600 */
	warn_open(path, 0600);
	store_schema_version(st, &version);
	if (!cli->quiet)
		printf("%s: schema version %lld\n", store_path(st),
		    (long long)version);
	store_close(st);
	return 0;
}

int
cmd_check(struct cli *cli, int argc, char **argv)
{
	struct daemon_gen *g;
	struct conf *cf;
	char err[8192];

	(void)argv;
	if (argc != 1) {
		cli_warnx("usage: segctl check");
		return 2;
	}
	if ((cf = cli_conf(cli)) == NULL)
		return 1;
	if (cf->path == NULL) {
		if (!cli->quiet)
			printf("(built-in defaults): configuration OK\n");
		return 0;
	}
	/* what segmilter -n checks: the campaign files, keys, SMS texts */
	if (daemon_gen_load(cf->path, &g, err, sizeof(err)) == -1) {
		fputs(err, stderr);
		return 1;
	}
	if (!cli->quiet)
		printf("%s%s: configuration OK, %zu campaigns in %s\n",
		    g->sms_report, cf->path, g->campaigns->n,
		    g->conf->milter.campaigns_dir);
	daemon_gen_free(g);
	return 0;
}

static void
import_summary(const char *path, const struct import_stats *s)
{
	printf("%s: %s, %lld records: %lld new, %lld updated, %lld unchanged",
	    path, s->format, (long long)s->records, (long long)s->inserted,
	    (long long)s->updated, (long long)s->unchanged);
	if (s->skipped > 0)
		printf(", %lld skipped", (long long)s->skipped);
	printf(", %lld bad", (long long)s->bad);
	if (s->warnings > 0)
		printf(", %lld warnings", (long long)s->warnings);
	if (s->rolled_back)
		printf(" (--strict: nothing imported)");
	putchar('\n');
}

int
cmd_import(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "strict", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	struct import_opts opts;
	struct import_stats stats;
	enum import_kind kind;
	struct store *st;
	char err[1024];
	int ch, i, rc = 0;

	memset(&opts, 0, sizeof(opts));
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'S') {
			cli_warnx("usage: segctl import [--strict] KIND FILE...");
			return 2;
		}
		opts.strict = 1;
	}
	argc -= optind;
	argv += optind;
	if (argc < 2) {
		cli_warnx("usage: segctl import [--strict] KIND FILE...");
		return 2;
	}
	if (import_kind_parse(argv[0], &kind) == -1) {
		cli_warnx("unknown import kind '%s' (customers, orders,"
		    " products, events, consent, engagement, optout)",
		    argv[0]);
		return 2;
	}
	if ((st = cli_store(cli, STORE_BULK)) == NULL)
		return 1;
	opts.report = stderr;
	opts.progress = !cli->quiet && isatty(STDERR_FILENO);
	opts.now = cli->now;
	for (i = 1; i < argc; i++) {
		if (import_file(st, kind, argv[i], &opts, &stats, err,
		    sizeof(err)) == -1) {
			cli_warnx("%s", err);
			rc = 1;
			continue;
		}
		if (!cli->quiet)
			import_summary(argv[i], &stats);
		if (stats.bad > 0)
			rc = 1;
	}
	store_close(st);
	return rc;
}

/*
 * segctl optout import FILE...: STOP replies, the same import as
 * `segctl import optout`, under the name people look for.
 */
int
cmd_optout(struct cli *cli, int argc, char **argv)
{
	char *args[64], kind[] = "optout";
	int i, n = 0;

	if (argc < 3 || strcmp(argv[1], "import") != 0 || argc > 60) {
		cli_warnx("usage: segctl optout import [--strict] FILE...");
		return 2;
	}
	args[n++] = argv[1];
	for (i = 2; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++)
		args[n++] = argv[i];
	args[n++] = kind;
	for (; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	optind = 1;
	return cmd_import(cli, n, args);
}

struct info {
	int64_t		 rows, bytes;
};

static int
info_table(const char *table, int64_t rows, int64_t bytes, void *arg)
{
	struct info *in = arg;

	if (bytes >= 0)
		printf("  %-22s %12lld rows %10.1f MB\n", table,
		    (long long)rows, (double)bytes / 1e6);
	else
		printf("  %-22s %12lld rows\n", table, (long long)rows);
	in->rows += rows > 0 ? rows : 0;
	in->bytes += bytes > 0 ? bytes : 0;
	return 0;
}

/* The size of PATH in MB, or -1 when it is not there. */
static double
file_mb(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (double)sb.st_size / 1e6 : -1;
}

/* R's counts, as "N campaigns: N ledger rows, ..." */
static void
print_retention(const char *verb, const struct store_retention *r)
{
	printf("%s %lld campaign%s: %lld ledger rows, %lld engagement rows,"
	    " %lld outbox jobs, %lld copy notes", verb,
	    (long long)r->campaigns, r->campaigns == 1 ? "" : "s",
	    (long long)r->ledger_rows, (long long)r->engagement_rows,
	    (long long)r->outbox_jobs, (long long)r->copy_notes);
	if (r->summary_rows > 0)
		printf("; %lld delivery summary rows trimmed",
		    (long long)r->summary_rows);
	printf("\n");
}

/* The cut for NOW: campaigns idle since before it close; 0: keep all. */
static int64_t
retention_cut(const struct conf *cf, int64_t now)
{
	if (cf->retention.horizon_days == 0)
		return 0;
	return now - cf->retention.horizon_days * 86400;
}

/* What the next segctl prune would remove, under info's table. */
static int
info_retention(struct cli *cli, struct store *st)
{
	struct store_retention r;
	const struct conf *cf;
	char when[32];
	int64_t cut;

	if ((cf = cli_conf(cli)) == NULL)
		return -1;
	if ((cut = retention_cut(cf, cli->now)) == 0) {
		printf("retention: off (retention.horizon_days = 0)\n");
		return 0;
	}
	if (store_retention_plan(st, cut, &r) == -1) {
		cli_warnx("info: %s", store_error(st));
		return -1;
	}
	format_time(cut, when, sizeof(when));
	printf("retention: %lld days; campaigns idle since before %s\n",
	    (long long)cf->retention.horizon_days, when);
	print_retention("  segctl prune would close", &r);
	return 0;
}

/* The audit archives (segctl audit archive): how many, and where. */
static int
info_archives(struct cli *cli, struct store *st)
{
	struct store_audit_archive *v;
	char dir[PATH_MAX], made[32];
	int64_t rows = 0;
	size_t n, i;

	if (store_audit_archives(st, &v, &n) == -1) {
		cli_warnx("info: %s", store_error(st));
		return -1;
	}
	if (n > 0 && cli_archive_dir(cli, dir, sizeof(dir)) == 0) {
		for (i = 0; i < n; i++)
			rows += v[i].rows;
		format_time(v[n - 1].made_at, made, sizeof(made));
		printf("audit archives: %zu files in %s, %lld rows (%lld to"
		    " %lld), the latest made %s\n", n, dir, (long long)rows,
		    (long long)v[0].first_seq, (long long)v[n - 1].last_seq,
		    made);
	}
	free(v);
	return 0;
}

/*
 * segctl info: what the store holds, table by table, so that an
 * operator sees what grows (the ledger and the audit with every
 * campaign; the outbox with copies waiting) before the disk does, and
 * what retention will take off it.
 */
int
cmd_info(struct cli *cli, int argc, char **argv)
{
	struct info in = { 0, 0 };
	struct store *st;
	char wal[4200];
	int64_t version = 0;
	double mb, wal_mb;
	int rc;

	(void)argv;
	if (argc != 1) {
		cli_warnx("usage: segctl info");
		return 2;
	}
	if ((st = cli_store(cli, STORE_READONLY)) == NULL)
		return 1;
	store_schema_version(st, &version);
	snprintf(wal, sizeof(wal), "%s-wal", store_path(st));
	printf("%s: schema version %lld", store_path(st), (long long)version);
	/* a file's size; a PostgreSQL store's is its tables' (all) below */
	if ((mb = file_mb(store_path(st))) >= 0)
		printf(", %.1f MB", mb);
	if ((wal_mb = file_mb(wal)) >= 0)
		printf(" and %.1f MB of WAL", wal_mb);
	printf("\n");
	rc = store_usage(st, info_table, &in);
	if (rc == -1)
		cli_warnx("info: %s", store_error(st));
	else if (in.bytes > 0)
		printf("  %-22s %12lld rows %10.1f MB\n", "(all)",
		    (long long)in.rows, (double)in.bytes / 1e6);
	if (rc != -1)
		rc = info_archives(cli, st);
	if (rc != -1)
		rc = info_retention(cli, st);
	store_close(st);
	return rc == -1 ? 1 : 0;
}

/*
 * segctl prune [--dry-run]: retention (store_retention.h).
 * Run daily (segmilter-prune.timer); safe beside a running segmilter,
 * whose writes wait for one slice of customers at most.
 */
int
cmd_prune(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct store_retention r;
	struct progress bar;
	struct store *st;
	const struct conf *cf;
	int64_t cut;
	int ch, dry = 0, rc, draw;

	while ((ch = getopt_long(argc, argv, "n", opts, NULL)) != -1) {
		if (ch != 'n') {
			cli_warnx("usage: segctl prune [--dry-run]");
			return 2;
		}
		dry = 1;
	}
	if (optind != argc) {
		cli_warnx("usage: segctl prune [--dry-run]");
		return 2;
	}
	if ((cf = cli_conf(cli)) == NULL)
		return 1;
	/* retention off: nothing closes, the summaries are still trimmed */
	if ((cut = retention_cut(cf, cli->now)) == 0 && dry) {
		if (!cli->quiet)
			printf("retention off (retention.horizon_days = 0):"
			    " nothing to close\n");
		return 0;
	}
	if ((st = cli_store(cli, dry ? STORE_READONLY : 0)) == NULL)
		return 1;
	draw = !cli->quiet && isatty(STDERR_FILENO);
	progress_start(&bar, stderr, "prune", "customers");
	if (dry)
		rc = store_retention_plan(st, cut, &r);
	else if ((rc = store_deliveries_window(st,
	    conf_cap_window_longest(cf) * 3600, cli->now)) != -1)
		rc = store_retention_apply(st, cut, cli->now, &r,
		    draw ? progress_step : NULL, &bar);
	if (draw)
		progress_clear(&bar);
	if (rc == -1)
		cli_warnx("prune: %s", store_error(st));
	else if (!cli->quiet && cut == 0 && r.campaigns == 0)
		printf("retention off (retention.horizon_days = 0): nothing"
		    " to close; %lld delivery summary rows trimmed\n",
		    (long long)r.summary_rows);
	else if (!cli->quiet)
		print_retention(dry ? "would close" : "closed", &r);
	store_close(st);
	return rc == -1 ? 1 : 0;
}

static void
copy_said(const char *table, int64_t rows, void *arg)
{
	const struct cli *cli = arg;

	if (!cli->quiet)
		printf("  %-20s %12lld\n", table, (long long)rows);
}

/*
 * segctl store copy FROM TO: the store FROM, whole, into the new store
 * TO, either a file or a PostgreSQL URI: a relay's SQLite store moved
 * to a fleet's PostgreSQL, or back.  Then TO's audit chain is verified
 * where it now stands.
 */
int
cmd_store(struct cli *cli, int argc, char **argv)
{
	struct audit_report rep;
	struct store *from, *to;
	char err[1024];
	int rc;

	if (argc != 4 || strcmp(argv[1], "copy") != 0) {
		cli_warnx("usage: segctl store copy FROM TO");
		return 2;
	}
	if (cli_conf(cli) == NULL)
		return 1;
	if (!store_is_server(argv[3]) && access(argv[3], F_OK) == 0) {
		cli_warnx("%s: exists: a store is copied into a new one",
		    argv[3]);
		return 1;
	}
	if (store_open(argv[2], STORE_READONLY | STORE_SCAN,
	    cli->conf->store_timeout_ms, &from, err, sizeof(err)) == -1) {
		cli_warnx("%s", err);
		return 1;
	}
	if ((!store_is_server(argv[3]) && store_dir(argv[3]) == -1) ||
	    store_open(argv[3], STORE_CREATE | STORE_BULK,
	    cli->conf->store_timeout_ms, &to, err, sizeof(err)) == -1) {
		if (err[0] != '\0')
			cli_warnx("%s", err);
		store_close(from);
		return 1;
	}
	if (!cli->quiet)
		printf("%s -> %s\n", store_path(from), store_path(to));
	rc = store_copy(from, to, copy_said, cli);
	store_close(from);
	if (rc == -1) {
		cli_warnx("copy: %s", store_error(to));
		store_close(to);
		return 1;
	}
	/* archives stay where they are: the rows in the store are checked,
	 * and their first links to the archives' last */
	rc = audit_verify(to, NULL, NULL, 0, &rep);
	if (rc == -1 || (rc == 1 && rep.unindexed_seq == 0)) {
		cli_warnx("copy: the audit chain in %s: %s", store_path(to),
		    rc == -1 ? store_error(to) : rep.why);
		store_close(to);
		return 1;
	}
	if (!cli->quiet)
		printf("audit chain intact in the copy: %lld rows\n",
		    (long long)rep.rows);
	store_close(to);
	return 0;
}
