/*
 * delivery.c - the milter's reads and writes: one recipient's facts, the
 * per-campaign ledger and the audit rows.
 *
 * Deliveries are counted once per campaign from two sources, summarised
 * together per customer (store_deliveries_window): the ledger (what this
 * relay delivered) and imported "sent" engagement (what the sending tool
 * reports, including campaigns that never passed here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store_int.h"
#include "str.h"


/* Columns 1.. of a profile row into R. */
static void
profile_row(struct db_stmt *s, struct store_recipient *r)
{
	struct segment_result *seg = &r->seg;
	enum conf_lifecycle lc;
	const char *evidence;

	r->customer_id = db_col_int(s, 1);
	str_copy(r->first_name, sizeof(r->first_name), db_col_text(s, 2));
	str_copy(r->last_name, sizeof(r->last_name), db_col_text(s, 3));
	str_copy(r->company, sizeof(r->company), db_col_text(s, 4));
	str_copy(r->phone, sizeof(r->phone), db_col_text(s, 5));
	if (!db_col_null(s, 6)) {
		r->has_consent = 1;
		r->consent_granted = db_col_int(s, 6);
		r->consent_at = db_col_int(s, 8);
		evidence = db_col_text(s, 9);
		snprintf(r->consent_evidence, sizeof(r->consent_evidence),
		    "%s %s%s%s", r->consent_granted ? "granted" : "revoked",
		    db_col_text(s, 7), evidence ? ": " : "",
		    evidence ? evidence : "");
	}
	r->min_gap_days = db_col_int(s, 21);
	r->campaign_closed_at = db_col_int(s, 22);
	r->first_order_at = db_col_int(s, 23);
	r->campaign_at = db_col_int(s, 10);
	str_copy(r->campaign_message, sizeof(r->campaign_message),
	    db_col_text(s, 11));
	str_copy(r->campaign_route, sizeof(r->campaign_route),
	    db_col_text(s, 12));
	if (!db_col_null(s, 13)) {
		r->has_segment = 1;
		seg->lifecycle = conf_lifecycle_parse(db_col_text(s, 13),
		    &lc) == 0 ? lc : LC_SUBSCRIBER;
		seg->cart_abandoner = db_col_int(s, 14);
		seg->cart_at = db_col_int(s, 15);
		seg->cart_value = db_col_int(s, 16);
		str_copy(seg->country, sizeof(seg->country),
		    db_col_text(s, 17));
		str_copy(seg->currency, sizeof(seg->currency),
		    db_col_text(s, 18));
		str_copy(seg->language, sizeof(seg->language),
		    db_col_text(s, 19));
		str_copy(seg->time_zone, sizeof(seg->time_zone),
		    db_col_text(s, 20));
	}
}

/*
 * Everything about each recipient that is one row: the customer with
 * EMAILS[i], their current email consent, the campaign names of their
 * current segment, and whether CAMPAIGN was already delivered to the
 * address.  R[i] is left as it is (unknown) when there is no customer.
 */
static int
delivery_profiles(struct store *st, const char *const *emails, size_t n,
    const char *campaign, struct store_recipient *const *r)
{
	struct buf in;
	struct db_stmt *s;
	int64_t i;
	int rc;

	s = store_stmt(st, SQ_RCPT_PROFILE, "SELECT j.key, c.id,"
	    " c.first_name, c.last_name, c.company, c.phone,"
	    " k.granted, k.source, k.recorded_at, k.evidence,"
	    " l.at, l.message_key, l.route,"
	    " s.lifecycle, s.cart_abandoner, s.cart_at, s.cart_value,"
	    " s.country, s.currency, s.language, s.time_zone,"
	    " coalesce(g.min_gap_days, 0),"
	    " (SELECT closed_at FROM campaigns_closed WHERE campaign_id = ?2),"
	    " (SELECT min(created_at) FROM orders WHERE customer_id = c.id)"
	    " FROM json_each(?1) j JOIN customers c ON c.email = j.value"
	    " LEFT JOIN email_cadence g ON g.customer_id = c.id"
	    " LEFT JOIN consent k ON k.customer_id = c.id"
	    "  AND k.channel = 'email'"
	    " LEFT JOIN customer_segments s ON s.customer_id = c.id"
	    "  AND s.generation = (SELECT generation FROM segment_state)"
	    " LEFT JOIN ledger l ON l.customer_id = c.id"
	    "  AND l.campaign_id = ?2 AND l.recipient = j.value"
	    "  AND l.decision = 'deliver'");
	if (s == NULL)
		return -1;
	buf_init(&in, STORE_BATCH_JSON_MAX);
	store_json_strings(&in, emails, n);
	db_bind_text(s, 1, buf_str(&in));
	db_bind_text(s, 2, campaign);
	while ((rc = db_step(s)) == DB_ROW) {
		i = db_col_int(s, 0);
		if (i >= 0 && (size_t)i < n)
			profile_row(s, r[i]);
	}
	store_done(s);
	buf_free(&in);
	return rc == DB_DONE ? 0 : store_fail(st, "customer");
}

