/*
 * tstore.h - the store a unit test runs on, and the test's own look
 * behind the store's back.
 *
 * A store is a file in the test's directory, or, when SEGM_TEST_PGSQL
 * holds a PostgreSQL URI (tests/unit/run-pgsql.sh starts a private
 * server and sets it), a schema of its own on that server: the same test
 * then runs against either engine.  tstore_exec() and its kin run SQL on
 * the store directly, as a test sets a scene or checks what was written;
 * the SQL must read the same to both engines.  Every failure fails the
 * test.
 */
#ifndef SEGM_TSTORE_H
#define SEGM_TSTORE_H

#include <stddef.h>
#include <stdint.h>

struct db;

/* Whether the tests run against PostgreSQL. */
int	 tstore_pgsql(void);
/* SQL for the blob column COL read as UTF-8 text, into OUT. */
void	 tstore_blob_text(const char *col, char *out, size_t outlen);
/* A new store's name, for a store in DIR (a file there, or a schema). */
void	 tstore_name(const char *dir, char *out, size_t outlen);
/* Runs SQL (several statements allowed) on the store NAME. */
void	 tstore_exec(const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The first column of SQL's first row: an integer, 0 for NULL; -1 when
 * there is no row. */
int64_t	 tstore_int(const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* As a string into OUT ("" for NULL or no row). */
void	 tstore_text(const char *name, char *out, size_t outlen,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* SQL run in a transaction left open on a connection of its own, as
 * another relay holding its locks would; tstore_release() rolls it back
 * and closes the connection. */
struct db *tstore_hold(const char *name, const char *sql);
void	 tstore_release(struct db *db);

#endif
