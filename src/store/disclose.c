/*
 * disclose.c - everything the store holds about one customer, table by
 * table, for a data request (store.h, store_customer_rows): what
 * Shopify's customers/data_request and a GDPR access request ask for.
 *
 * Columns are named, not taken with *: the audit key is a secret of the
 * chain's, not the customer's data, and a copy's body is the shop's
 * message, not a fact about them.
 */
#include "store_int.h"

/* The most columns a query below names. */
#define STORE_ROW_MAX	24

static const struct {
	const char	*table;
	const char	*sql;		/* ?1: the customer's id */
} disclose_queries[] = {
	{ "customer", "SELECT id, email, external_id, first_name, last_name,"
	    " phone, country, region, currency, language, time_zone,"
	    " account_type, tax_exempt, company, tags, created_at,"
	    " redacted_at FROM customers WHERE id = ?1" },
	{ "consent", "SELECT channel, granted, source, recorded_at, evidence"
	    " FROM consent WHERE customer_id = ?1 ORDER BY channel" },
	{ "consent_history", "SELECT channel, recorded_at, granted, source,"
	    " evidence FROM consent_history WHERE customer_id = ?1"
	    " ORDER BY recorded_at, channel, granted, source" },
	{ "email_cadence", "SELECT min_gap_days, source, set_at"
	    " FROM email_cadence WHERE customer_id = ?1" },
	{ "orders", "SELECT ref, created_at, financial_status, cancelled_at,"
	    " currency, total, refunded, discount_code FROM orders"
	    " WHERE customer_id = ?1 ORDER BY created_at, id" },
	{ "order_lines", "SELECT o.ref, l.line_no, l.sku, l.product,"
	    " l.category, l.quantity, l.price FROM order_lines l"
	    " JOIN orders o ON o.id = l.order_id WHERE o.customer_id = ?1"
	    " ORDER BY o.created_at, o.id, l.line_no" },
	{ "events", "SELECT at, type, sku, category, cart_value FROM events"
	    " WHERE customer_id = ?1 ORDER BY at, type, sku" },
	{ "engagement", "SELECT campaign_id, type, at FROM engagement"
	    " WHERE customer_id = ?1 ORDER BY at, campaign_id, type" },
	{ "ledger", STORE_LEDGER_CAMPAIGNS "SELECT campaign_id, recipient,"
	    " queue_id, decision, variant, route, at FROM ledger"
	    " WHERE campaign_id IN (SELECT id FROM ledger_campaigns)"
	    " AND customer_id = ?1 ORDER BY at, campaign_id, recipient" },
	{ "deliveries", "SELECT campaign_id, at FROM deliveries"
	    " WHERE customer_id = ?1 ORDER BY at, campaign_id" },
	{ "outbox", "SELECT id, kind, campaign_id, variant, recipients, state,"
	    " created_at, done_at, last_error FROM outbox"
	    " WHERE customer_id = ?1 OR instr(recipients,"
	    "  (SELECT email FROM customers WHERE id = ?1)) > 0 ORDER BY id" },
	{ "phone_status", "SELECT p.phone, p.status, p.at, p.source, p.detail"
	    " FROM phone_status p JOIN customers c ON c.phone = p.phone"
	    " WHERE c.id = ?1 ORDER BY p.phone" },
	{ "segments", "SELECT s.lifecycle, s.orders, s.net_spend,"
	    " s.cart_abandoner, s.country, s.currency, s.language,"
	    " s.time_zone FROM customer_segments s JOIN segment_state g"
	    " ON g.generation = s.generation WHERE s.customer_id = ?1" },
	{ "audit", "SELECT seq, at, channel, campaign_id, recipient, decision,"
	    " detail, segment, variant, consent FROM audit"
	    " WHERE customer_id = ?1 ORDER BY seq" },
};

int
store_customer_rows(struct store *st, int64_t id, store_row_fn fn,
    void *arg)
{
	const char *names[STORE_ROW_MAX], *values[STORE_ROW_MAX];
	struct db_stmt *s;
	size_t q;
	int i, n, rc = DB_DONE, stop = 0;

	if (store_begin_read(st) == -1)
		return -1;
	for (q = 0; !stop && q < sizeof(disclose_queries) /
	    sizeof(disclose_queries[0]); q++) {
		if ((s = db_prepare(st->db, disclose_queries[q].sql,
		    0)) == NULL) {
			store_fail(st, disclose_queries[q].table);
			store_rollback(st);
			return -1;
		}
		if ((n = db_col_count(s)) > STORE_ROW_MAX) {
			db_finalize(s);
			store_rollback(st);
			return store_failf(st, "%s: %d columns, more than %d",
			    disclose_queries[q].table, n, STORE_ROW_MAX);
		}
		db_bind_int(s, 1, id);
		while (!stop && (rc = db_step(s)) == DB_ROW) {
			for (i = 0; i < n; i++) {
				names[i] = db_col_name(s, i);
				values[i] = db_col_text(s, i);
			}
			stop = fn(disclose_queries[q].table, n, names, values,
			    arg);
		}
		db_finalize(s);
		if (!stop && rc != DB_DONE) {
			store_fail(st, disclose_queries[q].table);
			store_rollback(st);
			return -1;
		}
	}
	store_rollback(st);
	return stop;
}