/*
 * Up to STORE_BATCH known customers' ids, R[i]'s at position i (0 for
 * an unknown address, which matches nothing), as the JSON array batch
 * statements take.
 */
static void
delivery_ids(struct buf *ids, size_t n, struct store_recipient *const *r)
{
	int64_t id[STORE_BATCH];
	size_t i;

	for (i = 0; i < n; i++)
		id[i] = r[i]->customer_id;
	buf_init(ids, STORE_BATCH_JSON_MAX);
	store_json_ints(ids, id, n);
}

/*
 * The category interests of every recipient with a segment (N <=
 * STORE_BATCH) in the current segments generation, most recent first
 * (as store_segment_interests()).
 */
static int
delivery_interests(struct store *st, size_t n,
    struct store_recipient *const *r)
{
	struct segment_result *seg;
	struct segment_interest *in;
	struct buf ids;
	struct db_stmt *s;
	int64_t i;
	int rc;

	s = store_stmt(st, SQ_SEG_INTERESTS_MANY, "SELECT j.key, category,"
	    " sources, last_at FROM json_each(?1) j"
	    " JOIN customer_interests i"
	    "  ON i.customer_id = CAST(j.value AS BIGINT)"
	    "  AND i.generation = (SELECT generation FROM segment_state)"
	    " ORDER BY j.key, last_at DESC, category");
	if (s == NULL)
		return -1;
	delivery_ids(&ids, n, r);
	db_bind_text(s, 1, buf_str(&ids));
	while ((rc = db_step(s)) == DB_ROW) {
		i = db_col_int(s, 0);
		if (i < 0 || (size_t)i >= n || !r[i]->has_segment)
			continue;
		seg = &r[i]->seg;
		if (seg->ninterests == SEGMENT_MAX_INTERESTS)
			continue;
		in = &seg->interests[seg->ninterests++];
		str_copy(in->category, sizeof(in->category),
		    db_col_text(s, 1));
		in->sources = (unsigned)db_col_int(s, 2);
		in->last_at = db_col_int(s, 3);
	}
	store_done(s);
	buf_free(&ids);
	return rc == DB_DONE ? 0 : store_fail(st, "interests");
}

/*
 * The times in LIST ("T,T,...") into R's soft bounces, the newest
 * STORE_SOFT_BOUNCES_MAX of them, newest first, whatever LIST's order.
 */
static void
delivery_soft_bounces(const char *list, struct store_recipient *r)
{
	int64_t at;
	size_t i;
	char *end;

	r->nsoft_bounces = 0;
	while (list != NULL && *list != '\0') {
		at = strtoll(list, &end, 10);
		for (i = r->nsoft_bounces; i > 0 &&
		    r->soft_bounce_at[i - 1] < at; i--)
			if (i < STORE_SOFT_BOUNCES_MAX)
				r->soft_bounce_at[i] = r->soft_bounce_at[i - 1];
		if (i < STORE_SOFT_BOUNCES_MAX) {
			r->soft_bounce_at[i] = at;
			if (r->nsoft_bounces < STORE_SOFT_BOUNCES_MAX)
				r->nsoft_bounces++;
		}
		if (*end != ',')
			break;
		list = end + 1;
	}
}

/*
 * Unsubscribes and complaints, bounces since consent (hard: a count;
 * soft: the latest times), the last open, click or order, of up to
 * STORE_BATCH recipients: each customer's row of engagement_last
 * (schema 20), and their bounces only when the newest is since their
 * email consent, so a customer mailed for years costs what a new one
 * does.  No row: nothing ever happened.
 */
static int
delivery_engagement(struct store *st, size_t n,
    struct store_recipient *const *r)
{
	struct db_stmt *s;
	struct buf ids;
	int64_t i;
	int rc;

