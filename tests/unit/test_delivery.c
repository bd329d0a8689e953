/*
 * test_delivery.c - the milter's side of the store on a real SQLite
 * file: what a recipient lookup finds (consent, unsubscribes, bounces,
 * fatigue counts, this campaign already delivered), the ledger's rule
 * that a delivery stands, and the audit chain catching edits, deletions,
 * reordering and a cut-off tail.
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

#include "audit.h"
#include "parse.h"
#include "store_audit.h"
#include "store_lookup.h"
#include "store_outbox.h"
#include "store_record.h"
#include "schema_later.h"
#include "tstore.h"

#define DAY	86400
#define HOUR	3600
#define NOW	((int64_t)1795000000)
#define NOW_SQL	"1795000000"

struct dx {
	char		 dir[64];
	char		 db[256];	/* the store's name */
	char		 arcdir[128];	/* the audit archives */
	struct store	*st;
	int64_t		 ann;
	int		 nobody;	/* dx_audit: rows about nobody's
					   customer, as an old store's */
};

static void
dx_engage(struct dx *x, const char *campaign, enum store_engagement_type t,
    int64_t at)
{
	struct store_engagement e;
	enum store_change ch;

	memset(&e, 0, sizeof(e));
	e.customer_id = x->ann;
	e.campaign_id = campaign;
	e.type = t;
	e.at = at;
	assert_int_equal(store_engagement_add(x->st, &e, &ch), 0);
}

static void
dx_consent(struct dx *x, int granted, int64_t at)
{
	struct store_consent c;
	enum store_change ch;

	memset(&c, 0, sizeof(c));
	c.customer_id = x->ann;
	c.channel = CHANNEL_EMAIL;
	c.granted = granted;
	c.source = "signup_form";
	c.recorded_at = at;
	c.evidence = "form newsletter-footer v3";
	assert_int_equal(store_consent_record(x->st, &c, 0, &ch), 0);
}

static int
dx_setup(void **state)
{
	struct dx *x = calloc(1, sizeof(*x));
	struct store_customer c;
	enum store_change ch;
	char err[512];

	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-delivery-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	tstore_name(x->dir, x->db, sizeof(x->db));
	snprintf(x->arcdir, sizeof(x->arcdir), "%s/archive", x->dir);
	assert_int_equal(store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)), 0);
	memset(&c, 0, sizeof(c));
	c.email = "ann@example.com";
	c.first_name = "Ann";
	assert_int_equal(store_customer_upsert(x->st, &c, &x->ann, &ch), 0);
	*state = x;
	return 0;
}

static int
dx_teardown(void **state)
{
	struct dx *x = *state;
	char cmd[160];

	store_close(x->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

static void
dx_lookup(struct dx *x, const char *email, struct store_recipient *r)
{
	if (store_recipient_get(x->st, email, "c-now", NOW, 16 * HOUR, r) != 0)
		fail_msg("%s", store_error(x->st));
}

/*
 * Records DECISION for customer x->ann at EMAIL as the milter does, with
 * their last answer as looked up at AT; returns whether the ledger row
 * was written.
 */
static int
dx_deliver_to(struct dx *x, const char *email, const char *campaign,
    const char *decision, int64_t at)
{
	struct store_recipient r;
	struct store_ledger l;
	int written = -1;

	if (store_recipient_get(x->st, email, campaign, at, 0, &r) != 0)
		fail_msg("%s", store_error(x->st));
	memset(&l, 0, sizeof(l));
	l.campaign_id = campaign;
	l.recipient = email;
	l.message_key = "<m1@example.com>";
	l.customer_id = x->ann;
	l.queue_id = "4XyZ1";
	l.decision = decision;
	l.at = at;
	l.answered_at = r.last_answer_at;
	l.deliveries_kept = r.deliveries_kept;
	assert_int_equal(store_ledger_put(x->st, &l, &written), 0);
	return written;
}

static int
dx_deliver(struct dx *x, const char *campaign, const char *decision,
    int64_t at)
{
	return dx_deliver_to(x, "ann@example.com", campaign, decision, at);
}

static void
dx_sql(struct dx *x, const char *sql)
{
	tstore_exec(x->db, "%s", sql);
}

/* The one integer SQL answers. */
static int64_t
dx_int(struct dx *x, const char *sql)
{
	return tstore_int(x->db, "%s", sql);
}

/*
 * A batch finds for each address what a lookup of its own finds, across
 * the batch boundary, with unknown, empty, repeated and JSON-hostile
 * addresses, and each customer's own interests.
 */
static void
test_recipients_batch(void **state)
{
	struct dx *x = *state;
	static const char *const pool[] = {
		"ann@example.com", "nobody@example.com", "bob@example.com",
		"", "\"q\\uo\"@example.com"
	};
	const char *emails[70];
	struct store_recipient *many[70], one;
	struct store_customer c;
	enum store_change ch;
	int64_t bob, quote;
	char sql[1024];
	size_t i;

	memset(&c, 0, sizeof(c));
	c.email = "bob@example.com";
	c.first_name = "Bob";
	assert_int_equal(store_customer_upsert(x->st, &c, &bob, &ch), 0);
	c.email = pool[4];
	c.first_name = "Quo";
	assert_int_equal(store_customer_upsert(x->st, &c, &quote, &ch), 0);
	dx_consent(x, 1, NOW - 30 * DAY);
	dx_engage(x, "c-old", ENG_SENT, NOW - 5 * DAY);
	dx_engage(x, "c-old", ENG_OPEN, NOW - 4 * DAY);
	assert_int_equal(dx_deliver(x, "c-now", "deliver", NOW - HOUR), 1);
	snprintf(sql, sizeof(sql),
	    "INSERT INTO segment_state VALUES (1, 7, %lld, 3, 0, 0,"
	    " 'net_spend', 10, 'h');"
	    "INSERT INTO customer_segments VALUES"
	    " (7, %lld, 'repeat', 0, 2, 0, 0, 0, 0, 0, 0, 0, 60, 'default', 0,"
	    "  'none', '', 1, %lld, 4500, 'US', 'USD', 'en', ''),"
	    " (7, %lld, 'first_time', 0, 1, 0, 0, 0, 0, 0, 0, 0, 60,"
	    "  'default', 0, 'none', '', 0, 0, 0, 'FR', 'EUR', 'fr', '');"
	    "INSERT INTO customer_interests VALUES"
	    " (7, %lld, 'tea', 2, %lld), (7, %lld, 'coffee', 1, %lld),"
	    " (7, %lld, 'skincare', 4, %lld),"
	    " (6, %lld, 'stale', 1, %lld);",
	    (long long)NOW, (long long)x->ann, (long long)(NOW - DAY),
	    (long long)bob, (long long)x->ann, (long long)(NOW - 2 * DAY),
	    (long long)x->ann, (long long)(NOW - DAY), (long long)bob,
	    (long long)(NOW - 3 * DAY), (long long)bob, (long long)NOW);
	dx_sql(x, sql);

	for (i = 0; i < 70; i++) {
		emails[i] = pool[i % 5];
		many[i] = malloc(sizeof(**many));
		memset(many[i], 0xa5, sizeof(**many));	/* must be cleared */
	}
	if (store_recipients_get(x->st, emails, 70, "c-now", NOW, 16 * HOUR,
	    0, many) != 0)
		fail_msg("%s", store_error(x->st));
	for (i = 0; i < 70; i++) {
		dx_lookup(x, emails[i], &one);
		if (memcmp(&one, many[i], sizeof(one)) != 0)
			fail_msg("recipient %zu (%s) differs", i, emails[i]);
	}
	/* what both found is right, too */
	assert_int_equal(many[65]->customer_id, x->ann);
	assert_true(many[65]->consent_granted);
	assert_int_equal(many[65]->campaign_at, NOW - HOUR);
	assert_int_equal(many[65]->last_answer_at, NOW - 4 * DAY);
	assert_int_equal(many[65]->seg.ninterests, 2);
	assert_string_equal(many[65]->seg.interests[0].category, "coffee");
	assert_string_equal(many[65]->seg.interests[1].category, "tea");
	assert_int_equal(many[66]->customer_id, 0);
	assert_int_equal(many[67]->customer_id, bob);
	assert_string_equal(many[67]->seg.currency, "EUR");
	assert_int_equal(many[67]->seg.ninterests, 1);
	assert_int_equal(many[67]->campaign_at, 0);
	assert_int_equal(many[68]->customer_id, 0);
	assert_int_equal(many[69]->customer_id, quote);
	assert_string_equal(many[69]->first_name, "Quo");
	for (i = 0; i < 70; i++)
		free(many[i]);
}

/*
 * Soft bounces since consent come back newest first, the newest eight,
 * whatever order the engagement index keeps them in (campaign first).
 */
static void
test_recipient_soft_bounces(void **state)
{
	struct dx *x = *state;
	static const int64_t hours[] = { 5, 1, 9, 3, 7, 2, 8, 4, 6, 10 };
	static const char *const campaigns[] = { "c-b", "c-a", "c-c" };
	struct store_recipient r;
	size_t i;

	dx_consent(x, 1, NOW - 30 * DAY);
	dx_engage(x, "c-old", ENG_SOFT_BOUNCE, NOW - 40 * DAY); /* before */
	for (i = 0; i < sizeof(hours) / sizeof(hours[0]); i++)
		dx_engage(x, campaigns[i % 3], ENG_SOFT_BOUNCE,
		    NOW - hours[i] * HOUR);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.nsoft_bounces, STORE_SOFT_BOUNCES_MAX);
	for (i = 0; i < r.nsoft_bounces; i++)
		assert_int_equal(r.soft_bounce_at[i],
		    NOW - (int64_t)(i + 1) * HOUR);
}

static void
test_recipient_consent(void **state)
{
	struct dx *x = *state;
	struct store_recipient r;

	dx_lookup(x, "nobody@example.com", &r);
	assert_int_equal(r.customer_id, 0);

	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.customer_id, x->ann);
	assert_string_equal(r.first_name, "Ann");
	assert_int_equal(r.has_consent, 0);	/* no record: no consent */
	assert_int_equal(r.has_segment, 0);

	dx_consent(x, 1, NOW - 30 * DAY);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.has_consent, 1);
	assert_int_equal(r.consent_granted, 1);
	assert_int_equal(r.consent_at, NOW - 30 * DAY);
	assert_string_equal(r.consent_evidence, "granted signup_form: form"
	    " newsletter-footer v3");

	/* a bounce before the consent does not count, one after does */
	dx_engage(x, "old", ENG_BOUNCE, NOW - 40 * DAY);
	dx_engage(x, "c1", ENG_UNSUBSCRIBE, NOW - 2 * DAY);
	dx_engage(x, "c2", ENG_BOUNCE, NOW - DAY);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.bounces_since_consent, 1);
	assert_int_equal(r.unsubscribed_at, NOW - 2 * DAY);
}

