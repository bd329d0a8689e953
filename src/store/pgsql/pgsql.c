/*
 * pgsql.c - the PostgreSQL engine of db.h, on libpq.
 *
 * SQL keeps SQLite's parameters (?1, ?): they become $1 ... when a
 * statement is prepared.  The server prepares a statement at its first
 * run, once its parameters' types are known: integers go as bigint and
 * blobs as bytea, text and NULL as "unknown", so that the server reads
 * them as the place they stand in needs (a json, a text, a number).
 * Rows come back as text, read on demand.
 *
 * A connection found broken is opened again before the next statement,
 * at most once per backoff step (0.1 s doubling to 30 s).  Statements are
 * prepared again on the new connection.  If a transaction was open when
 * the connection went, every statement fails until the caller rolls
 * back: what it did is lost, and running the rest outside a transaction
 * would be worse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "pgsql.h"
#include "xalloc.h"

/* From PostgreSQL's catalog (pg_type.dat): stable across versions. */
#define OID_BYTEA	17
#define OID_INT8	20
#define OID_FLOAT8	701

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	30000

struct pgsql_db {
	struct db	 base;
	PGconn		*conn;
	char		 err[512];
	int64_t		 changes;
	unsigned	 gen;		/* connections made: statements' epoch */
	unsigned	 nstmt;		/* names handed out on this connection */
	int		 txn_lost;	/* the link went inside a transaction */
	int64_t		 backoff_ms;
	struct timespec	 next_try;	/* no reconnection before this */
	uint64_t	 round_trips;
};

struct pgsql_stmt {
	struct db_stmt	 base;
	char		*sql;		/* with $n */
	int		 nparams;
	unsigned	 gen;		/* prepared on this connection, if > 0 */
	char		 name[24];
	Oid		*types;
	const char	**values;
	int		*lengths;
	int		*formats;
	char		(*num)[24];	/* integers as text */
	PGresult	*res;
	int		 row;		/* -1 before the first step */
	int		 stream;	/* DB_STREAM: read through a cursor */
	int		 open;		/* the cursor is declared */
	unsigned char	*blob;		/* the last bytea read, decoded */
};

struct pgsql_blob {
	struct db_blob	 base;
	char		*table, *col, *key;
	int64_t		 row;
	int		 write;
	unsigned char	*buf;		/* a write's bytes, sent at close */
	size_t		 len;
};

#define CONN(db)	((struct pgsql_db *)(db))
#define STMT(s)		((struct pgsql_stmt *)(s))

static void
pgsql_quiet(void *arg, const char *msg)
{
	/* notices (an IF NOT EXISTS that skipped) are not for the log */
	(void)arg;
	(void)msg;
}

/*
 * The error, on one line: libpq's run over several (a hint, the
 * statement's text with a caret), and a log line or an SMTP reply is
 * one.
 */
static int
pgsql_fail(struct pgsql_db *c, const char *fmt, const char *what)
{
	snprintf(c->err, sizeof(c->err), fmt, what);
	c->err[strcspn(c->err, "\n")] = '\0';
	return -1;
}

int
pgsql_db_is_uri(const char *name)
{
	return strncmp(name, "postgresql://", 13) == 0 ||
	    strncmp(name, "postgres://", 11) == 0;
}

void
pgsql_db_redact(const char *uri, char *out, size_t outlen)
{
	const char *auth, *at, *colon, *q;
	size_t n = 0;

	/* scheme://user:password@host...  and  ...?password=... */
	auth = strstr(uri, "://");
	auth = auth != NULL ? auth + 3 : uri;
	at = strchr(auth, '@');
	q = strchr(auth, '?');
	if (outlen == 0)
		return;
	out[0] = '\0';
#define PUT(p, len) do {						\
	size_t len_ = (len);						\
	if (len_ >= outlen - n)	/* cut short: what fits is shown */	\
		len_ = outlen - n - 1;					\
	memcpy(out + n, (p), len_);					\
	out[n += len_] = '\0';						\
} while (0)
	if (at != NULL && (q == NULL || at < q) &&
	    (colon = memchr(auth, ':', (size_t)(at - auth))) != NULL) {
		PUT(uri, (size_t)(colon - uri));
		PUT(":***", 4);
		uri = at;
	}
	while (*uri != '\0') {
		if ((uri[0] == '?' || uri[0] == '&') &&
		    strncmp(uri + 1, "password=", 9) == 0) {
			PUT(uri, 10);
			PUT("***", 3);
			uri += 10;
			uri += strcspn(uri, "&");
			continue;
		}
		PUT(uri, 1);
		uri++;
	}
