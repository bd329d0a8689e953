/*
 * retention.c - closing campaigns idle past the horizon (store.h,
 * store_retention_apply), and what that would remove.
 *
 * What the rules count of a closed campaign is in the summary of each
 * customer's deliveries (store.h, store_deliveries_window), which its
 * deliveries and imported "sent" rows were written into as they
 * happened: a campaign half pruned still counts once.  The pruning walks the
 * customers a
 * slice at a time: a slice's rows are a range of every table it touches
 * (of the ledger, a range in each closed campaign).
 */
#include <string.h>

#include "store_int.h"

/* Customers a pruning transaction takes: about 50 ms of writes. */
#define SLICE	512

/*
 * The campaigns not yet closed whose last decision, imported "sent"
 * row and outbox job were all before ?1 (a job still to send: never),
 * with their first activity and ledger counts.
 */
#define CAMPAIGNS_IDLE							\
	"SELECT campaign_id, min(first_at), max(last_at), sum(decided),"\
	" sum(delivered) FROM ("						\
	"  SELECT campaign_id, min(at) AS first_at, max(at) AS last_at,"	\
	"   count(*) AS decided,"						\
	"   count(*) FILTER (WHERE decision = 'deliver') AS delivered"	\
	"   FROM ledger GROUP BY campaign_id"				\
	"  UNION ALL SELECT campaign_id, min(at), max(at), 0, 0"		\
	"   FROM engagement WHERE type = 'sent' GROUP BY campaign_id"	\
	"  UNION ALL SELECT campaign_id, min(created_at),"		\
	"   max(CASE WHEN state IN ('queued', 'sending')"			\
	"   THEN 9223372036854775807"					\
	"   ELSE greatest(created_at, coalesce(done_at, 0)) END), 0, 0"\
	"   FROM outbox GROUP BY campaign_id) AS a"			\
	" WHERE campaign_id NOT IN (SELECT campaign_id"			\
	"  FROM campaigns_closed)"					\
	" GROUP BY campaign_id HAVING max(last_at) < ?1"

#define CLOSED	"(SELECT campaign_id FROM campaigns_closed)"

/* Opens and clicks that are not their customer's newest of the kind. */
#define ANSWER_NOT_NEWEST						\
	"type IN ('open', 'click') AND at < (SELECT max(at)"		\
	" FROM engagement n WHERE n.customer_id = engagement.customer_id"\
	" AND n.type = engagement.type)"

/* The copies' notes that no job still to send needs, from before ?1. */
#define COPY_NOTES_OLD							\
	"copy_seen WHERE at < ?1 AND nonce NOT IN (SELECT nonce"		\
	" FROM outbox WHERE state IN ('queued', 'sending'))"

int
store_retention_plan(struct store *st, int64_t cut,
    struct store_retention *r)
{
	struct db_stmt *s;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((s = db_prepare(st->db, "WITH closing AS ("
	    " SELECT campaign_id FROM (" CAMPAIGNS_IDLE ") AS idle"
	    " UNION SELECT campaign_id FROM campaigns_closed"
	    "  WHERE pruned_at IS NULL) SELECT"
	    " (SELECT count(*) FROM closing),"
	    " (SELECT count(*) FROM ledger WHERE campaign_id IN"
	    "  (SELECT campaign_id FROM closing)),"
	    " (SELECT count(*) FROM engagement WHERE campaign_id IN"
	    "  (SELECT campaign_id FROM closing)"
	    "  AND (type = 'sent' OR " ANSWER_NOT_NEWEST ")),"
	    " (SELECT count(*) FROM outbox WHERE campaign_id IN"
	    "  (SELECT campaign_id FROM closing)),"
	    " (SELECT count(*) FROM " COPY_NOTES_OLD ")", 0)) == NULL)
		return store_fail(st, "retention");
	db_bind_int(s, 1, cut);
	if ((rc = db_step(s)) == DB_ROW) {
		r->campaigns = db_col_int(s, 0);
		r->ledger_rows = db_col_int(s, 1);
		r->engagement_rows = db_col_int(s, 2);
		r->outbox_jobs = db_col_int(s, 3);
		r->copy_notes = db_col_int(s, 4);
	}
	db_finalize(s);
	return rc == DB_ROW ? 0 : store_fail(st, "retention");
}

