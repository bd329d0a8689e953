/*
 * fstore.c - see fstore.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/store/db.h"
#include "../../src/store/pgsql/pgsql.h"
#include "../../src/store/sqlite/sqlite.h"
#include "fstore.h"

#define FSTORE_PATH	"search_path%3D"	/* before the schema's name */

static int
fstore_connect(const char *name, struct db **db, char *err, size_t errlen)
{
	return pgsql_db_is_uri(name) ? pgsql_db_open(name, 5000, db, err,
	    errlen) : sqlite_db_open(name, 0, 5000, db, err, errlen);
}

struct db *
fstore_open(const char *name)
{
	struct db *db;
	char err[512];

	if (fstore_connect(name, &db, err, sizeof(err)) == -1) {
		fprintf(stderr, "fstore: %s\n", err);
		exit(1);
	}
	return db;
}

void
fstore_name(const char *dir, char *out, size_t outlen)
{
	static unsigned n;
	const char *uri = getenv("SEGM_TEST_PGSQL");
	char schema[48], sql[80];
	struct db *db;

	if (uri == NULL || *uri == '\0') {
		snprintf(out, outlen, "%s/store.db", dir);
		return;
	}
	/* the process's own: several targets' replays, or tests, share a
	 * server */
	snprintf(schema, sizeof(schema), "s%ld_%u", (long)getpid(), ++n);
	snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
	if ((size_t)snprintf(out, outlen, "%s%soptions=-c%s%s", uri,
	    strchr(uri, '?') != NULL ? "&" : "?", FSTORE_PATH, schema) >=
	    outlen) {
		fprintf(stderr, "fstore: %s: too long a store name\n", uri);
		exit(1);
	}
	db = fstore_open(uri);
	if (db_exec(db, sql) != DB_OK) {
		fprintf(stderr, "fstore: %s: %s\n", sql, db_errmsg(db));
		exit(1);
	}
	db_close(db);
}

/*
 * At exit, where exit() may not be called again: a store left behind
 * is only reported.
 */
void
fstore_remove(const char *name)
{
	/* beside a SQLite store: its log, its shared memory, and the lock
	 * a segment rebuild takes (src/store/segments.c) */
	static const char *const beside[] = { "", "-wal", "-shm", "-rebuild" };
	const char *schema = strstr(name, FSTORE_PATH);
	char sql[64], path[4096], err[512];
	struct db *db;
	size_t i;

	if (!pgsql_db_is_uri(name)) {
		for (i = 0; i < sizeof(beside) / sizeof(beside[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", name, beside[i]);
			unlink(path);
		}
		return;
	}
	if (schema == NULL)	/* not one fstore_name() made */
		return;
	snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE",
	    schema + strlen(FSTORE_PATH));
	if (fstore_connect(name, &db, err, sizeof(err)) == -1) {
		fprintf(stderr, "fstore: %s\n", err);
		return;
	}
	if (db_exec(db, sql) != DB_OK)
		fprintf(stderr, "fstore: %s: %s\n", sql, db_errmsg(db));
	db_close(db);
}
