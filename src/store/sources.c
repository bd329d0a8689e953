/*
 * sources.c - provenance: which import run or webhook delivery last
 * wrote a customer's profile, orders and behaviour (store.h,
 * store_source_begin), and reading it back for segctl explain.
 *
 * A source is one row however many facts it writes: an import of a
 * million orders stamps each with the same small id.
 */
#include "store_int.h"

int
store_source_begin(struct store *st, const char *name, int64_t at)
{
	struct db_stmt *s;

	s = store_stmt(st, SQ_SOURCE_ADD, "INSERT INTO sources (name, at)"
	    " VALUES (substr(?1, 1, 255), ?2) RETURNING id");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, name);
	db_bind_int(s, 2, at);
	switch (store_run_id(st, s, "source", &st->source_id)) {
	case 1:
		return 0;
	case 0:
		return store_failf(st, "source %s: not inserted", name);
	}
	return -1;
}

void
store_source_end(struct store *st)
{
	st->source_id = 0;
}

int
store_fact_sources(struct store *st, int64_t id, store_fact_source_fn fn,
    void *arg, int64_t *more)
{
	struct store_fact_source f;
	struct db_stmt *s;
	int rc, stop = 0;

	/* the latest event of each type: a customer has few types */
	s = store_stmt(st, SQ_FACT_SOURCES, "SELECT 0, '', 0, s.name, s.at"
	    " FROM customers c LEFT JOIN sources s ON s.id = c.source_id"
	    " WHERE c.id = ?1"
	    " UNION ALL SELECT * FROM (SELECT 1, o.ref, o.created_at, s.name,"
	    "  s.at FROM orders o LEFT JOIN sources s ON s.id = o.source_id"
	    "  WHERE o.customer_id = ?1 ORDER BY o.created_at DESC, o.id DESC"
	    "  LIMIT ?2) AS o"
	    /* by row_number(): PostgreSQL has no bare columns beside a
	     * max() to take from its row */
	    " UNION ALL SELECT 2, type, at, name, arrived FROM (SELECT"
	    "  e.type, e.at, s.name, s.at AS arrived, row_number() OVER"
	    "  (PARTITION BY e.type ORDER BY e.at DESC, e.sku) AS n"
	    "  FROM events e LEFT JOIN sources s ON s.id = e.source_id"
	    "  WHERE e.customer_id = ?1 ORDER BY e.type) AS e WHERE n = 1");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, id);
	db_bind_int(s, 2, STORE_FACT_ORDERS);
	while (!stop && (rc = db_step(s)) == DB_ROW) {
		f.kind = (enum store_fact_kind)db_col_int(s, 0);
		f.ref = db_col_text(s, 1);
		f.at = db_col_int(s, 2);
		f.source = db_col_text(s, 3);
		f.arrived = db_col_int(s, 4);
		stop = fn(&f, arg);
	}
	store_done(s);
	if (stop)
		return stop;
	if (rc != DB_DONE)
		return store_fail(st, "sources");
	if (more == NULL)
		return 0;
	s = store_stmt(st, SQ_FACT_ORDERS, "SELECT greatest(count(*) - ?2, 0)"
	    " FROM orders WHERE customer_id = ?1");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, id);
	db_bind_int(s, 2, STORE_FACT_ORDERS);
	if ((rc = db_step(s)) == DB_ROW)
		*more = db_col_int(s, 0);
	store_done(s);
	return rc == DB_ROW ? 0 : store_fail(st, "sources");
}
