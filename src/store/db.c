/*
 * db.c - the engine contract's calls, each handed to the connection's
 * engine.
 */
#include <string.h>

#include "db.h"

struct db_stmt *
db_prepare(struct db *db, const char *sql, int flags)
{
	return db->ops->prepare(db, sql, flags);
}

void
db_finalize(struct db_stmt *s)
{
	if (s != NULL)
		s->db->ops->finalize(s);
}

int
db_bind_int(struct db_stmt *s, int i, int64_t v)
{
	return s->db->ops->bind_int(s, i, v);
}

int
db_bind_double(struct db_stmt *s, int i, double v)
{
	return s->db->ops->bind_double(s, i, v);
}

int
db_bind_text(struct db_stmt *s, int i, const char *v)
{
	if (v == NULL)
		return s->db->ops->bind_null(s, i);
	return s->db->ops->bind_text(s, i, v, strlen(v));
}

int
db_bind_blob(struct db_stmt *s, int i, const void *v, size_t n)
{
	return s->db->ops->bind_blob(s, i, v, n);
}

int
db_bind_null(struct db_stmt *s, int i)
{
	return s->db->ops->bind_null(s, i);
}

int
db_bind_zeroblob(struct db_stmt *s, int i, size_t n)
{
	return s->db->ops->bind_zeroblob(s, i, n);
}

int
db_param_count(struct db_stmt *s)
{
	return s->db->ops->param_count(s);
}

enum db_rc
db_step(struct db_stmt *s)
{
	return s->db->ops->step(s);
}

void
db_reset(struct db_stmt *s)
{
	s->db->ops->reset(s);
}

void
db_clear(struct db_stmt *s)
{
	s->db->ops->clear(s);
}

int
db_col_count(struct db_stmt *s)
{
	return s->db->ops->col_count(s);
}

const char *
db_col_name(struct db_stmt *s, int i)
{
	return s->db->ops->col_name(s, i);
}

int
db_col_null(struct db_stmt *s, int i)
{
	return s->db->ops->col_null(s, i);
}

enum db_kind
db_col_kind(struct db_stmt *s, int i)
{
	return s->db->ops->col_kind(s, i);
}

int64_t
db_col_int(struct db_stmt *s, int i)
{
	return s->db->ops->col_int(s, i);
}

double
db_col_double(struct db_stmt *s, int i)
{
	return s->db->ops->col_double(s, i);
}

const char *
db_col_text(struct db_stmt *s, int i)
{
	return s->db->ops->col_text(s, i);
}

const void *
db_col_blob(struct db_stmt *s, int i, size_t *n)
{
	return s->db->ops->col_blob(s, i, n);
}

int
db_blob_open(struct db *db, const char *table, const char *col,
    const char *key, int64_t row, size_t len, int write,
    struct db_blob **out)
{
	return db->ops->blob_open(db, table, col, key, row, len, write, out);
}

int
db_blob_write(struct db_blob *b, const void *p, size_t n, size_t at)
{
	return b->db->ops->blob_write(b, p, n, at);
}

int
db_blob_read(struct db_blob *b, void *p, size_t n, size_t at)
{
	return b->db->ops->blob_read(b, p, n, at);
}

int
db_blob_close(struct db_blob *b)
{
	return b == NULL ? 0 : b->db->ops->blob_close(b);
}

enum db_rc
db_exec(struct db *db, const char *sql)
{
	return db->ops->exec(db, sql);
}

int64_t
db_changes(struct db *db)
{
	return db->ops->changes(db);
}

int
db_in_transaction(struct db *db)
{
	return db->ops->in_transaction(db);
}

const char *
db_errmsg(struct db *db)
{
	return db->ops->errmsg(db);
}

enum db_engine
db_engine(const struct db *db)
{
	return db->ops->engine;
}

void
db_close(struct db *db)
{
	if (db != NULL)
		db->ops->close(db);
}