	s = store_stmt(st, SQ_RCPT_ENGAGEMENT, "SELECT j.key, e.order_at,"
	    " e.unsubscribe_at,"
	    " CASE WHEN e.bounce_at > 0"
	    "  AND e.bounce_at >= coalesce(k.recorded_at, 0) THEN (SELECT"
	    "  count(*) FROM engagement b WHERE b.customer_id = e.customer_id"
	    "  AND b.type = 'bounce' AND b.at >= coalesce(k.recorded_at, 0))"
	    "  ELSE 0 END,"
	    " greatest(e.open_at, e.click_at, e.order_at), e.complaint_at,"
	    " CASE WHEN e.soft_bounce_at > 0"
	    "  AND e.soft_bounce_at >= coalesce(k.recorded_at, 0) THEN"
	    "  (SELECT group_concat(CAST(newest.at AS TEXT)) FROM (SELECT b.at"
	    "  FROM engagement b WHERE b.customer_id = e.customer_id"
	    "  AND b.type = 'soft_bounce' AND b.at >= coalesce(k.recorded_at, 0)"
	    "  ORDER BY b.at DESC LIMIT ?2) AS newest) END"
	    " FROM json_each(?1) j"
	    " JOIN engagement_last e ON e.customer_id = CAST(j.value AS BIGINT)"
	    " LEFT JOIN consent k ON k.customer_id = e.customer_id"
	    "  AND k.channel = 'email'");
	if (s == NULL)
		return -1;
	delivery_ids(&ids, n, r);
	db_bind_text(s, 1, buf_str(&ids));
	db_bind_int(s, 2, STORE_SOFT_BOUNCES_MAX);
	while ((rc = db_step(s)) == DB_ROW) {
		if ((i = db_col_int(s, 0)) < 0 || (size_t)i >= n)
			continue;
		r[i]->last_order_at = db_col_int(s, 1);
		r[i]->unsubscribed_at = db_col_int(s, 2);
		r[i]->bounces_since_consent = db_col_int(s, 3);
		r[i]->last_answer_at = db_col_int(s, 4);
		r[i]->complained_at = db_col_int(s, 5);
		delivery_soft_bounces(db_col_text(s, 6), r[i]);
	}
	store_done(s);
	buf_free(&ids);
	return rc == DB_DONE ? 0 : store_fail(st, "engagement");
}

/*
 * Campaigns delivered since the last answer and within the window,
 * other than CAMPAIGN itself, to up to STORE_BATCH recipients: a
 * campaign never fatigues its own retry (whether it may go again is the
 * duplicate rule's business).  A campaign counts once however often it
 * went (a split, a resend, both delivered here and imported), at its
 * last delivery: the customer's summary (store_deliveries_window) holds
 * a row for each, a few rows however long they were mailed.
 */
static int
delivery_counts(struct store *st, size_t n, struct store_recipient *const *r,
    const char *campaign, int64_t window_start, int64_t min_priority)
{
	struct db_stmt *s;
	struct buf ids;
	int64_t i;
	int rc;

	s = store_stmt(st, SQ_RCPT_DELIVERIES, "SELECT j.key,"
	    " count(*) FILTER (WHERE d.at > coalesce(greatest(e.open_at,"
	    "  e.click_at, e.order_at), 0) AND d.campaign_id <> ?3"
	    "  AND d.priority >= ?4),"
	    " count(*) FILTER (WHERE d.at > ?2 AND d.campaign_id <> ?3"
	    "  AND d.priority >= ?4),"
	    " coalesce(max(d.at) FILTER (WHERE d.campaign_id <> ?3), 0),"
	    " count(*)"
	    " FROM json_each(?1) j"
	    " JOIN deliveries d ON d.customer_id = CAST(j.value AS BIGINT)"
	    " LEFT JOIN engagement_last e ON e.customer_id = d.customer_id"
	    " GROUP BY j.key");
	if (s == NULL)
		return -1;
	delivery_ids(&ids, n, r);
	db_bind_text(s, 1, buf_str(&ids));
	db_bind_int(s, 2, window_start);
	db_bind_text(s, 3, campaign);
	db_bind_int(s, 4, min_priority);
	for (i = 0; i < (int64_t)n; i++)
		r[i]->unanswered = r[i]->in_window = r[i]->last_delivery_at =
		    r[i]->deliveries_kept = 0;
	while ((rc = db_step(s)) == DB_ROW) {
		if ((i = db_col_int(s, 0)) < 0 || (size_t)i >= n)
			continue;
		r[i]->unanswered = db_col_int(s, 1);
		r[i]->in_window = db_col_int(s, 2);
		r[i]->last_delivery_at = db_col_int(s, 3);
		r[i]->deliveries_kept = db_col_int(s, 4);
	}
	store_done(s);
	buf_free(&ids);
	return rc == DB_DONE ? 0 : store_fail(st, "deliveries");
}