/*
 * What a slice of customers ?1..?2 loses, in order: the closed
 * campaigns' rows, and of the summary of their deliveries (which has
 * the closed campaigns' too) what no rule will read again (store.h,
 * store_deliveries_window): deliveries before both the window's start
 * ?3 and the customer's last open, click or order (which only ever
 * moves later: answers are never removed but for the newest) except
 * the two newest.
 * (Each parenthesised: clang takes two literals in a row for a lost
 * comma.)
 */
static const char *const slice_sql[] = {
	("DELETE FROM ledger WHERE campaign_id IN " CLOSED
	 " AND customer_id BETWEEN ?1 AND ?2"),
	("DELETE FROM engagement WHERE customer_id BETWEEN ?1 AND ?2"
	 " AND campaign_id IN " CLOSED
	 " AND (type = 'sent' OR " ANSWER_NOT_NEWEST ")"),
	/* each customer's newest numbered in one pass (a store just
	 * migrated has every delivery in it) */
	("DELETE FROM deliveries WHERE (customer_id, campaign_id) IN ("
	 " SELECT d.customer_id, d.campaign_id FROM ("
	 "  SELECT customer_id, campaign_id, at, row_number() OVER ("
	 "   PARTITION BY customer_id ORDER BY at DESC, campaign_id DESC)"
	 "   AS newest FROM deliveries"
	 "   WHERE customer_id BETWEEN ?1 AND ?2) AS d"
	 " WHERE d.newest > 2 AND d.at <= least(?3, coalesce((SELECT"
	 "  greatest(open_at, click_at, order_at) FROM engagement_last"
	 "  WHERE customer_id = d.customer_id), 0)))"),
};
#define NSLICE_SQL	(sizeof(slice_sql) / sizeof(slice_sql[0]))

/* Runs the one-row query SQL (with ?1 = V if it has it) into *OUT. */
static int
query_int(struct store *st, const char *sql, int64_t v, int64_t *out)
{
	struct db_stmt *s;
	int rc;

	if ((s = db_prepare(st->db, sql, 0)) == NULL)
		return store_fail(st, "retention");
	if (db_param_count(s) > 0)
		db_bind_int(s, 1, v);
	if ((rc = db_step(s)) == DB_ROW)
		*out = db_col_int(s, 0);
	db_finalize(s);
	return rc == DB_ROW ? 0 : store_fail(st, "retention");
}

/* Runs S with ?1..?3 = A, B, C, those it has; *CHANGED += its rows. */
static int
run_bound(struct store *st, struct db_stmt *s, int64_t a, int64_t b,
    int64_t c, int64_t *changed)
{
	if (db_param_count(s) > 0)
		db_bind_int(s, 1, a);
	if (db_param_count(s) > 1)
		db_bind_int(s, 2, b);
	if (db_param_count(s) > 2)
		db_bind_int(s, 3, c);
	if (store_run(st, s, "retention") == -1)
		return -1;
	if (changed != NULL)
		*changed += db_changes(st->db);
	return 0;
}

/* The slices, each its own transaction. */
static int
prune_slices(struct store *st, int64_t now, struct store_retention *r,
    progress_fn progress, void *arg)
{
	struct db_stmt *s[NSLICE_SQL] = { NULL };
	int64_t *counts[NSLICE_SQL] = { &r->ledger_rows, &r->engagement_rows,
	    &r->summary_rows };
	int64_t last, lo, secs;
	size_t i;
	int rc = -1;

	if (query_int(st, "SELECT coalesce(max(id), 0) FROM customers"
	    "", 0, &last) == -1 || store_deliveries_secs(st, &secs) == -1)
		return -1;
	for (i = 0; i < NSLICE_SQL; i++)
		if ((s[i] = db_prepare(st->db, slice_sql[i], 0)) == NULL) {
			store_fail(st, "retention");
			goto done;
		}
	for (lo = 0; lo <= last; lo += SLICE) {
		if (store_begin(st) == -1)
			goto done;
		for (i = 0; i < NSLICE_SQL; i++)
			if (run_bound(st, s[i], lo, lo + SLICE - 1,
			    now - secs, counts[i]) == -1) {
				store_rollback(st);
				goto done;
			}
		if (store_commit(st) == -1)
			goto done;
		if (progress != NULL)
			progress(lo + SLICE > last ? last : lo + SLICE, last,
			    arg);
	}
	rc = 0;
done:
	for (i = 0; i < NSLICE_SQL; i++)
		db_finalize(s[i]);
	return rc;
}

