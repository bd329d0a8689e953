/*
 * sms.c - what SMS eligibility reads, and what is learnt about numbers.
 *
 * Numbers carry their own state (phone_status) apart from customers: a
 * STOP reply belongs to the number whoever it is filed under, and a
 * re-import that gives a customer a new number must not inherit the old
 * number's opt-out, nor the new one escape its own.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "store_int.h"
#include "str.h"

/* Columns 1.. of a facts row into F. */
static void
facts_row(struct db_stmt *s, struct store_sms_facts *f)
{
	const char *evidence;

	str_copy(f->phone, sizeof(f->phone), db_col_text(s, 1));
	str_copy(f->time_zone, sizeof(f->time_zone), db_col_text(s, 2));
	str_copy(f->country, sizeof(f->country), db_col_text(s, 3));
	str_copy(f->region, sizeof(f->region), db_col_text(s, 4));
	if (!db_col_null(s, 5)) {
		f->has_consent = 1;
		f->consent_granted = db_col_int(s, 5);
		f->consent_at = db_col_int(s, 7);
		evidence = db_col_text(s, 8);
		f->has_evidence = evidence != NULL && *evidence != '\0';
		snprintf(f->consent_evidence, sizeof(f->consent_evidence),
		    "%s %s%s%s", f->consent_granted ? "granted" : "revoked",
		    db_col_text(s, 6), f->has_evidence ? ": " : "",
		    f->has_evidence ? evidence : "");
	}
	str_copy(f->phone_status, sizeof(f->phone_status),
	    db_col_text(s, 9));
	f->phone_status_at = db_col_int(s, 10);
}

/*
 * The SMS jobs newer than job AFTER of the customers in IN (a JSON array
 * of N <= STORE_BATCH ids), in one pass over each one's jobs through
 * outbox_sms_once: DAY[i] and MONTH[i] (MONTH may be NULL) count those
 * created after DAY_FROM and MONTH_FROM that may still be sent (failed
 * and cancelled jobs sent nothing: they count toward no cap), JOB[i] is
 * CAMPAIGN's, whatever its state (a failed job still is the campaign's
 * SMS), 0 if none.  The facts read all of a customer's jobs; the recheck
 * before queueing reads those queued since the facts were read.
 */
static int
jobs_grouped(struct store *st, const char *in, size_t n, int64_t after,
    int64_t day_from, int64_t month_from, const char *campaign,
    int64_t *day, int64_t *month, int64_t *job)
{
	struct db_stmt *s;
	int64_t i;
	int rc;

	s = store_stmt(st, SQ_SMS_JOBS, "SELECT j.key,"
	    " count(*) FILTER (WHERE o.created_at > ?3"
	    "  AND o.state NOT IN ('failed', 'cancelled')),"
	    " count(*) FILTER (WHERE o.created_at > ?4"
	    "  AND o.state NOT IN ('failed', 'cancelled')),"
	    " coalesce(max(CASE WHEN o.campaign_id = ?5 THEN o.id END), 0)"
	    " FROM json_each(?1) j JOIN outbox o ON o.kind = 'sms'"
	    "  AND o.customer_id = CAST(j.value AS BIGINT) AND o.id > ?2"
	    " GROUP BY j.key");
	if (s == NULL)
		return -1;
	memset(day, 0, n * sizeof(*day));
	if (month != NULL)
		memset(month, 0, n * sizeof(*month));
	memset(job, 0, n * sizeof(*job));
	db_bind_text(s, 1, in);
	db_bind_int(s, 2, after);
	db_bind_int(s, 3, day_from);
	db_bind_int(s, 4, month_from);
	db_bind_text(s, 5, campaign);
	while ((rc = db_step(s)) == DB_ROW) {
		i = db_col_int(s, 0);
		if (i < 0 || (size_t)i >= n)
			continue;
		day[i] = db_col_int(s, 1);
		if (month != NULL)
			month[i] = db_col_int(s, 2);
		job[i] = db_col_int(s, 3);
	}
	store_done(s);
	return rc == DB_DONE ? 0 : store_fail(st, "sms jobs");
}

/* Up to STORE_BATCH customers: their rows, then their jobs. */
static int
facts_batch(struct store *st, const int64_t *ids, size_t n,
    const char *campaign, int64_t now, struct store_sms_facts *const *f,
    int *found)
{
	int64_t day[STORE_BATCH], month[STORE_BATCH], job[STORE_BATCH];
	struct buf in;
	struct db_stmt *s;
	int64_t i;
	int rc;

	s = store_stmt(st, SQ_SMS_FACTS, "SELECT j.key, c.phone, c.time_zone,"
	    " c.country, c.region,"
	    " k.granted, k.source, k.recorded_at, k.evidence,"
	    " p.status, p.at"
	    " FROM json_each(?1) j"
	    " JOIN customers c ON c.id = CAST(j.value AS BIGINT)"
	    " LEFT JOIN consent k ON k.customer_id = c.id AND k.channel = 'sms'"
	    " LEFT JOIN phone_status p ON p.phone = c.phone");
	if (s == NULL)
		return -1;
	buf_init(&in, STORE_BATCH_JSON_MAX);
	store_json_ints(&in, ids, n);
	db_bind_text(s, 1, buf_str(&in));
	while ((rc = db_step(s)) == DB_ROW) {
		i = db_col_int(s, 0);
		if (i >= 0 && (size_t)i < n) {
			facts_row(s, f[i]);
			found[i] = 1;
		}
	}
	store_done(s);
	if (rc != DB_DONE) {
		buf_free(&in);
		return store_fail(st, "sms facts");
	}
	rc = jobs_grouped(st, buf_str(&in), n, 0, now - 86400,
	    now - 30 * 86400, campaign, day, month, job);
	buf_free(&in);
	for (i = 0; rc == 0 && (size_t)i < n; i++)
		if (found[i]) {
			f[i]->sent_day = day[i];
			f[i]->sent_month = month[i];
			f[i]->campaign_job = job[i];
		}
	return rc;
}

