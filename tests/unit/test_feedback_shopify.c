/*
 * test_feedback_shopify.c - Shopify's webhooks from verification to the
 * store: the HMAC (a vector made with openssl(1)), each topic's fixture
 * (tests/fixtures/shopify/, trimmed from Shopify's sample payloads) into
 * a real SQLite store, deliveries applied once, stale retries, refunds
 * counted once, malformed payloads refused whole with the field named,
 * a failing write rolled back, and a cart ended by an order after a
 * segment rebuild.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "feedback_shopify.h"
#include "segment.h"
#include "store_feedback.h"
#include "store_lookup.h"
#include "store_record.h"
#include "store_segment.h"
#include "schema_later.h"
#include "tstore.h"

/* 2026-11-10T10:30:00-05:00: 2 h 25 min after the checkout's update */
#define NOW	((int64_t)1794324600)
#define CART_AT	((int64_t)1794315900)	/* 2026-11-10T08:05:00-05:00 */
#define ORDER_AT ((int64_t)1794319200)	/* 2026-11-10T09:00:00-05:00 */

struct sx {
	char		 dir[64];
	char		 db[256];
	struct store	*st;
	struct conf	*cf;		/* the segment rules */
	char		 err[1024];
	struct feedback_shopify *p;
	enum store_webhook_result res;
	enum store_change ch;
};

static int
sx_setup(void **state)
{
	struct sx *x = calloc(1, sizeof(*x));
	char err[512];

	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-shopify-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	tstore_name(x->dir, x->db, sizeof(x->db));
	assert_int_equal(store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)), 0);
	x->cf = conf_defaults();
	*state = x;
	return 0;
}

