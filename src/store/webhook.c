/*
 * webhook.c - applying a shop's webhook delivery, once.
 *
 * A delivery is applied in one IMMEDIATE transaction: its id is looked
 * up, its records are written through the importers' upserts (so a
 * webhook and a later export of the same data agree, and the second
 * changes nothing), and its id is recorded, all or nothing.  A shop
 * retries a delivery with its original payload for hours, so the shop's
 * updated_at of each customer and order it sent is kept beside our id
 * for it: an update older than the one applied is recorded as seen and
 * otherwise dropped.  The same map finds the order of a refund, which
 * names it only by the shop's id.
 *
 * Refunds are kept by their id.  An order's payload carries all its
 * refunds and sets the refunded amount from them; refunds/create adds
 * one refund to it.  Either order of arrival counts each refund once.
 *
 * Ownership: nothing W points to is kept past the call.  Errors leave a
 * message for store_error() and roll the transaction back.
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

/* The first change of a delivery is the one it reports. */
static void
webhook_note(enum store_change *changed, enum store_change ch)
{
	if (*changed == STORE_UNCHANGED)
		*changed = ch;
}

int
store_webhook_seen(struct store *st, const char *source,
    const char *delivery_id)
{
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_WEBHOOK_SEEN, "SELECT 1 FROM webhook_deliveries"
	    " WHERE source = ?1 AND delivery_id = ?2");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, source);
	db_bind_text(s, 2, delivery_id);
	rc = db_step(s);
	store_done(s);
	if (rc == DB_ROW)
		return 1;
	if (rc != DB_DONE)
		return store_fail(st, "webhook delivery");
	return 0;
}

static int
delivery_mark(struct store *st, const char *source, const char *id,
    const char *event_id, const char *topic, int64_t at)
{
	struct db_stmt *s;

	s = store_stmt(st, SQ_WEBHOOK_MARK, "INSERT INTO webhook_deliveries"
	    " (source, delivery_id, event_id, topic, received_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, source);
	db_bind_text(s, 2, id);
	db_bind_text(s, 3, event_id);
	db_bind_text(s, 4, topic);
	db_bind_int(s, 5, at);
	return store_run(st, s, "webhook delivery");
}

static int
webhook_mark(struct store *st, const struct store_webhook *w)
{
	return delivery_mark(st, w->source, w->delivery_id, w->event_id,
	    w->topic, w->received_at);
}

int
store_delivery_once(struct store *st, const char *source, const char *id,
    const char *topic, int64_t at)
{
	int rc;

	if ((rc = store_webhook_seen(st, source, id)) != 0)
		return rc;
	return delivery_mark(st, source, id, NULL, topic, at);
}

int
store_webhook_prune(struct store *st, int64_t before, int64_t *n)
{
	struct db_stmt *s;

	s = store_stmt(st, SQ_WEBHOOK_PRUNE, "DELETE FROM webhook_deliveries"
	    " WHERE received_at < ?1");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, before);
	if (store_run(st, s, "webhook deliveries") == -1)
		return -1;
	if (n != NULL)
		*n = db_changes(st->db);
	return 0;
}

/* 0 with *LOCAL and *UPDATED, 1 when KEY is not mapped, or -1. */
static int
webhook_object_get(struct store *st, const char *source, const char *kind,
    const char *key, int64_t *local, int64_t *updated)
{
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_WEBHOOK_OBJ_GET, "SELECT local_id, updated_at"
	    " FROM webhook_objects WHERE source = ?1 AND kind = ?2"
	    " AND external_id = ?3");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, source);
	db_bind_text(s, 2, kind);
	db_bind_text(s, 3, key);
	rc = db_step(s);
	if (rc == DB_ROW) {
		*local = db_col_int(s, 0);
		*updated = db_col_int(s, 1);
	}
	store_done(s);
	if (rc == DB_ROW)
		return 0;
	return rc == DB_DONE ? 1 : store_fail(st, "webhook object");
}

