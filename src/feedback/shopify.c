/*
 * shopify.c - Shopify's webhook payloads mapped to the store's records.
 *
 * The mapping is the CSV importers' (src/import/customers.c, orders.c),
 * so that a webhook and a later export of the same data agree and the
 * second changes nothing: the order's key is its "name" (#1001, the
 * export's Name), guests' orders are skipped, a customer's profile holds
 * the export's fields only, a bad phone is dropped rather than the
 * customer, names are cut where a recipient's fields end.  What the
 * exports lack, webhooks add: consent with its state and date, refunds
 * by id, and carts (checkouts) as the checkout_start and add_to_cart
 * events the cart-abandoner rule reads, as activity.c records them.
 *
 * Everything is checked before anything is returned, so a payload is
 * applied whole or not at all.  Errors name the field by its JSON path.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>
#include <openssl/evp.h>

#include "digest.h"
#include "feedback_shopify.h"
#include "segment.h"
#include "str.h"
#include "utf8.h"
#include "xalloc.h"

/* Names are cut where the milter's copies end (customers.c does too). */
#define SHOPIFY_NAME_MAX	(STORE_NAME_MAX - 1)
#define SHOPIFY_REF_MAX		127	/* orders.c keeps refs in 128 */

static const char *const topic_names[SHOPIFY_TOPIC_COUNT] = {
	[SHOPIFY_ORDERS_CREATE] = "orders/create",
	[SHOPIFY_ORDERS_UPDATED] = "orders/updated",
	[SHOPIFY_ORDERS_CANCELLED] = "orders/cancelled",
	[SHOPIFY_REFUNDS_CREATE] = "refunds/create",
	[SHOPIFY_CUSTOMERS_CREATE] = "customers/create",
	[SHOPIFY_CUSTOMERS_UPDATE] = "customers/update",
	[SHOPIFY_CHECKOUTS_CREATE] = "checkouts/create",
	[SHOPIFY_CHECKOUTS_UPDATE] = "checkouts/update",
	[SHOPIFY_CUSTOMERS_DATA_REQUEST] = "customers/data_request",
	[SHOPIFY_CUSTOMERS_REDACT] = "customers/redact",
};

static const char *const consent_state_names[SHOPIFY_CONSENT_STATE_COUNT] = {
	[SHOPIFY_CONSENT_SUBSCRIBED] = "subscribed",
	[SHOPIFY_CONSENT_NOT_SUBSCRIBED] = "not_subscribed",
	[SHOPIFY_CONSENT_PENDING] = "pending",
	[SHOPIFY_CONSENT_UNSUBSCRIBED] = "unsubscribed",
	[SHOPIFY_CONSENT_REDACTED] = "redacted",
	[SHOPIFY_CONSENT_INVALID] = "invalid",
};

static const char *const opt_in_levels[] = {
	"single_opt_in", "confirmed_opt_in", "unknown"
};

/* As orders.c: statuses the segment rules know. */
static const char *const financial_statuses[] = {
	"paid", "pending", "authorized", "partially_paid",
	"partially_refunded", "refunded", "voided", "expired"
};

const char *
feedback_shopify_topic_name(enum feedback_shopify_topic t)
{
	return (unsigned)t < SHOPIFY_TOPIC_COUNT ? topic_names[t] : "?";
}

int
feedback_shopify_topic_parse(const char *name,
    enum feedback_shopify_topic *out)
{
	int i;

	for (i = 0; name != NULL && i < SHOPIFY_TOPIC_COUNT; i++)
		if (strcmp(name, topic_names[i]) == 0) {
			*out = (enum feedback_shopify_topic)i;
			return 0;
		}
	return -1;
}

int
feedback_shopify_valid(const char *secret, const void *body, size_t len,
    const char *hmac_b64)
{
	return digest_hmac_b64_equal(digest_sha256(), secret, body, len,
	    hmac_b64);
}

/* The parse's state: the payload being filled and where errors go. */
struct sp {
	struct feedback_shopify	*p;
	const struct feedback_shopify_delivery *d;
	char			*err;
	size_t			 errlen;
};