static int
sx_teardown(void **state)
{
	struct sx *x = *state;
	char cmd[160];

	feedback_shopify_free(x->p);
	store_close(x->st);
	conf_free(x->cf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

/* The fixture NAME, read whole; the caller frees it. */
static char *
fixture(const char *name, size_t *len)
{
	const char *src = getenv("SEGM_SRCDIR");
	char path[512], *data;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/shopify/%s",
	    src ? src : ".", name);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	data = malloc((size_t)n + 1);
	assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
	data[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return data;
}

/* Parses BODY as TOPIC from delivery ID into x->p; the parse's rc. */
static int
sx_parse(struct sx *x, const char *topic, const char *body, size_t len,
    const char *id)
{
	struct feedback_shopify_delivery d;
	enum feedback_shopify_topic t;

	assert_int_equal(feedback_shopify_topic_parse(topic, &t), 0);
	memset(&d, 0, sizeof(d));
	d.webhook_id = id;
	d.event_id = "ev-1";
	d.received_at = NOW;
	feedback_shopify_free(x->p);
	x->p = NULL;
	x->err[0] = '\0';
	return feedback_shopify_parse(t, body, len, &d, &x->p, x->err,
	    sizeof(x->err));
}

/* Parses fixture NAME as TOPIC from delivery ID and applies it. */
static int
sx_apply(struct sx *x, const char *topic, const char *name, const char *id)
{
	size_t len;
	char *body = fixture(name, &len);

	assert_int_equal(sx_parse(x, topic, body, len, id), 0);
	free(body);
	return feedback_shopify_apply(x->st, x->p, &x->cf->seg, NOW, &x->res,
	    &x->ch, x->err, sizeof(x->err));
}

/* One integer (-1: no row) from SQL on a second connection. */
static int64_t
sx_int(struct sx *x, const char *sql)
{
	return tstore_int(x->db, "%s", sql);
}

/* One text ("" for NULL or no row) from SQL, into OUT. */
static const char *
sx_text(struct sx *x, const char *sql, char *out, size_t outlen)
{
	tstore_text(x->db, out, outlen, "%s", sql);
	return out;
}

/* TABLE's columns in their order, joined with commas, into OUT. */
static void
sx_columns(struct sx *x, const char *table, char *out, size_t outlen)
{
	if (tstore_pgsql())
		tstore_text(x->db, out, outlen, "SELECT group_concat(n) FROM"
		    " (SELECT CAST(column_name AS TEXT) AS n"
		    "  FROM information_schema.columns"
		    "  WHERE table_schema = current_schema()"
		    "  AND table_name = '%s' ORDER BY ordinal_position) AS c",
		    table);
	else
		tstore_text(x->db, out, outlen, "SELECT group_concat(name)"
		    " FROM (SELECT name FROM pragma_table_info('%s')"
		    "  ORDER BY cid) AS c", table);
}

/* Every row of the tables a delivery may write, as text: a row a line,
 * each column's text (or NULL) and a '|', in the order of its first
 * three columns. */
static char *
sx_dump(struct sx *x)
{
	static const char *const tables[] = {
		"customers", "orders", "order_lines", "events", "consent",
		"consent_history", "webhook_deliveries", "webhook_objects",
		"webhook_refunds"
	};
	struct buf b, q;
	char cols[1024], *rows, *c, *next;
	size_t i;
	int k;

	buf_init(&b, 1 << 20);
	buf_init(&q, 1 << 16);
	rows = malloc(1 << 20);
	assert_non_null(rows);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		sx_columns(x, tables[i], cols, sizeof(cols));
		assert_true(cols[0] != '\0');
		buf_reset(&q);
		buf_puts(&q, "SELECT group_concat(r) FROM (SELECT ");
		for (c = cols; c != NULL; c = next) {
			if ((next = strchr(c, ',')) != NULL)
				*next++ = '\0';
			buf_printf(&q, "coalesce(CAST(%s AS TEXT), 'NULL')"
			    " || '|' || ", c);
		}
		buf_printf(&q, "'\n' AS r FROM %s ORDER BY ", tables[i]);
		/* the names, now each ended by its NUL */
		for (c = cols, k = 0; k < 3 && c < cols + sizeof(cols) &&
		    *c != '\0'; k++, c += strlen(c) + 1)
			buf_printf(&q, "%s%s", k > 0 ? ", " : "", c);
		buf_puts(&q, ") AS d");
		tstore_text(x->db, rows, 1 << 20, "%s", buf_str(&q));
		buf_printf(&b, "%s:\n%s", tables[i], rows);
	}
	free(rows);
	buf_free(&q);
	return buf_take(&b);
}

static void
test_hmac(void **state)
{
	/* printf '%s' BODY | openssl dgst -sha256 -hmac SECRET -binary |
	 * base64 */
	static const char body[] = "{\"id\":820982911946154508,"
	    "\"name\":\"#1001\"}";
	static const char secret[] = "shpss_5f0c1e6d2a";
	static const char good[] =
	    "jMENZ4WhiGEMlXqsrXishpMuuglCL21RAroNvVioNbQ=";
	char changed[sizeof(body)], bad[sizeof(good)];

	(void)state;
	assert_int_equal(feedback_shopify_valid(secret, body,
	    sizeof(body) - 1, good), 1);
	/* one bit of the header flipped */
	memcpy(bad, good, sizeof(good));
	bad[5] ^= 0x01;
	assert_int_equal(feedback_shopify_valid(secret, body,
	    sizeof(body) - 1, bad), 0);
	/* the body changed by one byte, or cut */
	memcpy(changed, body, sizeof(body));
	changed[30] = '2';
	assert_int_equal(feedback_shopify_valid(secret, changed,
	    sizeof(body) - 1, good), 0);
	assert_int_equal(feedback_shopify_valid(secret, body,
	    sizeof(body) - 2, good), 0);
	/* another secret; no secret; no header; a prefix of the value */
	assert_int_equal(feedback_shopify_valid("shpss_other", body,
	    sizeof(body) - 1, good), 0);
	assert_int_equal(feedback_shopify_valid("", body, sizeof(body) - 1,
	    good), 0);
	assert_int_equal(feedback_shopify_valid(secret, body,
	    sizeof(body) - 1, NULL), 0);
	assert_int_equal(feedback_shopify_valid(secret, body,
	    sizeof(body) - 1, "jMENZ4Wh"), 0);
	assert_int_equal(feedback_shopify_valid(secret, body,
	    sizeof(body) - 1, ""), 0);
}

static void
test_topics(void **state)
{
	enum feedback_shopify_topic t;
	int i;

	(void)state;
	for (i = 0; i < SHOPIFY_TOPIC_COUNT; i++) {
		assert_int_equal(feedback_shopify_topic_parse(
		    feedback_shopify_topic_name((enum feedback_shopify_topic)i),
		    &t), 0);
		assert_int_equal(t, i);
	}
	assert_int_equal(feedback_shopify_topic_parse("orders/paid", &t), -1);
	assert_int_equal(feedback_shopify_topic_parse("ORDERS/CREATE", &t),
	    -1);
	assert_int_equal(feedback_shopify_topic_parse(NULL, &t), -1);
	assert_string_equal(feedback_shopify_topic_name(SHOPIFY_CUSTOMERS_REDACT),
	    "customers/redact");
}

static void
test_orders_create(void **state)
{
	struct sx *x = *state;
	char t[256];

	assert_int_equal(sx_apply(x, "orders/create", "orders-create.json",
	    "wh-o1"), 0);
	assert_int_equal(x->res, STORE_WEBHOOK_APPLIED);
	assert_int_equal(x->ch, STORE_INSERTED);
	/* the customer by the order's email, normalised, created bare */
	assert_int_equal(sx_int(x, "SELECT count(*) FROM customers"), 1);
	assert_string_equal(sx_text(x, "SELECT email FROM customers", t,
	    sizeof(t)), "jon@example.com");
	assert_string_equal(sx_text(x, "SELECT ref || ' ' || financial_status"
	    " || ' ' || currency || ' ' || total || ' ' || refunded || ' ' ||"
	    " discount_code || ' ' || created_at || ' ' ||"
	    " coalesce(CAST(cancelled_at AS TEXT), 'open') FROM orders", t,
	    sizeof(t)),
	    "#1001 paid USD 40300 0 WELCOME10 1794319200 open");
	assert_int_equal(sx_int(x, "SELECT customer_id = (SELECT id FROM"
	    " customers) FROM orders"), 1);
	assert_string_equal(sx_text(x, "SELECT group_concat(line_no || ':' ||"
	    " sku || ':' || product || ':' || quantity || ':' || price)"
	    " FROM (SELECT * FROM order_lines ORDER BY line_no) AS l", t,
	    sizeof(t)), "1:IPOD2008BLACK:IPod Nano - 8GB - Black:1:19900,"
	    "2:IPOD2008RED:IPod Nano - 8GB - Red:2:10200");
	/* the delivery, both ids, and the shop's id of the order */
	assert_string_equal(sx_text(x, "SELECT source || ' ' || delivery_id"
	    " || ' ' || event_id || ' ' || topic || ' ' || received_at FROM"
	    " webhook_deliveries", t, sizeof(t)),
	    "shopify wh-o1 ev-1 orders/create 1794324600");
	assert_int_equal(sx_int(x, "SELECT local_id = (SELECT id FROM orders)"
	    " FROM webhook_objects WHERE kind = 'order' AND external_id ="
	    " '820982911946154508'"), 1);
}

static void
test_orders_updated_cancelled(void **state)
{
	struct sx *x = *state;
	char t[256];

	assert_int_equal(sx_apply(x, "orders/create", "orders-create.json",
	    "wh-o1"), 0);
	assert_int_equal(sx_apply(x, "orders/updated", "orders-updated.json",
	    "wh-o2"), 0);
	assert_int_equal(x->res, STORE_WEBHOOK_APPLIED);
	assert_int_equal(x->ch, STORE_UPDATED);
	/* one successful refund transaction counts; the failed one not */
	assert_string_equal(sx_text(x, "SELECT financial_status || ' ' ||"
	    " refunded FROM orders", t, sizeof(t)), "partially_refunded 4194");
	assert_int_equal(sx_int(x, "SELECT count(*) FROM webhook_refunds"
	    " WHERE external_id = '509562969' AND order_id IS NOT NULL"), 1);
	assert_int_equal(sx_apply(x, "orders/cancelled",
	    "orders-cancelled.json", "wh-o3"), 0);
	assert_string_equal(sx_text(x, "SELECT financial_status || ' ' ||"
	    " cancelled_at || ' ' || refunded FROM orders", t, sizeof(t)),
	    "voided 1794574800 0");
	assert_int_equal(sx_int(x, "SELECT count(*) FROM orders"), 1);
	assert_int_equal(sx_int(x, "SELECT count(*) FROM order_lines"), 2);
}

/* A retry of an older update, hours late, does not undo a newer one. */
static void
test_orders_stale(void **state)
{
	struct sx *x = *state;
	char *before, *after, t[64];

	assert_int_equal(sx_apply(x, "orders/updated", "orders-updated.json",
	    "wh-o2"), 0);
	before = sx_dump(x);
	assert_int_equal(sx_apply(x, "orders/create", "orders-create.json",
	    "wh-o1"), 0);
	assert_int_equal(x->res, STORE_WEBHOOK_STALE);
	assert_int_equal(x->ch, STORE_UNCHANGED);
	assert_string_equal(sx_text(x, "SELECT financial_status FROM orders",
	    t, sizeof(t)), "partially_refunded");
	/* ... but the delivery is recorded: its retries change nothing */
	assert_int_equal(sx_int(x, "SELECT count(*) FROM webhook_deliveries"),
	    2);
	after = sx_dump(x);
	assert_string_not_equal(before, after);
	free(before);
	free(after);
}

static void
test_refunds_counted_once(void **state)
{
	struct sx *x = *state;

	assert_int_equal(sx_apply(x, "orders/create", "orders-create.json",
	    "wh-o1"), 0);
	assert_int_equal(sx_apply(x, "refunds/create", "refunds-create.json",
	    "wh-r1"), 0);
	assert_int_equal(x->res, STORE_WEBHOOK_APPLIED);
	assert_int_equal(x->ch, STORE_UPDATED);
	assert_int_equal(sx_int(x, "SELECT refunded FROM orders"), 4194);
	/* the same refund in its order, then delivered again anew */
	assert_int_equal(sx_apply(x, "orders/updated", "orders-updated.json",
	    "wh-o2"), 0);
	assert_int_equal(sx_int(x, "SELECT refunded FROM orders"), 4194);
	assert_int_equal(sx_apply(x, "refunds/create", "refunds-create.json",
	    "wh-r2"), 0);
	assert_int_equal(x->res, STORE_WEBHOOK_APPLIED);
	assert_int_equal(x->ch, STORE_UNCHANGED);
	assert_int_equal(sx_int(x, "SELECT refunded FROM orders"), 4194);
}

static void
test_refund_unknown_order(void **state)
{
	struct sx *x = *state;

	assert_int_equal(sx_apply(x, "refunds/create", "refunds-create.json",
	    "wh-r1"), 0);
	assert_int_equal(x->res, STORE_WEBHOOK_UNKNOWN_ORDER);
	assert_int_equal(sx_int(x, "SELECT count(*) FROM orders"), 0);
	assert_int_equal(sx_int(x, "SELECT amount FROM webhook_refunds WHERE"
	    " order_id IS NULL AND order_key = '820982911946154508'"), 4194);
	/* its order, when it comes, carries it and links it */
	assert_int_equal(sx_apply(x, "orders/updated", "orders-updated.json",
	    "wh-o2"), 0);
	assert_int_equal(sx_int(x, "SELECT refunded FROM orders"), 4194);
	assert_int_equal(sx_int(x, "SELECT count(*) FROM webhook_refunds"
	    " WHERE order_id IS NULL"), 0);
}

static void
test_customers(void **state)
{
	struct sx *x = *state;
	char t[512];

	assert_int_equal(sx_apply(x, "customers/create",
	    "customers-create.json", "wh-c1"), 0);
	assert_int_equal(x->res, STORE_WEBHOOK_APPLIED);
	assert_int_equal(x->ch, STORE_INSERTED);
	assert_string_equal(sx_text(x, "SELECT email || '|' || external_id ||"
	    " '|' || first_name || '|' || last_name || '|' || phone || '|' ||"
	    " country || '|' || region || '|' || company || '|' || tags ||"
	    " '|' || tax_exempt FROM customers", t, sizeof(t)),
	    "bob.biller@example.com|706405506930370084|Bob|Biller|"
	    "+16135550135|CA|ON|Biller Inc|newsletter, vip|0");
	/* email: subscribed, dated by Shopify; SMS: not_subscribed, dated
	 * by its delivery (consent_updated_at is null) */
	assert_string_equal(sx_text(x, "SELECT granted || '|' || source ||"
	    " '|' || recorded_at || '|' || evidence FROM consent WHERE"
	    " channel = 'email'", t, sizeof(t)), "1|shopify_webhook|"
	    "1794236400|shopify webhook customers/create wh-c1:"
	    " email_marketing_consent=subscribed"
	    " opt_in_level=confirmed_opt_in");
	assert_string_equal(sx_text(x, "SELECT granted || '|' || recorded_at"
	    " || '|' || evidence FROM consent WHERE channel = 'sms'", t,
	    sizeof(t)), "0|1794324600|shopify webhook customers/create wh-c1:"
	    " sms_marketing_consent=not_subscribed opt_in_level=single_opt_in"
	    " collected_from=OTHER");

	assert_int_equal(sx_apply(x, "customers/update",
	    "customers-update.json", "wh-c2"), 0);
	assert_int_equal(x->ch, STORE_UPDATED);
	assert_string_equal(sx_text(x, "SELECT last_name FROM customers", t,
	    sizeof(t)), "Biller-Smith");
	assert_string_equal(sx_text(x, "SELECT group_concat(channel || '=' ||"
	    " granted || '@' || recorded_at) FROM (SELECT * FROM consent"
	    " ORDER BY channel) AS k", t, sizeof(t)),
	    "email=0@1794432000,sms=1@1794431940");
	assert_int_equal(sx_int(x, "SELECT count(*) FROM consent_history"), 4);
	/* the older create again, as a retry: stale, nothing changes */
	assert_int_equal(sx_apply(x, "customers/create",
	    "customers-create.json", "wh-c1-retry"), 0);
	assert_int_equal(x->res, STORE_WEBHOOK_STALE);
	assert_string_equal(sx_text(x, "SELECT last_name FROM customers", t,
	    sizeof(t)), "Biller-Smith");
	assert_int_equal(sx_int(x, "SELECT granted FROM consent WHERE"
	    " channel = 'email'"), 0);
}

/* An SMS "subscribed" dated before the number's STOP is not taken. */
static void
test_customers_sms_after_stop(void **state)
{
	struct sx *x = *state;
	int64_t n;

	assert_int_equal(store_phone_mark(x->st, "+16135550135",
	    PHONE_OPTED_OUT, "twilio", "STOP", 1794432000 + 60, &n), 0);
	assert_int_equal(sx_apply(x, "customers/update",
	    "customers-update.json", "wh-c2"), 0);
	assert_int_equal(sx_int(x, "SELECT count(*) FROM consent WHERE"
	    " channel = 'sms'"), 0);
	assert_int_equal(sx_int(x, "SELECT granted FROM consent WHERE"
	    " channel = 'email'"), 0);
}

static void
test_checkouts(void **state)
{
	struct sx *x = *state;
	char t[256];

	assert_int_equal(sx_apply(x, "checkouts/create",
	    "checkouts-create.json", "wh-k1"), 0);
	assert_int_equal(x->ch, STORE_INSERTED);
	assert_non_null(x->p->cart.recovery_url);
	assert_int_equal(x->p->cart.at, CART_AT);
	assert_string_equal(sx_text(x, "SELECT group_concat(type || ':' ||"
	    " sku || ':' || coalesce(CAST(cart_value AS TEXT), '-') || ':' ||"
	    " at) FROM (SELECT * FROM events ORDER BY type, sku) AS e", t,
	    sizeof(t)),
	    "add_to_cart:IPOD2008BLACK:-:1794315900,"
	    "add_to_cart:IPOD2008RED:-:1794315900,"
	    "checkout_start::40300:1794315900");
	assert_string_equal(sx_text(x, "SELECT email FROM customers", t,
	    sizeof(t)), "jon@example.com");
	/* completed: its order ends the cart; it adds nothing */
	assert_int_equal(sx_apply(x, "checkouts/update",
	    "checkouts-update.json", "wh-k2"), 0);
	assert_int_equal(x->res, STORE_WEBHOOK_APPLIED);
	assert_int_equal(x->ch, STORE_UNCHANGED);
	assert_int_not_equal(x->p->cart.completed_at, 0);
	assert_int_equal(sx_int(x, "SELECT count(*) FROM events"), 3);
}

static void
test_compliance(void **state)
{
	struct sx *x = *state;

	assert_int_equal(sx_apply(x, "customers/data_request",
	    "customers-data-request.json", "wh-d1"), 1);
	assert_string_equal(x->p->subject.customer_id, "191167");
	assert_string_equal(x->p->subject.email, "john@example.com");
	assert_string_equal(x->p->subject.shop_domain, "jsmith.myshopify.com");
	assert_string_equal(x->p->subject.request_id, "9999");
	assert_int_equal(x->p->subject.norders, 3);
	assert_string_equal(x->p->subject.orders[2], "220458");

	assert_int_equal(sx_apply(x, "customers/redact",
	    "customers-redact.json", "wh-d2"), 1);
	assert_string_equal(x->p->subject.customer_id, "191167");
	assert_string_equal(x->p->subject.phone, "555-625-1199");
	assert_int_equal(x->p->subject.norders, 3);
	assert_string_equal(x->p->subject.orders[0], "299938");
	assert_null(x->p->subject.request_id);
	/* nothing written, not even the delivery: the caller's to act on */
	assert_int_equal(sx_int(x, "SELECT count(*) FROM webhook_deliveries"),
	    0);
	assert_int_equal(sx_int(x, "SELECT count(*) FROM customers"), 0);
}

/* The same delivery twice changes nothing, whatever the topic. */
static void
test_idempotent(void **state)
{
	static const char *const cases[][2] = {
		{ "orders/create", "orders-create.json" },
		{ "orders/updated", "orders-updated.json" },
		{ "refunds/create", "refunds-create.json" },
		{ "customers/create", "customers-create.json" },
		{ "checkouts/create", "checkouts-create.json" },
	};
	struct sx *x = *state;
	char *before, *after, id[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(id, sizeof(id), "wh-same-%zu", i);
		assert_int_equal(sx_apply(x, cases[i][0], cases[i][1], id), 0);
		assert_int_not_equal(x->res, STORE_WEBHOOK_DUPLICATE);
		before = sx_dump(x);
		assert_int_equal(store_webhook_seen(x->st, "shopify", id), 1);
		assert_int_equal(sx_apply(x, cases[i][0], cases[i][1], id), 0);
		assert_int_equal(x->res, STORE_WEBHOOK_DUPLICATE);
		assert_int_equal(x->ch, STORE_UNCHANGED);
		after = sx_dump(x);
		assert_string_equal(before, after);
		free(before);
		free(after);
	}
	assert_int_equal(store_webhook_seen(x->st, "shopify", "wh-never"), 0);
	/* deliveries are forgotten once retries are over */
	assert_int_equal(store_webhook_prune(x->st, NOW + 1, NULL), 0);
	assert_int_equal(store_webhook_seen(x->st, "shopify", "wh-same-0"), 0);
}

static void
test_guest_order(void **state)
{
	struct sx *x = *state;
	static const char body[] = "{\"id\": 7, \"name\": \"#1002\","
	    " \"email\": null, \"contact_email\": \"\", \"created_at\":"
	    " \"2026-11-10T09:00:00-05:00\", \"financial_status\": \"paid\","
	    " \"total_price\": \"5.00\", \"line_items\": []}";

	assert_int_equal(sx_parse(x, "orders/create", body, sizeof(body) - 1,
	    "wh-g1"), 0);
	assert_null(x->p->w.email);
	assert_int_equal(feedback_shopify_apply(x->st, x->p, &x->cf->seg, NOW,
	    &x->res, &x->ch, x->err, sizeof(x->err)), 0);
	assert_int_equal(x->ch, STORE_UNCHANGED);
	assert_int_equal(sx_int(x, "SELECT count(*) FROM orders"), 0);
	assert_int_equal(sx_int(x, "SELECT count(*) FROM webhook_deliveries"),
	    1);
}

/* Refused whole, with the field named; the store untouched. */
static void
test_malformed(void **state)
{
	static const struct {
		const char	*topic;
		const char	*body;
		const char	*err;
	} cases[] = {
		{ "orders/create", "{\"id\": 1, \"name\": ", "body: not JSON" },
		{ "orders/create", "[1, 2]", "body: not a JSON object" },
		{ "orders/create", "", "body: not UTF-8 text" },
		{ "orders/create", "{\"name\": \"\xff\"}", "body: not UTF-8" },
		{ "orders/create", "{\"name\": \"#1\"}", "orders/create: id:"
		    " missing" },
		{ "orders/create", "{\"id\": 1, \"created_at\": \"2026-11-10\","
		    " \"total_price\": \"1.00\", \"financial_status\": \"paid\"}",
		    "orders/create: name: missing" },
		{ "orders/create", "{\"id\": 1, \"name\": 1001}",
		    "name: expected a string" },
		{ "orders/create", "{\"id\": 1.5, \"name\": \"#1\"}",
		    "id: expected an integer or a string" },
		{ "orders/create", "{\"id\": 1, \"name\": \"#1\", \"created_at\":"
		    " \"yesterday\"}", "created_at: 'yesterday'" },
		{ "orders/create", "{\"id\": 1, \"name\": \"#1\", \"created_at\":"
		    " \"2026-11-10\", \"total_price\": \"1,000.00\"}",
		    "total_price: '1,000.00'" },
		{ "orders/create", "{\"id\": 1, \"name\": \"#1\", \"created_at\":"
		    " \"2026-11-10\", \"total_price\": \"1.00\","
		    " \"financial_status\": \"maybe\"}",
		    "financial_status: 'maybe' is not a known value" },
		{ "orders/create", "{\"id\": 1, \"name\": \"#1\", \"created_at\":"
		    " \"2026-11-10\", \"total_price\": \"1.00\","
		    " \"financial_status\": \"paid\", \"line_items\":"
		    " [{\"quantity\": \"1\", \"price\": \"1.00\"}]}",
		    "line_items[0].quantity: expected an integer" },
		{ "orders/create", "{\"id\": 1, \"name\": \"#1\", \"created_at\":"
		    " \"2026-11-10\", \"total_price\": \"1.00\","
		    " \"financial_status\": \"paid\", \"line_items\": {}}",
		    "line_items: expected an array" },
		{ "orders/create", "{\"id\": 1, \"name\": \"#1\", \"created_at\":"
		    " \"2026-11-10\", \"total_price\": \"1.00\","
		    " \"financial_status\": \"paid\", \"email\": \"nobody\"}",
		    "email: 'nobody'" },
		{ "refunds/create", "{\"id\": 2, \"order_id\": 1,"
		    " \"transactions\": [{\"kind\": \"refund\"}]}",
		    "transactions[0].amount: missing" },
		{ "refunds/create", "{\"id\": 2}", "order_id: missing" },
		{ "customers/update", "{\"id\": 3, \"email\": \"a@b.example\","
		    " \"email_marketing_consent\": {\"state\": \"yes\"}}",
		    "email_marketing_consent.state: 'yes' is not a known value" },
		{ "customers/update", "{\"id\": 3, \"email\": \"a@b.example\","
		    " \"sms_marketing_consent\": {\"state\": \"subscribed\","
		    " \"opt_in_level\": \"double\"}}",
		    "sms_marketing_consent.opt_in_level: 'double'" },
		{ "customers/update", "{\"id\": 3, \"email\": \"a@b.example\","
		    " \"email_marketing_consent\": \"subscribed\"}",
		    "email_marketing_consent: expected an object" },
		{ "customers/update", "{\"id\": 3, \"tax_exempt\": \"no\"}",
		    "tax_exempt: expected true or false" },
		{ "customers/create", "{\"id\": 3, \"default_address\":"
		    " {\"country_code\": \"Canada\"}}",
		    "default_address.country_code: 'Canada'" },
		{ "checkouts/create", "{\"token\": \"t\", \"email\":"
		    " \"a@b.example\"}", "created_at: missing" },
		{ "customers/redact", "{\"shop_domain\": \"s.myshopify.com\","
		    " \"customer\": {}}", "customer: neither id nor email" },
		{ "customers/redact", "{\"shop_domain\": \"s.myshopify.com\","
		    " \"customer\": {\"id\": 1}, \"orders_to_redact\": [true]}",
		    "orders_to_redact[0]: expected an integer or a string" },
	};
	struct sx *x = *state;
	char *before, *after, deep[200];
	size_t i;

	before = sx_dump(x);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sx_parse(x, cases[i].topic, cases[i].body,
		    strlen(cases[i].body), "wh-bad"), -1);
		assert_null(x->p);
		if (strstr(x->err, cases[i].err) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, x->err,
			    cases[i].err);
	}
	/* nested past the bound: refused before json-glib recurses */
	memset(deep, '[', sizeof(deep));
	assert_int_equal(sx_parse(x, "orders/create", deep, sizeof(deep),
	    "wh-bad"), -1);
	assert_non_null(strstr(x->err, "nested more than 32 deep"));
	/* a NUL inside */
	assert_int_equal(sx_parse(x, "orders/create", "{\"id\":\0 1}", 10,
	    "wh-bad"), -1);
	assert_non_null(strstr(x->err, "not UTF-8 text"));
	/* no delivery id */
	assert_int_equal(sx_parse(x, "orders/create", "{}", 2, NULL), -1);
	assert_non_null(strstr(x->err, "X-Shopify-Webhook-Id: missing"));
	after = sx_dump(x);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void