/*
 * Names longer than the recipient's fields (a store imported before
 * import cut them) come back cut where a character starts: half a
 * character made the Subject, the text parts and the SMS invalid UTF-8,
 * and the SMS was dropped as no_text.
 */
static void
test_recipient_long_names(void **state)
{
	struct dx *x = *state;
	struct store_recipient r;
	struct store_customer c;
	enum store_change ch;
	char first[256], last[256], company[256];
	int64_t id;
	size_t i;

	/* 200 bytes of e-acute, 129 of euro signs, "a" and 32 emoji */
	for (i = 0; i < 100; i++)
		memcpy(first + 2 * i, "\xc3\xa9", 2);
	first[200] = '\0';
	for (i = 0; i < 43; i++)
		memcpy(last + 3 * i, "\xe2\x82\xac", 3);
	last[129] = '\0';
	company[0] = 'a';
	for (i = 0; i < 32; i++)
		memcpy(company + 1 + 4 * i, "\xf0\x9f\x98\x80", 4);
	company[129] = '\0';
	memset(&c, 0, sizeof(c));
	c.email = "eve@example.com";
	c.first_name = first;
	c.last_name = last;
	c.company = company;
	assert_int_equal(store_customer_upsert(x->st, &c, &id, &ch), 0);

	dx_lookup(x, "eve@example.com", &r);
	assert_int_equal(r.customer_id, id);
	assert_int_equal(strlen(r.first_name), 126);
	assert_int_equal(strlen(r.last_name), 126);
	assert_int_equal(strlen(r.company), 125);
	assert_true(parse_utf8_valid(r.first_name, strlen(r.first_name)));
	assert_true(parse_utf8_valid(r.last_name, strlen(r.last_name)));
	assert_true(parse_utf8_valid(r.company, strlen(r.company)));
	assert_memory_equal(r.first_name, first, 126);
}

static void
test_recipient_fatigue_counts(void **state)
{
	struct dx *x = *state;
	struct store_recipient r;

	dx_consent(x, 1, NOW - 300 * DAY);
	dx_engage(x, "a", ENG_SENT, NOW - 50 * DAY);
	dx_engage(x, "a", ENG_OPEN, NOW - 49 * DAY);
	dx_engage(x, "b", ENG_SENT, NOW - 20 * DAY);
	dx_engage(x, "c", ENG_SENT, NOW - 10 * DAY);
	/* "c" imported as sent and also in the ledger: counted once */
	dx_deliver(x, "c", "deliver", NOW - 10 * DAY + 60);
	dx_deliver(x, "d", "deliver", NOW - 2 * HOUR);
	dx_deliver(x, "e", "fatigued", NOW - HOUR);	/* not a delivery */
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.last_answer_at, NOW - 49 * DAY);
	assert_int_equal(r.unanswered, 3);		/* b, c, d */
	assert_int_equal(r.in_window, 1);		/* d */
	assert_int_equal(r.last_delivery_at, NOW - 2 * HOUR);
	assert_int_equal(r.campaign_at, 0);
	/* a click answers them */
	dx_engage(x, "d", ENG_CLICK, NOW - HOUR);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.unanswered, 0);
}

/* "fewer emails": the lookup carries the wish; the same wish again
 * writes nothing, 0 removes it */
static void
test_recipient_cadence(void **state)
{
	struct dx *x = *state;
	struct store_recipient r;
	enum store_change ch;

	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.min_gap_days, 0);
	assert_int_equal(store_cadence_set(x->st, x->ann, 30, "page", NOW,
	    &ch), 0);
	assert_int_equal(ch, STORE_UPDATED);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.min_gap_days, 30);
	assert_int_equal(store_cadence_set(x->st, x->ann, 30, "page",
	    NOW + 5, &ch), 0);
	assert_int_equal(ch, STORE_UNCHANGED);
	assert_int_equal(store_cadence_set(x->st, x->ann, 7, "page", NOW + 9,
	    &ch), 0);
	assert_int_equal(ch, STORE_UPDATED);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.min_gap_days, 7);
	assert_int_equal(store_cadence_set(x->st, x->ann, 0, "page", NOW,
	    &ch), 0);
	assert_int_equal(ch, STORE_UPDATED);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.min_gap_days, 0);
}

static void
test_ledger_delivery_stands(void **state)
{
	struct dx *x = *state;
	struct store_recipient r;

	assert_int_equal(dx_deliver(x, "c-now", "fatigued", NOW - 3 * HOUR),
	    1);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.campaign_at, 0);
	/* a later decision replaces a suppression ... */
	assert_int_equal(dx_deliver(x, "c-now", "deliver", NOW - 2 * HOUR),
	    1);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.campaign_at, NOW - 2 * HOUR);
	assert_string_equal(r.campaign_message, "<m1@example.com>");
	/* ... but never a delivery, and the caller learns it */
	assert_int_equal(dx_deliver(x, "c-now", "audience", NOW - HOUR), 0);
	assert_int_equal(dx_deliver(x, "c-now", "deliver", NOW - HOUR), 0);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.campaign_at, NOW - 2 * HOUR);
}