static int
sp_fail(struct sp *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "PATH: why"; returns -1.  Values quoted are masked first. */
static int
sp_fail(struct sp *c, const char *path, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	str_mask_controls(why);
	snprintf(c->err, c->errlen, "%s: %s: %s",
	    feedback_shopify_topic_name(c->p->topic), path, why);
	return -1;
}

/* PREFIX.NAME into OUT (NAME alone without a prefix). */
static const char *
sp_path(char *out, size_t outlen, const char *prefix, const char *name)
{
	if (prefix == NULL || *prefix == '\0')
		snprintf(out, outlen, "%s", name);
	else
		snprintf(out, outlen, "%s.%s", prefix, name);
	return out;
}

/* Keeps a copy of S, N bytes, owned by the payload. */
static char *
sp_keepn(struct feedback_shopify *p, const char *s, size_t n)
{
	if (p->nowned == p->capowned) {
		p->capowned = p->capowned ? p->capowned * 2 : 16;
		p->owned = xreallocarray(p->owned, p->capowned,
		    sizeof(*p->owned));
	}
	return p->owned[p->nowned++] = xstrndup(s, n);
}

static char *
sp_keep(struct feedback_shopify *p, const char *s)
{
	return sp_keepn(p, s, strlen(s));
}

/*
 * Customer text as the importers keep it: control characters become
 * spaces (a line break between words leaves a space) and, with MAX, cut
 * where a character starts.  NULL for NULL or "".
 */
static char *
sp_text(struct feedback_shopify *p, const char *s, size_t max)
{
	size_t i, n;
	char *t;

	if (s == NULL || *s == '\0')
		return NULL;
	n = strlen(s);
	if (max > 0 && n > max)
		n = utf8_cut(s, n, max);
	t = sp_keepn(p, s, n);
	for (i = 0; t[i] != '\0'; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
			t[i] = ' ';
	return *t != '\0' ? t : NULL;
}

/* Member NAME of O: NULL when absent or JSON null. */
static JsonNode *
sp_member(JsonObject *o, const char *name)
{
	JsonNode *n;

	if (o == NULL || (n = json_object_get_member(o, name)) == NULL ||
	    JSON_NODE_HOLDS_NULL(n))
		return NULL;
	return n;
}

static int
sp_is(JsonNode *n, GType type)
{
	return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == type;
}

/* A string member; *OUT NULL when absent or null (an error if REQUIRED). */
static int
sp_string(struct sp *c, JsonObject *o, const char *prefix, const char *name,
    int required, const char **out)
{
	JsonNode *n = sp_member(o, name);
	char path[128];

	*out = NULL;
	if (n == NULL)
		return required ? sp_fail(c, sp_path(path, sizeof(path),
		    prefix, name), "missing") : 0;
	if (!sp_is(n, G_TYPE_STRING))
		return sp_fail(c, sp_path(path, sizeof(path), prefix, name),
		    "expected a string");
	*out = json_node_get_string(n);
	if (required && **out == '\0')
		return sp_fail(c, sp_path(path, sizeof(path), prefix, name),
		    "empty");
	return 0;
}

/* An object member; *OUT NULL when absent or null. */
static int
sp_object(struct sp *c, JsonObject *o, const char *prefix, const char *name,
    int required, JsonObject **out)
{
	JsonNode *n = sp_member(o, name);
	char path[128];

	*out = NULL;
	if (n == NULL)
		return required ? sp_fail(c, sp_path(path, sizeof(path),
		    prefix, name), "missing") : 0;
	if (!JSON_NODE_HOLDS_OBJECT(n))
		return sp_fail(c, sp_path(path, sizeof(path), prefix, name),
		    "expected an object");
	*out = json_node_get_object(n);
	return 0;
}

/* An array member, of at most FEEDBACK_SHOPIFY_ITEMS_MAX elements. */
static int
sp_array(struct sp *c, JsonObject *o, const char *prefix, const char *name,
    int required, JsonArray **out)
{
	JsonNode *n = sp_member(o, name);
	char path[128];

	*out = NULL;
	if (n == NULL)
		return required ? sp_fail(c, sp_path(path, sizeof(path),
		    prefix, name), "missing") : 0;
	if (!JSON_NODE_HOLDS_ARRAY(n))
		return sp_fail(c, sp_path(path, sizeof(path), prefix, name),
		    "expected an array");
	*out = json_node_get_array(n);
	if (json_array_get_length(*out) > FEEDBACK_SHOPIFY_ITEMS_MAX)
		return sp_fail(c, sp_path(path, sizeof(path), prefix, name),
		    "more than %d elements", FEEDBACK_SHOPIFY_ITEMS_MAX);
	return 0;
}

/* Element I of A as an object. */
static int
sp_element(struct sp *c, JsonArray *a, const char *prefix, const char *name,
    guint i, JsonObject **out)
{
	JsonNode *n = json_array_get_element(a, i);
	char path[128];

	if (n == NULL || !JSON_NODE_HOLDS_OBJECT(n)) {
		snprintf(path, sizeof(path), "%s%s%s[%u]", prefix ? prefix :
		    "", prefix && *prefix ? "." : "", name, i);
		return sp_fail(c, path, "expected an object");
	}
	*out = json_node_get_object(n);
	return 0;
}

/*
 * Shopify's ids are JSON integers (past 2^53: json-glib reads them as
 * 64-bit integers, exactly) or, in places, strings; either is kept as
 * text.  *OUT NULL when absent.
 */
static int
sp_id_node(struct sp *c, JsonNode *n, const char *path, int required,
    char **out)
{
	char num[24];
	const char *s;
	size_t i;

	*out = NULL;
	if (n == NULL)
		return required ? sp_fail(c, path, "missing") : 0;
	if (sp_is(n, G_TYPE_INT64)) {
		if (json_node_get_int(n) < 0)
			return sp_fail(c, path, "negative");
		snprintf(num, sizeof(num), "%lld",
		    (long long)json_node_get_int(n));
		*out = sp_keep(c->p, num);
		return 0;
	}
	if (!sp_is(n, G_TYPE_STRING))
		return sp_fail(c, path, "expected an integer or a string");
	s = json_node_get_string(n);
	if (*s == '\0' || strlen(s) > FEEDBACK_SHOPIFY_ID_MAX)
		return sp_fail(c, path, "not an id");
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return sp_fail(c, path, "not an id");
	*out = sp_keep(c->p, s);
	return 0;
}

static int
sp_id(struct sp *c, JsonObject *o, const char *prefix, const char *name,
    int required, char **out)
{
	char path[128];

	return sp_id_node(c, sp_member(o, name), sp_path(path, sizeof(path),
	    prefix, name), required, out);
}

/* A timestamp member into *OUT; 0 when absent or null. */
static int
sp_time(struct sp *c, JsonObject *o, const char *prefix, const char *name,
    int required, int64_t *out)
{
	const char *v, *why;
	char path[128];

	*out = 0;
	if (sp_string(c, o, prefix, name, required, &v) == -1)
		return -1;
	if (v == NULL || (*v == '\0' && !required))
		return 0;
	if (parse_time(v, out, &why) == -1)
		return sp_fail(c, sp_path(path, sizeof(path), prefix, name),
		    "'%.64s': %s", v, why);
	return 0;
}

/*
 * An amount: a decimal string ("403.00", as Shopify sends prices) or,
 * in the few places Shopify sends one, a JSON number.  *OUT -1 when
 * absent.
 */
static int
sp_money(struct sp *c, JsonObject *o, const char *prefix, const char *name,
    int required, int64_t *out)
{
	JsonNode *n = sp_member(o, name);
	const char *why;
	char path[128], num[64];
	double d;

	*out = -1;
	sp_path(path, sizeof(path), prefix, name);
	if (n == NULL)
		return required ? sp_fail(c, path, "missing") : 0;
	if (sp_is(n, G_TYPE_STRING)) {
		if (parse_money(json_node_get_string(n), out, &why) == -1)
			return sp_fail(c, path, "'%.64s': %s",
			    json_node_get_string(n), why);
		return 0;
	}
	if (sp_is(n, G_TYPE_INT64) || sp_is(n, G_TYPE_DOUBLE)) {
		d = json_node_get_double(n);
		/* whole cents of any order total; no float past them */
		if (!isfinite(d) || fabs(d) > 1e13)
			return sp_fail(c, path, "out of range");
		snprintf(num, sizeof(num), "%.2f", d);
		if (parse_money(num, out, &why) == -1)
			return sp_fail(c, path, "'%s': %s", num, why);
		return 0;
	}
	return sp_fail(c, path, "expected an amount");
}

static int
sp_int(struct sp *c, JsonObject *o, const char *prefix, const char *name,
    int64_t min, int64_t max, int64_t *out)
{
	JsonNode *n = sp_member(o, name);
	char path[128];

	sp_path(path, sizeof(path), prefix, name);
	if (n == NULL)
		return sp_fail(c, path, "missing");
	if (!sp_is(n, G_TYPE_INT64))
		return sp_fail(c, path, "expected an integer");
	*out = json_node_get_int(n);
	if (*out < min || *out > max)
		return sp_fail(c, path, "%lld is out of range",
		    (long long)*out);
	return 0;
}

/* A boolean member; *OUT 0 when absent or null. */
static int
sp_bool(struct sp *c, JsonObject *o, const char *prefix, const char *name,
    int *out)
{
	JsonNode *n = sp_member(o, name);
	char path[128];

	*out = 0;
	if (n == NULL)
		return 0;
	if (!sp_is(n, G_TYPE_BOOLEAN))
		return sp_fail(c, sp_path(path, sizeof(path), prefix, name),
		    "expected true or false");
	*out = json_node_get_boolean(n) ? 1 : 0;
	return 0;
}

/* One of NAMES[0..N-1] into *OUT; -1 (reported) for any other value. */
static int
sp_enum(struct sp *c, const char *path, const char *v,
    const char *const *names, size_t n, size_t *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return sp_fail(c, path, "'%.64s' is not a known value", v);
}

/* An email into a kept, normalised copy; *OUT NULL when absent or "". */
static int
sp_email(struct sp *c, JsonObject *o, const char *prefix, const char *name,
    char **out)
{
	char email[PARSE_EMAIL_MAX + 1], path[128];
	const char *v, *why;

	*out = NULL;
	if (sp_string(c, o, prefix, name, 0, &v) == -1)
		return -1;
	if (v == NULL || *v == '\0')
		return 0;
	if (parse_email(v, email, sizeof(email), &why) == -1)
		return sp_fail(c, sp_path(path, sizeof(path), prefix, name),
		    "'%.64s': %s", v, why);
	*out = sp_keep(c->p, email);
	return 0;
}

/* ISO 4217, as orders.c and customers.c take it. */
static int
sp_currency(struct sp *c, JsonObject *o, const char *name, const char **out)
{
	const char *v;

	if (sp_string(c, o, NULL, name, 0, &v) == -1)
		return -1;
	*out = NULL;
	if (v == NULL || *v == '\0')
		return 0;
	if (strlen(v) != 3 || !isupper((unsigned char)v[0]) ||
	    !isupper((unsigned char)v[1]) || !isupper((unsigned char)v[2]))
		return sp_fail(c, name, "'%.64s' is not an ISO 4217 code", v);
	*out = sp_keep(c->p, v);
	return 0;
}

/*
 * Refund transactions: the money returned is the sum of the successful
 * ones of kind "refund" (a refund may carry none: restocking only).
 */
static int
sp_refund_amount(struct sp *c, JsonObject *r, const char *prefix,
    int64_t *amount)
{
	JsonArray *tx;
	JsonObject *t;
	const char *kind, *status;
	char path[128];
	int64_t v;
	guint i;

	*amount = 0;
	if (sp_array(c, r, prefix, "transactions", 0, &tx) == -1)
		return -1;
	for (i = 0; tx != NULL && i < json_array_get_length(tx); i++) {
		if (sp_element(c, tx, prefix, "transactions", i, &t) == -1)
			return -1;
		snprintf(path, sizeof(path), "%s%stransactions[%u]", prefix,
		    *prefix ? "." : "", i);
		if (sp_string(c, t, path, "kind", 1, &kind) == -1 ||
		    sp_string(c, t, path, "status", 0, &status) == -1 ||
		    sp_money(c, t, path, "amount", 1, &v) == -1)
			return -1;
		if (strcmp(kind, "refund") != 0 ||
		    (status != NULL && strcmp(status, "success") != 0))
			continue;
		if (v < 0 || v > INT64_MAX / 2 - *amount)
			return sp_fail(c, path, "amount out of range");
		*amount += v;
	}
	return 0;
}

/* The order's "refunds": each one's id and amount; *TOTAL their sum. */
static int
sp_order_refunds(struct sp *c, JsonArray *a, int64_t *total)
{
	struct feedback_shopify *p = c->p;
	struct store_webhook_refund *r;
	JsonObject *o;
	char prefix[64], *id;
	guint i, n = json_array_get_length(a);

	*total = 0;
	p->refunds = xcalloc(n + 1, sizeof(*p->refunds));
	for (i = 0; i < n; i++) {
		r = &p->refunds[i];
		snprintf(prefix, sizeof(prefix), "refunds[%u]", i);
		if (sp_element(c, a, NULL, "refunds", i, &o) == -1 ||
		    sp_id(c, o, prefix, "id", 1, &id) == -1 ||
		    sp_refund_amount(c, o, prefix, &r->amount) == -1)
			return -1;
		r->id = id;
		if (r->amount > INT64_MAX / 2 - *total)
			return sp_fail(c, prefix, "amount out of range");
		*total += r->amount;
	}
	p->w.refunds = p->refunds;
	p->w.nrefunds = n;
	return 0;
}

static int
sp_order_lines(struct sp *c, JsonArray *a)
{
	struct feedback_shopify *p = c->p;
	struct store_order_line *l;
	JsonObject *o;
	const char *v;
	char prefix[64];
	guint i, n = a != NULL ? json_array_get_length(a) : 0;

	p->lines = xcalloc(n + 1, sizeof(*p->lines));
	for (i = 0; i < n; i++) {
		l = &p->lines[i];
		snprintf(prefix, sizeof(prefix), "line_items[%u]", i);
		l->line_no = (int64_t)i + 1;
		if (sp_element(c, a, NULL, "line_items", i, &o) == -1 ||
		    sp_int(c, o, prefix, "quantity", 0, 1000000,
		    &l->quantity) == -1 ||
		    sp_money(c, o, prefix, "price", 1, &l->price) == -1 ||
		    sp_string(c, o, prefix, "sku", 0, &v) == -1)
			return -1;
		l->sku = sp_text(p, v, FEEDBACK_SHOPIFY_TEXT_MAX);
		/* the export's "Lineitem name" is the line's name */
		if (sp_string(c, o, prefix, "name", 0, &v) == -1)
			return -1;
		if (v == NULL && sp_string(c, o, prefix, "title", 0, &v) == -1)
			return -1;
		l->product = sp_text(p, v, FEEDBACK_SHOPIFY_TEXT_MAX);
	}
	p->w.lines = p->lines;
	p->w.nlines = n;
	return 0;
}

/* orders/create, orders/updated, orders/cancelled: the whole order. */
static int
sp_order(struct sp *c, JsonObject *root)
{
	struct feedback_shopify *p = c->p;
	struct store_order *o = &p->order;
	JsonObject *cust, *dc;
	JsonArray *a;
	const char *v;
	char status[32], *email, *key;
	size_t i, k = 0;

	if (sp_id(c, root, NULL, "id", 1, &key) == -1 ||
	    sp_string(c, root, NULL, "name", 1, &v) == -1)
		return -1;
	p->w.order_key = key;
	if (strlen(v) > SHOPIFY_REF_MAX)
		return sp_fail(c, "name", "longer than %d bytes",
		    SHOPIFY_REF_MAX);
	o->ref = sp_text(p, v, 0);
	if (o->ref == NULL)
		return sp_fail(c, "name", "empty");
	if (sp_time(c, root, NULL, "created_at", 1, &o->created_at) == -1 ||
	    sp_time(c, root, NULL, "updated_at", 0, &p->w.updated_at) == -1 ||
	    sp_time(c, root, NULL, "cancelled_at", 0, &o->cancelled_at) == -1 ||
	    sp_money(c, root, NULL, "total_price", 1, &o->total) == -1 ||
	    sp_currency(c, root, "currency", &o->currency) == -1 ||
	    sp_string(c, root, NULL, "financial_status", 1, &v) == -1)
		return -1;
	str_copy(status, sizeof(status), v);
	for (i = 0; status[i] != '\0'; i++)
		status[i] = (char)tolower((unsigned char)status[i]);
	if (sp_enum(c, "financial_status", status, financial_statuses,
	    sizeof(financial_statuses) / sizeof(financial_statuses[0]),
	    &k) == -1)
		return -1;
	o->financial_status = financial_statuses[k];

	/* the export's Discount Code: the first code */
	if (sp_array(c, root, NULL, "discount_codes", 0, &a) == -1)
		return -1;
	if (a != NULL && json_array_get_length(a) > 0) {
		if (sp_element(c, a, NULL, "discount_codes", 0, &dc) == -1 ||
		    sp_string(c, dc, "discount_codes[0]", "code", 0, &v) == -1)
			return -1;
		o->discount_code = sp_text(p, v, FEEDBACK_SHOPIFY_TEXT_MAX);
	}
	/* without "refunds" the store keeps what it counted */
	o->refunded = -1;
	if (sp_array(c, root, NULL, "refunds", 0, &a) == -1)
		return -1;
	if (a != NULL && sp_order_refunds(c, a, &o->refunded) == -1)
		return -1;
	if (sp_array(c, root, NULL, "line_items", 0, &a) == -1 ||
	    sp_order_lines(c, a) == -1)
		return -1;

	/* the order's email, else its contact's, else its customer's */
	if (sp_email(c, root, NULL, "email", &email) == -1)
		return -1;
	if (email == NULL && sp_email(c, root, NULL, "contact_email",
	    &email) == -1)
		return -1;
	if (email == NULL) {
		if (sp_object(c, root, NULL, "customer", 0, &cust) == -1 ||
		    sp_email(c, cust, "customer", "email", &email) == -1)
			return -1;
	}
	p->w.order = o;
	/* a point-of-sale order without a customer: nobody to mail */
	p->w.email = email;
	return 0;
}

/* refunds/create: one refund of an order known by Shopify's id. */
static int
sp_refund(struct sp *c, JsonObject *root)
{
	struct feedback_shopify *p = c->p;
	char *id, *key;

	p->refunds = xcalloc(1, sizeof(*p->refunds));
	if (sp_id(c, root, NULL, "id", 1, &id) == -1 ||
	    sp_id(c, root, NULL, "order_id", 1, &key) == -1 ||
	    sp_refund_amount(c, root, "", &p->refunds[0].amount) == -1)
		return -1;
	p->refunds[0].id = id;
	p->w.order_key = key;
	p->w.refunds = p->refunds;
	p->w.nrefunds = 1;
	return 0;
}

/*
 * One channel's consent object.  Shopify's states: "subscribed" grants;
 * "pending" (a double opt-in not confirmed yet) says nothing either way,
 * so it is not recorded; every other state refuses.  A state without a
 * date of its own is dated when it was sent, as Shopify dates it.
 */
static int
sp_consent(struct sp *c, JsonObject *root, const char *name,
    enum store_channel channel)
{
	struct feedback_shopify *p = c->p;
	struct store_consent *k;
	JsonObject *o;
	const char *state, *level, *from;
	char path[128], evidence[256];
	size_t st = 0, lv = 0;
	int64_t at;

	if (sp_object(c, root, NULL, name, 0, &o) == -1)
		return -1;
	if (o == NULL)
		return 0;
	if (sp_string(c, o, name, "state", 1, &state) == -1 ||
	    sp_enum(c, sp_path(path, sizeof(path), name, "state"), state,
	    consent_state_names, SHOPIFY_CONSENT_STATE_COUNT, &st) == -1 ||
	    sp_string(c, o, name, "opt_in_level", 0, &level) == -1 ||
	    (level != NULL && sp_enum(c, sp_path(path, sizeof(path), name,
	    "opt_in_level"), level, opt_in_levels,
	    sizeof(opt_in_levels) / sizeof(opt_in_levels[0]), &lv) == -1) ||
	    sp_time(c, o, name, "consent_updated_at", 0, &at) == -1 ||
	    sp_string(c, o, name, "consent_collected_from", 0, &from) == -1)
		return -1;
	if (from != NULL && (strlen(from) > 32 || strpbrk(from, " \t") ||
	    *from == '\0'))
		return sp_fail(c, sp_path(path, sizeof(path), name,
		    "consent_collected_from"), "'%.64s' is not a source", from);
	if (st == SHOPIFY_CONSENT_PENDING)
		return 0;
	k = &p->consent[p->w.nconsent];
	p->w.nconsent++;
	k->channel = channel;
	k->granted = st == SHOPIFY_CONSENT_SUBSCRIBED;
	k->source = "shopify_webhook";
	k->recorded_at = at != 0 ? at : c->d->received_at;
	snprintf(evidence, sizeof(evidence), "shopify webhook %s %s: %s=%s"
	    "%s%s%s%s", feedback_shopify_topic_name(p->topic),
	    c->d->webhook_id, name, state,
	    level ? " opt_in_level=" : "", level ? level : "",
	    from ? " collected_from=" : "", from ? from : "");
	str_mask_controls(evidence);
	k->evidence = sp_keep(p, evidence);
	return 0;
}

/* customers/create, customers/update: the profile and its consent. */
static int
sp_customer(struct sp *c, JsonObject *root)
{
	struct feedback_shopify *p = c->p;
	struct store_customer *cu = &p->customer;
	JsonObject *addr;
	const char *v, *phone, *why;
	char *email, *key, country[3] = "", e164[PARSE_PHONE_MAX + 1];

	if (sp_id(c, root, NULL, "id", 1, &key) == -1 ||
	    sp_email(c, root, NULL, "email", &email) == -1 ||
	    sp_time(c, root, NULL, "updated_at", 0, &p->w.updated_at) == -1 ||
	    sp_bool(c, root, NULL, "tax_exempt", &cu->tax_exempt) == -1 ||
	    sp_object(c, root, NULL, "default_address", 0, &addr) == -1 ||
	    sp_string(c, addr, "default_address", "country_code", 0,
	    &v) == -1)
		return -1;
	if (v != NULL && *v != '\0') {
		if (strlen(v) != 2 || !isalpha((unsigned char)v[0]) ||
		    !isalpha((unsigned char)v[1]))
			return sp_fail(c, "default_address.country_code",
			    "'%.64s' is not a two-letter country code", v);
		country[0] = (char)toupper((unsigned char)v[0]);
		country[1] = (char)toupper((unsigned char)v[1]);
		country[2] = '\0';
		cu->country = sp_keep(p, country);
	}
	p->w.customer_key = key;
	cu->external_id = key;
	if (sp_string(c, root, NULL, "first_name", 0, &v) == -1)
		return -1;
	cu->first_name = sp_text(p, v, SHOPIFY_NAME_MAX);
	if (sp_string(c, root, NULL, "last_name", 0, &v) == -1)
		return -1;
	cu->last_name = sp_text(p, v, SHOPIFY_NAME_MAX);
	if (sp_string(c, root, NULL, "tags", 0, &v) == -1)
		return -1;
	cu->tags = sp_text(p, v, FEEDBACK_SHOPIFY_TEXT_MAX);
	if (sp_string(c, addr, "default_address", "province_code", 0,
	    &v) == -1)
		return -1;
	cu->region = sp_text(p, v, 64);
	if (sp_string(c, addr, "default_address", "company", 0, &v) == -1)
		return -1;
	cu->company = sp_text(p, v, SHOPIFY_NAME_MAX);

	/* the customer's phone, else the address's, as customers.c */
	if (sp_string(c, root, NULL, "phone", 0, &phone) == -1 ||
	    sp_string(c, addr, "default_address", "phone", 0, &v) == -1)
		return -1;
	if (phone == NULL || *phone == '\0')
		phone = v;
	if (phone != NULL && *phone != '\0') {
		if (parse_phone(phone, *country ? country : NULL, e164,
		    sizeof(e164), &why) == 0)
			cu->phone = sp_keep(p, e164);
		else
			snprintf(p->warning, sizeof(p->warning), "phone"
			    " '%.32s': %s; stored without a phone", phone, why);
		str_mask_controls(p->warning);
	}
	if (sp_consent(c, root, "email_marketing_consent",
	    CHANNEL_EMAIL) == -1 ||
	    sp_consent(c, root, "sms_marketing_consent", CHANNEL_SMS) == -1)
		return -1;
	/* Shopify keeps customers known only by phone: nothing to mail. */
	p->w.email = email;
	p->w.customer = cu;
	p->w.consent = p->consent;
	return 0;
}

/*
 * checkouts/create, checkouts/update.  Shopify sends no "abandoned"
 * event (a checkout is abandoned when nothing follows), so an open
 * checkout is recorded as activity.c records a cart: a checkout_start
 * with the cart's value, and an add_to_cart per line, at its latest
 * time; the segment rule then waits its own delay for an order.  A
 * completed checkout adds nothing: its order ends the cart.
 */
static int
sp_checkout(struct sp *c, JsonObject *root)
{
	struct feedback_shopify *p = c->p;
	struct feedback_shopify_cart *k = &p->cart;
	struct store_event *e;
	JsonArray *a;
	JsonObject *o;
	const char *v;
	char *email, prefix[64];
	int64_t created, qty, price;
	guint i, n;

	k->present = 1;
	if (sp_id(c, root, NULL, "token", 0, &k->token) == -1)
		return -1;
	if (k->token == NULL && sp_id(c, root, NULL, "id", 1,
	    &k->token) == -1)
		return -1;
	if (sp_email(c, root, NULL, "email", &email) == -1 ||
	    sp_time(c, root, NULL, "created_at", 1, &created) == -1 ||
	    sp_time(c, root, NULL, "updated_at", 0, &k->at) == -1 ||
	    sp_time(c, root, NULL, "completed_at", 0, &k->completed_at) == -1 ||
	    sp_money(c, root, NULL, "total_price", 0, &k->value) == -1 ||
	    sp_string(c, root, NULL, "abandoned_checkout_url", 0, &v) == -1 ||
	    sp_array(c, root, NULL, "line_items", 0, &a) == -1)
		return -1;
	if (k->at < created)
		k->at = created;
	k->recovery_url = sp_text(p, v, FEEDBACK_SHOPIFY_TEXT_MAX);
	n = a != NULL ? json_array_get_length(a) : 0;
	p->events = xcalloc(n + 1, sizeof(*p->events));
	e = &p->events[0];
	e->type = SEG_EV_CHECKOUT_START;
	e->at = k->at;
	e->cart_value = k->value;
	for (i = 0; i < n; i++) {
		e = &p->events[i + 1];
		snprintf(prefix, sizeof(prefix), "line_items[%u]", i);
		if (sp_element(c, a, NULL, "line_items", i, &o) == -1 ||
		    sp_int(c, o, prefix, "quantity", 0, 1000000, &qty) == -1 ||
		    sp_money(c, o, prefix, "price", 0, &price) == -1 ||
		    sp_string(c, o, prefix, "sku", 0, &v) == -1)
			return -1;
		e->type = SEG_EV_ADD_TO_CART;
		e->at = k->at;
		e->cart_value = -1;
		e->sku = sp_text(p, v, FEEDBACK_SHOPIFY_TEXT_MAX);
	}
	if (k->completed_at != 0 || email == NULL)
		return 0;
	p->w.email = email;
	p->w.events = p->events;
	p->w.nevents = (size_t)n + 1;
	return 0;
}

/* customers/data_request, customers/redact: who and which orders. */
static int
sp_subject(struct sp *c, JsonObject *root)
{
	struct feedback_shopify *p = c->p;
	struct feedback_shopify_subject *s = &p->subject;
	JsonObject *cust, *req;
	JsonArray *a;
	const char *v, *list;
	char path[64];
	guint i;

	list = p->topic == SHOPIFY_CUSTOMERS_REDACT ? "orders_to_redact" :
	    "orders_requested";
	if (sp_string(c, root, NULL, "shop_domain", 1, &v) == -1)
		return -1;
	s->shop_domain = sp_text(p, v, 255);
	if (sp_object(c, root, NULL, "customer", 1, &cust) == -1 ||
	    sp_id(c, cust, "customer", "id", 0, &s->customer_id) == -1 ||
	    sp_email(c, cust, "customer", "email", &s->email) == -1 ||
	    sp_string(c, cust, "customer", "phone", 0, &v) == -1)
		return -1;
	s->phone = sp_text(p, v, 64);
	/* "In some cases, a customer record contains only the email" */
	if (s->customer_id == NULL && s->email == NULL)
		return sp_fail(c, "customer", "neither id nor email");
	if (sp_array(c, root, NULL, list, 0, &a) == -1)
		return -1;
	s->norders = a != NULL ? json_array_get_length(a) : 0;
	s->orders = xcalloc(s->norders + 1, sizeof(*s->orders));
	for (i = 0; i < s->norders; i++) {
		snprintf(path, sizeof(path), "%s[%u]", list, i);
		if (sp_id_node(c, json_array_get_element(a, i), path, 1,
		    &s->orders[i]) == -1)
			return -1;
	}
	if (p->topic == SHOPIFY_CUSTOMERS_DATA_REQUEST) {
		if (sp_object(c, root, NULL, "data_request", 0, &req) == -1 ||
		    sp_id(c, req, "data_request", "id", 0,
		    &s->request_id) == -1)
			return -1;
	}
	return 0;
}

/*
 * How deep BODY nests, counted outside strings; -1 past MAX.  json-glib
 * parses by recursion, so a body of brackets would overflow the stack
 * long before FEEDBACK_SHOPIFY_BODY_MAX.
 */
static int
sp_depth_ok(const char *s, size_t len, int max)
{
	int depth = 0, in_string = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_string = 0;
			continue;
		}
		if (s[i] == '"')
			in_string = 1;
		else if (s[i] == '[' || s[i] == '{') {
			if (++depth > max)
				return 0;
		} else if ((s[i] == ']' || s[i] == '}') && depth > 0)
			depth--;	/* one too many is json-glib's to refuse */
	}
	return 1;
}