test_too_large(void **state)
{
	struct sx *x = *state;
	size_t n = FEEDBACK_SHOPIFY_BODY_MAX + 1;
	char *big = malloc(n);

	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	assert_int_equal(sx_parse(x, "orders/create", big, n, "wh-big"), -1);
	assert_non_null(strstr(x->err, "body: 1048577 bytes"));
	free(big);
}

/* A write that fails midway leaves nothing: not the customer, not the
 * delivery (Shopify's retry then applies it whole). */
static void
test_rollback(void **state)
{
	struct sx *x = *state;
	char *before, *after;

	before = sx_dump(x);
	if (tstore_pgsql())
		tstore_exec(x->db, "CREATE FUNCTION no_lines() RETURNS trigger"
		    " LANGUAGE plpgsql AS $$ BEGIN"
		    " RAISE EXCEPTION 'disk on fire'; END $$;"
		    " CREATE TRIGGER no_lines BEFORE INSERT ON order_lines"
		    " FOR EACH ROW EXECUTE FUNCTION no_lines()");
	else
		tstore_exec(x->db, "CREATE TRIGGER no_lines BEFORE INSERT ON"
		    " order_lines BEGIN SELECT RAISE(ABORT, 'disk on fire');"
		    " END");
	assert_int_equal(sx_apply(x, "orders/create", "orders-create.json",
	    "wh-o1"), -1);
	assert_non_null(strstr(x->err, "disk on fire"));
	assert_non_null(strstr(x->err, "orders/create wh-o1"));
	after = sx_dump(x);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(store_webhook_seen(x->st, "shopify", "wh-o1"), 0);
}

