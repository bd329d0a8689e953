/*
 * records.c - writing what imports bring: customers, products, orders and
 * their lines, behaviour events, consent and engagement.
 *
 * Every write is by natural key and says whether it changed anything: an
 * existing row is updated only when a value differs (IS DISTINCT FROM also
 * compares NULLs), and event-like rows are inserted or ignored.  That is what lets a
 * re-import of the same file change nothing and report it.
 */
#include <string.h>

#include "buf.h"
#include "store_int.h"

static enum store_change
records_changed(struct store *st, enum store_change if_changed)
{
	return db_changes(st->db) > 0 ? if_changed : STORE_UNCHANGED;
}

/* Looks KEY up with S; 0 and *id found, 1 not found, -1 error. */
static int
records_find(struct store *st, struct db_stmt *s, const char *key, int64_t *id)
{
	int rc;

	if (s == NULL)
		return -1;
	db_bind_text(s, 1, key);
	rc = db_step(s);
	if (rc == DB_ROW) {
		*id = db_col_int(s, 0);
		store_done(s);
		return 0;
	}
	store_done(s);
	if (rc != DB_DONE)
		return store_fail(st, "lookup");
	return 1;
}

int
store_customer_find(struct store *st, const char *email, int64_t *id)
{
	return records_find(st, store_stmt(st, SQ_CUST_FIND,
	    "SELECT id FROM customers WHERE email = ?1"), email, id);
}


/* Binds C to parameters AT + 1 to AT + 15. */
static void
records_bind_customer(struct db_stmt *s, int at, const struct store_customer *c)
{
	db_bind_text(s, at + 1, c->email);
	db_bind_text(s, at + 2, c->external_id);
	db_bind_text(s, at + 3, c->first_name);
	db_bind_text(s, at + 4, c->last_name);
	db_bind_text(s, at + 5, c->phone);
	db_bind_text(s, at + 6, c->country);
	db_bind_text(s, at + 7, c->region);
	db_bind_text(s, at + 8, c->currency);
	db_bind_text(s, at + 9, c->language);
	db_bind_text(s, at + 10, c->time_zone);
	db_bind_text(s, at + 11, c->account_type ? c->account_type :
	    "retail");
	db_bind_int(s, at + 12, c->tax_exempt != 0);
	db_bind_text(s, at + 13, c->company);
	db_bind_text(s, at + 14, c->tags);
	if (c->created_at != 0)
		db_bind_int(s, at + 15, c->created_at);
	else
		db_bind_null(s, at + 15);
}

int
store_customer_upsert(struct store *st, const struct store_customer *c,
    int64_t *id, enum store_change *changed)
{
	struct db_stmt *s;
	int rc;

	/* Try the insert first: on a first import that is all it takes. */
	s = store_stmt(st, SQ_CUST_INSERT, "INSERT INTO customers"
	    " (email, external_id, first_name, last_name, phone,"
	    " country, region, currency, language, time_zone,"
	    " account_type, tax_exempt, company, tags, created_at,"
	    " audit_key, source_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
	    " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, randomblob(32),"
	    " nullif(?16, 0)) ON CONFLICT (email) DO NOTHING RETURNING id");
	if (s == NULL)
		return -1;
	records_bind_customer(s, 0, c);
	db_bind_int(s, 16, st->source_id);
	if ((rc = store_run_id(st, s, "insert customer", id)) == -1)
		return -1;
	if (rc == 1) {
		*changed = STORE_INSERTED;
		return 0;
	}
	rc = store_customer_find(st, c->email, id);
	if (rc != 0)
		return rc == 1 ? store_failf(st, "customer %s vanished",
		    c->email) : -1;
	s = store_stmt(st, SQ_CUST_UPDATE, "UPDATE customers SET"
	    " external_id = ?2, first_name = ?3, last_name = ?4, phone = ?5,"
	    " country = ?6, region = ?7, currency = ?8, language = ?9,"
	    " time_zone = ?10, account_type = ?11, tax_exempt = ?12,"
	    " company = ?13, tags = ?14, created_at = ?15,"
	    " source_id = coalesce(nullif(?16, 0), source_id)"
	    " WHERE email = ?1 AND (external_id IS DISTINCT FROM ?2"
	    " OR first_name IS DISTINCT FROM ?3 OR last_name IS DISTINCT FROM ?4"
	    " OR phone IS DISTINCT FROM ?5 OR country IS DISTINCT FROM ?6 OR region IS DISTINCT FROM ?7"
	    " OR currency IS DISTINCT FROM ?8 OR language IS DISTINCT FROM ?9"
	    " OR time_zone IS DISTINCT FROM ?10 OR account_type IS DISTINCT FROM ?11"
	    " OR tax_exempt IS DISTINCT FROM ?12 OR company IS DISTINCT FROM ?13"
	    " OR tags IS DISTINCT FROM ?14 OR created_at IS DISTINCT FROM ?15)");
	if (s == NULL)
		return -1;
	records_bind_customer(s, 0, c);
	db_bind_int(s, 16, st->source_id);
	if (store_run(st, s, "update customer") == -1)
		return -1;
	*changed = records_changed(st, STORE_UPDATED);
	return 0;
}