int
store_webhook_customer(struct store *st, const char *source,
    const char *key, int64_t *id)
{
	int64_t updated;

	return webhook_object_get(st, source, "customer", key, id, &updated);
}

static int
webhook_object_set(struct store *st, const char *source, const char *kind,
    const char *key, int64_t local, int64_t updated)
{
	struct db_stmt *s;

	s = store_stmt(st, SQ_WEBHOOK_OBJ_SET, "INSERT INTO webhook_objects"
	    " (source, kind, external_id, local_id, updated_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (source, kind, external_id) DO UPDATE SET"
	    " local_id = excluded.local_id,"
	    " updated_at = greatest(webhook_objects.updated_at,"
	    " excluded.updated_at)");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, source);
	db_bind_text(s, 2, kind);
	db_bind_text(s, 3, key);
	db_bind_int(s, 4, local);
	db_bind_int(s, 5, updated);
	return store_run(st, s, "webhook object");
}

/*
 * 1 when the store holds a later update of the customer or order W
 * brings than W's own, 0 when not (or either time is unknown), or -1.
 */
static int
webhook_stale(struct store *st, const struct store_webhook *w)
{
	int64_t local, updated;
	int rc = 1;

	if (w->updated_at == 0)
		return 0;
	if (w->order != NULL && w->order_key != NULL)
		rc = webhook_object_get(st, w->source, "order", w->order_key,
		    &local, &updated);
	else if (w->customer != NULL && w->customer_key != NULL)
		rc = webhook_object_get(st, w->source, "customer",
		    w->customer_key, &local, &updated);
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	return updated > w->updated_at;
}

static int
webhook_customer(struct store *st, const struct store_webhook *w,
    int64_t *id, enum store_change *changed)
{
	struct store_customer c;
	enum store_change ch;

	if (w->customer == NULL) {
		if (store_customer_ensure(st, w->email, id, &ch) == -1)
			return -1;
		webhook_note(changed, ch);
		return 0;
	}
	c = *w->customer;
	c.email = w->email;
	if (store_customer_upsert(st, &c, id, &ch) == -1)
		return -1;
	webhook_note(changed, ch);
	if (w->customer_key != NULL && webhook_object_set(st, w->source,
	    "customer", w->customer_key, *id, w->updated_at) == -1)
		return -1;
	return 0;
}

/*
 * The statements as the export's are taken: only one that differs from
 * the current status is news.  A shop's "subscribed" for a number that
 * replied STOP later than the statement is the shop's stale flag, not a
 * new opt-in (customers.c refuses it for the same reason).
 */
static int
webhook_consent(struct store *st, const struct store_webhook *w, int64_t id,
    enum store_change *changed)
{
	struct store_consent c;
	enum store_change ch;
	const char *phone;
	int64_t at;
	size_t i;
	int rc;

	phone = w->customer != NULL ? w->customer->phone : NULL;
	for (i = 0; i < w->nconsent; i++) {
		c = w->consent[i];
		c.customer_id = id;
		if (c.channel == CHANNEL_SMS && c.granted && phone != NULL) {
			rc = store_phone_opted_out(st, phone, &at);
			if (rc == -1)
				return -1;
			if (rc == 1 && at >= c.recorded_at)
				continue;
		}
		if (store_consent_record(st, &c, STORE_CONSENT_IF_DIFFERENT,
		    &ch) == -1)
			return -1;
		webhook_note(changed, ch);
	}
	return 0;
}

/* The refunded amount the store holds for the order REF (0 if none). */
static int
webhook_refunded(struct store *st, const char *ref, int64_t *cents)
{
	struct db_stmt *s;
	int rc;

	*cents = 0;
	s = store_stmt(st, SQ_WEBHOOK_ORDER_REF, "SELECT refunded FROM orders"
	    " WHERE ref = ?1");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, ref);
	rc = db_step(s);
	if (rc == DB_ROW)
		*cents = db_col_int(s, 0);
	store_done(s);
	if (rc != DB_ROW && rc != DB_DONE)
		return store_fail(st, "order");
	return 0;
}

