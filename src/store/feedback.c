/*
 * feedback.c - what segfeed reads and writes when an SMS gateway reports
 * back: the customers and queued SMS of a number, consent granted again
 * by a START, and the job a delivery report is about.
 *
 * Numbers are E.164 strings compared as stored, as in sms.c: customers
 * are found by customers_by_phone, and their SMS jobs by outbox_sms_once
 * (customer first), never by a scan of the outbox.  Every function runs
 * inside the caller's write transaction (feedback_sms_apply_*), so what
 * is read cannot change before it is written.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

/* The ids in column 0 of S's rows into IDS (up to MAX), *N of them. */
static int
ids_of(struct store *st, struct db_stmt *s, int64_t *ids, size_t max,
    size_t *n, const char *what)
{
	int rc = DB_DONE;

	*n = 0;
	while (*n < max && (rc = db_step(s)) == DB_ROW)
		ids[(*n)++] = db_col_int(s, 0);
	if (*n == max)
		rc = DB_DONE;
	store_done(s);
	return rc == DB_DONE ? 0 : store_fail(st, what);
}

int
store_feedback_customers(struct store *st, const char *phone, int64_t *ids,
    size_t max, size_t *n)
{
	struct db_stmt *s;

	*n = 0;
	if ((s = store_stmt(st, SQ_FEEDBACK_CUSTOMERS, "SELECT id FROM"
	    " customers WHERE phone = ?1"
	    " ORDER BY id LIMIT ?2")) == NULL)
		return -1;
	db_bind_text(s, 1, phone);
	db_bind_int(s, 2, (int64_t)max);
	return ids_of(st, s, ids, max, n, "customers");
}

int
store_feedback_sms_queued(struct store *st, const char *phone, int64_t *ids,
    size_t max, size_t *n)
{
	struct db_stmt *s;

	*n = 0;
	/*
	 * Jobs to the number, through its customers' jobs.  Only queued
	 * ones: a job being sent is in a worker's hands, and one sent is
	 * past withdrawing.  A job queued before the customer's number
	 * changed goes to the old number, and the send-time check
	 * withdraws it for that (outbox/sms.c, still_allowed).
	 */
	if ((s = store_stmt(st, SQ_FEEDBACK_QUEUED, "SELECT o.id FROM"
	    " customers c JOIN outbox o"
	    " ON o.kind = 'sms' AND o.customer_id = c.id"
	    " WHERE c.phone = ?1 AND o.recipients = ?1 AND o.state = 'queued'"
	    " ORDER BY o.id LIMIT ?2")) == NULL)
		return -1;
	db_bind_text(s, 1, phone);
	db_bind_int(s, 2, (int64_t)max);
	return ids_of(st, s, ids, max, n, "outbox");
}

int
store_feedback_sms_regrant(struct store *st, const char *phone,
    const char *source, const char *evidence, int64_t at, int64_t *ids,
    size_t max, size_t *n, int64_t *skipped)
{
	struct store_consent c;
	enum store_change changed;
	int64_t id;
	struct db_stmt *s;
	int rc, ever, live;

	*n = 0;
	*skipped = 0;
	/*
	 * Per customer with the number: whether they ever granted SMS
	 * consent, and whether it stands now (granted, and since the
	 * number's last opt-out).
	 */
	if ((s = store_stmt(st, SQ_FEEDBACK_REGRANT, "SELECT c.id,"
	    " EXISTS (SELECT 1 FROM consent_history h"
	    "  WHERE h.customer_id = c.id AND h.channel = 'sms'"
	    "  AND h.granted = 1),"
	    " CASE WHEN k.granted = 1 AND k.recorded_at > coalesce((SELECT"
	    "  p.at FROM phone_status p WHERE p.phone = c.phone"
	    "  AND p.status = 'opted_out'), -9223372036854775807 - 1)"
	    "  THEN 1 ELSE 0 END"
	    " FROM customers c LEFT JOIN consent k ON k.customer_id = c.id"
	    "  AND k.channel = 'sms'"
	    " WHERE c.phone = ?1 ORDER BY c.id LIMIT ?2")) == NULL)
		return -1;
	db_bind_text(s, 1, phone);
	db_bind_int(s, 2, (int64_t)max);
	while ((rc = db_step(s)) == DB_ROW) {
		id = db_col_int(s, 0);
		ever = db_col_int(s, 1);
		live = db_col_int(s, 2);
		if (live)
			continue;
		if (!ever) {
			(*skipped)++;
			continue;
		}
		memset(&c, 0, sizeof(c));
		c.customer_id = id;
		c.channel = CHANNEL_SMS;
		c.granted = 1;
		c.source = source;
		c.recorded_at = at;
		c.evidence = evidence;
		if (store_consent_record(st, &c, 0, &changed) == -1) {
			store_done(s);
			return -1;
		}
		/* a later statement stays current: not granted by this */
		if (changed != STORE_UNCHANGED)
			ids[(*n)++] = id;
	}
	store_done(s);
	return rc == DB_DONE ? 0 : store_fail(st, "consent");
}

int
store_feedback_sms_job(struct store *st, const char *phone, const char *ref,
    int64_t job, int64_t *id)
{
	struct db_stmt *s;
	int rc;

	*id = 0;
	/* no gap in the numbers: PostgreSQL cannot type a parameter
	 * that the SQL never uses */
	if (job > 0)
		s = store_stmt(st, SQ_FEEDBACK_JOB_ID, "SELECT id FROM outbox"
		    " WHERE id = ?2"
		    " AND kind = 'sms' AND (?1 = '' OR recipients = ?1)");
	else if (ref != NULL && ref[0] != '\0' && phone[0] != '\0')
		s = store_stmt(st, SQ_FEEDBACK_JOB_REF, "SELECT o.id FROM"
		    " customers c JOIN outbox o"
		    " ON o.kind = 'sms' AND o.customer_id = c.id"
		    " WHERE c.phone = ?1 AND o.gateway_ref = ?2 LIMIT 1");
	else
		return 1;
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, phone);
	if (job > 0)
		db_bind_int(s, 2, job);
	else
		db_bind_text(s, 2, ref);
	rc = db_step(s);
	if (rc == DB_ROW)
		*id = db_col_int(s, 0);
	store_done(s);
	if (rc == DB_ROW)
		return 0;
	return rc == DB_DONE ? 1 : store_fail(st, "outbox");
}
