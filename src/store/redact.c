/*
 * redact.c - the audit keys that seal a customer's personal data in the
 * audit chain, and erasing a customer (store.h, store_customer_redact).
 *
 * A redaction is rare and runs a dozen statements once, so they are
 * prepared for the call rather than kept.  secure_delete is on for the
 * call: without it SQLite leaves a deleted or rewritten row's bytes in
 * the page's free space, readable in the file for months.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "store_int.h"
#include "xalloc.h"

int
store_audit_key_get(struct store *st, int64_t customer_id,
    struct store_audit_key *k)
{
	return store_audit_keys_get(st, &customer_id, 1, k);
}

int
store_audit_keys_get(struct store *st, const int64_t *ids, size_t n,
    struct store_audit_key *k)
{
	struct db_stmt *s;
	struct buf in;
	size_t off, m;
	int64_t i;
	int rc = DB_DONE;

	memset(k, 0, n * sizeof(*k));
	s = store_stmt(st, SQ_AUDIT_KEY_GET, "SELECT j.key, c.audit_key,"
	    " c.redacted_at FROM json_each(?1) j"
	    " JOIN customers c ON c.id = CAST(j.value AS BIGINT)");
	if (s == NULL)
		return -1;
	for (off = 0; off < n && rc == DB_DONE; off += m) {
		m = n - off < STORE_BATCH ? n - off : STORE_BATCH;
		buf_init(&in, STORE_BATCH_JSON_MAX);
		store_json_ints(&in, ids + off, m);
		db_bind_text(s, 1, buf_str(&in));
		while ((rc = db_step(s)) == DB_ROW)
			if ((i = db_col_int(s, 0)) >= 0 && (size_t)i < m)
				store_audit_key_read(s, 1, &k[off + i]);
		store_done(s);
		buf_free(&in);
	}
	return rc == DB_DONE ? 0 : store_fail(st, "audit key");
}

void
store_audit_key_read(struct db_stmt *s, int col, struct store_audit_key *k)
{
	const void *key;
	size_t n = 0;

	memset(k, 0, sizeof(*k));
	if (!db_col_null(s, col + 1))
		k->state = AUDIT_KEY_ERASED;
	else if ((key = db_col_blob(s, col, &n)) != NULL &&
	    n == STORE_AUDIT_KEY_LEN) {
		k->state = AUDIT_KEY_LIVE;
		memcpy(k->bytes, key, STORE_AUDIT_KEY_LEN);
	}
}

int
store_audit_key_put(struct store *st, int64_t customer_id,
    const unsigned char *key)
{
	struct db_stmt *s;

	s = store_stmt(st, SQ_AUDIT_KEY_PUT, "UPDATE customers"
	    " SET audit_key = ?2 WHERE id = ?1 AND audit_key IS NULL"
	    " AND redacted_at IS NULL");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, customer_id);
	db_bind_blob(s, 2, key, STORE_AUDIT_KEY_LEN);
	return store_run(st, s, "audit key");
}

/*
 * Runs SQL with ?1 the customer and ?2 the time.  *N (may be NULL): the
 * number SQL answers if it answers rows (a count), else plus the rows
 * it changed.
 */
static int
redact_run(struct store *st, const char *sql, int64_t id, int64_t at,
    int64_t *n)
{
	struct db_stmt *s;
	int rc;

	if ((s = db_prepare(st->db, sql, 0)) == NULL)
		return store_fail(st, "redact");
	if (db_param_count(s) >= 1)
		db_bind_int(s, 1, id);
	if (db_param_count(s) >= 2)
		db_bind_int(s, 2, at);
	rc = db_step(s);
	if (rc == DB_ROW && n != NULL)
		*n = db_col_int(s, 0);
	db_finalize(s);
	if (rc != DB_DONE && rc != DB_ROW)
		return store_fail(st, "redact");
	if (rc == DB_DONE && n != NULL)
		*n += db_changes(st->db);
	return 0;
}

