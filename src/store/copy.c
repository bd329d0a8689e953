/*
 * copy.c - a store copied whole into a new one, either engine to either:
 * SQLite to PostgreSQL when a relay becomes a fleet, and back.
 *
 * Every table, row by row, keys and all (the audit chain's sequence and
 * hashes, the customers' audit keys, the outbox's ids that copies carry),
 * read in one snapshot and written in one transaction: the new store has
 * all of it or nothing.  The destination's triggers run as rows go in,
 * so the summaries they keep (deliveries, engagement_last) are made
 * again there; the source's rows of them are then merged in as the
 * triggers merge (the newest of each), for what the source kept of
 * campaigns whose ledger rows retention has pruned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store_int.h"
#include "xalloc.h"

#define COPY_ROWS	64	/* rows a statement */

/*
 * The tables in the order their references allow, and how a row meets
 * one already there: none is, but for the summaries the triggers keep.
 * schema_migrations and segment_building are the new store's own.
 */
static const struct copy_table {
	const char	*name;
	const char	*conflict;
} copy_tables[] = {
	{ "sources", "" },
	{ "customers", "" },
	{ "products", "" },
	{ "orders", "" },
	{ "order_lines", "" },
	{ "events", "" },
	{ "consent", "" },
	{ "consent_history", "" },
	{ "engagement", "" },
	{ "email_cadence", "" },
	{ "phone_status", "" },
	{ "segment_state", "" },
	{ "customer_segments", "" },
	{ "customer_interests", "" },
	{ "ledger", "" },
	{ "audit", "" },
	{ "audit_hours", "" },
	{ "audit_archives", "" },
	{ "outbox", "" },
	{ "outbox_body", "" },
	{ "copy_seen", "" },
	{ "webhook_deliveries", "" },
	{ "webhook_objects", "" },
	{ "webhook_refunds", "" },
	{ "campaigns_closed", "" },
	{ "deliveries_window", "" },
	{ "deliveries", " ON CONFLICT (customer_id, campaign_id) DO UPDATE SET"
	    " at = greatest(deliveries.at, excluded.at),"
	    " priority = greatest(deliveries.priority, excluded.priority)" },
	{ "engagement_last", " ON CONFLICT (customer_id) DO UPDATE SET"
	    " open_at = greatest(engagement_last.open_at, excluded.open_at),"
	    " click_at = greatest(engagement_last.click_at,"
	    "  excluded.click_at),"
	    " order_at = greatest(engagement_last.order_at,"
	    "  excluded.order_at),"
	    " unsubscribe_at = greatest(engagement_last.unsubscribe_at,"
	    "  excluded.unsubscribe_at),"
	    " complaint_at = greatest(engagement_last.complaint_at,"
	    "  excluded.complaint_at),"
	    " bounce_at = greatest(engagement_last.bounce_at,"
	    "  excluded.bounce_at),"
	    " soft_bounce_at = greatest(engagement_last.soft_bounce_at,"
	    "  excluded.soft_bounce_at)" },
};

/* PostgreSQL's ids made by a sequence: it must start past the copies. */
static const char *const copy_identities[] = {
	"sources", "customers", "orders", "outbox"
};

/* Rows waiting for their statement: each value copied, as bound. */
struct copy_batch {
	struct db_stmt	*many;		/* COPY_ROWS rows */
	struct db_stmt	*one;
	int		 ncols;
	size_t		 nrows;
	enum db_kind	*kinds;		/* nrows x ncols */
	int64_t		*ints;
	double		*reals;
	char		**bytes;
	size_t		*lens;
};

static void
batch_clear(struct copy_batch *b)
{
	size_t i, n = b->nrows * (size_t)b->ncols;

	for (i = 0; i < n; i++) {
		free(b->bytes[i]);
		b->bytes[i] = NULL;
	}
	b->nrows = 0;
}

static void
batch_free(struct copy_batch *b)
{
	batch_clear(b);
	db_finalize(b->many);
	db_finalize(b->one);
	free(b->kinds);
	free(b->ints);
	free(b->reals);
	free(b->bytes);
	free(b->lens);
}