/* The body as a JSON object, or -1 with the reason. */
static int
sp_load(struct sp *c, JsonParser *parser, const char *body, size_t len,
    JsonObject **root)
{
	GError *gerr = NULL;
	JsonNode *n;

	if (len > FEEDBACK_SHOPIFY_BODY_MAX)
		return sp_fail(c, "body", "%zu bytes, more than %d", len,
		    FEEDBACK_SHOPIFY_BODY_MAX);
	/* json-glib reads a NUL as the end; JSON has none outside \u0000 */
	if (len == 0 || memchr(body, '\0', len) != NULL ||
	    !g_utf8_validate(body, (gssize)len, NULL))
		return sp_fail(c, "body", "not UTF-8 text");
	if (!sp_depth_ok(body, len, FEEDBACK_SHOPIFY_DEPTH_MAX))
		return sp_fail(c, "body", "nested more than %d deep",
		    FEEDBACK_SHOPIFY_DEPTH_MAX);
	if (!json_parser_load_from_data(parser, body, (gssize)len, &gerr)) {
		sp_fail(c, "body", "not JSON: %s", gerr->message);
		g_error_free(gerr);
		return -1;
	}
	n = json_parser_get_root(parser);
	if (n == NULL || !JSON_NODE_HOLDS_OBJECT(n))
		return sp_fail(c, "body", "not a JSON object");
	*root = json_node_get_object(n);
	return 0;
}