int
store_sms_facts_get_many(struct store *st, const int64_t *ids, size_t n,
    const char *campaign, int64_t now, struct store_sms_facts *const *f,
    int *found)
{
	size_t off, k, i;

	for (i = 0; i < n; i++) {
		memset(f[i], 0, sizeof(*f[i]));
		found[i] = 0;
	}
	for (off = 0; off < n; off += k) {
		k = n - off < STORE_BATCH ? n - off : STORE_BATCH;
		if (facts_batch(st, ids + off, k, campaign, now, f + off,
		    found + off) == -1)
			return -1;
	}
	return 0;
}

int
store_sms_facts_get(struct store *st, int64_t customer_id,
    const char *campaign, int64_t now, struct store_sms_facts *f)
{
	int found;

	if (store_sms_facts_get_many(st, &customer_id, 1, campaign, now, &f,
	    &found) == -1)
		return -1;
	return found ? 0 : 1;
}

int
store_sms_jobs_since(struct store *st, int64_t after, const int64_t *ids,
    size_t n, const char *campaign, int64_t *count, int64_t *campaign_job)
{
	struct buf in;
	size_t off, k;
	int rc = 0;

	buf_init(&in, STORE_BATCH_JSON_MAX);
	for (off = 0; rc == 0 && off < n; off += k) {
		k = n - off < STORE_BATCH ? n - off : STORE_BATCH;
		buf_reset(&in);
		store_json_ints(&in, ids + off, k);
		rc = jobs_grouped(st, buf_str(&in), k, after, INT64_MIN,
		    INT64_MIN, campaign, count + off, NULL, campaign_job + off);
	}
	buf_free(&in);
	return rc;
}

/* Every customer with PHONE: revoked SMS consent, an sms_optout row. */
static int
phone_revoke(struct store *st, const char *phone, const char *source,
    const char *detail, int64_t at, int64_t *customers)
{
	struct store_engagement e;
	struct store_consent c;
	enum store_change changed;
	int64_t ids[64];
	struct db_stmt *s;
	size_t i, n = 0;
	int rc;

	/* a number shared by more than 64 customers is a data problem;
	 * the phone_status row still stops every one of them */
	s = store_stmt(st, SQ_PHONE_CUSTOMERS, "SELECT id FROM customers"
	    " WHERE phone = ?1 LIMIT 64");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, phone);
	while ((rc = db_step(s)) == DB_ROW)
		ids[n++] = db_col_int(s, 0);
	store_done(s);
	if (rc != DB_DONE)
		return store_fail(st, "customers");
	for (i = 0; i < n; i++) {
		memset(&c, 0, sizeof(c));
		c.customer_id = ids[i];
		c.channel = CHANNEL_SMS;
		c.granted = 0;
		c.source = source;
		c.recorded_at = at;
		c.evidence = detail;
		if (store_consent_record(st, &c, 0, &changed) == -1)
			return -1;
		memset(&e, 0, sizeof(e));
		e.customer_id = ids[i];
		e.campaign_id = "";
		e.type = ENG_SMS_OPTOUT;
		e.at = at;
		if (store_engagement_add(st, &e, &changed) == -1)
			return -1;
	}
	if (customers != NULL)
		*customers = (int64_t)n;
	return 0;
}

int
store_phone_opted_out(struct store *st, const char *phone, int64_t *at)
{
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_PHONE_OPTED_OUT, "SELECT at FROM phone_status"
	    " WHERE phone = ?1 AND status = 'opted_out'");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, phone);
	rc = db_step(s);
	if (rc == DB_ROW)
		*at = db_col_int(s, 0);
	store_done(s);
	if (rc == DB_ROW)
		return 1;
	return rc == DB_DONE ? 0 : store_fail(st, "phone status");
}

int
store_phone_mark(struct store *st, const char *phone,
    enum store_phone_status status, const char *source, const char *detail,
    int64_t at, int64_t *customers)
{
	struct db_stmt *s;
	int rc;

	if (customers != NULL)
		*customers = 0;
	/* the latest word about a number stands */
	s = store_stmt(st, SQ_PHONE_MARK, "INSERT INTO phone_status (phone,"
	    " status, at, source, detail) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (phone) DO UPDATE SET status = ?2, at = ?3,"
	    " source = ?4, detail = ?5 WHERE ?3 > phone_status.at"
	    " OR (?3 = phone_status.at AND ?2 = 'opted_out'"
	    " AND phone_status.status <> 'opted_out')");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, phone);
	db_bind_text(s, 2, status == PHONE_OPTED_OUT ? "opted_out" :
	    "invalid");
	db_bind_int(s, 3, at);
	db_bind_text(s, 4, source);
	db_bind_text(s, 5, detail);
	rc = db_step(s);
	store_done(s);
	if (rc != DB_DONE)
		return store_fail(st, "phone status");
	if (db_changes(st->db) == 0)
		return 1;
	if (status == PHONE_OPTED_OUT)
		return phone_revoke(st, phone, source, detail, at, customers);
	return 0;
}