/* Batches and short batches count new rows the same way. */
static void
test_engagement_many(void **state)
{
	struct dx *x = *state;
	struct store_engagement e[STORE_ENGAGEMENT_MANY];
	struct store_recipient r;
	char ids[STORE_ENGAGEMENT_MANY][16];
	int64_t inserted;
	size_t i;

	for (i = 0; i < STORE_ENGAGEMENT_MANY; i++) {
		snprintf(ids[i], sizeof(ids[i]), "c%zu", i);
		e[i].customer_id = x->ann;
		e[i].campaign_id = ids[i];
		e[i].type = ENG_SENT;
		e[i].at = NOW - DAY * (int64_t)(i + 1);
	}
	dx_engage(x, "c3", ENG_SENT, NOW - 4 * DAY);	/* already there */
	assert_int_equal(store_engagement_add_many(x->st, e,
	    STORE_ENGAGEMENT_MANY, &inserted), 0);
	assert_int_equal(inserted, STORE_ENGAGEMENT_MANY - 1);
	assert_int_equal(store_engagement_add_many(x->st, e, 5, &inserted), 0);
	assert_int_equal(inserted, 0);
	e[0].type = ENG_OPEN;
	assert_int_equal(store_engagement_add_many(x->st, e, 5, &inserted), 0);
	assert_int_equal(inserted, 1);
	dx_consent(x, 1, NOW - 300 * DAY);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.last_answer_at, NOW - DAY);	/* the open */
}

/*
 * The lookups as they were before engagement_by_type bounded them (schema
 * 14): every engagement and delivery row of the customer read and
 * grouped.  The property test below holds today's answers to these.
 * Formats: %1$lld the customer, %2$lld the consent's time; a row's
 * values joined by spaces, as tstore reads one column.
 */
static const char old_engagement[] = "SELECT"
    " coalesce(max(at) FILTER (WHERE type = 'unsubscribe'), 0) || ' ' ||"
    " count(*) FILTER (WHERE type = 'bounce' AND at >= %2$lld) || ' ' ||"
    " greatest(coalesce(max(at) FILTER (WHERE type IN ('open', 'click')),"
    "  0), (SELECT coalesce(max(created_at), 0) FROM orders"
    "  WHERE customer_id = %1$lld)) || ' ' ||"
    " coalesce(max(at) FILTER (WHERE type = 'complaint'), 0)"
    " FROM engagement WHERE customer_id = %1$lld";
/* %3$lld: the soft bounce wanted, from the newest (0) */
static const char old_soft[] = "SELECT at FROM engagement"
    " WHERE customer_id = %1$lld AND type = 'soft_bounce' AND at >= %2$lld"
    " ORDER BY at DESC LIMIT 1 OFFSET %3$lld";
/* %2$lld the last answer, %3$lld the window's start, %4$s the campaign */
static const char old_counts[] = "SELECT"
    " count(*) FILTER (WHERE at > %2$lld) || ' ' ||"
    " count(*) FILTER (WHERE at > %3$lld) || ' ' ||"
    " coalesce(max(at), 0) FROM ("
    "  SELECT campaign_id, max(at) AS at FROM ("
    "   SELECT campaign_id, at FROM ledger"
    "    WHERE customer_id = %1$lld AND decision = 'deliver'"
    "   UNION ALL SELECT campaign_id, at FROM engagement"
    "    WHERE customer_id = %1$lld AND type = 'sent') AS d"
    "  WHERE campaign_id <> '%4$s' GROUP BY campaign_id) AS c";

/* The old answers for the customer ID, consented at CONSENT_AT, for
 * CAMPAIGN with the window starting at START, into R's fields. */
static void
old_lookup(struct dx *x, int64_t id, int64_t consent_at,
    const char *campaign, int64_t start, struct store_recipient *r)
{
	char row[256];
	long long v[4];
	int64_t at;
	size_t n;

	memset(r, 0, sizeof(*r));
	tstore_text(x->db, row, sizeof(row), old_engagement, (long long)id,
	    (long long)consent_at);
	assert_int_equal(sscanf(row, "%lld %lld %lld %lld", &v[0], &v[1],
	    &v[2], &v[3]), 4);
	r->unsubscribed_at = v[0];
	r->bounces_since_consent = v[1];
	r->last_answer_at = v[2];
	r->complained_at = v[3];
	for (n = 0; n < STORE_SOFT_BOUNCES_MAX; n++) {
		at = tstore_int(x->db, old_soft, (long long)id,
		    (long long)consent_at, (long long)n);
		if (at == -1)		/* no row: no more */
			break;
		r->soft_bounce_at[n] = at;
	}
	r->nsoft_bounces = n;
	tstore_text(x->db, row, sizeof(row), old_counts, (long long)id,
	    (long long)r->last_answer_at, (long long)start, campaign);
	assert_int_equal(sscanf(row, "%lld %lld %lld", &v[0], &v[1], &v[2]),
	    3);
	r->unanswered = v[0];
	r->in_window = v[1];
	r->last_delivery_at = v[2];
}

/*
 * Property: over random histories (deliveries written as the milter
 * writes them, imported sends, answers, unsubscribes, bounces hard and
 * soft, complaints, orders, some dated again later, older answers
 * removed as retention removes them, the campaign itself among them,
 * times
 * clustered so that ties and the bounds themselves occur), the bounded
 * lookups answer exactly what the unbounded ones did, for several
 * campaigns and windows each up to the store's (store_deliveries_window:
 * 30 days, widened to 60 for the second hundred customers, narrowed to
 * 20 for the last fifty), though the summary they read was trimmed.
 */
static void
test_recipient_lookups_bounded(void **state)
{
	static const enum store_engagement_type types[] = {
		ENG_SENT, ENG_OPEN, ENG_CLICK, ENG_UNSUBSCRIBE, ENG_BOUNCE,
		ENG_SOFT_BOUNCE, ENG_COMPLAINT
	};
	/* more than STORE_DELIVERIES_KEPT, so that deliveries trim */
	static const char *const campaigns[] = { "c-now", "a", "b", "c", "d",
	    "e", "f", "g", "h", "i", "j", "k" };
	struct dx *x = *state;
	struct store_recipient got, want;
	struct store_customer c;
	enum store_change ch;
	struct store_engagement e;
	char email[64], sql[256];
	int64_t id, consent_at, at, window, days = 0;
	unsigned seed = 23;
	int h, k, n, q;

	for (h = 0; h < 200; h++) {
		if (h == 0 || h == 100 || h == 150) {
			days = h == 0 ? 30 : h == 100 ? 60 : 20;
			assert_int_equal(store_deliveries_window(x->st,
			    days * DAY, NOW), 0);
		}
		snprintf(email, sizeof(email), "h%d@example.com", h);
		memset(&c, 0, sizeof(c));
		c.email = email;
		assert_int_equal(store_customer_upsert(x->st, &c, &id, &ch), 0);
		consent_at = NOW - (int64_t)(rand_r(&seed) % 60) * DAY;
		x->ann = id;
		dx_consent(x, 1, consent_at);
		n = rand_r(&seed) % 40;
		for (k = 0; k < n; k++) {
			/* whole days, hours or the bounds: ties happen */
			at = NOW - (int64_t)(rand_r(&seed) % 90) * DAY -
			    (rand_r(&seed) % 3 == 0 ? 16 * HOUR : 0);
			if (rand_r(&seed) % 2 == 0) {
				q = rand_r(&seed) % 12;
				dx_deliver_to(x, email, campaigns[q],
				    rand_r(&seed) % 4 ? "deliver" : "fatigued",
				    at);
				continue;
			}
			memset(&e, 0, sizeof(e));
			e.customer_id = id;
			e.campaign_id = campaigns[rand_r(&seed) % 12];
			e.type = types[rand_r(&seed) % 7];
			e.at = at;
			assert_int_equal(store_engagement_add(x->st, &e, &ch),
			    0);
		}
		if (rand_r(&seed) % 4 == 0) {
			snprintf(sql, sizeof(sql), "INSERT INTO orders (ref,"
			    " customer_id, created_at, financial_status,"
			    " total) VALUES ('o%d', %lld, %lld, 'paid', 100)",
			    h, (long long)id, (long long)(NOW -
			    (int64_t)(rand_r(&seed) % 90) * DAY));
			dx_sql(x, sql);
		}
		/* what the summaries must follow: an order dated again
		 * later (a re-import), answers but the newest of each
		 * kind removed (retention) */
		switch (rand_r(&seed) % 4) {
		case 0:
			snprintf(sql, sizeof(sql), "UPDATE orders SET"
			    " created_at = created_at + %d * 86400"
			    " WHERE customer_id = %lld", rand_r(&seed) % 60,
			    (long long)id);
			dx_sql(x, sql);
			break;
		case 1:
			snprintf(sql, sizeof(sql), "DELETE FROM engagement"
			    " WHERE customer_id = %lld AND type <> 'sent'"
			    " AND at < (SELECT max(at) FROM engagement n"
			    "  WHERE n.customer_id = engagement.customer_id"
			    "  AND n.type = engagement.type)", (long long)id);
			dx_sql(x, sql);
			break;
		}
		for (q = 0; q < 5; q++) {
			window = (int64_t)(rand_r(&seed) % (days + 1)) * DAY;
			if (store_recipient_get(x->st, email, campaigns[q], NOW,
			    window, &got) != 0)
				fail_msg("%s", store_error(x->st));
			old_lookup(x, id, got.consent_at, campaigns[q],
			    NOW - window, &want);
			assert_int_equal(got.unsubscribed_at,
			    want.unsubscribed_at);
			assert_int_equal(got.bounces_since_consent,
			    want.bounces_since_consent);
			assert_int_equal(got.last_answer_at, want.last_answer_at);
			assert_int_equal(got.complained_at, want.complained_at);
			assert_int_equal(got.nsoft_bounces, want.nsoft_bounces);
			assert_memory_equal(got.soft_bounce_at,
			    want.soft_bounce_at, sizeof(got.soft_bounce_at[0]) *
			    got.nsoft_bounces);
			assert_int_equal(got.unanswered, want.unanswered);
			assert_int_equal(got.in_window, want.in_window);
			assert_int_equal(got.last_delivery_at,
			    want.last_delivery_at);
		}
	}
	/* the summary was trimmed: the property held of something */
	assert_true(dx_int(x, "SELECT count(*) FROM deliveries") <
	    dx_int(x, "SELECT count(*) FROM (SELECT customer_id, campaign_id"
	    " FROM ledger WHERE decision = 'deliver' UNION SELECT"
	    " customer_id, campaign_id FROM engagement WHERE type = 'sent')"
	    " AS d"));
}