int
store_customer_ensure(struct store *st, const char *email, int64_t *id,
    enum store_change *changed)
{
	struct db_stmt *s;
	int rc;

	rc = store_customer_find(st, email, id);
	if (rc != 1) {
		*changed = STORE_UNCHANGED;
		return rc;
	}
	s = store_stmt(st, SQ_CUST_ENSURE,
	    "INSERT INTO customers (email, audit_key, source_id)"
	    " VALUES (?1, randomblob(32), nullif(?2, 0)) RETURNING id");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, email);
	db_bind_int(s, 2, st->source_id);
	if ((rc = store_run_id(st, s, "insert customer", id)) != 1)
		return rc == 0 ? store_failf(st, "customer %s: not inserted",
		    email) : -1;
	*changed = STORE_INSERTED;
	return 0;
}

int
store_customer_get(struct store *st, int64_t id, struct store_customer *c)
{
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_CUST_GET, "SELECT email, external_id,"
	    " first_name, last_name, phone, country, region, currency,"
	    " language, time_zone, account_type, tax_exempt, company, tags,"
	    " coalesce(created_at, 0) FROM customers WHERE id = ?1");
	if (s == NULL)
		return -1;
	/* The strings stay valid until the next use of this statement. */
	db_reset(s);
	db_bind_int(s, 1, id);
	rc = db_step(s);
	if (rc != DB_ROW) {
		store_done(s);
		return rc == DB_DONE ? 1 : store_fail(st, "customer");
	}
	c->email = db_col_text(s, 0);
	c->external_id = db_col_text(s, 1);
	c->first_name = db_col_text(s, 2);
	c->last_name = db_col_text(s, 3);
	c->phone = db_col_text(s, 4);
	c->country = db_col_text(s, 5);
	c->region = db_col_text(s, 6);
	c->currency = db_col_text(s, 7);
	c->language = db_col_text(s, 8);
	c->time_zone = db_col_text(s, 9);
	c->account_type = db_col_text(s, 10);
	c->tax_exempt = db_col_int(s, 11);
	c->company = db_col_text(s, 12);
	c->tags = db_col_text(s, 13);
	c->created_at = db_col_int(s, 14);
	return 0;
}

static void
records_bind_cost(struct db_stmt *s, int i, int64_t cost)
{
	if (cost >= 0)
		db_bind_int(s, i, cost);
	else
		db_bind_null(s, i);
}

int
store_product_upsert(struct store *st, const struct store_product *p,
    enum store_change *changed)
{
	struct db_stmt *s;
	int64_t unused;
	int rc;