int
feedback_shopify_parse(enum feedback_shopify_topic topic, const void *body,
    size_t len, const struct feedback_shopify_delivery *d,
    struct feedback_shopify **out, char *err, size_t errlen)
{
	struct feedback_shopify *p;
	struct sp c;
	JsonParser *parser;
	JsonObject *root = NULL;
	int rc;

	*out = NULL;
	p = xcalloc(1, sizeof(*p));
	p->topic = topic;
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.d = d;
	c.err = err;
	c.errlen = errlen;
	if ((unsigned)topic >= SHOPIFY_TOPIC_COUNT) {
		snprintf(err, errlen, "unknown topic");
		feedback_shopify_free(p);
		return -1;
	}
	if (d == NULL || d->webhook_id == NULL || *d->webhook_id == '\0') {
		sp_fail(&c, "X-Shopify-Webhook-Id", "missing");
		feedback_shopify_free(p);
		return -1;
	}
	p->w.source = FEEDBACK_SHOPIFY_SOURCE;
	p->w.topic = topic_names[topic];
	p->w.delivery_id = sp_text(p, d->webhook_id, FEEDBACK_SHOPIFY_ID_MAX);
	p->w.event_id = sp_text(p, d->event_id, FEEDBACK_SHOPIFY_ID_MAX);
	p->w.received_at = d->received_at;