/*
 * Classes' priorities: a lookup for a class of priority 10 counts the
 * deliveries of priority 10 or more, since the last answer and in the
 * window; one for the promotional (0) counts them all; the last
 * delivery, what a customer's own cadence counts from, is every
 * campaign's.  A sent row imported is promotional.
 */
static void
test_delivery_priority(void **state)
{
	struct dx *x = *state;
	struct store_recipient r, *rp = &r;
	const char *email = "ann@example.com";
	struct store_ledger l;
	int written, i;

	for (i = 0; i < 3; i++) {
		memset(&l, 0, sizeof(l));
		l.campaign_id = i == 0 ? "news" : i == 1 ? "cart" : "promo";
		l.recipient = email;
		l.message_key = l.campaign_id;
		l.customer_id = x->ann;
		l.queue_id = "Q";
		l.decision = "deliver";
		l.at = NOW - (3 - i) * HOUR;
		l.priority = i == 1 ? 10 : 0;
		assert_int_equal(store_ledger_put(x->st, &l, &written), 0);
	}
	dx_engage(x, "esp", ENG_SENT, NOW - 30 * 60);
	assert_int_equal(store_recipients_get(x->st, &email, 1, "next", NOW,
	    16 * HOUR, 10, &rp), 0);
	assert_int_equal(r.in_window, 1);		/* cart */
	assert_int_equal(r.unanswered, 1);
	assert_int_equal(r.last_delivery_at, NOW - 30 * 60);
	assert_int_equal(store_recipients_get(x->st, &email, 1, "next", NOW,
	    16 * HOUR, 0, &rp), 0);
	assert_int_equal(r.in_window, 4);
	assert_int_equal(r.unanswered, 4);
	/* the same campaign delivered here too: the class it has here */
	dx_engage(x, "cart", ENG_SENT, NOW - 60);
	assert_int_equal(store_recipients_get(x->st, &email, 1, "next", NOW,
	    16 * HOUR, 10, &rp), 0);
	assert_int_equal(r.in_window, 1);
}

/*
 * A trim keeps the two newest however old: the cadence of a campaign's
 * retry counts from the one before it.
 */
static void
test_deliveries_two_newest(void **state)
{
	struct dx *x = *state;
	struct store_recipient r;
	char name[16];
	int k;

	assert_int_equal(store_deliveries_window(x->st, 7 * DAY, NOW), 0);
	for (k = 0; k < STORE_DELIVERIES_KEPT; k++) {
		snprintf(name, sizeof(name), "p%d", k);
		dx_deliver(x, name, "deliver", NOW - (40 + k) * DAY);
	}
	dx_engage(x, "p0", ENG_CLICK, NOW - DAY);
	dx_deliver(x, "z", "deliver", NOW);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM deliveries"), 2);
	assert_int_equal(store_recipient_get(x->st, "ann@example.com", "z",
	    NOW + HOUR, 7 * DAY, &r), 0);
	assert_int_equal(r.last_delivery_at, NOW - 40 * DAY);
}

/*
 * A customer's newest answers follow their rows both ways (schema 20's
 * triggers): an order dated again earlier, moved to another customer
 * or removed, the newest open removed.
 */
static void
test_engagement_last(void **state)
{
	struct dx *x = *state;
	struct store_recipient r;
	char sql[512];

	dx_engage(x, "a", ENG_OPEN, NOW - 3 * DAY);
	dx_engage(x, "b", ENG_OPEN, NOW - 2 * DAY);
	snprintf(sql, sizeof(sql), "INSERT INTO customers (email) VALUES"
	    " ('bob@example.com'); INSERT INTO orders (ref, customer_id,"
	    " created_at, financial_status, total) VALUES"
	    " ('#1', 1, %lld, 'paid', 100), ('#2', 1, %lld, 'paid', 100)",
	    (long long)(NOW - DAY), (long long)(NOW - DAY - DAY / 2));
	dx_sql(x, sql);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.last_answer_at, NOW - DAY);
	snprintf(sql, sizeof(sql), "UPDATE orders SET created_at = %lld"
	    " WHERE ref = '#1'", (long long)(NOW - 4 * DAY));
	dx_sql(x, sql);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.last_answer_at, NOW - DAY - DAY / 2);	/* #2 */
	dx_sql(x, "UPDATE orders SET customer_id = 2 WHERE ref = '#2'");
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.last_answer_at, NOW - 2 * DAY);	/* b's open */
	dx_lookup(x, "bob@example.com", &r);
	assert_int_equal(r.last_answer_at, NOW - DAY - DAY / 2);
	dx_sql(x, "DELETE FROM orders WHERE ref = '#2';"
	    " DELETE FROM engagement WHERE campaign_id = 'b'");
	dx_lookup(x, "bob@example.com", &r);
	assert_int_equal(r.last_answer_at, 0);
	dx_lookup(x, "ann@example.com", &r);
	assert_int_equal(r.last_answer_at, NOW - 3 * DAY);
}

/*
 * The summary's window: a delivery trims what is before both the last
 * answer and the window; widening it brings back from the ledger what
 * the wider window counts; narrowing it trims more from then on; what
 * another process set is what the next call compares with.
 */