	rc = records_find(st, store_stmt(st, SQ_PROD_FIND,
	    "SELECT 1 FROM products WHERE sku = ?1"), p->sku, &unused);
	if (rc == -1)
		return -1;
	if (rc == 1)
		s = store_stmt(st, SQ_PROD_INSERT, "INSERT INTO products"
		    " (sku, handle, title, category, cost)"
		    " VALUES (?1, ?2, ?3, ?4, ?5)");
	else
		s = store_stmt(st, SQ_PROD_UPDATE, "UPDATE products SET"
		    " handle = ?2, title = ?3, category = ?4, cost = ?5"
		    " WHERE sku = ?1 AND (handle IS DISTINCT FROM ?2 OR title IS DISTINCT FROM ?3"
		    " OR category IS DISTINCT FROM ?4 OR cost IS DISTINCT FROM ?5)");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, p->sku);
	db_bind_text(s, 2, p->handle);
	db_bind_text(s, 3, p->title);
	db_bind_text(s, 4, p->category);
	records_bind_cost(s, 5, p->cost);
	if (store_run(st, s, "product") == -1)
		return -1;
	*changed = records_changed(st, rc == 1 ? STORE_INSERTED :
	    STORE_UPDATED);
	return 0;
}

/* Binds O to parameters AT + 1 to AT + 9. */
static void
records_bind_order(struct db_stmt *s, int at, const struct store_order *o)
{
	db_bind_text(s, at + 1, o->ref);
	db_bind_int(s, at + 2, o->customer_id);
	db_bind_int(s, at + 3, o->created_at);
	db_bind_text(s, at + 4, o->financial_status);
	if (o->cancelled_at != 0)
		db_bind_int(s, at + 5, o->cancelled_at);
	else
		db_bind_null(s, at + 5);
	db_bind_text(s, at + 6, o->currency);
	db_bind_int(s, at + 7, o->total);
	db_bind_int(s, at + 8, o->refunded);
	db_bind_text(s, at + 9, o->discount_code);
}

int
store_order_upsert(struct store *st, const struct store_order *o,
    int64_t *order_id, enum store_change *changed)
{
	struct db_stmt *s;
	int rc;

	/* Try the insert first: on a first import that is all it takes. */
	s = store_stmt(st, SQ_ORDER_INSERT, "INSERT INTO orders (ref,"
	    " customer_id, created_at, financial_status, cancelled_at,"
	    " currency, total, refunded, discount_code, source_id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, nullif(?10, 0))"
	    " ON CONFLICT (ref) DO NOTHING RETURNING id");
	if (s == NULL)
		return -1;
	records_bind_order(s, 0, o);
	db_bind_int(s, 10, st->source_id);
	if ((rc = store_run_id(st, s, "order", order_id)) == -1)
		return -1;
	if (rc == 1) {
		*changed = STORE_INSERTED;
		return 0;
	}
	rc = records_find(st, store_stmt(st, SQ_ORDER_FIND,
	    "SELECT id FROM orders WHERE ref = ?1"), o->ref, order_id);
	if (rc != 0)
		return rc == 1 ? store_failf(st, "order %s vanished", o->ref) :
		    -1;
	s = store_stmt(st, SQ_ORDER_UPDATE, "UPDATE orders SET"
	    " customer_id = ?2, created_at = ?3, financial_status = ?4,"
	    " cancelled_at = ?5, currency = ?6, total = ?7,"
	    " refunded = ?8, discount_code = ?9,"
	    " source_id = coalesce(nullif(?10, 0), source_id)"
	    " WHERE ref = ?1 AND"
	    " (customer_id IS DISTINCT FROM ?2 OR created_at IS DISTINCT FROM ?3"
	    " OR financial_status IS DISTINCT FROM ?4 OR cancelled_at IS DISTINCT FROM ?5"
	    " OR currency IS DISTINCT FROM ?6 OR total IS DISTINCT FROM ?7"
	    " OR refunded IS DISTINCT FROM ?8 OR discount_code IS DISTINCT FROM ?9)");
	if (s == NULL)
		return -1;
	records_bind_order(s, 0, o);
	db_bind_int(s, 10, st->source_id);
	if (store_run(st, s, "order") == -1)
		return -1;
	*changed = records_changed(st, STORE_UPDATED);
	return 0;
}