int
store_recipients_get(struct store *st, const char *const *emails, size_t n,
    const char *campaign, int64_t now, int64_t window_secs,
    int64_t min_priority, struct store_recipient *const *r)
{
	size_t off, k, i;

	for (i = 0; i < n; i++)
		memset(r[i], 0, sizeof(*r[i]));
	for (off = 0; off < n; off += k) {
		k = n - off < STORE_BATCH ? n - off : STORE_BATCH;
		if (delivery_profiles(st, emails + off, k, campaign,
		    r + off) == -1 ||
		    delivery_engagement(st, k, r + off) == -1 ||
		    delivery_counts(st, k, r + off, campaign,
		    now - window_secs, min_priority) == -1 ||
		    delivery_interests(st, k, r + off) == -1)
			return -1;
	}
	return 0;
}

int
store_recipients_recount(struct store *st, const char *campaign, int64_t now,
    int64_t window_secs, int64_t min_priority, size_t n,
    struct store_recipient *const *r)
{
	size_t off, k;

	for (off = 0; off < n; off += k) {
		k = n - off < STORE_BATCH ? n - off : STORE_BATCH;
		if (delivery_counts(st, k, r + off, campaign,
		    now - window_secs, min_priority) == -1)
			return -1;
	}
	return 0;
}

int
store_recipient_get(struct store *st, const char *email, const char *campaign,
    int64_t now, int64_t window_secs, struct store_recipient *r)
{
	return store_recipients_get(st, &email, 1, campaign, now,
	    window_secs, 0, &r);
}

int
store_customer_campaigns(struct store *st, int64_t id, store_campaign_fn fn,
    void *arg)
{
	struct db_stmt *s;
	int rc, stop = 0;

	s = store_stmt(st, SQ_CUST_CAMPAIGNS, STORE_LEDGER_CAMPAIGNS
	    "SELECT campaign_id FROM ledger"
	    " WHERE campaign_id IN (SELECT id FROM ledger_campaigns)"
	    " AND customer_id = ?1 AND decision = 'deliver'"
	    " UNION SELECT campaign_id FROM engagement"
	    " WHERE customer_id = ?1 AND type = 'sent'");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, id);
	while ((rc = db_step(s)) == DB_ROW)
		if ((stop = fn(db_col_text(s, 0), arg)) != 0)
			break;
	store_done(s);
	if (stop != 0)
		return stop;
	return rc == DB_DONE ? 0 : store_fail(st, "campaigns");
}

int
store_deliveries_secs(struct store *st, int64_t *secs)
{
	struct db_stmt *s;
	int rc;

	/* read each time: segctl prune or another daemon may have set it */
	s = store_stmt(st, SQ_DELIVERIES_WINDOW, "SELECT secs FROM"
	    " deliveries_window");
	if (s == NULL)
		return -1;
	if ((rc = db_step(s)) == DB_ROW)
		*secs = db_col_int(s, 0);
	store_done(s);
	return rc == DB_ROW ? 0 : store_fail(st, "deliveries window");
}

/*
 * Customer ID's summary after a delivery at NOW: what is before both
 * their last answer and the window goes (the bound only moves later:
 * answers are never removed but for older ones of a kind).
 */
static int
deliveries_trim(struct store *st, int64_t id, int64_t answered_at,
    int64_t now)
{
	struct db_stmt *s;
	int64_t secs;

	if (store_deliveries_secs(st, &secs) == -1)
		return -1;
	/*
	 * Older than the second newest (a tie keeps both): one value,
	 * found once, where a NOT IN list of the two would build a
	 * temporary table, and its page cache, for every recipient.
	 */
	s = store_stmt(st, SQ_DELIVERIES_TRIM, "DELETE FROM deliveries"
	    " WHERE customer_id = ?1 AND at <= ?2 AND at < (SELECT at"
	    "  FROM deliveries WHERE customer_id = ?1"
	    "  ORDER BY at DESC LIMIT 1 OFFSET 1)");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, id);
	db_bind_int(s, 2, answered_at < now - secs ? answered_at :
	    now - secs);
	return store_run(st, s, "deliveries");
}

/* Whether two of L's N decisions share a key: one statement would
 * meet its own row (PostgreSQL refuses; SQLite would update it), so
 * such a statement's rows go one at a time. */
static int
ledger_keys_repeat(const struct store_ledger *l, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (l[i].customer_id == l[j].customer_id &&
			    strcmp(l[i].recipient, l[j].recipient) == 0 &&
			    strcmp(l[i].campaign_id, l[j].campaign_id) == 0)
				return 1;
	return 0;
}

/* L[0..N-1] (N a power of two) in one statement; WRITTEN[i] from the
 * rows it returns. */
