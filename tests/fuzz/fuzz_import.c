/*
 * fuzz_import.c - segctl import on whatever a shop's export may hold:
 * each file of the input written as a CSV file and imported as each
 * kind (customers, orders, products, events, consent, engagement,
 * optout), so that its header row meets every format's column mapping
 * (ours and Shopify's) and its records the format it selects, into a
 * real store; then the segments rebuilt from what was imported, as
 * segctl rebuild would.  fuzz_csv and fuzz_values cover the reader and
 * the value parsers alone; this is what lies between them and the store.
 *
 * An input is up to MAX_FILES files separated by form feeds, imported
 * in order, so that one input can hold customers, their orders and their
 * activity for the rebuild to judge together.
 *
 * Beyond crashes, leaks and reads past a field: a failed import says
 * why, its counts add up (no more bad records than records; rolled back
 * only when strict with bad records), what it reports of the file is
 * lines without control characters (no terminal escapes, no forged
 * FILE:LINE), and the store takes what was imported (a rebuild that
 * fails on imported data is a bug: a value a format accepts must be one
 * the store and the rules can use).
 *
 * The store is made once per process (tests/fuzz/fstore.h: a file in a
 * directory removed at exit, or a schema on PostgreSQL), and emptied
 * after each input through a second connection (no table dropped, so
 * the store's prepared statements stay good); every input overwrites the
 * one CSV file in that directory.  libFuzzer entry point; see
 * fuzz_render.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/store/db.h"
#include "buf.h"
#include "conf.h"
#include "fstore.h"
#include "import.h"
#include "segment.h"
#include "store.h"

#define NOW	((int64_t)1795000000)
#define MAX_FILES	8

int	 LLVMFuzzerInitialize(int *argc, char ***argv);
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], db_path[512], csv_path[96];
static struct store *st;
static struct db *db;		/* the same store, to empty it */
static struct buf reset_sql;	/* every table emptied */
static struct conf *cf;
static FILE *report;		/* an input's, into report_text */
static char *report_text;
static size_t report_len;

static void
cleanup(void)
{
	store_close(st);
	db_close(db);
	unlink(csv_path);
	fstore_remove(db_path);
	rmdir(dir);
}

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_import: %s: %s\n", what, why);
	exit(1);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct db_stmt *s;
	enum db_rc rc;
	char err[512];
	int n, pgsql;

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/segm-fuzz-import-XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", "cannot make a directory");
	atexit(cleanup);
	fstore_name(dir, db_path, sizeof(db_path));
	snprintf(csv_path, sizeof(csv_path), "%s/in.csv", dir);
	if (store_open(db_path, STORE_CREATE, 5000, &st, err,
	    sizeof(err)) == -1)
		die("store", err);
	db = fstore_open(db_path);
	pgsql = db_engine(db) == DB_PGSQL;
	/* a reset is thrown away with the store: no fsync for it */
	if (!pgsql && db_exec(db, "PRAGMA synchronous=OFF") != DB_OK)
		die("store", db_errmsg(db));
	/*
	 * Every table the migrations made, whatever they are by now.
	 * PostgreSQL holds to the foreign keys at each statement, so there
	 * one TRUNCATE empties them all at once; SQLite's second connection
	 * does not (foreign_keys is off), so it deletes table by table.
	 */
	if ((s = db_prepare(db, pgsql ? "SELECT tablename FROM pg_tables"
	    " WHERE schemaname = current_schema() AND"
	    " tablename <> 'schema_migrations' ORDER BY tablename" :
	    "SELECT name FROM sqlite_master WHERE type = 'table' AND"
	    " name <> 'schema_migrations' AND name NOT LIKE 'sqlite%'",
	    0)) == NULL)
		die("store", db_errmsg(db));
	buf_init(&reset_sql, 64 * 1024);
	buf_puts(&reset_sql, pgsql ? "TRUNCATE " : "BEGIN;");
	for (n = 0; (rc = db_step(s)) == DB_ROW; n++) {
		if (pgsql)
			buf_printf(&reset_sql, "%s\"%s\"", n > 0 ? ", " : "",
			    db_col_text(s, 0));
		else
			buf_printf(&reset_sql, "DELETE FROM \"%s\";",
			    db_col_text(s, 0));
	}
	if (rc != DB_DONE)
		die("store", db_errmsg(db));
	db_finalize(s);
	buf_puts(&reset_sql, pgsql ? ";" : "COMMIT;");
	cf = conf_defaults();
	return 0;
}

static void
check_import(enum import_kind kind, int strict)
{
	struct import_opts opts;
	struct import_stats stats;
	char err[1024];

	memset(&opts, 0, sizeof(opts));
	opts.strict = strict;
	opts.report = report;
	opts.now = NOW;
	err[0] = '\0';
	if (import_file(st, kind, csv_path, &opts, &stats, err,
	    sizeof(err)) == -1) {
		if (err[0] == '\0')
			abort();	/* failed without a reason */
		return;
	}
	if (stats.format == NULL || stats.bad > stats.records ||
	    stats.records < 0 || stats.inserted < 0 || stats.updated < 0 ||
	    stats.unchanged < 0 || stats.skipped < 0 || stats.warnings < 0 ||
	    (stats.rolled_back && !(strict && stats.bad > 0)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct segment_rebuild_stats rs;
	const uint8_t *p, *end = data + size, *ff;
	char err[1024];
	FILE *fp;
	size_t i;
	int files, k;

	if ((report = open_memstream(&report_text, &report_len)) == NULL)
		abort();
	for (p = data, files = 0; files < MAX_FILES; files++) {
		if ((ff = memchr(p, '\f', (size_t)(end - p))) == NULL)
			ff = end;
		if ((fp = fopen(csv_path, "wb")) == NULL ||
		    fwrite(p, 1, (size_t)(ff - p), fp) != (size_t)(ff - p) ||
		    fclose(fp) != 0)
			abort();
		/* strict for every other kind: both ends of a file met */
		for (k = 0; k < IMPORT_KIND_COUNT; k++)
			check_import((enum import_kind)k, k % 2);
		if (ff == end)
			break;
		p = ff + 1;
	}
	/* what segctl prints of the file: lines, no terminal escapes */
	if (fclose(report) != 0)
		abort();
	for (i = 0; i < report_len; i++)
		if (((unsigned char)report_text[i] < 0x20 &&
		    report_text[i] != '\n') || report_text[i] == 0x7f)
			abort();
	free(report_text);
	if (segment_rebuild(st, cf, NOW, NULL, NULL,
	    &rs, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_import: rebuild: %s\n", err);
		abort();
	}
	if (db_exec(db, buf_str(&reset_sql)) != DB_OK)
		die("reset", db_errmsg(db));
	return 0;
}