int
store_order_line_upsert(struct store *st, int64_t order_id,
    const struct store_order_line *l, enum store_change *changed)
{
	struct db_stmt *s;

	s = store_stmt(st, SQ_LINE_UPSERT, "INSERT INTO order_lines"
	    " (order_id, line_no, sku, product, category, quantity, price)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	    " ON CONFLICT (order_id, line_no) DO UPDATE SET"
	    " sku = ?3, product = ?4, category = ?5, quantity = ?6, price = ?7"
	    /* the row's own columns: PostgreSQL has excluded's in scope */
	    " WHERE order_lines.sku IS DISTINCT FROM ?3"
	    " OR order_lines.product IS DISTINCT FROM ?4"
	    " OR order_lines.category IS DISTINCT FROM ?5"
	    " OR order_lines.quantity IS DISTINCT FROM ?6"
	    " OR order_lines.price IS DISTINCT FROM ?7");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, order_id);
	db_bind_int(s, 2, l->line_no);
	db_bind_text(s, 3, l->sku);
	db_bind_text(s, 4, l->product);
	db_bind_text(s, 5, l->category);
	db_bind_int(s, 6, l->quantity);
	db_bind_int(s, 7, l->price);
	if (store_run(st, s, "order line") == -1)
		return -1;
	/* An insert and an update both change the order. */
	*changed = records_changed(st, STORE_UPDATED);
	return 0;
}

int
store_order_lines_trim(struct store *st, int64_t order_id, int64_t nlines,
    enum store_change *changed)
{
	struct db_stmt *s;

	s = store_stmt(st, SQ_LINE_TRIM, "DELETE FROM order_lines"
	    " WHERE order_id = ?1 AND line_no > ?2");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, order_id);
	db_bind_int(s, 2, nlines);
	if (store_run(st, s, "order lines") == -1)
		return -1;
	*changed = records_changed(st, STORE_UPDATED);
	return 0;
}

/*
 * Some of the N orders at O, inserted with ids IDS, were not: their refs
 * exist.  Zeroes their ids, so the caller upserts them.
 */
static int
records_orders_which(struct store *st, const struct store_order *o,
    size_t n, int64_t *ids)
{
	int64_t id;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = records_find(st, store_stmt(st, SQ_ORDER_FIND,
		    "SELECT id FROM orders WHERE ref = ?1"), o[i].ref, &id);
		if (rc != 0)
			return rc == 1 ? store_failf(st, "order %s vanished",
			    o[i].ref) : -1;
		if (id != ids[i])
			ids[i] = 0;
	}
	return 0;
}