static int
ledger_put_rows(struct store *st, const struct store_ledger *l, size_t n,
    int lg, int *written)
{
	struct db_stmt *s;
	const char *recipient;
	int64_t customer;
	size_t i;
	int at;
	enum db_rc rc;

	s = store_rows_stmt(st, SQ_LEDGER_PUT, lg, "INSERT INTO ledger"
	    " (campaign_id, recipient, message_key, customer_id, queue_id,"
	    " decision, variant, at, route, arm, segment, priority) VALUES ",
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    " ON CONFLICT (customer_id, campaign_id, recipient) DO UPDATE SET"
	    " message_key = excluded.message_key,"
	    " queue_id = excluded.queue_id, decision = excluded.decision,"
	    " variant = excluded.variant, at = excluded.at,"
	    " route = excluded.route, arm = excluded.arm,"
	    " segment = excluded.segment"
	    " WHERE ledger.decision <> 'deliver'"
	    "  OR (ledger.route = 'inplace'"
	    "   AND ledger.message_key = excluded.message_key"
	    "   AND excluded.decision = 'deliver')"
	    " RETURNING customer_id, recipient");
	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		at = 12 * (int)i;
		written[i] = 0;
		db_bind_text(s, at + 1, l[i].campaign_id);
		db_bind_text(s, at + 2, l[i].recipient);
		db_bind_text(s, at + 3, l[i].message_key);
		db_bind_int(s, at + 4, l[i].customer_id);
		db_bind_text(s, at + 5, l[i].queue_id);
		db_bind_text(s, at + 6, l[i].decision);
		db_bind_text(s, at + 7, l[i].variant);
		db_bind_int(s, at + 8, l[i].at);
		db_bind_text(s, at + 9, l[i].route);
		db_bind_text(s, at + 10, l[i].arm);
		db_bind_text(s, at + 11, l[i].segment);
		db_bind_int(s, at + 12, l[i].priority);
	}
	/* the rows written come back; one kept (a delivery that stands)
	 * does not */
	while ((rc = db_step(s)) == DB_ROW) {
		customer = db_col_int(s, 0);
		recipient = db_col_text(s, 1);
		for (i = 0; i < n; i++)
			if (l[i].customer_id == customer && recipient != NULL &&
			    strcmp(l[i].recipient, recipient) == 0)
				written[i] = 1;
	}
	store_done(s);
	return rc == DB_DONE ? 0 : store_fail(st, "ledger");
}

int
store_ledger_put_many(struct store *st, const struct store_ledger *l,
    size_t n, int *written)
{
	size_t i, k, done;
	int lg;

	for (done = 0; done < n; done += k) {
		lg = store_rows_chunk(n - done, STORE_LEDGER_MANY_LOG2);
		k = (size_t)1 << lg;
		if (ledger_keys_repeat(l + done, k)) {
			lg = 0;
			k = 1;
		}
		if (ledger_put_rows(st, l + done, k, lg, written + done) == -1)
			return -1;
	}
	/* a few rows more cost a lookup less than a delete each time */
	for (i = 0; i < n; i++)
		if (written[i] && l[i].customer_id != 0 &&
		    l[i].answered_at > 0 &&
		    l[i].deliveries_kept >= STORE_DELIVERIES_KEPT &&
		    strcmp(l[i].decision, "deliver") == 0 &&
		    deliveries_trim(st, l[i].customer_id, l[i].answered_at,
		    l[i].at) == -1)
			return -1;
	return 0;
}

int
store_ledger_put(struct store *st, const struct store_ledger *l,
    int *written)
{
	int w = 0;

	if (store_ledger_put_many(st, l, 1, &w) == -1)
		return -1;
	if (written != NULL)
		*written = w;
	return 0;
}

int
store_delivery_withdraw(struct store *st, const char *campaign,
    const char *email, const char *decision, int64_t at)
{
	struct db_stmt *s;
	int64_t id = -1;
	int rc;

	/* by address: the customer's may have changed since */
	s = store_stmt(st, SQ_DELIVERY_WITHDRAW, "UPDATE ledger"
	    " SET decision = ?3, at = ?4 WHERE campaign_id = ?1"
	    " AND recipient = ?2 AND decision = 'deliver'"
	    " RETURNING customer_id");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, campaign);
	db_bind_text(s, 2, email);
	db_bind_text(s, 3, decision);
	db_bind_int(s, 4, at);
	while ((rc = db_step(s)) == DB_ROW)
		id = db_col_int(s, 0);
	store_done(s);
	if (rc != DB_DONE)
		return store_fail(st, "ledger");
	if (id <= 0)
		return 0;
	/* the campaign's summary row again from what still counts (an
	 * imported send of it, another address of theirs) */
	s = store_stmt(st, SQ_DELIVERY_FORGET, "DELETE FROM deliveries"
	    " WHERE customer_id = ?1 AND campaign_id = ?2");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, id);
	db_bind_text(s, 2, campaign);
	if (store_run(st, s, "deliveries") == -1)
		return -1;
	s = store_stmt(st, SQ_DELIVERY_RECOUNT, "INSERT INTO deliveries"
	    " SELECT customer_id, campaign_id, max(at), max(priority) FROM ("
	    "  SELECT customer_id, campaign_id, at, priority FROM ledger"
	    "   WHERE campaign_id = ?2 AND customer_id = ?1"
	    "   AND decision = 'deliver'"
	    "  UNION ALL SELECT customer_id, campaign_id, at, 0"
	    "   FROM engagement WHERE customer_id = ?1 AND campaign_id = ?2"
	    "   AND type = 'sent') AS d"
	    " WHERE true GROUP BY customer_id, campaign_id");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, id);
	db_bind_text(s, 2, campaign);
	return store_run(st, s, "deliveries");
}