/*
 * Records refund R of the order KEY (ORDER_ID 0: not known yet).  *ADDED
 * is 1 when R is now counted in the order for the first time: new, or
 * known before only as a refund of an unknown order.
 */
static int
webhook_refund_add(struct store *st, const char *source, const char *key,
    int64_t order_id, const struct store_webhook_refund *r, int *added)
{
	struct db_stmt *s;

	*added = 0;
	s = store_stmt(st, SQ_WEBHOOK_REFUND_ADD, "INSERT INTO webhook_refunds"
	    " (source, external_id, order_key, order_id, amount)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (source, external_id) DO UPDATE SET"
	    " order_id = excluded.order_id"
	    " WHERE webhook_refunds.order_id IS NULL"
	    " AND excluded.order_id IS NOT NULL");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, source);
	db_bind_text(s, 2, r->id);
	db_bind_text(s, 3, key);
	if (order_id != 0)
		db_bind_int(s, 4, order_id);
	else
		db_bind_null(s, 4);
	db_bind_int(s, 5, r->amount);
	if (store_run(st, s, "webhook refund") == -1)
		return -1;
	*added = order_id != 0 && db_changes(st->db) > 0;
	return 0;
}

static int
webhook_order(struct store *st, const struct store_webhook *w,
    int64_t customer_id, enum store_change *changed)
{
	struct store_order o;
	struct store_order_line l;
	enum store_change ch;
	int64_t order_id;
	size_t i;
	int added;

	o = *w->order;
	o.customer_id = customer_id;
	if (o.refunded < 0 && webhook_refunded(st, o.ref, &o.refunded) == -1)
		return -1;
	if (store_order_upsert(st, &o, &order_id, &ch) == -1)
		return -1;
	webhook_note(changed, ch);
	for (i = 0; i < w->nlines; i++) {
		l = w->lines[i];
		l.line_no = (int64_t)i + 1;
		if (store_order_line_upsert(st, order_id, &l, &ch) == -1)
			return -1;
		webhook_note(changed, ch);
	}
	if (store_order_lines_trim(st, order_id, (int64_t)w->nlines,
	    &ch) == -1)
		return -1;
	webhook_note(changed, ch);
	if (w->order_key == NULL)
		return 0;
	/* the order's refunded amount already counts them */
	for (i = 0; i < w->nrefunds; i++)
		if (webhook_refund_add(st, w->source, w->order_key, order_id,
		    &w->refunds[i], &added) == -1)
			return -1;
	return webhook_object_set(st, w->source, "order", w->order_key,
	    order_id, w->updated_at);
}

/* Refunds without their order (refunds/create); *KNOWN: its order is. */
static int
webhook_refunds(struct store *st, const struct store_webhook *w, int *known,
    int64_t *customer_id, enum store_change *changed)
{
	struct db_stmt *s;
	int64_t order_id = 0, unused;
	size_t i;
	int rc, added;

	*customer_id = 0;
	rc = webhook_object_get(st, w->source, "order", w->order_key,
	    &order_id, &unused);
	if (rc == -1)
		return -1;
	*known = rc == 0;
	if (*known) {
		s = store_stmt(st, SQ_WEBHOOK_ORDER_CUSTOMER, "SELECT"
		    " customer_id FROM orders WHERE id = ?1");
		if (s == NULL)
			return -1;
		db_bind_int(s, 1, order_id);
		if ((rc = db_step(s)) == DB_ROW)
			*customer_id = db_col_int(s, 0);
		store_done(s);
		if (rc != DB_ROW && rc != DB_DONE)
			return store_fail(st, "order");
	}
	for (i = 0; i < w->nrefunds; i++) {
		if (webhook_refund_add(st, w->source, w->order_key, order_id,
		    &w->refunds[i], &added) == -1)
			return -1;
		if (!added)
			continue;
		s = store_stmt(st, SQ_WEBHOOK_REFUNDED_ADD, "UPDATE orders"
		    " SET refunded = refunded + ?2,"
		    " source_id = coalesce(nullif(?3, 0), source_id)"
		    " WHERE id = ?1");
		if (s == NULL)
			return -1;
		db_bind_int(s, 1, order_id);
		db_bind_int(s, 2, w->refunds[i].amount);
		db_bind_int(s, 3, st->source_id);
		if (store_run(st, s, "order refunded") == -1)
			return -1;
		if (w->refunds[i].amount != 0)
			webhook_note(changed, STORE_UPDATED);
	}
	return 0;
}