int
store_orders_add(struct store *st, const struct store_order *o, size_t n,
    int64_t *ids)
{
	struct db_stmt *s;
	int64_t next;
	size_t i, k, done;
	int lg, rc;

	/*
	 * Ids are given, not left to SQLite, so that each order's is known
	 * without a statement of its own; the writer's lock is held, so no
	 * one else takes them meanwhile.  On PostgreSQL they are a block of
	 * N taken from the identity's sequence (the query answers the one
	 * before it): max(id) + 1 there is unseen by the sequence, whose
	 * next id for an order inserted alone (store_order_upsert) would
	 * then be one of these.
	 */
	if (n == 0)
		return 0;
	if ((s = store_stmt(st, SQ_MAX_ORDER, db_engine(st->db) == DB_PGSQL ?
	    "SELECT setval(pg_get_serial_sequence('orders', 'id'),"
	    " nextval(pg_get_serial_sequence('orders', 'id')) + ?1 - 1) - ?1" :
	    "SELECT coalesce(max(id), 0) FROM orders")) == NULL)
		return -1;
	if (db_engine(st->db) == DB_PGSQL)
		db_bind_int(s, 1, (int64_t)n);
	rc = db_step(s);
	next = rc == DB_ROW ? db_col_int(s, 0) + 1 : 0;
	store_done(s);
	if (rc != DB_ROW)
		return store_fail(st, "orders");
	for (done = 0; done < n; done += k) {
		lg = store_rows_chunk(n - done, STORE_ORDERS_MANY_LOG2);
		k = (size_t)1 << lg;
		s = store_rows_stmt(st, SQ_ORDER_ADD, lg, "INSERT INTO orders"
		    " (id, ref, customer_id, created_at, financial_status,"
		    " cancelled_at, currency, total, refunded, discount_code,"
		    " source_id) VALUES ",
		    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, nullif(?, 0))",
		    " ON CONFLICT (ref) DO NOTHING");
		if (s == NULL)
			return -1;
		for (i = 0; i < k; i++) {
			ids[done + i] = next++;
			db_bind_int(s, 11 * (int)i + 1, ids[done + i]);
			records_bind_order(s, 11 * (int)i + 1, &o[done + i]);
			db_bind_int(s, 11 * (int)i + 11,
			    st->source_id);
		}
		if (store_run(st, s, "orders") == -1)
			return -1;
		if ((size_t)db_changes(st->db) < k &&
		    records_orders_which(st, o + done, k, ids + done) == -1)
			return -1;
	}
	return 0;
}

int
store_order_lines_add(struct store *st, const int64_t *order_ids,
    const struct store_order_line *l, size_t n)
{
	struct db_stmt *s;
	size_t i, k, done;
	int at, lg;

	for (done = 0; done < n; done += k) {
		lg = store_rows_chunk(n - done, STORE_LINES_MANY_LOG2);
		k = (size_t)1 << lg;
		s = store_rows_stmt(st, SQ_LINE_ADD, lg, "INSERT INTO"
		    " order_lines (order_id, line_no, sku, product, category,"
		    " quantity, price) VALUES ", "(?, ?, ?, ?, ?, ?, ?)", "");
		if (s == NULL)
			return -1;
		for (i = 0; i < k; i++) {
			at = 7 * (int)i;
			db_bind_int(s, at + 1, order_ids[done + i]);
			db_bind_int(s, at + 2, l[done + i].line_no);
			db_bind_text(s, at + 3, l[done + i].sku);
			db_bind_text(s, at + 4, l[done + i].product);
			db_bind_text(s, at + 5, l[done + i].category);
			db_bind_int(s, at + 6, l[done + i].quantity);
			db_bind_int(s, at + 7, l[done + i].price);
		}
		if (store_run(st, s, "order lines") == -1)
			return -1;
	}
	return 0;
}

int
store_event_add(struct store *st, const struct store_event *e,
    enum store_change *changed)
{
	struct db_stmt *s;

	s = store_stmt(st, SQ_EVENT_INSERT, "INSERT INTO events"
	    " (customer_id, at, type, sku, category, cart_value, source_id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, nullif(?7, 0))"
	    " ON CONFLICT DO NOTHING");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, e->customer_id);
	db_bind_int(s, 2, e->at);
	db_bind_text(s, 3, segment_event_name(e->type));
	db_bind_text(s, 4, e->sku ? e->sku : "");
	db_bind_text(s, 5, e->category);
	if (e->cart_value >= 0)
		db_bind_int(s, 6, e->cart_value);
	db_bind_int(s, 7, st->source_id);
	if (store_run(st, s, "event") == -1)
		return -1;
	*changed = records_changed(st, STORE_INSERTED);
	return 0;
}