int
store_deliveries_window(struct store *st, int64_t secs, int64_t now)
{
	int64_t was;

	if (store_deliveries_secs(st, &was) == -1)
		return -1;
	if (secs == was)
		return 0;
	if (store_begin(st) == -1)
		return -1;
	if ((secs > was && store_exec_int(st, "INSERT INTO deliveries"
	    " SELECT customer_id, campaign_id, max(at), max(priority) FROM ("
	    "  SELECT customer_id, campaign_id, at, priority FROM ledger"
	    "   WHERE decision = 'deliver' AND customer_id <> 0 AND at > ?1"
	    "  UNION ALL SELECT customer_id, campaign_id, at, 0"
	    "   FROM engagement WHERE type = 'sent' AND at > ?1) AS d"
	    " WHERE true GROUP BY customer_id, campaign_id"
	    " ON CONFLICT (customer_id, campaign_id) DO UPDATE SET"
	    " at = greatest(deliveries.at, excluded.at),"
	    " priority = greatest(deliveries.priority, excluded.priority)",
	    now - secs,
	    "deliveries") == -1) ||
	    store_exec_int(st, "UPDATE deliveries_window SET secs = ?1", secs,
	    "deliveries window") == -1 || store_commit(st) == -1) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

int
store_cadence_set(struct store *st, int64_t customer_id, int64_t days,
    const char *source, int64_t at, enum store_change *changed)
{
	struct db_stmt *s;
	int rc;

	if (days > 0) {
		/* the same wish again changes nothing, not even the time */
		s = store_stmt(st, SQ_CADENCE_SET, "INSERT INTO email_cadence"
		    " (customer_id, min_gap_days, source, set_at)"
		    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (customer_id)"
		    " DO UPDATE SET min_gap_days = excluded.min_gap_days,"
		    " source = excluded.source, set_at = excluded.set_at"
		    " WHERE email_cadence.min_gap_days <>"
		    " excluded.min_gap_days");
	} else
		s = store_stmt(st, SQ_CADENCE_DEL, "DELETE FROM email_cadence"
		    " WHERE customer_id = ?1");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, customer_id);
	if (days > 0) {
		db_bind_int(s, 2, days);
		db_bind_text(s, 3, source);
		db_bind_int(s, 4, at);
	}
	rc = db_step(s);
	store_done(s);
	if (rc != DB_DONE)
		return store_fail(st, "cadence");
	*changed = db_changes(st->db) > 0 ? STORE_UPDATED :
	    STORE_UNCHANGED;
	return 0;
}

int
store_audit_last(struct store *st, int64_t *seq, char *hash, size_t len,
    int64_t *at)
{
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_AUDIT_LAST, "SELECT seq, hash, at FROM audit"
	    " ORDER BY seq DESC LIMIT 1");
	if (s == NULL)
		return -1;
	*seq = 0;
	*at = 0;
	hash[0] = '\0';
	if ((rc = db_step(s)) == DB_ROW) {
		*seq = db_col_int(s, 0);
		str_copy(hash, len, db_col_text(s, 1));
		*at = db_col_int(s, 2);
	}
	store_done(s);
	return rc == DB_ROW || rc == DB_DONE ? 0 :
	    store_fail(st, "audit");
}

