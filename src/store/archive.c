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
	struct db_stmt *s;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((s = db_prepare(st->db, "SELECT name, first_seq, last_seq,"
	    " rows, prev_hash, last_hash, sha256, min_at, max_at, made_at"
	    " FROM audit_archives ORDER BY first_seq", 0)) == NULL)
		return store_fail(st, "audit_archives");
	while ((rc = db_step(s)) == DB_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xreallocarray(*out, cap, sizeof(**out));
		}
		a = &(*out)[(*n)++];
		str_copy(a->name, sizeof(a->name), db_col_text(s, 0));
		a->first_seq = db_col_int(s, 1);
		a->last_seq = db_col_int(s, 2);
		a->rows = db_col_int(s, 3);
		str_copy(a->prev_hash, sizeof(a->prev_hash),
		    db_col_text(s, 4));
		str_copy(a->last_hash, sizeof(a->last_hash),
		    db_col_text(s, 5));
		str_copy(a->sha256, sizeof(a->sha256), db_col_text(s, 6));
		a->min_at = db_col_int(s, 7);
		a->max_at = db_col_int(s, 8);
		a->made_at = db_col_int(s, 9);
	}
	db_finalize(s);
	if (rc == DB_DONE)
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
	struct db_stmt *s;
	int rc, same = 0;

	if ((s = db_prepare(st->db, "SELECT count(*), (SELECT hash FROM"
	    " audit WHERE seq = ?2) FROM audit WHERE seq BETWEEN ?1 AND ?2",
	    0)) == NULL)
		return store_fail(st, "audit_archives");
	db_bind_int(s, 1, a->first_seq);
	db_bind_int(s, 2, a->last_seq);
	if ((rc = db_step(s)) == DB_ROW)
		same = db_col_int(s, 0) == a->rows &&
		    a->rows == a->last_seq - a->first_seq + 1 &&
		    db_col_text(s, 1) != NULL &&
		    strcmp(db_col_text(s, 1), a->last_hash) == 0;
	db_finalize(s);
	if (rc != DB_ROW)
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
	struct db_stmt *s;
	int rc;

	if (prune_check(st, a) == -1)
		return -1;
	if ((s = db_prepare(st->db, "INSERT INTO audit_archives (name,"
	    " first_seq, last_seq, rows, prev_hash, last_hash, sha256, min_at,"
	    " max_at, made_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
	    " ?10)", 0)) == NULL)
		return store_fail(st, "audit_archives");
	db_bind_text(s, 1, a->name);
	db_bind_int(s, 2, a->first_seq);
	db_bind_int(s, 3, a->last_seq);
	db_bind_int(s, 4, a->rows);
	db_bind_text(s, 5, a->prev_hash);
	db_bind_text(s, 6, a->last_hash);
	db_bind_text(s, 7, a->sha256);
	db_bind_int(s, 8, a->min_at);
	db_bind_int(s, 9, a->max_at);
	db_bind_int(s, 10, a->made_at);
	rc = db_step(s);
	db_finalize(s);
	if (rc != DB_DONE)
		return store_fail(st, "audit_archives");
	if ((s = db_prepare(st->db, "DELETE FROM audit WHERE seq BETWEEN"
	    " ?1 AND ?2", 0)) == NULL)
		return store_fail(st, "audit");
	db_bind_int(s, 1, a->first_seq);
	db_bind_int(s, 2, a->last_seq);
	rc = db_step(s);
	db_finalize(s);
	return rc == DB_DONE ? 0 : store_fail(st, "audit");
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