static void
test_deliveries_window(void **state)
{
	struct dx *x = *state;
	struct store_recipient r;
	struct store *other;
	char name[16], err[512];
	int k;

	assert_int_equal(store_deliveries_window(x->st, 7 * DAY, NOW), 0);
	for (k = 0; k < 7; k++) {	/* enough for a delivery to trim */
		snprintf(name, sizeof(name), "p%d", k);
		dx_deliver(x, name, "deliver", NOW - (40 + k) * DAY);
	}
	dx_deliver(x, "a", "deliver", NOW - 20 * DAY);
	dx_deliver(x, "b", "deliver", NOW - 10 * DAY);
	dx_deliver(x, "c", "deliver", NOW - 5 * DAY);
	dx_engage(x, "c", ENG_CLICK, NOW - DAY);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM deliveries"), 10);
	dx_deliver(x, "d", "deliver", NOW);
	/* the rest: before the click and the window; c and d the newest */
	assert_int_equal(dx_int(x, "SELECT group_concat(campaign_id)"
	    " = 'c,d' FROM (SELECT * FROM deliveries ORDER BY at) AS d"), 1);
	assert_int_equal(store_recipient_get(x->st, "ann@example.com", "e",
	    NOW, 7 * DAY, &r), 0);
	assert_int_equal(r.in_window, 2);
	assert_int_equal(r.unanswered, 1);
	assert_int_equal(r.last_delivery_at, NOW);

	assert_int_equal(store_deliveries_window(x->st, 14 * DAY, NOW), 0);
	assert_int_equal(store_recipient_get(x->st, "ann@example.com", "e",
	    NOW, 14 * DAY, &r), 0);
	assert_int_equal(r.in_window, 3);	/* b is back */
	assert_int_equal(dx_int(x, "SELECT count(*) FROM deliveries"), 3);

	/* narrower: the next trim goes by it */
	assert_int_equal(store_deliveries_window(x->st, 3 * DAY, NOW), 0);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM deliveries"), 3);
	for (k = 1; k <= 6; k++) {
		snprintf(name, sizeof(name), "e%d", k);
		dx_deliver(x, name, "deliver", NOW + k * HOUR);
	}
	assert_int_equal(dx_int(x, "SELECT count(*) FROM deliveries"
	    " WHERE at < " NOW_SQL), 0);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM deliveries"), 7);
	assert_int_equal(store_recipient_get(x->st, "ann@example.com", "f",
	    NOW + 6 * HOUR, 3 * DAY, &r), 0);
	assert_int_equal(r.in_window, 7);
	assert_int_equal(r.last_delivery_at, NOW + 6 * HOUR);

	/* another process (segctl prune, of a narrower configuration)
	 * narrows the window and trims; this handle's next call, at 3 days
	 * still, widens it again from the ledger */
	assert_int_equal(store_open(x->db, 0, 5000, &other, err,
	    sizeof(err)), 0);
	assert_int_equal(store_deliveries_window(other, DAY, NOW + 6 * HOUR),
	    0);
	store_close(other);
	dx_sql(x, "DELETE FROM deliveries");
	assert_int_equal(store_deliveries_window(x->st, 3 * DAY,
	    NOW + 6 * HOUR), 0);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM deliveries"), 7);
}

/* N audit rows in one transaction, at AT[i] (NULL: NOW + i). */
static void
dx_audit_at(struct dx *x, int n, const int64_t *at)
{
	struct audit_chain ch;
	struct store_audit a;
	char rcpt[64];
	int i;

	assert_int_equal(store_begin(x->st), 0);
	assert_int_equal(audit_begin(x->st, &ch), 0);
	for (i = 0; i < n; i++) {
		memset(&a, 0, sizeof(a));
		snprintf(rcpt, sizeof(rcpt), "r%d@example.com", i);
		a.at = at != NULL ? at[i] : NOW + i;
		a.channel = "email";
		a.queue_id = "4XyZ1";
		a.message_id = "<m1@example.com>";
		a.campaign_id = "bf-2026";
		a.recipient = rcpt;
		a.customer_id = i % 2 && !x->nobody ? x->ann : 0;
		a.decision = i % 3 ? "deliver" : "no_consent";
		a.detail = "";
		a.segment = "vip";
		a.variant = "vip";
		a.consent = "granted \"quoted\"\nline";
		a.config_hash = "abc";
		assert_int_equal(audit_append(x->st, &ch, &a), 0);
	}
	assert_int_equal(store_commit(x->st), 0);
	audit_end(&ch);
}

static void
dx_audit(struct dx *x, int n)
{
	dx_audit_at(x, n, NULL);
}

/* Verifies against the anchors in LOG ("audit=SEQ:HASH"), if any. */
static int
dx_verify(struct dx *x, const char *log, struct audit_report *rep)
{
	struct audit_anchor *a = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (log != NULL)
		audit_anchors_scan(log, strlen(log), &a, &n, &cap);
	rc = audit_verify(x->st, x->arcdir, a, n, rep);
	free(a);
	return rc;
}

/* The head as segmilter logs it, into LOG. */
static void
dx_head(struct dx *x, char *log, size_t len)
{
	struct audit_report rep;

	assert_int_equal(dx_verify(x, NULL, &rep), 0);
	snprintf(log, len, "segmilter[1]: 4XyZ1: audit=%lld:%s\n",
	    (long long)rep.head.seq, rep.head.hash);
}

static void
test_audit_chain(void **state)
{
	struct dx *x = *state;
	struct audit_report rep;
	char head[128];

	assert_int_equal(dx_verify(x, NULL, &rep), 0);
	assert_int_equal(rep.rows, 0);
	dx_audit(x, 5);
	dx_audit(x, 5);		/* a second transaction continues the chain */
	assert_int_equal(dx_verify(x, NULL, &rep), 0);
	assert_int_equal(rep.rows, 10);
	assert_int_equal(rep.head.seq, 10);
	dx_head(x, head, sizeof(head));
	assert_int_equal(dx_verify(x, head, &rep), 0);
	assert_int_equal(rep.anchors_found, 1);
	assert_int_equal(rep.anchor_last, 10);
	/* segfeed logs its heads under its own name, a request's id */
	assert_int_equal(dx_verify(x, NULL, &rep), 0);
	snprintf(head, sizeof(head), "segfeed[42]: F6932N1A: audit=%lld:%s\n",
	    (long long)rep.head.seq, rep.head.hash);
	assert_int_equal(dx_verify(x, head, &rep), 0);
	assert_int_equal(rep.anchors_found, 1);
	assert_int_equal(rep.anchor_last, 10);
	head[strlen("segfeed")] = '(';	/* not segfeed's line: no anchor */
	assert_int_equal(dx_verify(x, head, &rep), 0);
	assert_int_equal(rep.anchors_found, 0);
	dx_head(x, head, sizeof(head));

	/* cutting the tail leaves a valid chain, but not the logged head */
	dx_sql(x, "DELETE FROM audit WHERE seq = 10");
	assert_int_equal(dx_verify(x, NULL, &rep), 0);
	assert_int_equal(dx_verify(x, head, &rep), 1);
	assert_non_null(strstr(rep.why, "the chain ends at row 9: rows were"
	    " cut off"));
}

/*
 * The whole chain written anew, every hash recomputed (what a script
 * with the store's rights did in 30 lines): intact by itself, but not
 * the chain whose heads the log recorded.
 */
static void
test_audit_rewritten(void **state)
{
	struct dx *x = *state;
	const int64_t later[] = { NOW, NOW + 1, NOW + 60, NOW + 61, NOW + 62,
	    NOW + 63 };
	struct audit_report rep;
	char log[2048], head[256];

	dx_audit(x, 3);
	dx_head(x, head, sizeof(head));
	snprintf(log, sizeof(log), "Dec  6 08:00:00 relay %s", head);
	dx_audit(x, 3);
	dx_head(x, head, sizeof(head));
	/*
	 * Noise around: other lines, a cut anchor, one in capitals, one
	 * whose row number is past what a row number can be (fuzz_anchors
	 * found strtoll's saturated value taken for it), and false heads
	 * planted where outside text reaches the log (an address in
	 * Postfix's line, a campaign header's value in segmilter's): only
	 * segmilter's own lines that end in a head count.
	 */
	strncat(log, "segmilter[1]: x: campaign=spring: delivered\n"
	    "postfix/smtpd[2]: NOQUEUE: reject: from=<audit=2:00000000000000"
	    "000000000000000000000000000000000000000000000000000000@evil.ex"
	    "ample>\n"
	    "segmilter[1]: 4XyZ3: campaign=audit=2:0000000000000000000000000"
	    "000000000000000000000000000000000000000: no such campaign\n"
	    "evil[3]: segmilter[1]: 4XyZ3 x: audit=2:000000000000000000000000"
	    "0000000000000000000000000000000000000000\n"
	    "segmilter[1]: 4XyZ4: audit=9999999999999999999:00000000000000"
	    "00000000000000000000000000000000000000000000000000\n"
	    "audit=12:abc\nAUDIT=1:", sizeof(log) - strlen(log) - 1);
	strncat(log, head, sizeof(log) - strlen(log) - 1);
	assert_int_equal(dx_verify(x, log, &rep), 0);
	assert_int_equal(rep.anchors_found, 2);
	assert_int_equal(rep.anchor_last, 6);

	/* history rewritten from row 3 on: another time, hashes anew */
	dx_sql(x, "DELETE FROM audit; DELETE FROM audit_hours");
	dx_audit_at(x, 6, later);
	assert_int_equal(dx_verify(x, NULL, &rep), 0);	/* by itself */
	assert_int_equal(dx_verify(x, log, &rep), 1);
	assert_int_equal(rep.bad_seq, 3);
	assert_non_null(strstr(rep.why, "row 3 is not the row the log"
	    " recorded (audit=3:"));
	assert_non_null(strstr(rep.why, "the chain was rewritten"));
}