int
store_audit_append(struct store *st, const struct store_audit *a, size_t n)
{
	struct db_stmt *s;
	size_t i, k, done;
	int at, lg;

	for (done = 0; done < n; done += k) {
		lg = store_rows_chunk(n - done, STORE_AUDIT_MANY_LOG2);
		k = (size_t)1 << lg;
		s = store_rows_stmt(st, SQ_AUDIT_APPEND, lg, "INSERT INTO audit"
		    " (at, channel, queue_id, message_id, campaign_id,"
		    " recipient, customer_id, decision, detail, segment,"
		    " variant, consent, config_hash, prev_hash, hash, seq,"
		    " form, seal) VALUES ", "(?, ?, ?, ?, ?, ?, nullif(?, 0),"
		    " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "");
		if (s == NULL)
			return -1;
		for (i = 0; i < k; i++) {
			const struct store_audit *r = &a[done + i];

			at = 18 * (int)i;
			db_bind_int(s, at + 1, r->at);
			db_bind_text(s, at + 2, r->channel);
			db_bind_text(s, at + 3, r->queue_id);
			db_bind_text(s, at + 4, r->message_id);
			db_bind_text(s, at + 5, r->campaign_id);
			db_bind_text(s, at + 6, r->recipient);
			db_bind_int(s, at + 7, r->customer_id);
			db_bind_text(s, at + 8, r->decision);
			db_bind_text(s, at + 9, r->detail);
			db_bind_text(s, at + 10, r->segment);
			db_bind_text(s, at + 11, r->variant);
			db_bind_text(s, at + 12, r->consent);
			db_bind_text(s, at + 13, r->config_hash);
			db_bind_text(s, at + 14, r->prev_hash);
			db_bind_text(s, at + 15, r->hash);
			db_bind_int(s, at + 16, r->seq);
			db_bind_int(s, at + 17, r->form);
			db_bind_text(s, at + 18, r->seal ? r->seal : "");
		}
		if (store_run(st, s, "audit") == -1)
			return -1;
	}
	return 0;
}

int64_t
store_audit_hour(int64_t at)
{
	return at / 3600 - (at % 3600 < 0);
}

int
store_audit_mark(struct store *st, int64_t hour, int64_t seq)
{
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_AUDIT_MARK, "INSERT INTO audit_hours"
	    " (hour, first_seq) VALUES (?1, ?2) ON CONFLICT DO NOTHING");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, hour);
	db_bind_int(s, 2, seq);
	rc = db_step(s);
	store_done(s);
	return rc == DB_DONE ? 0 : store_fail(st, "audit_hours");
}

int
store_audit_mark_get(struct store *st, int64_t hour, int64_t *seq)
{
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_AUDIT_MARK_GET, "SELECT first_seq FROM"
	    " audit_hours WHERE hour = ?1");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, hour);
	*seq = 0;
	if ((rc = db_step(s)) == DB_ROW)
		*seq = db_col_int(s, 0);
	store_done(s);
	return rc == DB_ROW || rc == DB_DONE ? 0 :
	    store_fail(st, "audit_hours");
}

int
store_audit_reindex(struct store *st)
{
	if (store_begin(st) == -1)
		return -1;
	if (store_exec(st, "DELETE FROM audit_hours;"
	    STORE_AUDIT_HOURS_FILL) == -1) {
		store_rollback(st);
		return -1;
	}
	return store_commit(st);
}

/* The sequence number the rows since SINCE start from (see store.h). */
static int
delivery_audit_from(struct store *st, int64_t since, int64_t *from)
{
	struct db_stmt *s;
	int rc;

	*from = INT64_MIN;
	if (since == INT64_MIN)
		return 0;
	s = store_stmt(st, SQ_AUDIT_FROM, "SELECT coalesce(min(first_seq),"
	    " 9223372036854775807) FROM audit_hours WHERE hour >= ?1");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, store_audit_hour(since));
	if ((rc = db_step(s)) == DB_ROW)
		*from = db_col_int(s, 0);
	store_done(s);
	return rc == DB_ROW ? 0 : store_fail(st, "audit_hours");
}

int
store_audit_scan(struct store *st, int64_t since, store_audit_fn fn,
    void *arg)
{
	struct store_audit a;
	struct store_audit_key key;
	struct db_stmt *s;
	int64_t from;
	int rc, stop = 0;

	if (delivery_audit_from(st, since, &from) == -1)
		return -1;
	s = store_stmt(st, SQ_AUDIT_SCAN, "SELECT seq, at, channel, queue_id,"
	    " message_id, campaign_id, recipient, coalesce(a.customer_id, 0),"
	    " decision, detail, segment, variant, consent, config_hash,"
	    " prev_hash, hash, form, seal, c.audit_key, c.redacted_at"
	    " FROM audit a LEFT JOIN customers c ON c.id = a.customer_id"
	    " WHERE seq >= ?2 AND at >= ?1 ORDER BY seq");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, since);
	db_bind_int(s, 2, from);
	while (!stop && (rc = db_step(s)) == DB_ROW) {
		a.seq = db_col_int(s, 0);
		a.at = db_col_int(s, 1);
		a.channel = db_col_text(s, 2);
		a.queue_id = db_col_text(s, 3);
		a.message_id = db_col_text(s, 4);
		a.campaign_id = db_col_text(s, 5);
		a.recipient = db_col_text(s, 6);
		a.customer_id = db_col_int(s, 7);
		a.decision = db_col_text(s, 8);
		a.detail = db_col_text(s, 9);
		a.segment = db_col_text(s, 10);
		a.variant = db_col_text(s, 11);
		a.consent = db_col_text(s, 12);
		a.config_hash = db_col_text(s, 13);
		a.prev_hash = db_col_text(s, 14);
		a.hash = db_col_text(s, 15);
		a.form = db_col_int(s, 16);
		a.seal = db_col_text(s, 17);
		store_audit_key_read(s, 18, &key);
		a.key = &key;
		stop = fn(&a, arg);
	}
	store_done(s);
	if (stop)
		return stop;
	return rc == DB_DONE ? 0 : store_fail(st, "audit");
}