#undef PUT
}

static int
pgsql_session(struct pgsql_db *c)
{
	PGresult *r;
	int ok;

	PQsetNoticeProcessor(c->conn, pgsql_quiet, NULL);
	/*
	 * UTC for any date the server makes.  The store's statements are
	 * index probes into pages a relay's traffic keeps cached: the
	 * planner's default random_page_cost (4, for disks that seek)
	 * has a 64-address batch scan a table of 6,000 customers rather
	 * than probe its index (0.9 ms against 0.07).
	 */
	r = PQexec(c->conn, "SET client_encoding = 'UTF8';"
	    " SET TIME ZONE 'UTC'; SET standard_conforming_strings = on;"
	    " SET random_page_cost = 1.1");
	c->round_trips++;
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		pgsql_fail(c, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return ok ? 0 : -1;
}

static int64_t
ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(t->tv_sec - now.tv_sec) * 1000 +
	    (t->tv_nsec - now.tv_nsec) / 1000000;
}

/*
 * The connection, made again if it broke and the backoff allows.  0, or
 * -1 with the error.
 */
static int
pgsql_link(struct pgsql_db *c)
{
	struct timespec now;
	int64_t wait;

	if (PQstatus(c->conn) == CONNECTION_OK)
		return 0;
	if ((wait = ms_until(&c->next_try)) > 0) {
		snprintf(c->err, sizeof(c->err), "store unreachable (next"
		    " attempt in %lld ms): %s", (long long)wait,
		    PQerrorMessage(c->conn));
		c->err[strcspn(c->err, "\n")] = '\0';
		return -1;
	}
	PQreset(c->conn);
	c->round_trips++;
	if (PQstatus(c->conn) != CONNECTION_OK) {
		c->backoff_ms = c->backoff_ms == 0 ? BACKOFF_MIN_MS :
		    c->backoff_ms * 2;
		if (c->backoff_ms > BACKOFF_MAX_MS)
			c->backoff_ms = BACKOFF_MAX_MS;
		clock_gettime(CLOCK_MONOTONIC, &now);
		now.tv_sec += c->backoff_ms / 1000;
		now.tv_nsec += (c->backoff_ms % 1000) * 1000000;
		if (now.tv_nsec >= 1000000000) {
			now.tv_sec++;
			now.tv_nsec -= 1000000000;
		}
		c->next_try = now;
		return pgsql_fail(c, "store unreachable: %s",
		    PQerrorMessage(c->conn));
	}
	c->backoff_ms = 0;
	c->gen++;
	c->nstmt = 0;
	return pgsql_session(c);
}

/*
 * After a failed round trip: a broken link inside a transaction loses
 * it, and says so until the caller rolls back.
 */
static void
pgsql_broken(struct pgsql_db *c, int in_txn)
{
	if (PQstatus(c->conn) != CONNECTION_OK && in_txn)
		c->txn_lost = 1;
}

static int
pgsql_in_txn(struct pgsql_db *c)
{
	PGTransactionStatusType t = PQtransactionStatus(c->conn);

	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR ||
	    t == PQTRANS_ACTIVE;
}

/* The status of R as the contract's, with the error kept. */
static enum db_rc
pgsql_result(struct pgsql_db *c, PGresult *r, int in_txn)
{
	const char *state;

	switch (PQresultStatus(r)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		return DB_OK;
	default:
		break;
	}
	pgsql_fail(c, "%s", r != NULL ? PQresultErrorMessage(r) :
	    PQerrorMessage(c->conn));
	pgsql_broken(c, in_txn);
	state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	if (state == NULL)
		return DB_ERROR;
	if (strcmp(state, "23505") == 0)	/* unique_violation */
		return DB_UNIQUE;
	if (strcmp(state, "40001") == 0 ||	/* serialization_failure */
	    strcmp(state, "40P01") == 0 ||	/* deadlock_detected */
	    strcmp(state, "55P03") == 0)	/* lock_not_available */
		return DB_BUSY;
	return DB_ERROR;
}

static void
pgsql_close(struct db *db)
{
	PQfinish(CONN(db)->conn);
	free(db);
}

