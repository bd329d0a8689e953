/*
 * test_retention.c - closing campaigns past the horizon (store_retention.h,
 * store_retention_apply) on real stores (SQLite files, or PostgreSQL
 * schemas: tstore.h): it removes what it promises and nothing else,
 * and no lookup the milter's rules read changes, over random histories,
 * then as new events keep arriving.
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

#include "daemon.h"
#include "policy.h"
#include "store_lookup.h"
#include "store_record.h"
#include "store_report.h"
#include "store_retention.h"
#include "tstore.h"

#define DAY	86400
#define HOUR	3600
#define NOW	((int64_t)1795000000)
#define HORIZON	(365 * DAY)

struct rx {
	char		 dir[64];
	char		 db[256];
	char		 copy[256];	/* the same history, unpruned */
	struct store	*st;
	struct store	*kept;
};

static int
rx_setup(void **state)
{
	struct rx *x = calloc(1, sizeof(*x));
	char err[512];

	assert_non_null(x);
	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-retention-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	tstore_name(x->dir, x->db, sizeof(x->db));
	if (store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	*state = x;
	return 0;
}

static int
rx_teardown(void **state)
{
	struct rx *x = *state;
	char path[160];

	store_close(x->st);
	store_close(x->kept);
	snprintf(path, sizeof(path), "rm -rf '%s'", x->dir);
	assert_int_equal(system(path), 0);
	free(x);
	return 0;
}

/* SQL on both stores (the copy once it exists). */
static void
rx_sql(struct rx *x, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	tstore_exec(x->db, "%s", sql);
	if (x->kept != NULL)
		tstore_exec(x->copy, "%s", sql);
}

static int64_t
rx_int(struct rx *x, const char *sql)
{
	int64_t v = tstore_int(x->db, "%s", sql);

	assert_int_not_equal(v, -1);	/* a row */
	return v;
}

/* A customer with email consent given at AT: their id. */
static int64_t
rx_customer(struct rx *x, const char *email, int64_t at)
{
	struct store_customer c;
	struct store_consent k;
	enum store_change ch;
	int64_t id;

	memset(&c, 0, sizeof(c));
	c.email = email;
	assert_int_equal(store_customer_upsert(x->st, &c, &id, &ch), 0);
	memset(&k, 0, sizeof(k));
	k.customer_id = id;
	k.channel = CHANNEL_EMAIL;
	k.granted = 1;
	k.source = "signup_form";
	k.recorded_at = at;
	assert_int_equal(store_consent_record(x->st, &k, 0, &ch), 0);
	return id;
}

static void
rx_deliver(struct rx *x, const char *campaign, int64_t id, const char *email,
    const char *decision, int64_t at)
{
	/* as store_ledger_put: a delivery stands */
	rx_sql(x, "INSERT INTO ledger (campaign_id, recipient, message_key,"
	    " customer_id, queue_id, decision, at) VALUES ('%s', '%s', 'm',"
	    " %lld, 'Q', '%s', %lld) ON CONFLICT (campaign_id, customer_id,"
	    " recipient) DO UPDATE SET decision = excluded.decision,"
	    " at = excluded.at WHERE ledger.decision <> 'deliver'", campaign,
	    email, (long long)id, decision, (long long)at);
}

static void
rx_engage(struct rx *x, const char *campaign, int64_t id, const char *type,
    int64_t at)
{
	rx_sql(x, "INSERT INTO engagement VALUES (%lld, '%s', '%s', %lld)"
	    " ON CONFLICT DO NOTHING", (long long)id, campaign, type,
	    (long long)at);
}

static void
rx_job(struct rx *x, const char *kind, const char *campaign, int64_t id,
    const char *state, int64_t at)
{
	rx_sql(x, "INSERT INTO outbox (kind, campaign_id, message_key,"
	    " variant, sender, recipients, message, not_before, next_at,"
	    " state, created_at, done_at, customer_id) VALUES ('%s', '%s',"
	    " 'm', 'v', 's@example.com', 'r@example.com', %s, %lld, %lld,"
	    " '%s', %lld, %lld, %lld)", kind, campaign,
	    /* an empty blob: x'' is a bit string to PostgreSQL */
	    tstore_pgsql() ? "'\\x'" : "x''", (long long)at,
	    (long long)at, state, (long long)at, (long long)at + 60,
	    (long long)id);
}

static void
rx_apply(struct rx *x, int64_t now, struct store_retention *r)
{
	if (store_retention_apply(x->st, now - HORIZON, now, r, NULL,
	    NULL) != 0)
		fail_msg("%s", store_error(x->st));
}

/*
 * What goes and what stays: a campaign idle past the horizon loses its
 * ledger, sent rows, older opens and clicks and finished jobs; one with
 * a job still queued, or a decision since, stays whole; unsubscribes,
 * bounces and complaints stay; a second run finds nothing.
 */
static void
test_removes_what_it_promises(void **state)
{
	struct rx *x = *state;
	struct store_retention plan, r;
	struct store_closed_campaign cc;
	int64_t ann, bob, old = NOW - 2 * HORIZON;

	ann = rx_customer(x, "ann@example.com", old - DAY);
	bob = rx_customer(x, "bob@example.com", old - DAY);
	rx_deliver(x, "old", ann, "ann@example.com", "deliver", old);
	rx_deliver(x, "old", bob, "bob@example.com", "fatigued", old);
	rx_deliver(x, "old", 0, "ghost@example.com", "unknown", old);
	rx_engage(x, "old", ann, "open", old + HOUR);
	rx_engage(x, "old", ann, "open", old + 2 * HOUR);
	rx_engage(x, "old", ann, "click", old + HOUR);
	rx_engage(x, "old", bob, "unsubscribe", old + DAY);
	rx_engage(x, "old", ann, "bounce", old + DAY);
	rx_engage(x, "old", ann, "complaint", old + DAY);
	rx_engage(x, "esp", ann, "sent", old);		/* another tool's */
	rx_job(x, "sms", "old", ann, "sent", old);
	rx_job(x, "email", "old", bob, "failed", old);
	rx_sql(x, "INSERT INTO copy_seen VALUES ('n-old', 'Q1', %lld),"
	    " ('n-new', 'Q2', %lld)", (long long)old, (long long)NOW);
	/* idle as long, but a job still to send */
	rx_deliver(x, "held", ann, "ann@example.com", "deliver", old);
	rx_job(x, "email", "held", ann, "queued", old);
	/* decided before the cut, and after it */
	rx_deliver(x, "span", ann, "ann@example.com", "deliver", old);
	rx_deliver(x, "span", bob, "bob@example.com", "deliver", NOW - DAY);
	rx_engage(x, "span", ann, "open", old + 3 * HOUR);

	assert_int_equal(store_retention_plan(x->st, NOW - HORIZON, &plan), 0);
	rx_apply(x, NOW, &r);
	assert_int_equal(r.campaigns, 2);		/* old, esp */
	assert_int_equal(r.ledger_rows, 3);
	assert_int_equal(r.engagement_rows, 3);	/* sent, 2 opens */
	assert_int_equal(r.outbox_jobs, 2);
	assert_int_equal(r.copy_notes, 1);
	/* the plan says nothing of the summary's trim */
	assert_int_equal(plan.summary_rows, 0);
	plan.summary_rows = r.summary_rows;
	assert_memory_equal(&plan, &r, sizeof(r));

	assert_int_equal(rx_int(x, "SELECT count(*) FROM ledger"
	    " WHERE campaign_id = 'old'"), 0);
	assert_int_equal(rx_int(x, "SELECT count(*) FROM ledger"
	    " WHERE campaign_id IN ('held', 'span')"), 3);
	assert_int_equal(rx_int(x, "SELECT count(*) FROM outbox"
	    " WHERE campaign_id = 'held'"), 1);
	/* the newest open (span's) and the click stay, and every stop */
	assert_int_equal(rx_int(x, "SELECT count(*) FROM engagement"
	    " WHERE type = 'open'"), 1);
	assert_int_equal(rx_int(x, "SELECT at FROM engagement"
	    " WHERE type = 'open'"), old + 3 * HOUR);
	assert_int_equal(rx_int(x, "SELECT count(*) FROM engagement"
	    " WHERE type IN ('click', 'unsubscribe', 'bounce',"
	    " 'complaint')"), 4);
	assert_int_equal(rx_int(x, "SELECT count(*) FROM copy_seen"), 1);
	/* ann's deliveries, old's, esp's (sent), held's and span's, all at
	 * OLD, are before both her last answer (span's open) and the
	 * window: two are kept as her newest (a tie); bob's span, the
	 * newest, is kept */
	assert_int_equal(r.summary_rows, 2);
	assert_int_equal(rx_int(x, "SELECT count(*) FROM deliveries"), 3);
	assert_int_equal(rx_int(x, "SELECT count(*) FROM deliveries"
	    " WHERE campaign_id = 'span'"), 2);
	assert_int_equal(store_campaign_closed(x->st, "old", &cc), 0);
	assert_int_equal(cc.decided, 3);
	assert_int_equal(cc.delivered, 1);
	assert_int_equal(cc.first_at, old);
	assert_int_equal(cc.closed_at, NOW);
	assert_int_equal(store_campaign_closed(x->st, "span", &cc), 1);
	assert_int_equal(store_campaign_closed(x->st, "held", &cc), 1);

	rx_apply(x, NOW, &r);
	assert_int_equal(r.campaigns + r.ledger_rows + r.engagement_rows +
	    r.outbox_jobs + r.copy_notes, 0);
}

/*
 * A closed campaign is a duplicate for everyone, whatever the ledger
 * held: the milter reads it with the recipient.
 */
static void
test_closed_campaign_is_duplicate(void **state)
{
	struct rx *x = *state;
	struct store_retention r;
	struct store_recipient rc;
	struct policy_facts f;
	struct policy_decision d;
	struct policy_campaign pc;
	struct conf *cf = conf_defaults();
	int64_t ann, old = NOW - 2 * HORIZON;

	ann = rx_customer(x, "ann@example.com", old - DAY);
	rx_customer(x, "cy@example.com", old - DAY);
	rx_deliver(x, "old", ann, "ann@example.com", "deliver", old);
	rx_apply(x, NOW, &r);
	assert_int_equal(store_recipient_get(x->st, "cy@example.com", "old",
	    NOW, 0, &rc), 0);
	assert_int_equal(rc.campaign_closed_at, NOW);
	daemon_policy_facts(&f, &rc);
	memset(&pc, 0, sizeof(pc));
	policy_decide(&cf->policy, &pc, &f, NOW + 3 * DAY, &d);
	assert_int_equal(d.reason, POLICY_DUPLICATE);
	assert_string_equal(d.detail, "campaign closed by retention 3 d ago");
	assert_int_equal(store_recipient_get(x->st, "cy@example.com", "new",
	    NOW, 0, &rc), 0);
	assert_int_equal(rc.campaign_closed_at, 0);
	conf_free(cf);
}

/*
 * A table by table copy of the schema FROM into TO (both made by
 * store_open): every row as it is, ids given, so the triggers that keep
 * the summaries stay off as a restore has them, and each identity's
 * sequence moved past the ids copied.
 */
#define RX_COPY_PGSQL							\
	"DO $$ DECLARE t record; BEGIN"					\
	" SET LOCAL session_replication_role = replica;"		\
	" FOR t IN SELECT table_name AS n FROM information_schema.tables"\
	"  WHERE table_schema = '%s' AND table_type = 'BASE TABLE' LOOP"\
	"  EXECUTE format('DELETE FROM %%I.%%I', '%s', t.n);"		\
	"  EXECUTE format('INSERT INTO %%I.%%I SELECT * FROM %%I.%%I',"	\
	"   '%s', t.n, '%s', t.n);"					\
	" END LOOP;"							\
	" FOR t IN SELECT table_name AS n, column_name AS c"		\
	"  FROM information_schema.columns WHERE table_schema = '%s'"	\
	"  AND is_identity = 'YES' LOOP"				\
	"  EXECUTE format('SELECT setval(pg_get_serial_sequence(%%L, %%L),"\
	"   coalesce(max(%%I), 0) + 1, false) FROM %%I.%%I',"		\
	"   format('%%I.%%I', '%s', t.n), t.c, t.c, '%s', t.n);"	\
	" END LOOP; END $$"

/* The copy: the history so far, then every later event on both. */
static void
rx_fork(struct rx *x)
{
	char from[64], to[64], err[512];

	if (!tstore_pgsql()) {
		snprintf(x->copy, sizeof(x->copy), "%s/kept.db", x->dir);
		tstore_exec(x->db, "VACUUM INTO '%s'", x->copy);
	} else {
		tstore_name(x->dir, x->copy, sizeof(x->copy));
		if (store_open(x->copy, STORE_CREATE, 5000, &x->kept, err,
		    sizeof(err)) != 0)
			fail_msg("%s", err);
		store_close(x->kept);
		x->kept = NULL;
		tstore_text(x->db, from, sizeof(from),
		    "SELECT current_schema()");
		tstore_text(x->copy, to, sizeof(to),
		    "SELECT current_schema()");
		tstore_exec(x->db, RX_COPY_PGSQL, from, to, to, from, to, to,
		    to);
	}
	if (store_open(x->copy, 0, 5000, &x->kept, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static const char *const eras[] = { "y1", "y2", "mid", "live" };

/* A random time in campaign C's era: the closed ones before the cut
 * at NOW, mid across it, live in the last 90 days (so that the windows
 * below often hold more campaigns than a customer's two newest). */
static int64_t
rx_when(unsigned *seed, int c, int64_t now)
{
	int64_t span = c < 2 ? HORIZON : c == 2 ? 2 * HORIZON : 90 * DAY;
	int64_t end = c < 2 ? now - HORIZON - (1 - c) * HORIZON : now;

	/* whole days or hours off them: ties happen */
	return end - 1 - (int64_t)(rand_r(seed) % (unsigned)(span / DAY)) *
	    DAY - (rand_r(seed) % 3 == 0 ? 16 * HOUR : 0);
}

/*
 * One random event for customer ID (EMAIL) on both stores; once the
 * first two eras are CLOSED, a decision in them is what the milter
 * makes of a closed campaign.
 */
static void
rx_event(struct rx *x, unsigned *seed, int64_t id, const char *email,
    int64_t now, int closed)
{
	static const char *const types[] = { "sent", "open", "click",
	    "open", "bounce", "soft_bounce" };
	/* several live campaigns: more than the two newest in a window */
	static const char *const live[] = { "live", "l1", "l2", "l3", "l4" };
	int c = rand_r(seed) % 4;
	int64_t at = rx_when(seed, c, now);
	const char *campaign = c == 3 ? live[rand_r(seed) % 5] : eras[c];

	switch (rand_r(seed) % 3) {
	case 0:
		rx_deliver(x, campaign, id, email, closed && c < 2 ?
		    "duplicate" : rand_r(seed) % 4 ? "deliver" : "fatigued",
		    at);
		break;
	case 1:
		rx_engage(x, campaign, id, types[rand_r(seed) % 6], at);
		break;
	default:
		if (rand_r(seed) % 5 == 0)
			rx_sql(x, "INSERT INTO orders (ref, customer_id,"
			    " created_at, financial_status, total) VALUES"
			    " ('o%u', %lld, %lld, 'paid', 100)", rand_r(seed),
			    (long long)id, (long long)at);
		break;
	}
}

/* Every lookup a rule reads, for each customer, equal on both stores. */
static void
rx_compare(struct rx *x, int ncust, int64_t now, unsigned *seed)
{
	static const char *const campaigns[] = { "live", "mid", "fresh" };
	struct store_recipient a, b;
	char email[64];
	int64_t window;
	int i, q;

	for (i = 0; i < ncust; i++) {
		snprintf(email, sizeof(email), "h%d@example.com", i);
		for (q = 0; q < 3; q++) {
			window = (int64_t)(rand_r(seed) % 60) * DAY;
			if (store_recipient_get(x->st, email, campaigns[q],
			    now, window, &a) != 0 ||
			    store_recipient_get(x->kept, email, campaigns[q],
			    now, window, &b) != 0)
				fail_msg("lookup: %s", store_error(x->st));
			if (a.campaign_closed_at != 0)
				continue;	/* mid, closed later */
			assert_int_equal(a.unsubscribed_at, b.unsubscribed_at);
			assert_int_equal(a.bounces_since_consent,
			    b.bounces_since_consent);
			assert_int_equal(a.last_answer_at, b.last_answer_at);
			assert_int_equal(a.nsoft_bounces, b.nsoft_bounces);
			assert_int_equal(a.campaign_at, b.campaign_at);
			if (a.unanswered != b.unanswered ||
			    a.in_window != b.in_window ||
			    a.last_delivery_at != b.last_delivery_at)
				fail_msg("%s %s at %lld: unanswered %lld/%lld,"
				    " window %lld/%lld, last %lld/%lld", email,
				    campaigns[q], (long long)now,
				    (long long)a.unanswered,
				    (long long)b.unanswered,
				    (long long)a.in_window,
				    (long long)b.in_window,
				    (long long)a.last_delivery_at,
				    (long long)b.last_delivery_at);
		}
	}
}

/*
 * Property: over random histories three years long, after closing what
 * is past a one-year horizon, every count the fatigue, cadence, cap and
 * bounce rules read is what the unpruned store says, now and as events
 * keep coming (answers dated before the cut among them: an import of
 * old opens), and after a second run a year on closes more.
 */
static void
test_lookups_unchanged(void **state)
{
	enum { NCUST = 150 };
	struct rx *x = *state;
	struct store_retention r;
	char email[64];
	int64_t id[NCUST], later = NOW + HORIZON / 2;
	unsigned seed = 16;
	int i, k, n;

	for (i = 0; i < NCUST; i++) {
		snprintf(email, sizeof(email), "h%d@example.com", i);
		id[i] = rx_customer(x, email, NOW - 4 * HORIZON);
		n = rand_r(&seed) % 40;
		for (k = 0; k < n; k++)
			rx_event(x, &seed, id[i], email, NOW, 0);
	}
	rx_fork(x);
	/* the pruned store keeps what the longest window below counts */
	assert_int_equal(store_deliveries_window(x->st, 60 * DAY, NOW), 0);
	rx_apply(x, NOW, &r);
	assert_true(r.ledger_rows > 0);
	assert_true(r.summary_rows > 0);
	rx_compare(x, NCUST, NOW, &seed);
	rx_compare(x, NCUST, NOW + 20 * DAY, &seed);

	/* half a year more on both, then a second run closes "live"'s
	 * predecessors as the cut moves */
	for (i = 0; i < NCUST; i++) {
		snprintf(email, sizeof(email), "h%d@example.com", i);
		n = rand_r(&seed) % 10;
		for (k = 0; k < n; k++)
			rx_event(x, &seed, id[i], email, later, 1);
	}
	rx_compare(x, NCUST, later, &seed);
	rx_apply(x, later + HORIZON, &r);
	rx_compare(x, NCUST, later + HORIZON, &seed);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, rx_setup, rx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_removes_what_it_promises),
		T(test_closed_campaign_is_duplicate),
		T(test_lookups_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