/*
 * Live segments: once segments were built, a checkout left open makes
 * its customer a cart abandoner and the order that follows ends it, each
 * in its delivery's own transaction, with no rebuild between.
 */
static void
test_cart_then_order(void **state)
{
	struct sx *x = *state;
	struct segment_rebuild_stats stats;
	struct segment_result r;
	int64_t id;

	/* a first generation, published before jon exists */
	assert_int_equal(segment_rebuild(x->st, x->cf, NOW, NULL, NULL,
	    &stats, x->err, sizeof(x->err)), 0);
	assert_int_equal(sx_apply(x, "checkouts/create",
	    "checkouts-create.json", "wh-k1"), 0);
	assert_int_equal(store_customer_find(x->st, "jon@example.com", &id),
	    0);
	assert_int_equal(store_segment_get(x->st, id, &r), 0);
	assert_int_equal(r.cart_abandoner, 1);
	assert_int_equal(r.cart_at, CART_AT);
	assert_int_equal(r.cart_value, 40300);
	assert_int_equal(r.lifecycle, LC_SUBSCRIBER);

	assert_int_equal(sx_apply(x, "orders/create", "orders-create.json",
	    "wh-o1"), 0);
	assert_true(ORDER_AT > CART_AT);
	assert_int_equal(store_segment_get(x->st, id, &r), 0);
	assert_int_equal(r.cart_abandoner, 0);
	assert_int_equal(r.orders, 1);
	assert_int_equal(r.lifecycle, LC_FIRST_TIME);

	/* the VIP cut is the rebuild's to move: jon, the one buyer, is the
	 * top 10% only once it runs */
	assert_int_equal(segment_rebuild(x->st, x->cf, NOW, NULL, NULL,
	    &stats, x->err, sizeof(x->err)), 0);
	assert_int_equal(store_segment_get(x->st, id, &r), 0);
	assert_int_equal(r.cart_abandoner, 0);
	assert_int_equal(r.orders, 1);
	assert_int_equal(r.lifecycle, LC_VIP);
}