/*
 * SQL with SQLite's ?N and ? as $N; *NPARAMS the highest.  A bare ? is
 * one more than the highest so far, as in SQLite.  Quoted text and
 * comments are copied as they are.
 */
static char *
pgsql_translate(const char *sql, int *nparams)
{
	size_t len = strlen(sql);
	const char *p = sql;
	char *out, *o, quote;
	long n;
	int max = 0;

	/* "?N" becomes "$N", "?" at most "$32766": never past 6 x LEN */
	out = o = xmalloc(6 * len + 1);
	while (*p != '\0') {
		if (*p == '\'' || *p == '"') {
			quote = *p;
			*o++ = *p++;
			while (*p != '\0' && *p != quote)
				*o++ = *p++;
			if (*p != '\0')
				*o++ = *p++;
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p != '\0' && *p != '\n')
				*o++ = *p++;
		} else if (*p == '?') {
			p++;
			if (*p >= '0' && *p <= '9') {
				n = strtol(p, (char **)&p, 10);
				if (n > max)
					max = (int)n;
			} else
				n = ++max;
			o += sprintf(o, "$%ld", n);
		} else
			*o++ = *p++;
	}
	*o = '\0';
	*nparams = max;
	return out;
}

static struct db_stmt *
pgsql_prepare(struct db *db, const char *sql, int flags)
{
	struct pgsql_stmt *s;

	CONN(db)->err[0] = '\0';
	s = xcalloc(1, sizeof(*s));
	s->base.db = db;
	s->sql = pgsql_translate(sql, &s->nparams);
	s->stream = (flags & DB_STREAM) != 0;
	if (s->nparams > 0) {
		s->types = xcalloc((size_t)s->nparams, sizeof(*s->types));
		s->values = xcalloc((size_t)s->nparams, sizeof(*s->values));
		s->lengths = xcalloc((size_t)s->nparams, sizeof(*s->lengths));
		s->formats = xcalloc((size_t)s->nparams, sizeof(*s->formats));
		s->num = xcalloc((size_t)s->nparams, sizeof(*s->num));
	}
	s->row = -1;
	return &s->base;
}

static void
pgsql_reset(struct db_stmt *st)
{
	struct pgsql_stmt *s = STMT(st);
	struct pgsql_db *c = CONN(st->db);
	char sql[48];

	/* a cursor goes with its transaction anyway: closed while it runs */
	if (s->open && pgsql_in_txn(c) && !c->txn_lost) {
		snprintf(sql, sizeof(sql), "CLOSE c%p", (void *)s);
		PQclear(PQexec(c->conn, sql));
		c->round_trips++;
	}
	s->open = 0;
	PQclear(s->res);
	s->res = NULL;
	s->row = -1;
	PQfreemem(s->blob);
	s->blob = NULL;
}

static void
pgsql_finalize(struct db_stmt *st)
{
	struct pgsql_stmt *s = STMT(st);
	struct pgsql_db *c = CONN(st->db);
	char sql[48];
	PGresult *r;

	pgsql_reset(st);
	if (s->gen == c->gen && s->gen > 0 &&
	    PQstatus(c->conn) == CONNECTION_OK) {
		snprintf(sql, sizeof(sql), "DEALLOCATE %s", s->name);
		r = PQexec(c->conn, sql);
		PQclear(r);
	}
	free(s->sql);
	free(s->types);
	free(s->values);
	free(s->lengths);
	free(s->formats);
	free(s->num);
	free(s);
}

static int
pgsql_param(struct pgsql_stmt *s, int i, Oid type, const char *v, int len,
    int format)
{
	if (i < 1 || i > s->nparams)
		return -1;
	s->types[i - 1] = type;
	s->values[i - 1] = v;
	s->lengths[i - 1] = len;
	s->formats[i - 1] = format;
	return 0;
}

static int
pgsql_bind_int(struct db_stmt *st, int i, int64_t v)
{
	struct pgsql_stmt *s = STMT(st);

	if (i < 1 || i > s->nparams)
		return -1;
	snprintf(s->num[i - 1], sizeof(s->num[i - 1]), "%lld", (long long)v);
	return pgsql_param(s, i, OID_INT8, s->num[i - 1], 0, 0);
}