static void
test_audit_tampering(void **state)
{
	struct dx *x = *state;
	struct audit_report rep;

	dx_audit(x, 6);
	/* row 4 suppressed someone: pretend it delivered */
	dx_sql(x, "UPDATE audit SET decision = 'deliver' WHERE seq = 4");
	assert_int_equal(dx_verify(x, NULL, &rep), 1);
	assert_int_equal(rep.bad_seq, 4);
	assert_string_equal(rep.why, "row 4 does not match its hash: it was"
	    " edited");
	dx_sql(x, "UPDATE audit SET decision = 'no_consent' WHERE seq = 4");
	assert_int_equal(dx_verify(x, NULL, &rep), 0);

	dx_sql(x, "DELETE FROM audit WHERE seq = 2");
	assert_int_equal(dx_verify(x, NULL, &rep), 1);
	assert_int_equal(rep.bad_seq, 3);
	assert_non_null(strstr(rep.why, "deleted, inserted or reordered"));
}

static void
test_audit_reordered(void **state)
{
	struct dx *x = *state;
	struct audit_report rep;

	dx_audit(x, 4);
	/* swap rows 2 and 3, hashes and all */
	dx_sql(x, "UPDATE audit SET seq = -2 WHERE seq = 2;"
	    "UPDATE audit SET seq = 2 WHERE seq = 3;"
	    "UPDATE audit SET seq = 3 WHERE seq = -2");
	assert_int_equal(dx_verify(x, NULL, &rep), 1);
	assert_int_equal(rep.bad_seq, 2);
}

/*
 * Rows about a customer hash a seal of their recipient, detail and
 * consent: editing those is caught by the seal, the rest by the hash.
 */
static void
test_audit_sealed(void **state)
{
	struct dx *x = *state;
	struct audit_report rep;

	dx_audit(x, 4);		/* rows 2 and 4 are Ann's */
	assert_int_equal(dx_int(x, "SELECT count(*) FROM audit WHERE"
	    " form = 2 AND seal != '' AND customer_id IS NOT NULL"), 2);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM customers"
	    " WHERE length(audit_key) = 32"), 1);
	dx_sql(x, "UPDATE audit SET recipient = 'eve@example.com'"
	    " WHERE seq = 2");
	assert_int_equal(dx_verify(x, NULL, &rep), 1);
	assert_int_equal(rep.bad_seq, 2);
	assert_string_equal(rep.why, "row 2's recipient, detail or consent"
	    " does not match its seal: it was edited");
	dx_sql(x, "UPDATE audit SET recipient = 'r1@example.com'"
	    " WHERE seq = 2");
	dx_sql(x, "UPDATE audit SET consent = '' WHERE seq = 4");
	assert_int_equal(dx_verify(x, NULL, &rep), 1);
	assert_int_equal(rep.bad_seq, 4);
	dx_sql(x, "UPDATE audit SET consent = 'granted \"quoted\"\nline'"
	    " WHERE seq = 4");
	assert_int_equal(dx_verify(x, NULL, &rep), 0);
	/* a row about nobody's customer hashes its values as they are */
	dx_sql(x, "UPDATE audit SET recipient = 'eve@example.com'"
	    " WHERE seq = 1");
	assert_int_equal(dx_verify(x, NULL, &rep), 1);
	assert_string_equal(rep.why, "row 1 does not match its hash: it was"
	    " edited");
}

static int
dx_contains(const char *path, const char *what)
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t n;
	long len;
	int found;

	if (f == NULL)
		return 0;	/* no WAL: nothing in it */
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	text = malloc((size_t)len + 1);
	n = fread(text, 1, (size_t)len, f);
	fclose(f);
	found = memmem(text, n, what, strlen(what)) != NULL;
	free(text);
	return found;
}

static void
dx_redact(struct dx *x, int64_t id)
{
	struct store_redaction r;
	struct audit_chain ch;

	assert_int_equal(store_begin(x->st), 0);
	assert_int_equal(audit_begin(x->st, &ch), 0);
	assert_int_equal(audit_redact(x->st, &ch, id, NOW + 100,
	    "shopify customers/redact 7", "abc", &r), 0);
	assert_int_equal(store_commit(x->st), 0);
	audit_end(&ch);
	assert_int_equal(r.audit_rows, 3);
	assert_int_equal(r.audit_unsealed, 0);
	assert_int_equal(r.consent_rows, 2);	/* the record, its history */
}

/*
 * Erasing a customer leaves a chain that still verifies against the
 * heads the log recorded, and their address nowhere in the file.
 */
static void
test_audit_redact(void **state)
{
	struct dx *x = *state;
	struct audit_report rep;
	struct store_recipient r;
	struct store_job j;
	char head[256], wal[300];
	int64_t id;

	dx_consent(x, 1, NOW - 300 * DAY);
	dx_audit(x, 6);		/* rows 2, 4 and 6 are Ann's */
	/* a copy queued for her alone, its body in outbox_body */
	memset(&j, 0, sizeof(j));
	j.kind = "email";
	j.campaign_id = "spring";
	j.message_key = "<m@x>";
	j.variant = "default";
	j.sender = "<news@shop.example>";
	j.recipients = "ann@example.com\n";
	j.message = "To: ann@example.com\r\n\r\nHello Ann\r\n";
	j.len = strlen(j.message);
	j.not_before = j.created_at = NOW;
	assert_int_equal(store_outbox_add(x->st, &j, &id), 0);
	dx_head(x, head, sizeof(head));
	/* the file and its WAL are SQLite's; on PostgreSQL the rows'
	 * old versions stay in the server's files until VACUUM */
	if (!tstore_pgsql()) {
		dx_sql(x, "PRAGMA wal_checkpoint(TRUNCATE)");
		assert_true(dx_contains(x->db, "ann@example.com"));
		assert_true(dx_contains(x->db, "r1@example.com"));
	}

	dx_redact(x, x->ann);
	assert_int_equal(dx_verify(x, head, &rep), 0);
	assert_int_equal(rep.anchors_found, 1);
	assert_int_equal(rep.redacted_rows, 3);
	assert_int_equal(rep.rows, 7);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM audit WHERE"
	    " decision = 'redacted' AND customer_id = 1"), 1);
	assert_int_equal(store_customer_find(x->st, "ann@example.com", &id),
	    1);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM consent"), 0);
	/* her copy is cancelled and its body gone */
	assert_int_equal(dx_int(x, "SELECT count(*) FROM outbox WHERE"
	    " state = 'cancelled'"), 1);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM outbox_body"), 0);
	/* the address no longer finds the customer: no consent, no mail */
	dx_lookup(x, "ann@example.com", &r);
	assert_false(r.has_consent);
	assert_int_equal(r.customer_id, 0);

	/* a late decision about them records nothing personal */
	dx_audit(x, 2);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM audit WHERE"
	    " customer_id = 1 AND recipient != ''"), 0);
	assert_int_equal(dx_verify(x, head, &rep), 0);
	assert_int_equal(rep.redacted_rows, 4);

	/* out of the file, the WAL too, once checkpointed (SQLite's, as
	 * above) */
	if (tstore_pgsql())
		return;
	dx_sql(x, "PRAGMA wal_checkpoint(TRUNCATE)");
	snprintf(wal, sizeof(wal), "%s-wal", x->db);
	assert_false(dx_contains(x->db, "ann@example.com"));
	assert_false(dx_contains(x->db, "r1@example.com"));
	assert_false(dx_contains(x->db, "r3@example.com"));
	assert_false(dx_contains(wal, "r1@example.com"));
	assert_true(dx_contains(x->db, "r0@example.com")); /* nobody's */
}