int
store_campaign_report(struct store *st, const char *campaign,
    const char *channel, store_report_fn fn, void *arg)
{
	int sms = strcmp(channel, "sms") == 0;
	struct db_stmt *s;
	int rc, stop = 0;

	/* ?2 and ?3: what happened to a send, which outranks later rows */
	s = store_stmt(st, SQ_REPORT, "SELECT segment, decision, count(*)"
	    " FROM (SELECT decision,"
	    "  first_value(segment) OVER (PARTITION BY recipient,"
	    "   customer_id ORDER BY segment = '', seq DESC) AS segment,"
	    "  row_number() OVER (PARTITION BY recipient, customer_id"
	    "   ORDER BY decision = ?2 OR decision = 'broad'"
	    "   OR decision LIKE ?3 ESCAPE '\\' DESC, seq DESC)"
	    "   AS latest"
	    " FROM audit WHERE campaign_id = ?1 AND channel = ?4) AS a"
	    " WHERE latest = 1 GROUP BY segment, decision"
	    " ORDER BY segment, decision");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, campaign);
	db_bind_text(s, 2, sms ? "queued" : "deliver");
	db_bind_text(s, 3, sms ? "sms\\_%" : "copy\\_%");
	db_bind_text(s, 4, sms ? "sms" : "email");
	while (!stop && (rc = db_step(s)) == DB_ROW)
		stop = fn(db_col_text(s, 0), db_col_text(s, 1),
		    db_col_int(s, 2), arg);
	store_done(s);
	if (!stop && rc != DB_DONE)
		return store_fail(st, "audit");
	return stop;
}

int
store_campaign_bounces(struct store *st, const char *campaign,
    store_bounce_fn fn, void *arg)
{
	struct store_bounce_row row;
	struct db_stmt *s;
	int rc, stop = 0;

	/* a recipient's latest delivery says where they were counted */
	s = store_stmt(st, SQ_REPORT_BOUNCES, "WITH d AS (SELECT recipient,"
	    "  customer_id, segment, variant, row_number() OVER"
	    "   (PARTITION BY recipient, customer_id ORDER BY seq DESC)"
	    "   AS latest"
	    "  FROM audit WHERE campaign_id = ?1 AND channel = 'email'"
	    "  AND (decision = 'deliver' OR decision = 'broad')),"
	    " f AS (SELECT recipient, customer_id,"
	    "  max(CASE WHEN decision = 'hard_bounce' THEN 1 ELSE 0 END)"
	    "   AS hard,"
	    "  max(CASE WHEN decision = 'soft_bounce' THEN 1 ELSE 0 END)"
	    "   AS soft,"
	    "  max(CASE WHEN decision = 'complaint' THEN 1 ELSE 0 END)"
	    "   AS complaint"
	    "  FROM audit WHERE campaign_id = ?1 AND channel = 'email'"
	    "  AND decision IN ('hard_bounce', 'soft_bounce', 'complaint')"
	    "  GROUP BY recipient, customer_id)"
	    " SELECT d.segment, d.variant, count(*),"
	    "  coalesce(sum(f.hard), 0), coalesce(sum(f.soft), 0),"
	    "  coalesce(sum(f.complaint), 0)"
	    " FROM d LEFT JOIN f ON f.recipient = d.recipient"
	    "  AND f.customer_id IS NOT DISTINCT FROM d.customer_id"
	    " WHERE d.latest = 1 GROUP BY d.segment, d.variant"
	    " ORDER BY d.segment, d.variant");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, campaign);
	while (!stop && (rc = db_step(s)) == DB_ROW) {
		row.segment = db_col_text(s, 0);
		row.variant = db_col_text(s, 1);
		row.delivered = db_col_int(s, 2);
		row.hard = db_col_int(s, 3);
		row.soft = db_col_int(s, 4);
		row.complaints = db_col_int(s, 5);
		stop = fn(&row, arg);
	}
	store_done(s);
	if (!stop && rc != DB_DONE)
		return store_fail(st, "audit");
	return stop;
}