static int
webhook_events(struct store *st, const struct store_webhook *w, int64_t id,
    enum store_change *changed)
{
	struct store_event e;
	enum store_change ch;
	size_t i;

	for (i = 0; i < w->nevents; i++) {
		e = w->events[i];
		e.customer_id = id;
		if (store_event_add(st, &e, &ch) == -1)
			return -1;
		webhook_note(changed, ch);
	}
	return 0;
}

/* The writes of W, inside the transaction. */
static int
webhook_write(struct store *st, const struct store_webhook *w,
    enum store_webhook_result *result, enum store_change *changed)
{
	int64_t id;
	int rc, known;

	if ((rc = webhook_stale(st, w)) != 0) {
		if (rc == 1)
			*result = STORE_WEBHOOK_STALE;
		return rc == 1 ? 0 : -1;
	}
	if (w->email != NULL) {
		if (webhook_customer(st, w, &id, changed) == -1 ||
		    webhook_consent(st, w, id, changed) == -1 ||
		    (w->order != NULL &&
		    webhook_order(st, w, id, changed) == -1) ||
		    webhook_events(st, w, id, changed) == -1 ||
		    (w->written != NULL && w->written(st, id,
		    w->written_arg) == -1))
			return -1;
	}
	if (w->order == NULL && w->order_key != NULL && w->nrefunds > 0) {
		if (webhook_refunds(st, w, &known, &id, changed) == -1)
			return -1;
		if (!known)
			*result = STORE_WEBHOOK_UNKNOWN_ORDER;
		else if (id > 0 && w->written != NULL &&
		    w->written(st, id, w->written_arg) == -1)
			return -1;
	}
	return 0;
}

/* The delivery as the facts it writes name it: "shopify orders/create
 * ID". */
static int
webhook_source(struct store *st, const struct store_webhook *w)
{
	char name[256];

	snprintf(name, sizeof(name), "%s %s %s", w->source, w->topic,
	    w->delivery_id);
	return store_source_begin(st, name, w->received_at);
}

int
store_webhook_apply(struct store *st, const struct store_webhook *w,
    enum store_webhook_result *result, enum store_change *changed)
{
	int rc;

	*result = STORE_WEBHOOK_APPLIED;
	*changed = STORE_UNCHANGED;
	if (w->source == NULL || w->delivery_id == NULL || w->topic == NULL ||
	    *w->delivery_id == '\0')
		return store_failf(st, "webhook: no delivery id");
	if (store_begin(st) == -1)
		return -1;
	rc = store_webhook_seen(st, w->source, w->delivery_id);
	if (rc == 1) {
		*result = STORE_WEBHOOK_DUPLICATE;
		return store_rollback(st);
	}
	if (rc == -1 || webhook_source(st, w) == -1 ||
	    webhook_write(st, w, result, changed) == -1 ||
	    webhook_mark(st, w) == -1 || store_commit(st) == -1)
		goto fail;
	store_source_end(st);
	return 0;
fail:
	/* store_rollback sets an error only if the rollback fails */
	store_rollback(st);
	*changed = STORE_UNCHANGED;
	*result = STORE_WEBHOOK_APPLIED;
	return -1;
}