struct dx_rows {
	int	 audit, customer;
	char	 columns[512];
};

static int
dx_row(const char *table, int n, const char *const *names,
    const char *const *values, void *arg)
{
	struct dx_rows *r = arg;
	size_t len;
	int i;

	if (strcmp(table, "audit") == 0)
		r->audit++;
	if (strcmp(table, "customer") != 0)
		return 0;
	r->customer++;
	for (i = 0; i < n; i++) {
		len = strlen(r->columns);
		snprintf(r->columns + len, sizeof(r->columns) - len, "%s=%s ",
		    names[i], values[i] ? values[i] : "NULL");
	}
	return 0;
}

/* A data request gets the profile and the rows about them, not the key. */
static void
test_customer_rows(void **state)
{
	struct dx *x = *state;
	struct dx_rows r;

	dx_audit(x, 4);		/* rows 2 and 4 are Ann's */
	memset(&r, 0, sizeof(r));
	assert_int_equal(store_customer_rows(x->st, x->ann, dx_row, &r), 0);
	assert_int_equal(r.customer, 1);
	assert_int_equal(r.audit, 2);
	assert_non_null(strstr(r.columns, "email=ann@example.com "));
	assert_non_null(strstr(r.columns, "first_name=Ann "));
	assert_null(strstr(r.columns, "key"));
}

/* A key erased or deleted by hand is not a redaction. */
static void
test_audit_redact_forged(void **state)
{
	struct dx *x = *state;
	struct audit_report rep;

	dx_audit(x, 4);
	dx_sql(x, "UPDATE customers SET audit_key = NULL, redacted_at = 1");
	assert_int_equal(dx_verify(x, NULL, &rep), 1);
	assert_int_equal(rep.bad_seq, 2);
	assert_non_null(strstr(rep.why, "row 2 holds personal data of"
	    " customer 1, whose audit key was erased"));
	dx_sql(x, "UPDATE audit SET recipient = '', detail = '',"
	    " consent = '' WHERE customer_id = 1");
	assert_int_equal(dx_verify(x, NULL, &rep), 1);
	assert_string_equal(rep.why, "the audit key of customer 1 was erased"
	    " without a redaction row: rows were blanked outside segctl and"
	    " segfeed");
	dx_sql(x, "UPDATE customers SET audit_key = NULL, redacted_at = NULL");
	assert_int_equal(dx_verify(x, NULL, &rep), 1);
	assert_string_equal(rep.why, "row 2: the audit key of customer 1 is"
	    " missing: it was deleted");
}

static void
test_audit_export(void **state)
{
	struct dx *x = *state;
	char *text = NULL, why[512];
	size_t len = 0;
	FILE *out;

	dx_audit(x, 3);
	out = open_memstream(&text, &len);
	assert_int_equal(audit_export(x->st, x->arcdir, NOW + 1, out, why,
	    sizeof(why)), 2);
	fclose(out);
	assert_null(strstr(text, "\"seq\":1,"));
	assert_non_null(strstr(text, "{\"seq\":2,\"at\":\"2026-11-18T"));
	assert_non_null(strstr(text, "\"recipient\":\"r1@example.com\","
	    "\"customer_id\":1,\"decision\":\"deliver\""));
	assert_non_null(strstr(text, "\"consent\":\"granted \\\"quoted\\\""
	    "\\u000aline\""));
	assert_int_equal(text[len - 1], '\n');
	free(text);
}

static void
test_audit_hour(void **state)
{
	(void)state;
	assert_int_equal(store_audit_hour(0), 0);
	assert_int_equal(store_audit_hour(3599), 0);
	assert_int_equal(store_audit_hour(3600), 1);
	assert_int_equal(store_audit_hour(-1), -1);
	assert_int_equal(store_audit_hour(-3600), -1);
	assert_int_equal(store_audit_hour(-3601), -2);
}

/* Exported rows since SINCE, checked against the rows' own times. */
static void
dx_export_check(struct dx *x, int64_t since)
{
	char *text = NULL, sql[128], why[512];
	size_t len = 0;
	FILE *out;
	int64_t n;

	out = open_memstream(&text, &len);
	n = audit_export(x->st, x->arcdir, since, out, why, sizeof(why));
	fclose(out);
	free(text);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE at >= %lld",
	    (long long)since);
	if (n != dx_int(x, sql))
		fail_msg("since %lld: %lld rows exported, %lld due",
		    (long long)since, (long long)n, (long long)dx_int(x, sql));
}

/*
 * Export since any time finds every row of that time or later, through
 * the first row of each hour, whatever the clock did: a step back into
 * an hour that has rows and into one that has none, rows of one hour in
 * two transactions, times before 1970.  Verify finds a damaged index.
 */
static void
test_audit_time_index(void **state)
{
	static const int64_t t1[] = { NOW, NOW + 10, NOW + HOUR,
	    NOW + 3 * HOUR + 5 };
	/* the clock steps back an hour, then to an hour with no rows */
	static const int64_t t2[] = { NOW + 3 * HOUR + 6, NOW + 2 * HOUR + 1,
	    NOW + 2 * HOUR + 2, NOW + HOUR + 7, NOW + 4 * HOUR };
	static const int64_t t3[] = { NOW + 4 * HOUR + 1, -7200, -1, 0 };
	static const int64_t since[] = { INT64_MIN + 1, -7201, -7200, -1, 0,
	    1, NOW - 1, NOW, NOW + 1, NOW + 11, NOW + HOUR, NOW + HOUR + 8,
	    NOW + 2 * HOUR, NOW + 2 * HOUR + 2, NOW + 3 * HOUR,
	    NOW + 3 * HOUR + 6, NOW + 4 * HOUR, NOW + 4 * HOUR + 2,
	    NOW + 9 * HOUR };
	struct dx *x = *state;
	struct audit_report rep;
	size_t i;

	dx_audit_at(x, 4, t1);
	dx_audit_at(x, 5, t2);
	dx_audit_at(x, 4, t3);
	for (i = 0; i < sizeof(since) / sizeof(since[0]); i++)
		dx_export_check(x, since[i]);
	/* one mark per hour change, none for rows of the hour before */
	assert_int_equal(dx_int(x, "SELECT count(*) FROM audit_hours"), 8);
	assert_int_equal(dx_int(x, "SELECT first_seq FROM audit_hours"
	    " WHERE hour = (1795000000 + 3600) / 3600"), 3);
	assert_int_equal(dx_verify(x, NULL, &rep), 0);
	assert_int_equal(rep.rows, 13);

	/* the hour that came again (row 8) names its first row, row 3 */
	dx_sql(x, "UPDATE audit_hours SET first_seq = 8"
	    " WHERE hour = (1795000000 + 3600) / 3600");
	assert_int_equal(dx_verify(x, NULL, &rep), 1);
	assert_int_equal(rep.bad_seq, 0);	/* the chain itself is whole */
	assert_int_equal(rep.unindexed_seq, 3);
	assert_non_null(strstr(rep.why, "row 3 (2026-11-18T"));
	assert_non_null(strstr(rep.why, "names a later row"));
	dx_sql(x, "DELETE FROM audit_hours WHERE hour = -2");
	assert_int_equal(dx_verify(x, NULL, &rep), 1);
	assert_int_equal(rep.unindexed_seq, 11);
	assert_non_null(strstr(rep.why, "has no row for its hour"));
	assert_int_equal(store_audit_reindex(x->st), 0);
	assert_int_equal(dx_verify(x, NULL, &rep), 0);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM audit_hours"), 8);
	for (i = 0; i < sizeof(since) / sizeof(since[0]); i++)
		dx_export_check(x, since[i]);
}

/*
 * A row of the same hour as the row before writes no mark, even in
 * another transaction; a mark rolled back with its row is written again
 * by the next row of that hour.
 */