struct sx_sources {
	char	 text[1024];
};

static int
sx_source(const struct store_fact_source *f, void *arg)
{
	struct sx_sources *o = arg;
	size_t n = strlen(o->text);

	snprintf(o->text + n, sizeof(o->text) - n, "%d %s %lld %s %lld|",
	    (int)f->kind, f->ref, (long long)(f->at != 0 ? f->at - NOW : 0),
	    f->source ? f->source : "-", (long long)(f->arrived - NOW));
	return 0;
}

/* Each fact names the delivery that last wrote it, and when it came. */
static void
test_fact_sources(void **state)
{
	struct sx *x = *state;
	struct sx_sources o;
	int64_t id, more = -1;

	assert_int_equal(sx_apply(x, "checkouts/create",
	    "checkouts-create.json", "wh-k1"), 0);
	assert_int_equal(sx_apply(x, "orders/create", "orders-create.json",
	    "wh-o1"), 0);
	assert_int_equal(store_customer_find(x->st, "jon@example.com", &id),
	    0);
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_fact_sources(x->st, id, sx_source, &o, &more),
	    0);
	assert_int_equal(more, 0);
	/* the profile came with the cart, the order with its delivery */
	assert_non_null(strstr(o.text, "0  0 shopify checkouts/create wh-k1"
	    " 0|1 #1001 "));
	assert_non_null(strstr(o.text, "shopify orders/create wh-o1 0|"));
	assert_non_null(strstr(o.text, "|2 checkout_start "));
	assert_non_null(strstr(o.text, " shopify checkouts/create wh-k1 0|"));
	/* one per delivery, however many facts it wrote; none for a repeat */
	assert_int_equal(sx_apply(x, "orders/create", "orders-create.json",
	    "wh-o1"), 0);
	assert_int_equal(x->res, STORE_WEBHOOK_DUPLICATE);
	assert_int_equal(sx_int(x, "SELECT count(*) FROM sources"), 2);
}

