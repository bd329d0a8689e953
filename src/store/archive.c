/*
 * archive.c - the records of the audit archives, and pruning the rows
 * archived (store.h, store_audit_archives, store_audit_prune).
 *
 * Archiving runs once a month: its statements are prepared for the call
 * rather than kept in a slot of struct store.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "str.h"
#include "xalloc.h"

int
store_audit_archives(struct store *st, struct store_audit_archive **out,
    size_t *n)
{
	struct store_audit_archive *a;
	sqlite3_stmt *s;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(st->db, "SELECT name, first_seq, last_seq,"
	    " rows, prev_hash, last_hash, sha256, min_at, max_at, made_at"
	    " FROM audit_archives ORDER BY first_seq", -1, &s, NULL) !=
	    SQLITE_OK)
		return store_fail(st, "audit_archives");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xreallocarray(*out, cap, sizeof(**out));
		}
		a = &(*out)[(*n)++];
		str_copy(a->name, sizeof(a->name), store_col_text(s, 0));
		a->first_seq = sqlite3_column_int64(s, 1);
		a->last_seq = sqlite3_column_int64(s, 2);
		a->rows = sqlite3_column_int64(s, 3);
		str_copy(a->prev_hash, sizeof(a->prev_hash),
		    store_col_text(s, 4));
		str_copy(a->last_hash, sizeof(a->last_hash),
		    store_col_text(s, 5));
		str_copy(a->sha256, sizeof(a->sha256), store_col_text(s, 6));
		a->min_at = sqlite3_column_int64(s, 7);
		a->max_at = sqlite3_column_int64(s, 8);
		a->made_at = sqlite3_column_int64(s, 9);
	}
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return 0;
	free(*out);
	*out = NULL;
	*n = 0;
	return store_fail(st, "audit_archives");
}

/* A's rows still in the store as they were archived: 0, or -1. */
static int
prune_check(struct store *st, const struct store_audit_archive *a)
{
	sqlite3_stmt *s;
	int rc, same = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT count(*), (SELECT hash FROM"
	    " audit WHERE seq = ?2) FROM audit WHERE seq BETWEEN ?1 AND ?2",
	    -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, "audit_archives");
	sqlite3_bind_int64(s, 1, a->first_seq);
	sqlite3_bind_int64(s, 2, a->last_seq);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		same = sqlite3_column_int64(s, 0) == a->rows &&
		    a->rows == a->last_seq - a->first_seq + 1 &&
		    store_col_text(s, 1) != NULL &&
		    strcmp(store_col_text(s, 1), a->last_hash) == 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return store_fail(st, "audit");
	if (!same)
		return store_failf(st, "audit rows %lld to %lld changed while"
		    " %s was written: nothing was pruned", (long long)
		    a->first_seq, (long long)a->last_seq, a->name);
	return 0;
}

static int
prune_one(struct store *st, const struct store_audit_archive *a)
{
	sqlite3_stmt *s;
	int rc;

	if (prune_check(st, a) == -1)
		return -1;
	if (sqlite3_prepare_v2(st->db, "INSERT INTO audit_archives (name,"
	    " first_seq, last_seq, rows, prev_hash, last_hash, sha256, min_at,"
	    " max_at, made_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
	    " ?10)", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, "audit_archives");
	store_bind_text(s, 1, a->name);
	sqlite3_bind_int64(s, 2, a->first_seq);
	sqlite3_bind_int64(s, 3, a->last_seq);
	sqlite3_bind_int64(s, 4, a->rows);
	store_bind_text(s, 5, a->prev_hash);
	store_bind_text(s, 6, a->last_hash);
	store_bind_text(s, 7, a->sha256);
	sqlite3_bind_int64(s, 8, a->min_at);
	sqlite3_bind_int64(s, 9, a->max_at);
	sqlite3_bind_int64(s, 10, a->made_at);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_fail(st, "audit_archives");
	if (sqlite3_prepare_v2(st->db, "DELETE FROM audit WHERE seq BETWEEN"
	    " ?1 AND ?2", -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, "audit");
	sqlite3_bind_int64(s, 1, a->first_seq);
	sqlite3_bind_int64(s, 2, a->last_seq);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store_fail(st, "audit");
}

int
store_audit_prune(struct store *st, const struct store_audit_archive *v,
    size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	if (store_begin(st) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (prune_one(st, &v[i]) == -1)
			goto fail;
	/*
	 * An hour whose rows all went keeps no mark; one that still has
	 * rows keeps its own, which may name an archived row: export starts
	 * a little early, and skips nothing.
	 */
	if (store_exec(st, "DELETE FROM audit_hours WHERE hour NOT IN"
	    " (SELECT DISTINCT (at - ((at % 3600) + 3600) % 3600) / 3600"
	    " FROM audit)") == -1)
		goto fail;
	return store_commit(st);
fail:
	store_rollback(st);
	return -1;
}