static void
test_audit_time_index_writes(void **state)
{
	static const int64_t t1[] = { NOW, NOW + 1 }, t2[] = { NOW + 2 },
	    t3[] = { NOW + HOUR + 1 };
	struct dx *x = *state;
	struct audit_report rep;
	struct audit_chain ch;
	struct store_audit a;

	dx_audit_at(x, 2, t1);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM audit_hours"), 1);
	dx_sql(x, "DELETE FROM audit_hours");
	dx_audit_at(x, 1, t2);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM audit_hours"), 0);
	assert_int_equal(dx_verify(x, NULL, &rep), 1);
	assert_int_equal(rep.unindexed_seq, 1);
	assert_int_equal(store_audit_reindex(x->st), 0);

	assert_int_equal(store_begin(x->st), 0);
	assert_int_equal(audit_begin(x->st, &ch), 0);
	memset(&a, 0, sizeof(a));
	a.at = NOW + HOUR;
	a.channel = a.queue_id = a.message_id = a.campaign_id = "x";
	a.recipient = a.decision = a.detail = a.segment = a.variant = "x";
	a.consent = a.config_hash = "x";
	assert_int_equal(audit_append(x->st, &ch, &a), 0);
	assert_int_equal(store_rollback(x->st), 0);
	audit_end(&ch);
	dx_audit_at(x, 1, t3);
	assert_int_equal(dx_int(x, "SELECT first_seq FROM audit_hours"
	    " WHERE hour = (1795000000 + 3600) / 3600"), 4);
	dx_export_check(x, NOW + HOUR);
	assert_int_equal(dx_verify(x, NULL, &rep), 0);
	assert_int_equal(rep.rows, 4);
}

/* What migrations after 8 made (9, 11), for a store made to look older. */

/*
 * A version 6 store is brought to the time index: the hours of the rows
 * it has, each with its first row, and no index on the time.
 */
static void
test_schema_upgrade_hours(void **state)
{
	static const int64_t t[] = { NOW + HOUR, NOW, NOW + 2, NOW + HOUR + 1,
	    -1 };
	struct dx *x = *state;
	struct audit_report rep;
	char err[512];

	/* a PostgreSQL store starts at schema 20: nothing older to upgrade */
	if (tstore_pgsql())
		skip();
	x->nobody = 1;
	dx_audit_at(x, 5, t);
	store_close(x->st);
	x->st = NULL;
	dx_sql(x, "DELETE FROM schema_migrations WHERE version >= 7;"
	    "DROP TABLE audit_hours; DROP TABLE email_cadence;"
	    SCHEMA_DROP_9_ON
	    "CREATE INDEX audit_by_time ON audit(at);");
	assert_int_equal(store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)), 0);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM sqlite_master"
	    " WHERE name = 'audit_by_time'"), 0);
	assert_int_equal(dx_int(x, "SELECT group_concat(hour || ':' ||"
	    " first_seq, ' ') = '-1:5 498611:2 498612:1' FROM (SELECT * FROM"
	    " audit_hours ORDER BY hour)"), 1);
	dx_export_check(x, NOW + 1);
	dx_export_check(x, NOW + HOUR);
	dx_export_check(x, -1);
	assert_int_equal(dx_verify(x, NULL, &rep), 0);
}

/*
 * A version 5 store is brought to today's: every ledger row kept (an
 * unknown address as customer 0), keyed by campaign, the deliveries
 * summarised for the fatigue counts, the deliveries index gone.
 */
static void
test_schema_upgrade(void **state)
{
	struct dx *x = *state;
	struct store_recipient r;
	char err[512];

	/* a PostgreSQL store starts at schema 20: nothing older to upgrade */
	if (tstore_pgsql())
		skip();
	assert_int_equal(x->ann, 1);	/* the rows below are hers */
	store_close(x->st);
	x->st = NULL;
	dx_sql(x, "DELETE FROM schema_migrations WHERE version >= 6;"
	    "DROP TABLE audit_hours; DROP TABLE email_cadence;"
	    SCHEMA_DROP_9_ON
	    "CREATE INDEX audit_by_time ON audit(at);"
	    "DROP TABLE ledger;"
	    "CREATE TABLE ledger (campaign_id TEXT NOT NULL,"
	    "  recipient TEXT NOT NULL, message_key TEXT NOT NULL,"
	    "  customer_id INTEGER, queue_id TEXT NOT NULL,"
	    "  decision TEXT NOT NULL, variant TEXT, at INTEGER NOT NULL,"
	    "  route TEXT, PRIMARY KEY (campaign_id, recipient)) WITHOUT ROWID;"
	    "CREATE INDEX ledger_deliveries ON ledger(customer_id, at, decision)"
	    "  WHERE decision = 'deliver';"
	    "INSERT INTO ledger VALUES"
	    " ('c1', 'ann@example.com', 'm1', 1, 'Q1', 'deliver', 'a', 100,"
	    "  'inplace'),"
	    " ('c2', 'ann@example.com', 'm2', 1, 'Q2', 'deliver', 'a', 200,"
	    "  'copy'),"
	    " ('c1', 'ghost@example.com', 'm1', NULL, 'Q1', 'unknown', NULL,"
	    "  100, NULL);");
	assert_int_equal(store_open(x->db, 0, 5000, &x->st, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "older"));
	assert_int_equal(store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)), 0);

	assert_int_equal(dx_int(x, "SELECT count(*) FROM ledger"), 3);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM ledger WHERE"
	    " customer_id = 0 AND decision = 'unknown'"), 1);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM sqlite_master"
	    " WHERE name = 'ledger_deliveries'"), 0);
	assert_int_equal(store_recipient_get(x->st, "ann@example.com", "c3",
	    NOW, 86400, &r), 0);
	assert_int_equal(r.customer_id, 1);
	assert_int_equal(r.unanswered, 2);
	assert_int_equal(r.last_delivery_at, 200);
	assert_int_equal(store_recipient_get(x->st, "ann@example.com", "c2",
	    NOW, 86400, &r), 0);
	assert_int_equal(r.campaign_at, 200);
	assert_string_equal(r.campaign_route, "copy");

	/* schema 19: the deliveries summarised, the ledger by campaign */
	assert_int_equal(dx_int(x, "SELECT group_concat(campaign_id || ':' ||"
	    " at, ' ') = 'c1:100 c2:200' FROM (SELECT * FROM deliveries"
	    " WHERE customer_id = 1 ORDER BY at)"), 1);
	/* its key, what a lookup by campaign and customer searches (the
	 * plan, EXPLAIN QUERY PLAN's fourth column, is past tstore's
	 * first) */
	assert_int_equal(dx_int(x, "SELECT group_concat(name, ',') ="
	    " 'campaign_id,customer_id,recipient' FROM (SELECT name FROM"
	    " pragma_index_info((SELECT name FROM pragma_index_list('ledger')"
	    " WHERE origin = 'pk')) ORDER BY seqno)"), 1);
	assert_int_equal(dx_int(x, "SELECT count(*) FROM sqlite_master WHERE"
	    " name = 'ledger' AND sql LIKE '%WITHOUT ROWID'"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, dx_setup, dx_teardown)
		T(test_recipient_consent),
		T(test_recipient_soft_bounces),
		T(test_recipient_long_names),
		T(test_recipient_fatigue_counts),
		T(test_recipient_cadence),
		T(test_recipients_batch),
		T(test_ledger_delivery_stands),
		T(test_recipient_lookups_bounded),
		T(test_deliveries_window),
		T(test_engagement_last),
		T(test_deliveries_two_newest),
		T(test_delivery_priority),
		T(test_engagement_many),
		T(test_audit_chain),
		T(test_audit_rewritten),
		T(test_audit_tampering),
		T(test_audit_reordered),
		T(test_audit_export),
		T(test_audit_sealed),
		T(test_audit_redact),
		T(test_audit_redact_forged),
		T(test_customer_rows),
		T(test_audit_time_index),
		T(test_audit_time_index_writes),
		T(test_schema_upgrade),
		T(test_schema_upgrade_hours),
#undef T
		cmocka_unit_test(test_audit_hour),
	};

	return cmocka_run_group_tests_name("delivery", tests, NULL, NULL);
}