static int
pgsql_bind_double(struct db_stmt *st, int i, double v)
{
	struct pgsql_stmt *s = STMT(st);

	if (i < 1 || i > s->nparams)
		return -1;
	snprintf(s->num[i - 1], sizeof(s->num[i - 1]), "%.17g", v);
	return pgsql_param(s, i, OID_FLOAT8, s->num[i - 1], 0, 0);
}

static int
pgsql_bind_text(struct db_stmt *st, int i, const char *v, size_t n)
{
	/* a C string: libpq reads text parameters to their NUL */
	(void)n;
	return pgsql_param(STMT(st), i, 0, v, 0, 0);
}

static int
pgsql_bind_blob(struct db_stmt *st, int i, const void *v, size_t n)
{
	if (n > INT32_MAX)
		return -1;
	/* binary: bytea's are its bytes; never NULL, so "" when empty */
	return pgsql_param(STMT(st), i, OID_BYTEA, v != NULL ? v : "",
	    (int)n, 1);
}

static int
pgsql_bind_null(struct db_stmt *st, int i)
{
	return pgsql_param(STMT(st), i, 0, NULL, 0, 0);
}

static int
pgsql_bind_zeroblob(struct db_stmt *st, int i, size_t n)
{
	/* the bytes come whole at db_blob_close(): nothing to reserve */
	(void)n;
	return pgsql_bind_blob(st, i, "", 0);
}

static int
pgsql_param_count(struct db_stmt *st)
{
	return STMT(st)->nparams;
}

static void
pgsql_clear(struct db_stmt *st)
{
	struct pgsql_stmt *s = STMT(st);
	int i;

	for (i = 1; i <= s->nparams; i++)
		pgsql_param(s, i, 0, NULL, 0, 0);
}

/* S prepared on the current connection; 0, or -1 with the error. */
static int
pgsql_ready(struct pgsql_db *c, struct pgsql_stmt *s)
{
	PGresult *r;
	int rc;

	if (s->gen == c->gen)
		return 0;
	snprintf(s->name, sizeof(s->name), "s%u", ++c->nstmt);
	r = PQprepare(c->conn, s->name, s->sql, s->nparams, s->types);
	c->round_trips++;
	rc = pgsql_result(c, r, pgsql_in_txn(c)) == DB_OK ? 0 : -1;
	PQclear(r);
	if (rc == 0)
		s->gen = c->gen;
	else if (getenv("SEGM_PGSQL_TRACE") != NULL)
		fprintf(stderr, "pgsql: %s\n  in: %s\n", c->err, s->sql);
	return rc;
}

/* A lost transaction's statements fail until its ROLLBACK. */
static int
pgsql_lost(struct pgsql_db *c, const char *sql)
{
	if (!c->txn_lost)
		return 0;
	if (strncmp(sql, "ROLLBACK", 8) == 0) {
		c->txn_lost = 0;
		return 1;
	}
	pgsql_fail(c, "%s", "the store's connection was lost inside this"
	    " transaction: roll back");
	return -1;
}

#define PGSQL_FETCH	256	/* rows a cursor reads at once */

/*
 * A DB_STREAM statement's next rows: the cursor declared at its first
 * step, inside the caller's transaction (cursors live in one), then
 * read PGSQL_FETCH rows at a time.  DB_OK with s->res, or an error.
 */
static enum db_rc
pgsql_fetch(struct pgsql_db *c, struct pgsql_stmt *s)
{
	char *declare, fetch[64];
	PGresult *r;
	enum db_rc rc;
	int in_txn = pgsql_in_txn(c);

	if (!s->open) {
		if (!in_txn) {
			pgsql_fail(c, "%s", "a stream outside a transaction");
			return DB_ERROR;
		}
		if (asprintf(&declare, "DECLARE c%p NO SCROLL CURSOR FOR %s",
		    (void *)s, s->sql) == -1) {
			pgsql_fail(c, "%s", "out of memory");
			return DB_ERROR;
		}
		r = PQexecParams(c->conn, declare, s->nparams, s->types,
		    s->values, s->lengths, s->formats, 0);
		free(declare);
		c->round_trips++;
		rc = pgsql_result(c, r, in_txn);
		PQclear(r);
		if (rc != DB_OK)
			return rc;
		s->open = 1;
	}
	snprintf(fetch, sizeof(fetch), "FETCH %d FROM c%p", PGSQL_FETCH,
	    (void *)s);
	PQclear(s->res);
	s->res = PQexec(c->conn, fetch);
	c->round_trips++;
	s->row = -1;
	if ((rc = pgsql_result(c, s->res, in_txn)) != DB_OK) {
		PQclear(s->res);
		s->res = NULL;
	}
	return rc;
}