/* LIST (one entry per line) without the line WHO, into a new string. */
static char *
lines_without(const char *list, const char *who, int *found)
{
	size_t n = strlen(who), len;
	const char *p, *eol;
	char *out = xmalloc(strlen(list) + 1), *q = out;

	*found = 0;
	for (p = list; *p != '\0'; p = *eol ? eol + 1 : eol) {
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		len = (size_t)(eol - p);
		if (len == n && memcmp(p, who, n) == 0) {
			*found = 1;
			continue;
		}
		if (q != out)
			*q++ = '\n';
		memcpy(q, p, len);
		q += len;
	}
	*q = '\0';
	return out;
}

/*
 * WHO (an address or a number) leaves the jobs that name it: a job for
 * it alone is cancelled if it was waiting and loses its body; a job for
 * others too keeps going without it.
 */
static int
redact_jobs(struct store *st, const char *who, int64_t *n)
{
	struct db_stmt *s, *u = NULL, *d = NULL;
	char *rest;
	int rc, found;

	if (who == NULL || *who == '\0')
		return 0;
	if ((s = db_prepare(st->db, "SELECT id, recipients FROM outbox"
	    " WHERE instr(recipients, ?1) > 0", 0)) == NULL ||
	    (d = db_prepare(st->db, "DELETE FROM outbox_body"
	    " WHERE job_id = ?1 AND ?2 = ''", 0)) == NULL ||
	    /* zeroblob(0), an empty blob: x'' is a bit string to
	     * PostgreSQL */
	    (u = db_prepare(st->db, "UPDATE outbox SET recipients = ?2,"
	    " message = CASE WHEN ?2 = '' THEN zeroblob(0) ELSE message END,"
	    " state = CASE WHEN ?2 = '' AND state = 'queued'"
	    "  THEN 'cancelled' ELSE state END,"
	    " last_error = CASE WHEN ?2 = '' AND state = 'queued'"
	    "  THEN 'recipient redacted' ELSE last_error END"
	    " WHERE id = ?1", 0)) == NULL) {
		db_finalize(s);
		db_finalize(d);
		return store_fail(st, "redact outbox");
	}
	db_bind_text(s, 1, who);
	while ((rc = db_step(s)) == DB_ROW) {
		rest = lines_without(db_col_text(s, 1), who, &found);
		if (found) {
			db_bind_int(u, 1, db_col_int(s, 0));
			db_bind_text(u, 2, rest);
			db_bind_int(d, 1, db_col_int(s, 0));
			db_bind_text(d, 2, rest);
			/* an email's body is in outbox_body, an SMS's text
			 * in the job */
			if ((rc = db_step(u)) == DB_DONE)
				rc = db_step(d);
			db_reset(u);
			db_reset(d);
			if (rc != DB_DONE) {
				free(rest);
				break;
			}
			(*n)++;
		}
		free(rest);
	}
	db_finalize(s);
	db_finalize(u);
	db_finalize(d);
	return rc == DB_DONE ? 0 : store_fail(st, "redact outbox");
}

/* The profile's address and number, copied: the jobs that name them. */
static int
redact_contacts(struct store *st, int64_t id, char **email, char **phone)
{
	struct db_stmt *s;
	int rc;

	*email = *phone = NULL;
	if ((s = db_prepare(st->db, "SELECT email, phone FROM customers"
	    " WHERE id = ?1", 0)) == NULL)
		return store_fail(st, "redact");
	db_bind_int(s, 1, id);
	if ((rc = db_step(s)) == DB_ROW) {
		*email = xstrdup(db_col_text(s, 0));
		if (db_col_text(s, 1) != NULL)
			*phone = xstrdup(db_col_text(s, 1));
	}
	db_finalize(s);
	if (rc == DB_DONE)
		return store_failf(st, "redact: no customer %lld",
		    (long long)id);
	return rc == DB_ROW ? 0 : store_fail(st, "redact");
}

