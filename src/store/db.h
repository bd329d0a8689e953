/*
 * db.h - the engine under the store: a connection, its statements and
 * their rows.  The store's modules speak SQL through this and nothing
 * else; each engine (src/store/sqlite/, src/store/pgsql/) implements it
 * in a folder of its own, in the manner of OpenSMTPD's table backends.
 *
 * The model is SQLite's: a statement is prepared once, bound by position
 * (SQL text numbers its parameters ?1, ?2 ... or plain ?), stepped row by
 * row and reset for its next use.  Text bound is not copied: it must stay
 * valid until the statement is reset.  A column read stays valid until the
 * next step or reset of its statement.  Errors leave a message for
 * db_errmsg().
 *
 * SQL is written once, in what both engines understand (ON CONFLICT,
 * RETURNING, CASE, coalesce, CAST(x AS BIGINT)); where they differ the
 * caller picks the text by db_engine().  A connection is used by one
 * thread at a time.
 */
#ifndef SEGM_STORE_DB_H
#define SEGM_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

enum db_engine {
	DB_SQLITE,
	DB_PGSQL
};

/* What db_step() and the calls that run SQL return. */
enum db_rc {
	DB_OK,
	DB_ROW,		/* a row is ready */
	DB_DONE,	/* no more rows */
	DB_ERROR,
	DB_BUSY,	/* another connection holds what was wanted */
	DB_UNIQUE	/* a unique key already had the row */
};

/* What a column of a row holds. */
enum db_kind {
	DB_NULL,
	DB_INTEGER,
	DB_FLOAT,
	DB_TEXT,
	DB_BLOB
};

struct db;
struct db_stmt;
struct db_blob;

/* One engine's implementation; db.c dispatches to it. */
struct db_ops {
	enum db_engine	  engine;
	void		(*close)(struct db *);
	struct db_stmt	*(*prepare)(struct db *, const char *, int flags);
	void		(*finalize)(struct db_stmt *);
	int		(*bind_int)(struct db_stmt *, int, int64_t);
	int		(*bind_double)(struct db_stmt *, int, double);
	/* a C string and its length */
	int		(*bind_text)(struct db_stmt *, int, const char *,
			    size_t);
	int		(*bind_blob)(struct db_stmt *, int, const void *,
			    size_t);
	int		(*bind_null)(struct db_stmt *, int);
	int		(*param_count)(struct db_stmt *);
	enum db_rc	(*step)(struct db_stmt *);
	void		(*reset)(struct db_stmt *);
	void		(*clear)(struct db_stmt *);
	int		(*col_count)(struct db_stmt *);
	const char	*(*col_name)(struct db_stmt *, int);
	int		(*col_null)(struct db_stmt *, int);
	enum db_kind	(*col_kind)(struct db_stmt *, int);
	int64_t		(*col_int)(struct db_stmt *, int);
	double		(*col_double)(struct db_stmt *, int);
	const char	*(*col_text)(struct db_stmt *, int);
	const void	*(*col_blob)(struct db_stmt *, int, size_t *);
	int		(*bind_zeroblob)(struct db_stmt *, int, size_t);
	int		(*blob_open)(struct db *, const char *, const char *,
			    const char *, int64_t, size_t, int,
			    struct db_blob **);
	int		(*blob_write)(struct db_blob *, const void *, size_t,
			    size_t);
	int		(*blob_read)(struct db_blob *, void *, size_t, size_t);
	int		(*blob_close)(struct db_blob *);
	enum db_rc	(*exec)(struct db *, const char *);
	int64_t		(*changes)(struct db *);
	int		(*in_transaction)(struct db *);
	const char	*(*errmsg)(struct db *);
};

/* The start of every engine's connection and statement. */
struct db {
	const struct db_ops *ops;
};

struct db_stmt {
	struct db	*db;
};

struct db_blob {
	struct db	*db;
};

/*
 * Prepares SQL; NULL with db_errmsg() on error.  FLAGS: DB_PERSIST for a
 * statement kept for the life of the connection (the store's cache:
 * SQLite keeps it out of its lookaside memory); DB_STREAM for one that
 * walks a big table inside a transaction (an engine that would hold the
 * whole answer in memory reads it in pieces instead; other statements
 * may run on the connection meanwhile).
 */
#define DB_PERSIST	0x1
#define DB_STREAM	0x2
struct db_stmt	*db_prepare(struct db *db, const char *sql, int flags);
void		 db_finalize(struct db_stmt *s);	/* NULL: nothing */

int		 db_bind_int(struct db_stmt *s, int i, int64_t v);
int		 db_bind_double(struct db_stmt *s, int i, double v);
/* V, a C string, or NULL for SQL NULL. */
int		 db_bind_text(struct db_stmt *s, int i, const char *v);
int		 db_bind_blob(struct db_stmt *s, int i, const void *v,
		    size_t n);
int		 db_bind_null(struct db_stmt *s, int i);
/* N bytes of zeros, to be written over with db_blob_write(). */
int		 db_bind_zeroblob(struct db_stmt *s, int i, size_t n);
int		 db_param_count(struct db_stmt *s);

enum db_rc	 db_step(struct db_stmt *s);
/* Makes S ready to run again; its bindings stay. */
void		 db_reset(struct db_stmt *s);
/* Every parameter of S back to NULL. */
void		 db_clear(struct db_stmt *s);

int		 db_col_count(struct db_stmt *s);
const char	*db_col_name(struct db_stmt *s, int i);
int		 db_col_null(struct db_stmt *s, int i);
/* What column I of the row holds (SQLite: the value's own type;
 * PostgreSQL: the column's). */
enum db_kind	 db_col_kind(struct db_stmt *s, int i);
int64_t		 db_col_int(struct db_stmt *s, int i);
double		 db_col_double(struct db_stmt *s, int i);
/* NULL for SQL NULL. */
const char	*db_col_text(struct db_stmt *s, int i);
const void	*db_col_blob(struct db_stmt *s, int i, size_t *n);

/*
 * A blob written or read in pieces: column COL of the row of TABLE whose
 * integer key KEY is ROW, LEN bytes long (as bound by db_bind_zeroblob).
 * SQLite writes the pieces in place, page by page; an engine without
 * incremental I/O may gather them and write the whole at db_blob_close(),
 * which then reports the write's error.
 */
int		 db_blob_open(struct db *db, const char *table,
		    const char *col, const char *key, int64_t row, size_t len,
		    int write, struct db_blob **out);
int		 db_blob_write(struct db_blob *b, const void *p, size_t n,
		    size_t at);
int		 db_blob_read(struct db_blob *b, void *p, size_t n, size_t at);
int		 db_blob_close(struct db_blob *b);	/* NULL: 0 */

/* Runs SQL that returns no rows, one statement or several. */
enum db_rc	 db_exec(struct db *db, const char *sql);
/* Rows the last INSERT, UPDATE or DELETE changed. */
int64_t		 db_changes(struct db *db);
int		 db_in_transaction(struct db *db);
const char	*db_errmsg(struct db *db);
enum db_engine	 db_engine(const struct db *db);
void		 db_close(struct db *db);	/* NULL: nothing */

#endif