	parser = json_parser_new();
	rc = sp_load(&c, parser, body, len, &root);
	if (rc == 0) {
		switch (topic) {
		case SHOPIFY_ORDERS_CREATE:
		case SHOPIFY_ORDERS_UPDATED:
		case SHOPIFY_ORDERS_CANCELLED:
			rc = sp_order(&c, root);
			break;
		case SHOPIFY_REFUNDS_CREATE:
			rc = sp_refund(&c, root);
			break;
		case SHOPIFY_CUSTOMERS_CREATE:
		case SHOPIFY_CUSTOMERS_UPDATE:
			rc = sp_customer(&c, root);
			break;
		case SHOPIFY_CHECKOUTS_CREATE:
		case SHOPIFY_CHECKOUTS_UPDATE:
			rc = sp_checkout(&c, root);
			break;
		case SHOPIFY_CUSTOMERS_DATA_REQUEST:
		case SHOPIFY_CUSTOMERS_REDACT:
			rc = sp_subject(&c, root);
			break;
		case SHOPIFY_TOPIC_COUNT:
			rc = -1;
			break;
		}
	}
	/* every string kept was copied out of the parser's tree */
	g_object_unref(parser);
	if (rc == -1) {
		feedback_shopify_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

void
feedback_shopify_free(struct feedback_shopify *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nowned; i++)
		free(p->owned[i]);
	free(p->owned);
	free(p->lines);
	free(p->refunds);
	free(p->events);
	free(p->subject.orders);
	free(p);
}

/* What a delivery's segments are refreshed with. */
struct sp_refresh {
	const struct conf_segments	*rules;
	int64_t				 now;
};

static int
sp_refresh(struct store *st, int64_t customer_id, void *arg)
{
	const struct sp_refresh *r = arg;

	return segment_refresh(st, r->rules, customer_id, r->now);
}

int
feedback_shopify_apply(struct store *st, const struct feedback_shopify *p,
    const struct conf_segments *rules, int64_t now,
    enum store_webhook_result *result, enum store_change *changed,
    char *err, size_t errlen)
{
	struct store_webhook w = p->w;
	struct sp_refresh r = { rules, now };

	*result = STORE_WEBHOOK_APPLIED;
	*changed = STORE_UNCHANGED;
	if (p->topic == SHOPIFY_CUSTOMERS_DATA_REQUEST ||
	    p->topic == SHOPIFY_CUSTOMERS_REDACT)
		return 1;
	w.written = sp_refresh;
	w.written_arg = &r;
	if (store_webhook_apply(st, &w, result, changed) == -1) {
		snprintf(err, errlen, "%s %s: %s", p->w.topic,
		    p->w.delivery_id, store_error(st));
		return -1;
	}
	return 0;
}