int
store_events_add(struct store *st, const struct store_event *e, size_t n,
    int64_t *inserted)
{
	struct db_stmt *s;
	size_t i, k, done;
	int at, lg;

	*inserted = 0;
	for (done = 0; done < n; done += k) {
		lg = store_rows_chunk(n - done, STORE_EVENTS_MANY_LOG2);
		k = (size_t)1 << lg;
		s = store_rows_stmt(st, SQ_EVENT_ADD, lg, "INSERT"
		    " INTO events (customer_id, at, type, sku, category,"
		    " cart_value, source_id) VALUES ",
		    "(?, ?, ?, ?, ?, ?, nullif(?, 0))",
		    " ON CONFLICT DO NOTHING");
		if (s == NULL)
			return -1;
		for (i = 0; i < k; i++) {
			at = 7 * (int)i;
			db_bind_int(s, at + 7, st->source_id);
			db_bind_int(s, at + 1, e[done + i].customer_id);
			db_bind_int(s, at + 2, e[done + i].at);
			db_bind_text(s, at + 3,
			    segment_event_name(e[done + i].type));
			db_bind_text(s, at + 4, e[done + i].sku ?
			    e[done + i].sku : "");
			db_bind_text(s, at + 5, e[done + i].category);
			if (e[done + i].cart_value >= 0)
				db_bind_int(s, at + 6,
				    e[done + i].cart_value);
			else
				db_bind_null(s, at + 6);
		}
		if (store_run(st, s, "events") == -1)
			return -1;
		*inserted += db_changes(st->db);
	}
	return 0;
}

int
store_consent_get(struct store *st, int64_t customer_id,
    enum store_channel channel, struct store_consent *c)
{
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_CONSENT_GET, "SELECT granted, source,"
	    " recorded_at, evidence FROM consent"
	    " WHERE customer_id = ?1 AND channel = ?2");
	if (s == NULL)
		return -1;
	db_reset(s);
	db_bind_int(s, 1, customer_id);
	db_bind_text(s, 2, store_channel_name(channel));
	rc = db_step(s);
	if (rc != DB_ROW) {
		store_done(s);
		return rc == DB_DONE ? 1 : store_fail(st, "consent");
	}
	c->customer_id = customer_id;
	c->channel = channel;
	c->granted = db_col_int(s, 0);
	c->source = db_col_text(s, 1);
	c->recorded_at = db_col_int(s, 2);
	c->evidence = db_col_text(s, 3);
	return 0;
}

int
store_consent_record(struct store *st, const struct store_consent *c,
    int flags, enum store_change *changed)
{
	struct store_consent cur;
	struct db_stmt *s;
	int rc, make_current;

	*changed = STORE_UNCHANGED;
	rc = flags & STORE_CONSENT_FIRST ? 1 :
	    store_consent_get(st, c->customer_id, c->channel, &cur);
	if (rc == -1)
		return -1;
	if (rc == 0 && (flags & STORE_CONSENT_IF_DIFFERENT) &&
	    (cur.granted != 0) == (c->granted != 0)) {
		store_done(st->stmt[SQ_CONSENT_GET]);
		return 0;
	}
	/* A statement older than the current one is history, not news. */
	make_current = rc == 1 || c->recorded_at >= cur.recorded_at;
	/*
	 * CUR's strings are not needed past here; a row left pending would
	 * hold a read snapshot open on a long-lived handle (the milter's)
	 * past the commit, hiding every later change from it.
	 */
	if (rc == 0)
		store_done(st->stmt[SQ_CONSENT_GET]);

	s = store_stmt(st, SQ_CONSENT_HISTORY, "INSERT INTO"
	    " consent_history (customer_id, channel, recorded_at, granted,"
	    " source, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
	    " ON CONFLICT DO NOTHING");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, c->customer_id);
	db_bind_text(s, 2, store_channel_name(c->channel));
	db_bind_int(s, 3, c->recorded_at);
	db_bind_int(s, 4, c->granted != 0);
	db_bind_text(s, 5, c->source);
	db_bind_text(s, 6, c->evidence);
	if (store_run(st, s, "consent history") == -1)
		return -1;
	*changed = records_changed(st, STORE_INSERTED);
	if (!make_current)
		return 0;

	s = store_stmt(st, SQ_CONSENT_SET, "INSERT INTO consent"
	    " (customer_id, channel, granted, source, recorded_at, evidence)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
	    " ON CONFLICT (customer_id, channel) DO UPDATE SET"
	    " granted = ?3, source = ?4, recorded_at = ?5, evidence = ?6"
	    " WHERE consent.granted IS DISTINCT FROM ?3"
	    " OR consent.source IS DISTINCT FROM ?4"
	    " OR consent.recorded_at IS DISTINCT FROM ?5"
	    " OR consent.evidence IS DISTINCT FROM ?6");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, c->customer_id);
	db_bind_text(s, 2, store_channel_name(c->channel));
	db_bind_int(s, 3, c->granted != 0);
	db_bind_text(s, 4, c->source);
	db_bind_int(s, 5, c->recorded_at);
	db_bind_text(s, 6, c->evidence);
	if (store_run(st, s, "consent") == -1)
		return -1;
	if (db_changes(st->db) > 0 && *changed == STORE_UNCHANGED)
		*changed = STORE_UPDATED;
	return 0;
}