int
store_customer_redact(struct store *st, int64_t id, int64_t at,
    struct store_redaction *r)
{
	char *email, *phone;
	int64_t v;
	int rc = -1, was_secure = -1;

	memset(r, 0, sizeof(*r));
	if (redact_contacts(st, id, &email, &phone) == -1)
		return -1;
	/* PostgreSQL has no such setting: a dead row's bytes stay in its
	 * page until VACUUM reuses the space */
	if (db_engine(st->db) == DB_SQLITE) {
		if (redact_run(st, "PRAGMA secure_delete", 0, 0, &v) == -1)
			goto out;
		was_secure = v != 0;
		if (store_exec(st, "PRAGMA secure_delete = ON") == -1)
			goto out;
	}
	if (redact_jobs(st, email, &r->jobs) == -1 ||
	    redact_jobs(st, phone, &r->jobs) == -1 ||
	    redact_run(st, "UPDATE outbox SET state = 'cancelled',"
	    " last_error = 'recipient redacted' WHERE kind = 'sms'"
	    " AND customer_id = ?1 AND state = 'queued'", id, 0,
	    &r->jobs) == -1 ||
	    redact_run(st, "UPDATE customers SET email = 'redacted:' || id,"
	    " external_id = NULL, first_name = NULL, last_name = NULL,"
	    " phone = NULL, country = NULL, region = NULL, currency = NULL,"
	    " language = NULL, time_zone = NULL, company = NULL,"
	    " tags = NULL, audit_key = NULL, redacted_at = ?2"
	    " WHERE id = ?1", id, at, NULL) == -1 ||
	    redact_run(st, "DELETE FROM consent WHERE customer_id = ?1", id,
	    0, &r->consent_rows) == -1 ||
	    redact_run(st, "DELETE FROM consent_history WHERE"
	    " customer_id = ?1", id, 0, &r->consent_rows) == -1 ||
	    redact_run(st, "DELETE FROM events WHERE customer_id = ?1", id,
	    0, &r->events) == -1 ||
	    redact_run(st, "DELETE FROM email_cadence WHERE"
	    " customer_id = ?1", id, 0, NULL) == -1 ||
	    redact_run(st, "DELETE FROM customer_segments WHERE"
	    " customer_id = ?1", id, 0, NULL) == -1 ||
	    redact_run(st, "DELETE FROM customer_interests WHERE"
	    " customer_id = ?1", id, 0, NULL) == -1 ||
	    redact_run(st, "DELETE FROM webhook_objects WHERE"
	    " kind = 'customer' AND local_id = ?1", id, 0, NULL) == -1 ||
	    redact_run(st, STORE_LEDGER_CAMPAIGNS "UPDATE ledger"
	    " SET recipient = 'redacted:' || lower(hex(randomblob(8)))"
	    " WHERE campaign_id IN (SELECT id FROM ledger_campaigns)"
	    " AND customer_id = ?1", id, 0,
	    &r->ledger_rows) == -1 ||
	    /* the sealed rows (audit_sealed): a redaction row is hashed
	     * as it stands, and keeps who asked */
	    redact_run(st, "UPDATE audit SET recipient = '', detail = '',"
	    " consent = '' WHERE customer_id = ?1 AND form = 2"
	    " AND decision <> 'redacted'", id, 0, &r->audit_rows) == -1)
		goto out;
	if (redact_run(st, "SELECT count(*) FROM audit WHERE"
	    " customer_id = ?1 AND form = 1", id, 0, &r->audit_unsealed) == -1)
		goto out;
	rc = 0;
out:
	/* as it was: the milter's deletes need not pay for it */
	if (was_secure != -1 && store_exec(st, was_secure ?
	    "PRAGMA secure_delete = ON" : "PRAGMA secure_delete = OFF") == -1)
		rc = -1;
	free(email);
	free(phone);
	return rc;
}