/* The campaigns' outbox jobs and old copy notes, and the closing done. */
static int
prune_finish(struct store *st, int64_t cut, int64_t now,
    struct store_retention *r)
{
	static const char *const sql[] = {
		("DELETE FROM outbox WHERE campaign_id IN " CLOSED
		 " AND state NOT IN ('queued', 'sending')"),
		("DELETE FROM " COPY_NOTES_OLD),
		("UPDATE campaigns_closed SET pruned_at = ?1"
		 " WHERE pruned_at IS NULL"),
	};
	int64_t *counts[] = { &r->outbox_jobs, &r->copy_notes, NULL };
	int64_t bind[] = { 0, cut, now };
	struct db_stmt *s;
	size_t i;

	if (store_begin(st) == -1)
		return -1;
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((s = db_prepare(st->db, sql[i], 0)) == NULL) {
			store_fail(st, "retention");
			store_rollback(st);
			return -1;
		}
		if (run_bound(st, s, bind[i], 0, 0, counts[i]) == -1) {
			db_finalize(s);
			store_rollback(st);
			return -1;
		}
		db_finalize(s);
	}
	return store_commit(st);
}

int
store_retention_apply(struct store *st, int64_t cut, int64_t now,
    struct store_retention *r, progress_fn progress, void *arg)
{
	struct db_stmt *s;

	memset(r, 0, sizeof(*r));
	/* closed first, in one transaction: from then on the milter
	 * suppresses them, so nothing the slices prune is being added */
	if (store_begin(st) == -1)
		return -1;
	if ((s = db_prepare(st->db, "INSERT INTO campaigns_closed"
	    " (campaign_id, first_at, last_at, decided, delivered, closed_at)"
	    " SELECT *, ?2 FROM (" CAMPAIGNS_IDLE ") AS idle", 0)) == NULL) {
		store_fail(st, "retention");
		store_rollback(st);
		return -1;
	}
	if (run_bound(st, s, cut, now, 0, NULL) == -1) {
		db_finalize(s);
		store_rollback(st);
		return -1;
	}
	db_finalize(s);
	if (query_int(st, "SELECT count(*) FROM campaigns_closed"
	    " WHERE pruned_at IS NULL", 0, &r->campaigns) == -1 ||
	    store_commit(st) == -1) {
		store_rollback(st);
		return -1;
	}
	/* the summary is trimmed for everyone, closing or not */
	if (prune_slices(st, now, r, progress, arg) == -1)
		return -1;
	return prune_finish(st, cut, now, r);
}

int
store_campaign_closed(struct store *st, const char *campaign,
    struct store_closed_campaign *c)
{
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_CAMPAIGN_CLOSED, "SELECT first_at, last_at,"
	    " decided, delivered, closed_at FROM campaigns_closed"
	    " WHERE campaign_id = ?1");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, campaign);
	if ((rc = db_step(s)) == DB_ROW) {
		c->first_at = db_col_int(s, 0);
		c->last_at = db_col_int(s, 1);
		c->decided = db_col_int(s, 2);
		c->delivered = db_col_int(s, 3);
		c->closed_at = db_col_int(s, 4);
	}
	store_done(s);
	if (rc == DB_ROW)
		return 0;
	return rc == DB_DONE ? 1 : store_fail(st, "closed campaign");
}