int
store_consent_add(struct store *st, const struct store_consent *c, size_t n)
{
	struct db_stmt *h, *s;
	size_t i, k, done;
	int at, lg;

	for (done = 0; done < n; done += k) {
		lg = store_rows_chunk(n - done, STORE_CONSENT_MANY_LOG2);
		k = (size_t)1 << lg;
		h = store_rows_stmt(st, SQ_CONSENT_HISTORY_ADD, lg, "INSERT"
		    " INTO consent_history (customer_id, channel,"
		    " recorded_at, granted, source, evidence) VALUES ",
		    "(?, ?, ?, ?, ?, ?)", " ON CONFLICT DO NOTHING");
		s = store_rows_stmt(st, SQ_CONSENT_ADD, lg, "INSERT INTO"
		    " consent (customer_id, channel, granted, source,"
		    " recorded_at, evidence) VALUES ", "(?, ?, ?, ?, ?, ?)",
		    " ON CONFLICT (customer_id, channel) DO UPDATE SET"
		    " granted = excluded.granted, source = excluded.source,"
		    " recorded_at = excluded.recorded_at,"
		    " evidence = excluded.evidence"
		    " WHERE consent.granted IS DISTINCT FROM excluded.granted"
		    " OR consent.source IS DISTINCT FROM excluded.source"
		    " OR consent.recorded_at IS DISTINCT FROM"
		    " excluded.recorded_at"
		    " OR consent.evidence IS DISTINCT FROM excluded.evidence");
		if (h == NULL || s == NULL)
			return -1;
		for (i = 0; i < k; i++) {
			at = 6 * (int)i;
			db_bind_int(h, at + 1, c[done + i].customer_id);
			db_bind_text(h, at + 2,
			    store_channel_name(c[done + i].channel));
			db_bind_int(h, at + 3, c[done + i].recorded_at);
			db_bind_int(h, at + 4, c[done + i].granted != 0);
			db_bind_text(h, at + 5, c[done + i].source);
			db_bind_text(h, at + 6, c[done + i].evidence);
			db_bind_int(s, at + 1, c[done + i].customer_id);
			db_bind_text(s, at + 2,
			    store_channel_name(c[done + i].channel));
			db_bind_int(s, at + 3, c[done + i].granted != 0);
			db_bind_text(s, at + 4, c[done + i].source);
			db_bind_int(s, at + 5, c[done + i].recorded_at);
			db_bind_text(s, at + 6, c[done + i].evidence);
		}
		if (store_run(st, h, "consent history") == -1) {
			store_done(s);
			return -1;
		}
		if (store_run(st, s, "consent") == -1)
			return -1;
	}
	return 0;
}

