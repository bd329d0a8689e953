/*
 * tstore.c - see tstore.h.  Connections are the store's own engines,
 * opened for each call: tests are not the place to save them.  A store
 * is named and opened as a fuzz target's (tests/fuzz/fstore.h): a
 * failure there prints why and exits, which fails the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/store/db.h"
#include "../fuzz/fstore.h"
#include "tstore.h"

static const char *
tstore_server(void)
{
	const char *uri = getenv("SEGM_TEST_PGSQL");

	return uri != NULL && *uri != '\0' ? uri : NULL;
}

int
tstore_pgsql(void)
{
	return tstore_server() != NULL;
}

void
tstore_blob_text(const char *col, char *out, size_t outlen)
{
	/* PostgreSQL casts a bytea to its \x... spelling, not its text */
	snprintf(out, outlen, tstore_pgsql() ? "convert_from(%s, 'UTF8')" :
	    "CAST(%s AS TEXT)", col);
}

void
tstore_name(const char *dir, char *out, size_t outlen)
{
	fstore_name(dir, out, outlen);
}

static char *
tstore_format(const char *fmt, va_list ap)
{
	char *sql;

	if (vasprintf(&sql, fmt, ap) == -1)
		fail_msg("out of memory");
	return sql;
}

void
tstore_exec(const char *name, const char *fmt, ...)
{
	struct db *db = fstore_open(name);
	va_list ap;
	char *sql;

	va_start(ap, fmt);
	sql = tstore_format(fmt, ap);
	va_end(ap);
	if (db_exec(db, sql) != DB_OK)
		fail_msg("%s: %s", sql, db_errmsg(db));
	free(sql);
	db_close(db);
}

/* SQL's first row on a new connection, or fails the test. */
static struct db_stmt *
tstore_row(const char *name, struct db **db, const char *fmt, va_list ap,
    enum db_rc *rc)
{
	struct db_stmt *s;
	char *sql;

	*db = fstore_open(name);
	sql = tstore_format(fmt, ap);
	if ((s = db_prepare(*db, sql, 0)) == NULL)
		fail_msg("%s: %s", sql, db_errmsg(*db));
	*rc = db_step(s);
	if (*rc != DB_ROW && *rc != DB_DONE)
		fail_msg("%s: %s", sql, db_errmsg(*db));
	free(sql);
	return s;
}

int64_t
tstore_int(const char *name, const char *fmt, ...)
{
	struct db_stmt *s;
	struct db *db;
	enum db_rc rc;
	int64_t v;
	va_list ap;

	va_start(ap, fmt);
	s = tstore_row(name, &db, fmt, ap, &rc);
	va_end(ap);
	v = rc == DB_ROW ? db_col_int(s, 0) : -1;
	db_finalize(s);
	db_close(db);
	return v;
}

void
tstore_text(const char *name, char *out, size_t outlen, const char *fmt,
    ...)
{
	struct db_stmt *s;
	struct db *db;
	enum db_rc rc;
	va_list ap;

	va_start(ap, fmt);
	s = tstore_row(name, &db, fmt, ap, &rc);
	va_end(ap);
	snprintf(out, outlen, "%s", rc == DB_ROW && db_col_text(s, 0) !=
	    NULL ? db_col_text(s, 0) : "");
	db_finalize(s);
	db_close(db);
}

struct db *
tstore_hold(const char *name, const char *sql)
{
	struct db *db = fstore_open(name);

	if (db_exec(db, "BEGIN") != DB_OK || db_exec(db, sql) != DB_OK)
		fail_msg("%s: %s", sql, db_errmsg(db));
	return db;
}

void
tstore_release(struct db *db)
{
	if (db_exec(db, "ROLLBACK") != DB_OK)
		fail_msg("ROLLBACK: %s", db_errmsg(db));
	db_close(db);
}