/* INSERT INTO T (its columns, from S) VALUES ... for N rows. */
static struct db_stmt *
batch_prepare(struct store *to, const struct copy_table *t,
    struct db_stmt *s, int ncols, size_t n)
{
	struct db_stmt *ins;
	struct buf sql;
	size_t r;
	int c, ok;

	buf_init(&sql, 1 << 20);
	ok = buf_printf(&sql, "INSERT INTO %s (", t->name) == 0;
	for (c = 0; ok && c < ncols; c++)
		ok = buf_printf(&sql, "%s%s", c > 0 ? ", " : "",
		    db_col_name(s, c)) == 0;
	ok = ok && buf_puts(&sql, ") VALUES ") == 0;
	for (r = 0; ok && r < n; r++) {
		ok = buf_puts(&sql, r > 0 ? ", (" : "(") == 0;
		for (c = 0; ok && c < ncols; c++)
			ok = buf_puts(&sql, c > 0 ? ", ?" : "?") == 0;
		ok = ok && buf_putc(&sql, ')') == 0;
	}
	ok = ok && buf_puts(&sql, t->conflict) == 0;
	if (!ok) {
		buf_free(&sql);
		store_failf(to, "copy: %s: statement too long", t->name);
		return NULL;
	}
	if ((ins = db_prepare(to->db, buf_str(&sql), 1)) == NULL)
		store_fail(to, t->name);
	buf_free(&sql);
	return ins;
}

/* The batch's rows into the new store, in as many statements as it
 * takes (one, or one a row for the last few). */
static int
batch_flush(struct store *to, const struct copy_table *t,
    struct copy_batch *b)
{
	struct db_stmt *ins;
	size_t r, n, at;
	int c, i;

	for (r = 0; r < b->nrows; r += n) {
		n = b->nrows - r == COPY_ROWS ? COPY_ROWS : 1;
		ins = n == COPY_ROWS ? b->many : b->one;
		for (i = 0; i < (int)n * b->ncols; i++) {
			at = r * (size_t)b->ncols + (size_t)i;
			c = i + 1;
			switch (b->kinds[at]) {
			case DB_INTEGER:
				db_bind_int(ins, c, b->ints[at]);
				break;
			case DB_FLOAT:
				db_bind_double(ins, c, b->reals[at]);
				break;
			case DB_TEXT:
				db_bind_text(ins, c, b->bytes[at]);
				break;
			case DB_BLOB:
				db_bind_blob(ins, c, b->bytes[at],
				    b->lens[at]);
				break;
			case DB_NULL:
				db_bind_null(ins, c);
				break;
			}
		}
		if (store_run(to, ins, t->name) == -1)
			return -1;
	}
	batch_clear(b);
	return 0;
}

/* The current row of S into the batch, its values copied. */
static void
batch_add(struct copy_batch *b, struct db_stmt *s)
{
	size_t at = b->nrows * (size_t)b->ncols, n;
	const void *p;
	int c;

	for (c = 0; c < b->ncols; c++, at++) {
		b->kinds[at] = db_col_kind(s, c);
		switch (b->kinds[at]) {
		case DB_INTEGER:
			b->ints[at] = db_col_int(s, c);
			break;
		case DB_FLOAT:
			b->reals[at] = db_col_double(s, c);
			break;
		case DB_TEXT:
			b->bytes[at] = xstrdup(db_col_text(s, c));
			break;
		case DB_BLOB:
			p = db_col_blob(s, c, &n);
			b->bytes[at] = xmalloc(n > 0 ? n : 1);
			if (n > 0)
				memcpy(b->bytes[at], p, n);
			b->lens[at] = n;
			break;
		case DB_NULL:
			break;
		}
	}
	b->nrows++;
}