static enum db_rc
pgsql_step(struct db_stmt *st)
{
	struct pgsql_stmt *s = STMT(st);
	struct pgsql_db *c = CONN(st->db);
	enum db_rc rc;
	int in_txn, lost;

	if (s->stream) {
		if (s->res != NULL && s->row + 1 < PQntuples(s->res)) {
			PQfreemem(s->blob);
			s->blob = NULL;
			s->row++;
			return DB_ROW;
		}
		/* the last piece was short: the cursor is done */
		if (s->res != NULL && PQntuples(s->res) < PGSQL_FETCH)
			return DB_DONE;
		if (pgsql_link(c) == -1)
			return DB_ERROR;
		if ((rc = pgsql_fetch(c, s)) != DB_OK)
			return rc;
		if (PQntuples(s->res) == 0)
			return DB_DONE;
		s->row = 0;
		return DB_ROW;
	}
	if (s->res == NULL) {
		if ((lost = pgsql_lost(c, s->sql)) != 0)
			return lost == 1 ? DB_DONE : DB_ERROR;
		in_txn = pgsql_in_txn(c);
		if (pgsql_link(c) == -1) {
			pgsql_broken(c, in_txn);
			return DB_ERROR;
		}
		if (pgsql_ready(c, s) == -1)
			return DB_ERROR;
		s->res = PQexecPrepared(c->conn, s->name, s->nparams,
		    s->values, s->lengths, s->formats, 0);
		c->round_trips++;
		if ((rc = pgsql_result(c, s->res, in_txn)) != DB_OK) {
			if (getenv("SEGM_PGSQL_TRACE") != NULL)
				fprintf(stderr, "pgsql: %s\n  in: %s\n",
				    c->err, s->sql);
			PQclear(s->res);
			s->res = NULL;
			return rc;
		}
		/* as SQLite's: rows an INSERT, UPDATE or DELETE changed */
		if (strncmp(PQcmdStatus(s->res), "SELECT", 6) != 0)
			c->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
		if (PQresultStatus(s->res) == PGRES_COMMAND_OK)
			return DB_DONE;
	}
	PQfreemem(s->blob);
	s->blob = NULL;
	if (s->row + 1 < PQntuples(s->res)) {
		s->row++;
		return DB_ROW;
	}
	s->row = PQntuples(s->res);
	return DB_DONE;
}

static int
pgsql_col_count(struct db_stmt *st)
{
	struct pgsql_stmt *s = STMT(st);
	struct pgsql_db *c = CONN(st->db);
	PGresult *r;
	int n;

	if (s->res != NULL)
		return PQnfields(s->res);
	/* before the first step, as SQLite can: the server describes it */
	if (pgsql_link(c) == -1 || pgsql_ready(c, s) == -1)
		return 0;
	r = PQdescribePrepared(c->conn, s->name);
	c->round_trips++;
	n = PQnfields(r);
	PQclear(r);
	return n;
}

static const char *
pgsql_col_name(struct db_stmt *st, int i)
{
	return STMT(st)->res != NULL ? PQfname(STMT(st)->res, i) : NULL;
}

/* The row's value in column I as the server sent it; NULL for NULL. */
static const char *
pgsql_value(struct pgsql_stmt *s, int i)
{
	if (s->res == NULL || s->row < 0 || s->row >= PQntuples(s->res) ||
	    i < 0 || i >= PQnfields(s->res) ||
	    PQgetisnull(s->res, s->row, i))
		return NULL;
	return PQgetvalue(s->res, s->row, i);
}

static int
pgsql_col_null(struct db_stmt *st, int i)
{
	return pgsql_value(STMT(st), i) == NULL;
}

/* From PostgreSQL's catalog, as OID_BYTEA and its kin above. */
#define OID_BOOL	16
#define OID_INT2	21
#define OID_INT4	23
#define OID_FLOAT4	700