/* A version 8 store is upgraded to the webhook tables (and on). */
static void
test_schema_upgrade(void **state)
{
	struct sx *x = *state;
	char err[512], want[64];
	int64_t v;

	/* a PostgreSQL store starts at schema 20: it was never 8 */
	if (tstore_pgsql())
		skip();
	store_close(x->st);
	x->st = NULL;
	tstore_exec(x->db, "DELETE FROM schema_migrations WHERE"
	    " version >= 9;" SCHEMA_DROP_9_ON);
	assert_int_equal(store_open(x->db, 0, 5000, &x->st, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "schema version 8 is older than %d",
	    STORE_SCHEMA_VERSION);
	assert_non_null(strstr(err, want));
	assert_int_equal(store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)), 0);
	assert_int_equal(store_schema_version(x->st, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	assert_int_equal(sx_apply(x, "orders/create", "orders-create.json",
	    "wh-o1"), 0);
	assert_int_equal(x->res, STORE_WEBHOOK_APPLIED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_topics),
		cmocka_unit_test_setup_teardown(test_orders_create, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_orders_updated_cancelled,
		    sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_orders_stale, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_refunds_counted_once,
		    sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_refund_unknown_order,
		    sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_customers, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_customers_sms_after_stop,
		    sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_checkouts, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_compliance, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_idempotent, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_guest_order, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_malformed, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_too_large, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_rollback, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_fact_sources, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_cart_then_order, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_schema_upgrade, sx_setup,
		    sx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