/* Table T from FROM into TO; *ROWS how many. */
static int
copy_table(struct store *from, struct store *to, const struct copy_table *t,
    int64_t *rows)
{
	struct copy_batch b;
	struct db_stmt *s;
	enum db_rc rc;
	char sql[96];
	size_t cells;
	int ret = -1;

	memset(&b, 0, sizeof(b));
	*rows = 0;
	/* what the new store made of its own (deliveries_window's row) */
	snprintf(sql, sizeof(sql), "DELETE FROM %s", t->name);
	if (store_exec(to, sql) == -1)
		return -1;
	snprintf(sql, sizeof(sql), "SELECT * FROM %s", t->name);
	if ((s = db_prepare(from->db, sql, DB_STREAM)) == NULL)
		return store_failf(to, "copy: %s: %s", t->name,
		    db_errmsg(from->db));
	b.ncols = db_col_count(s);
	cells = (size_t)COPY_ROWS * (size_t)b.ncols;
	b.kinds = xcalloc(cells, sizeof(*b.kinds));
	b.ints = xcalloc(cells, sizeof(*b.ints));
	b.reals = xcalloc(cells, sizeof(*b.reals));
	b.bytes = xcalloc(cells, sizeof(*b.bytes));
	b.lens = xcalloc(cells, sizeof(*b.lens));
	while ((rc = db_step(s)) == DB_ROW) {
		if (b.many == NULL &&
		    ((b.many = batch_prepare(to, t, s, b.ncols,
		    COPY_ROWS)) == NULL ||
		    (b.one = batch_prepare(to, t, s, b.ncols, 1)) == NULL))
			goto out;
		batch_add(&b, s);
		(*rows)++;
		if (b.nrows == COPY_ROWS && batch_flush(to, t, &b) == -1)
			goto out;
	}
	if (rc != DB_DONE) {
		store_failf(to, "copy: %s: %s", t->name, db_errmsg(from->db));
		goto out;
	}
	ret = batch_flush(to, t, &b);
out:
	db_finalize(s);
	batch_free(&b);
	return ret;
}

/* The store's holdings that say it is in use: a copy goes to a new one. */
static int
copy_target_empty(struct store *to)
{
	static const char *const tables[] = { "customers", "ledger", "audit",
	    "outbox" };
	struct db_stmt *s;
	char sql[64];
	int64_t n = 0;
	size_t i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s",
		    tables[i]);
		if ((s = db_prepare(to->db, sql, 0)) == NULL)
			return store_fail(to, "copy");
		if (db_step(s) == DB_ROW)
			n = db_col_int(s, 0);
		db_finalize(s);
		if (n > 0)
			return store_failf(to, "%s holds %s (%lld rows): a"
			    " store is copied into a new, empty one",
			    to->shown, tables[i], (long long)n);
	}
	return 0;
}

/* PostgreSQL's sequences past the ids copied. */
static int
copy_identities_set(struct store *to)
{
	char sql[192];
	size_t i;

	if (db_engine(to->db) != DB_PGSQL)
		return 0;
	for (i = 0; i < sizeof(copy_identities) /
	    sizeof(copy_identities[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT setval(pg_get_serial_sequence"
		    "('%s', 'id'), coalesce(max(id), 0) + 1, false) FROM %s",
		    copy_identities[i], copy_identities[i]);
		if (store_exec(to, sql) == -1)
			return -1;
	}
	return 0;
}

int
store_copy(struct store *from, struct store *to, store_copy_fn fn,
    void *arg)
{
	int64_t rows;
	size_t i;

	if (store_begin_read(from) == -1) {
		store_failf(to, "copy: %s", store_error(from));
		return -1;
	}
	if (store_begin(to) == -1 || copy_target_empty(to) == -1)
		goto fail;
	for (i = 0; i < sizeof(copy_tables) / sizeof(copy_tables[0]); i++) {
		if (copy_table(from, to, &copy_tables[i], &rows) == -1)
			goto fail;
		if (fn != NULL)
			fn(copy_tables[i].name, rows, arg);
	}
	if (copy_identities_set(to) == -1 || store_commit(to) == -1)
		goto fail;
	store_rollback(from);
	/* the planner's figures for what just went in */
	return store_exec(to, "ANALYZE");
fail:
	store_rollback(to);
	store_rollback(from);
	return -1;
}