static enum db_kind
pgsql_col_kind(struct db_stmt *st, int i)
{
	if (pgsql_value(STMT(st), i) == NULL)
		return DB_NULL;
	switch (PQftype(STMT(st)->res, i)) {
	case OID_BOOL:
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		return DB_INTEGER;
	case OID_FLOAT4:
	case OID_FLOAT8:
		return DB_FLOAT;
	case OID_BYTEA:
		return DB_BLOB;
	}
	return DB_TEXT;
}

static int64_t
pgsql_col_int(struct db_stmt *st, int i)
{
	const char *v = pgsql_value(STMT(st), i);

	if (v == NULL)
		return 0;
	/* a boolean reads as SQLite's 1 and 0 */
	if (v[0] == 't' && v[1] == '\0')
		return 1;
	if (v[0] == 'f' && v[1] == '\0')
		return 0;
	return strtoll(v, NULL, 10);
}

static double
pgsql_col_double(struct db_stmt *st, int i)
{
	const char *v = pgsql_value(STMT(st), i);

	return v != NULL ? strtod(v, NULL) : 0.0;
}

static const char *
pgsql_col_text(struct db_stmt *st, int i)
{
	return pgsql_value(STMT(st), i);
}

static const void *
pgsql_col_blob(struct db_stmt *st, int i, size_t *n)
{
	struct pgsql_stmt *s = STMT(st);
	const char *v = pgsql_value(s, i);

	*n = 0;
	if (v == NULL)
		return NULL;
	PQfreemem(s->blob);
	if ((s->blob = PQunescapeBytea((const unsigned char *)v, n)) ==
	    NULL)
		*n = 0;
	return s->blob;
}

static int
pgsql_blob_open(struct db *db, const char *table, const char *col,
    const char *key, int64_t row, size_t len, int write,
    struct db_blob **out)
{
	struct pgsql_blob *b;

	b = xcalloc(1, sizeof(*b));
	b->base.db = db;
	b->table = xstrdup(table);
	b->col = xstrdup(col);
	b->key = xstrdup(key);
	b->row = row;
	b->write = write;
	b->len = len;
	if (write && len > 0)
		b->buf = xcalloc(1, len);
	*out = &b->base;
	return 0;
}

static int
pgsql_blob_write(struct db_blob *db_b, const void *p, size_t n, size_t at)
{
	struct pgsql_blob *b = (struct pgsql_blob *)db_b;

	if (!b->write || at > b->len || n > b->len - at) {
		snprintf(CONN(b->base.db)->err, sizeof(CONN(b->base.db)->err),
		    "%zu bytes at %zu: past the blob's %zu", n, at, b->len);
		return -1;
	}
	memcpy(b->buf + at, p, n);
	return 0;
}

static int
pgsql_blob_read(struct db_blob *db_b, void *p, size_t n, size_t at)
{
	struct pgsql_blob *b = (struct pgsql_blob *)db_b;
	struct pgsql_db *c = CONN(b->base.db);
	struct db_stmt *s;
	const void *v;
	size_t got = 0;
	char sql[256];
	int rc = -1;

	snprintf(sql, sizeof(sql), "SELECT substring(\"%s\" FROM"
	    " CAST(?2 AS integer) + 1 FOR CAST(?3 AS integer)) FROM \"%s\""
	    " WHERE \"%s\" = ?1", b->col, b->table, b->key);
	s = pgsql_prepare(b->base.db, sql, 0);
	pgsql_bind_int(s, 1, b->row);
	pgsql_bind_int(s, 2, (int64_t)at);
	pgsql_bind_int(s, 3, (int64_t)n);
	if (pgsql_step(s) == DB_ROW) {
		v = pgsql_col_blob(s, 0, &got);
		if (v != NULL && got == n) {
			memcpy(p, v, n);
			rc = 0;
		} else
			snprintf(c->err, sizeof(c->err), "%zu bytes at %zu:"
			    " past the blob's end", n, at);
	} else if (c->err[0] == '\0')
		snprintf(c->err, sizeof(c->err), "no row %lld in %s",
		    (long long)b->row, b->table);
	pgsql_finalize(s);
	return rc;
}