static const char *const engagement_names[ENG_COUNT] = {
	"sent", "open", "click", "unsubscribe", "bounce", "sms_optout",
	"soft_bounce", "complaint"
};

const char *
store_engagement_name(enum store_engagement_type t)
{
	return engagement_names[t];
}

int
store_engagement_parse(const char *name, enum store_engagement_type *out)
{
	int i;

	for (i = 0; i < ENG_COUNT; i++)
		if (strcmp(name, engagement_names[i]) == 0) {
			*out = (enum store_engagement_type)i;
			return 0;
		}
	return -1;
}

int
store_engagement_add(struct store *st, const struct store_engagement *e,
    enum store_change *changed)
{
	struct db_stmt *s;

	s = store_stmt(st, SQ_ENG_INSERT, "INSERT INTO engagement"
	    " (customer_id, campaign_id, type, at) VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT DO NOTHING");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, e->customer_id);
	db_bind_text(s, 2, e->campaign_id);
	db_bind_text(s, 3, store_engagement_name(e->type));
	db_bind_int(s, 4, e->at);
	if (store_run(st, s, "engagement") == -1)
		return -1;
	*changed = records_changed(st, STORE_INSERTED);
	return 0;
}

int
store_engagement_add_many(struct store *st, const struct store_engagement *e,
    size_t n, int64_t *inserted)
{
	struct db_stmt *s;
	size_t i, k, done;
	int at, lg;

	*inserted = 0;
	for (done = 0; done < n; done += k) {
		lg = store_rows_chunk(n - done, STORE_ENGAGEMENT_MANY_LOG2);
		k = (size_t)1 << lg;
		/* as store_engagement_add: only a row already there yields */
		s = store_rows_stmt(st, SQ_ENG_INSERT_MANY, lg, "INSERT"
		    " INTO engagement (customer_id, campaign_id, type,"
		    " at) VALUES ", "(?, ?, ?, ?)", " ON CONFLICT DO NOTHING");
		if (s == NULL)
			return -1;
		for (i = 0; i < k; i++) {
			at = 4 * (int)i;
			db_bind_int(s, at + 1, e[done + i].customer_id);
			db_bind_text(s, at + 2, e[done + i].campaign_id);
			db_bind_text(s, at + 3,
			    store_engagement_name(e[done + i].type));
			db_bind_int(s, at + 4, e[done + i].at);
		}
		if (store_run(st, s, "engagement") == -1)
			return -1;
		*inserted += db_changes(st->db);
	}
	return 0;
}

int
store_engagement_summary(struct store *st, int64_t customer_id,
    struct store_engagement_summary *sum)
{
	enum store_engagement_type t;
	struct db_stmt *s;
	int rc;

	memset(sum, 0, sizeof(*sum));
	s = store_stmt(st, SQ_ENG_SUMMARY, "SELECT type, count(*), max(at)"
	    " FROM engagement WHERE customer_id = ?1 GROUP BY type");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, customer_id);
	while ((rc = db_step(s)) == DB_ROW) {
		if (store_engagement_parse(db_col_text(s, 0), &t) == 0) {
			sum->count[t] = db_col_int(s, 1);
			sum->last[t] = db_col_int(s, 2);
		}
	}
	store_done(s);
	if (rc != DB_DONE)
		return store_fail(st, "engagement");
	return 0;
}

int
store_customer_emails(struct store *st, store_email_fn fn, void *arg)
{
	struct db_stmt *s;
	int rc, stop = 0;

	s = store_stmt(st, SQ_CUST_EMAILS, "SELECT email FROM customers"
	    " ORDER BY id");
	if (s == NULL)
		return -1;
	while (!stop && (rc = db_step(s)) == DB_ROW)
		stop = fn(db_col_text(s, 0), arg);
	store_done(s);
	if (!stop && rc != DB_DONE)
		return store_fail(st, "customers");
	return stop;
}