static int
pgsql_blob_close(struct db_blob *db_b)
{
	struct pgsql_blob *b = (struct pgsql_blob *)db_b;
	struct db_stmt *s;
	char sql[256];
	int rc = 0;

	if (b->write) {
		snprintf(sql, sizeof(sql), "UPDATE \"%s\" SET \"%s\" = ?2"
		    " WHERE \"%s\" = ?1", b->table, b->col, b->key);
		s = pgsql_prepare(b->base.db, sql, 0);
		pgsql_bind_int(s, 1, b->row);
		pgsql_bind_blob(s, 2, b->buf, b->len);
		if (pgsql_step(s) != DB_DONE)
			rc = -1;
		else if (CONN(b->base.db)->changes != 1)
			rc = pgsql_fail(CONN(b->base.db), "no row %s to write",
			    b->table);
		pgsql_finalize(s);
	}
	free(b->buf);
	free(b->table);
	free(b->col);
	free(b->key);
	free(b);
	return rc;
}

static enum db_rc
pgsql_exec(struct db *db, const char *sql)
{
	struct pgsql_db *c = CONN(db);
	PGresult *r;
	enum db_rc rc;
	int in_txn, lost;

	c->err[0] = '\0';
	if ((lost = pgsql_lost(c, sql)) != 0)
		return lost == 1 ? DB_OK : DB_ERROR;
	in_txn = pgsql_in_txn(c);
	if (pgsql_link(c) == -1) {
		pgsql_broken(c, in_txn);
		return DB_ERROR;
	}
	r = PQexec(c->conn, sql);
	c->round_trips++;
	rc = pgsql_result(c, r, in_txn);
	PQclear(r);
	return rc;
}

static int64_t
pgsql_changes(struct db *db)
{
	return CONN(db)->changes;
}

static int
pgsql_in_transaction(struct db *db)
{
	return CONN(db)->txn_lost || pgsql_in_txn(CONN(db));
}

static const char *
pgsql_errmsg(struct db *db)
{
	return CONN(db)->err;
}

static const struct db_ops pgsql_ops = {
	.engine = DB_PGSQL,
	.close = pgsql_close,
	.prepare = pgsql_prepare,
	.finalize = pgsql_finalize,
	.bind_int = pgsql_bind_int,
	.bind_double = pgsql_bind_double,
	.bind_text = pgsql_bind_text,
	.bind_blob = pgsql_bind_blob,
	.bind_null = pgsql_bind_null,
	.bind_zeroblob = pgsql_bind_zeroblob,
	.param_count = pgsql_param_count,
	.step = pgsql_step,
	.reset = pgsql_reset,
	.clear = pgsql_clear,
	.col_count = pgsql_col_count,
	.col_name = pgsql_col_name,
	.col_null = pgsql_col_null,
	.col_kind = pgsql_col_kind,
	.col_int = pgsql_col_int,
	.col_double = pgsql_col_double,
	.col_text = pgsql_col_text,
	.col_blob = pgsql_col_blob,
	.blob_open = pgsql_blob_open,
	.blob_write = pgsql_blob_write,
	.blob_read = pgsql_blob_read,
	.blob_close = pgsql_blob_close,
	.exec = pgsql_exec,
	.changes = pgsql_changes,
	.in_transaction = pgsql_in_transaction,
	.errmsg = pgsql_errmsg,
};

int
pgsql_db_open(const char *uri, int64_t timeout_ms, struct db **out,
    char *err, size_t errlen)
{
	/* ours first: what the URI says overrides them */
	const char *keys[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char *vals[4];
	char secs[24], shown[256];
	struct pgsql_db *c;

	snprintf(secs, sizeof(secs), "%lld", timeout_ms > 0 ?
	    (long long)((timeout_ms + 999) / 1000) : 10LL);
	vals[0] = secs;
	vals[1] = "segmilter";
	vals[2] = uri;
	vals[3] = NULL;
	c = xcalloc(1, sizeof(*c));
	c->base.ops = &pgsql_ops;
	c->conn = PQconnectdbParams(keys, vals, 1);
	c->round_trips++;
	if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK ||
	    pgsql_session(c) == -1) {
		pgsql_db_redact(uri, shown, sizeof(shown));
		snprintf(err, errlen, "%s: %s", shown, c->err[0] != '\0' ?
		    c->err : c->conn != NULL ? PQerrorMessage(c->conn) :
		    "out of memory");
		err[strcspn(err, "\n")] = '\0';
		pgsql_close(&c->base);
		return -1;
	}
	c->gen = 1;
	*out = &c->base;
	return 0;
}

uint64_t
pgsql_db_round_trips(const struct db *db)
{
	return CONN(db)->round_trips;
}
