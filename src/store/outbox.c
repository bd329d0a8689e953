/*
 * outbox.c - the durable queue of tailored copies.
 *
 * A claim is one UPDATE ... RETURNING: the row moves to 'sending' with a
 * lease in the same statement that picks it, so two workers never take
 * the same job, and a worker killed mid-send leaves a lease that runs
 * out rather than a job that is lost.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "xalloc.h"

static const char *const state_names[] = {
	[JOB_QUEUED] = "queued",
	[JOB_SENDING] = "sending",
	[JOB_SENT] = "sent",
	[JOB_FAILED] = "failed",
	[JOB_CANCELLED] = "cancelled",
};

const char *
store_job_state_name(enum store_job_state s)
{
	return s <= JOB_CANCELLED ? state_names[s] : "?";
}

static enum store_job_state
job_state_parse(const char *name)
{
	int i;

	for (i = 0; i <= JOB_CANCELLED; i++)
		if (name != NULL && strcmp(name, state_names[i]) == 0)
			return (enum store_job_state)i;
	return JOB_FAILED;
}

/* The row for J; an email's message goes in outbox_body, not here. */
static int
outbox_insert(struct store *st, const struct store_job *j, int64_t *id)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, SQ_OUTBOX_ADD, "INSERT INTO outbox (kind,"
	    " campaign_id, message_key, variant, sender, recipients, message,"
	    " not_before, next_at, state, created_at, nonce, customer_id,"
	    " time_zone, country, region)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, 'queued', ?9, ?10,"
	    " ?11, ?12, ?13, ?14)");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, j->kind);
	store_bind_text(s, 2, j->campaign_id);
	store_bind_text(s, 3, j->message_key);
	store_bind_text(s, 4, j->variant);
	store_bind_text(s, 5, j->sender);
	store_bind_text(s, 6, j->recipients);
	if (strcmp(j->kind, "email") == 0)
		sqlite3_bind_zeroblob64(s, 7, 0);
	else
		sqlite3_bind_blob64(s, 7, j->message, j->len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, j->not_before);
	sqlite3_bind_int64(s, 9, j->created_at);
	store_bind_text(s, 10, j->nonce != NULL ? j->nonce : "");
	if (j->customer_id != 0)
		sqlite3_bind_int64(s, 11, j->customer_id);
	store_bind_text(s, 12, j->time_zone);
	store_bind_text(s, 13, j->country);
	store_bind_text(s, 14, j->region);
	rc = sqlite3_step(s);
	store_done(s);
	/* the store runs with extended result codes */
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return 1;
	if (rc != SQLITE_DONE)
		return store_fail(st, "outbox");
	*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

/* store_fill_fn for a message held whole. */
static int
fill_whole(void *arg, store_put_fn put, void *w)
{
	const struct store_job *j = arg;

	return j->len > 0 ? put(w, j->message, j->len) : 0;
}

int
store_outbox_add(struct store *st, const struct store_job *j, int64_t *id)
{
	int64_t rowid;
	int rc;

	if (strcmp(j->kind, "email") == 0)
		return store_outbox_add_from(st, j, fill_whole, (void *)j, id);
	if ((rc = outbox_insert(st, j, &rowid)) == 0 && id != NULL)
		*id = rowid;
	return rc;
}

struct blob_writer {
	sqlite3_blob	*b;
	size_t		 at;
	size_t		 len;
	int		 rc;		/* SQLite's: SQLITE_OK, or why */
};

static int
blob_put(void *arg, const void *p, size_t n)
{
	struct blob_writer *w = arg;

	if (n > w->len - w->at || n > INT_MAX) {
		w->rc = SQLITE_TOOBIG;
		return -1;
	}
	if ((w->rc = sqlite3_blob_write(w->b, p, (int)n, (int)w->at)) !=
	    SQLITE_OK)
		return -1;
	w->at += n;
	return 0;
}

/*
 * The body goes in as zeros (a zeroblob in a row's last column is
 * written page by page, never made whole in memory), then the message
 * is written over them piece by piece through incremental blob I/O, in
 * the caller's transaction: the page cache spills to the WAL as it
 * fills.
 */
int
store_outbox_add_from(struct store *st, const struct store_job *j,
    store_fill_fn fill, void *arg, int64_t *id)
{
	struct blob_writer w = { NULL, 0, j->len, SQLITE_OK };
	sqlite3_stmt *s;
	int64_t rowid;
	int rc;

	if (j->len > INT_MAX)
		return store_failf(st, "outbox: message of %zu bytes, over"
		    " %d", j->len, INT_MAX);
	if ((rc = outbox_insert(st, j, &rowid)) != 0)
		return rc;
	s = store_stmt(st, SQ_OUTBOX_BODY_ADD, "INSERT INTO outbox_body"
	    " (job_id, message) VALUES (?1, ?2)");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, rowid);
	sqlite3_bind_zeroblob64(s, 2, j->len);
	rc = sqlite3_step(s);
	store_done(s);
	if (rc != SQLITE_DONE)
		return store_fail(st, "outbox: message");
	if (sqlite3_blob_open(st->db, "main", "outbox_body", "message", rowid,
	    1, &w.b) != SQLITE_OK) {
		store_fail(st, "outbox: message");
		sqlite3_blob_close(w.b);
		return -1;
	}
	rc = fill(arg, blob_put, &w);
	if (w.rc != SQLITE_OK) {
		store_failf(st, "outbox: message: %s", sqlite3_errstr(w.rc));
		sqlite3_blob_close(w.b);
		return -1;
	}
	if (sqlite3_blob_close(w.b) != SQLITE_OK)
		return store_fail(st, "outbox: message");
	if (rc != 0 || w.at != w.len)
		return store_failf(st, "outbox: message: %zu of %zu bytes"
		    " written", w.at, w.len);
	if (id != NULL)
		*id = rowid;
	return 0;
}

static void
job_from_row(sqlite3_stmt *s, struct store_job *j, int with_message)
{
	memset(j, 0, sizeof(*j));
	j->id = sqlite3_column_int64(s, 0);
	j->kind = store_col_text(s, 1);
	j->campaign_id = store_col_text(s, 2);
	j->message_key = store_col_text(s, 3);
	j->variant = store_col_text(s, 4);
	j->sender = store_col_text(s, 5);
	j->recipients = store_col_text(s, 6);
	j->not_before = sqlite3_column_int64(s, 7);
	j->next_at = sqlite3_column_int64(s, 8);
	j->attempts = sqlite3_column_int64(s, 9);
	j->state = job_state_parse(store_col_text(s, 10));
	j->last_error = store_col_text(s, 11);
	j->created_at = sqlite3_column_int64(s, 12);
	j->done_at = sqlite3_column_int64(s, 13);
	j->nonce = store_col_text(s, 14);
	j->customer_id = sqlite3_column_int64(s, 15);
	j->time_zone = store_col_text(s, 16);
	j->country = store_col_text(s, 17);
	j->region = store_col_text(s, 18);
	j->gateway_ref = store_col_text(s, 19);
	if (with_message) {
		/* an SMS's text (SQLite's NULL for an empty one); a
		 * copy's length, without reading the copy */
		if (strcmp(j->kind, "sms") == 0) {
			j->message = sqlite3_column_blob(s, 20);
			j->len = (size_t)sqlite3_column_bytes(s, 20);
			if (j->message == NULL)
				j->message = "";
		} else
			j->len = (size_t)sqlite3_column_int64(s, 21);
	}
}

#define JOB_COLUMNS	"id, kind, campaign_id, message_key, variant, sender," \
			" recipients, not_before, next_at, attempts, state," \
			" last_error, created_at, coalesce(done_at, 0), nonce," \
			" coalesce(customer_id, 0), time_zone, country, region," \
			" gateway_ref"

/*
 * A claimed job outlives its statement: the statement is reset at once,
 * since an UPDATE ... RETURNING left open keeps its write transaction
 * open on a handle the milter shares.
 */
static struct store_job *
job_dup(const struct store_job *src)
{
	struct store_job *j = xcalloc(1, sizeof(*j));
	void *msg = src->message != NULL ? xmalloc(src->len + 1) : NULL;

	*j = *src;
	j->kind = xstrdup(src->kind ? src->kind : "");
	j->campaign_id = xstrdup(src->campaign_id ? src->campaign_id : "");
	j->message_key = xstrdup(src->message_key ? src->message_key : "");
	j->variant = xstrdup(src->variant ? src->variant : "");
	j->sender = xstrdup(src->sender ? src->sender : "");
	j->recipients = xstrdup(src->recipients ? src->recipients : "");
	j->last_error = src->last_error ? xstrdup(src->last_error) : NULL;
	j->nonce = xstrdup(src->nonce ? src->nonce : "");
	j->time_zone = xstrdup(src->time_zone ? src->time_zone : "");
	j->country = xstrdup(src->country ? src->country : "");
	j->region = xstrdup(src->region ? src->region : "");
	j->gateway_ref = xstrdup(src->gateway_ref ? src->gateway_ref : "");
	if (msg != NULL && src->len > 0)
		memcpy(msg, src->message, src->len);
	j->message = msg;
	return j;
}

void
store_job_free(struct store_job *j)
{
	if (j == NULL)
		return;
	free((char *)j->kind);
	free((char *)j->campaign_id);
	free((char *)j->message_key);
	free((char *)j->variant);
	free((char *)j->sender);
	free((char *)j->recipients);
	free((char *)j->last_error);
	free((char *)j->nonce);
	free((char *)j->time_zone);
	free((char *)j->country);
	free((char *)j->region);
	free((char *)j->gateway_ref);
	free((void *)j->message);
	free(j);
}

/* Marks the job due first as being sent: 0 and *OUT, 1 for none, or -1
 * (*OUT may be set then: the caller frees it). */
static int
claim_due(struct store *st, int64_t now, int64_t lease, const char *email,
    const char *sms, struct store_job **out)
{
	struct store_job j;
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, SQ_OUTBOX_CLAIM, "UPDATE outbox SET"
	    " state = 'sending', lease_until = ?1 + ?2,"
	    " attempts = attempts + 1"
	    " WHERE id = (SELECT id FROM outbox"
	    "  WHERE (state = 'queued' AND kind IN (?3, ?4) AND next_at <= ?1)"
	    "  OR (state = 'sending' AND kind IN (?3, ?4)"
	    "   AND lease_until <= ?1)"
	    "  ORDER BY next_at, id LIMIT 1)"
	    " RETURNING " JOB_COLUMNS ", CASE kind WHEN 'sms' THEN message END,"
	    " (SELECT length(b.message) FROM outbox_body b"
	    "  WHERE b.job_id = outbox.id)");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, lease);
	store_bind_text(s, 3, email);
	store_bind_text(s, 4, sms);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		job_from_row(s, &j, 1);
		*out = job_dup(&j);
		rc = sqlite3_step(s);
		store_done(s);
		if (rc != SQLITE_DONE)
			return store_fail(st, "outbox claim");
		return 0;
	}
	store_done(s);
	return rc == SQLITE_DONE ? 1 : store_fail(st, "outbox claim");
}

/*
 * A copy's note (store_copy_seen) tells a restart that the attempt in
 * flight went through.  A note left by an earlier attempt, one that
 * passed segmilter but was then refused or cut off (a reload stopping
 * the re-injection smtpd, a timeout), would make the restart mark this
 * attempt sent unseen: it goes with the claim that starts the next one.
 */
static int
forget_seen(struct store *st, const char *nonce)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, SQ_COPY_FORGET, "DELETE FROM copy_seen"
	    " WHERE nonce = ?1");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, nonce);
	rc = sqlite3_step(s);
	store_done(s);
	return rc == SQLITE_DONE ? 0 : store_fail(st, "copy_seen");
}

int
store_outbox_claim(struct store *st, int64_t now, int64_t lease,
    int kinds, struct store_job **out, int64_t *next_at)
{
	/* kinds by name, so that outbox_due (state, kind, next_at) finds
	 * the due jobs without passing the held ones: an SMS campaign holds
	 * a job per recipient through quiet hours */
	const char *email = kinds & STORE_JOB_EMAIL ? "email" : NULL;
	const char *sms = kinds & STORE_JOB_SMS ? "sms" : NULL;
	sqlite3_stmt *s;
	int rc;

	*next_at = 0;
	*out = NULL;
	if (store_begin(st) == -1)
		return -1;
	rc = claim_due(st, now, lease, email, sms, out);
	if (rc == 0 && strcmp((*out)->kind, "email") == 0 &&
	    (*out)->nonce[0] != '\0' && forget_seen(st, (*out)->nonce) == -1)
		rc = -1;
	if (rc != -1 && store_commit(st) == -1)
		rc = -1;
	if (rc == -1) {
		store_job_free(*out);
		*out = NULL;
		store_rollback(st);
		return -1;
	}
	if (rc == 0)
		return 0;

	/* one index seek per kind, however many jobs are held */
	s = store_stmt(st, SQ_OUTBOX_NEXT, "SELECT min(t) FROM ("
	    " SELECT min(next_at) AS t FROM outbox"
	    "  WHERE state = 'queued' AND kind = ?1"
	    " UNION ALL SELECT min(next_at) FROM outbox"
	    "  WHERE state = 'queued' AND kind = ?2"
	    " UNION ALL SELECT min(lease_until) FROM outbox"
	    "  WHERE state = 'sending' AND kind IN (?1, ?2))");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, email);
	store_bind_text(s, 2, sms);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*next_at = sqlite3_column_int64(s, 0);
	store_done(s);
	return rc == SQLITE_ROW ? 1 : store_fail(st, "outbox");
}

/*
 * A read opens the blob anew: a handle kept open across a send would
 * hold a read transaction on the handle the milter shares, for as long
 * as the far end takes.
 */
int
store_outbox_read(struct store *st, int64_t id, size_t at, void *buf,
    size_t len)
{
	sqlite3_blob *b = NULL;
	int rc;

	if (at > INT_MAX || len > INT_MAX - at)
		return store_failf(st, "outbox: job %lld: read past %d bytes",
		    (long long)id, INT_MAX);
	if (sqlite3_blob_open(st->db, "main", "outbox_body", "message", id, 0,
	    &b) != SQLITE_OK) {
		store_fail(st, "outbox: message");
		sqlite3_blob_close(b);
		return -1;
	}
	rc = sqlite3_blob_read(b, buf, (int)len, (int)at);
	sqlite3_blob_close(b);
	if (rc != SQLITE_OK)
		return store_failf(st, "outbox: job %lld: message: %s",
		    (long long)id, sqlite3_errstr(rc));
	return 0;
}

int
store_outbox_update(struct store *st, int64_t id, enum store_job_state state,
    int64_t next_at, const char *error, int64_t now)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, SQ_OUTBOX_UPDATE, "UPDATE outbox SET state = ?2,"
	    " next_at = ?3, last_error = ?4, lease_until = 0,"
	    " done_at = CASE WHEN ?2 IN ('sent', 'failed', 'cancelled')"
	    "  THEN ?5 END WHERE id = ?1");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	store_bind_text(s, 2, store_job_state_name(state));
	sqlite3_bind_int64(s, 3, next_at);
	store_bind_text(s, 4, error);
	sqlite3_bind_int64(s, 5, now);
	rc = sqlite3_step(s);
	store_done(s);
	if (rc != SQLITE_DONE)
		return store_fail(st, "outbox");
	if (sqlite3_changes(st->db) != 1)
		return store_failf(st, "outbox: no job %lld", (long long)id);
	/*
	 * A copy sent is the MTA's now: its body goes (a broadcast split 50
	 * ways of a 31 MB message kept 983 MB), what the audit, the report
	 * and `segctl outbox` read stays.  A failed or cancelled copy keeps
	 * it for `segctl outbox retry`; an SMS text is small, and kept.
	 */
	if (state != JOB_SENT)
		return 0;
	s = store_stmt(st, SQ_OUTBOX_BODY_DROP, "DELETE FROM outbox_body"
	    " WHERE job_id = ?1");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	store_done(s);
	return rc == SQLITE_DONE ? 0 : store_fail(st, "outbox");
}

int
store_outbox_hold(struct store *st, int64_t id, int64_t until,
    const char *why)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, SQ_OUTBOX_HOLD, "UPDATE outbox SET state = 'queued',"
	    " next_at = ?2, last_error = ?3, lease_until = 0,"
	    " attempts = max(attempts - 1, 0) WHERE id = ?1");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, until);
	store_bind_text(s, 3, why);
	rc = sqlite3_step(s);
	store_done(s);
	return rc == SQLITE_DONE ? 0 : store_fail(st, "outbox");
}

/* One integer from statement ID (SQL, binding ARG to ?1 if not 0). */
static int
outbox_int(struct store *st, enum store_stmt_id id, const char *sql,
    int64_t arg, int64_t *out)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = store_stmt(st, id, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, arg);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	store_done(s);
	return rc == SQLITE_ROW ? 0 : store_fail(st, "outbox");
}

int
store_outbox_last_id(struct store *st, int64_t *id)
{
	return outbox_int(st, SQ_OUTBOX_LAST, "SELECT coalesce(max(id), 0)"
	    " FROM outbox", 0, id);
}

int
store_outbox_sms_after(struct store *st, int64_t after, int64_t *n)
{
	return outbox_int(st, SQ_OUTBOX_SMS_AFTER, "SELECT count(*) FROM"
	    " outbox WHERE id > ?1 AND kind = 'sms'", after, n);
}

int
store_outbox_set_ref(struct store *st, int64_t id, const char *ref)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, SQ_OUTBOX_REF, "UPDATE outbox SET gateway_ref = ?2"
	    " WHERE id = ?1");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	store_bind_text(s, 2, ref);
	rc = sqlite3_step(s);
	store_done(s);
	return rc == SQLITE_DONE ? 0 : store_fail(st, "outbox");
}

int
store_outbox_scan(struct store *st, store_job_fn fn, void *arg)
{
	struct store_job j;
	sqlite3_stmt *s;
	int rc, stop = 0;

	s = store_stmt(st, SQ_OUTBOX_SCAN, "SELECT " JOB_COLUMNS
	    " FROM outbox ORDER BY id");
	if (s == NULL)
		return -1;
	while (!stop && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		job_from_row(s, &j, 0);
		stop = fn(&j, arg);
	}
	store_done(s);
	if (!stop && rc != SQLITE_DONE)
		return store_fail(st, "outbox");
	return stop;
}

int
store_outbox_get(struct store *st, int64_t id, struct store_job **out)
{
	struct store_job j;
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, SQ_OUTBOX_GET, "SELECT " JOB_COLUMNS
	    " FROM outbox WHERE id = ?1");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		job_from_row(s, &j, 0);
		*out = job_dup(&j);
	}
	store_done(s);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : store_fail(st, "outbox");
}

/* Copies being sent that segmilter on the re-injection port saw pass. */
#define SEEN_PASSING	"state = 'sending' AND kind = 'email' AND nonce <> ''" \
			" AND nonce IN (SELECT nonce FROM copy_seen)"

int
store_outbox_recover(struct store *st, int64_t now, int64_t *queued,
    int64_t *sent)
{
	sqlite3_stmt *s;
	int rc;

	*queued = *sent = 0;
	if (store_begin(st) == -1)
		return -1;
	/* seen on the re-injection port: the far end has it, bodies go */
	s = store_stmt(st, SQ_OUTBOX_RECOVER_BODIES, "DELETE FROM outbox_body"
	    " WHERE job_id IN (SELECT id FROM outbox WHERE " SEEN_PASSING ")");
	if (s == NULL)
		goto fail;
	rc = sqlite3_step(s);
	store_done(s);
	if (rc != SQLITE_DONE)
		goto fail;
	s = store_stmt(st, SQ_OUTBOX_RECOVER_SENT, "UPDATE outbox SET"
	    " state = 'sent', done_at = ?1, lease_until = 0,"
	    " last_error = 'seen passing before a restart'"
	    " WHERE " SEEN_PASSING);
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, now);
	rc = sqlite3_step(s);
	store_done(s);
	if (rc != SQLITE_DONE)
		goto fail;
	*sent = sqlite3_changes(st->db);
	s = store_stmt(st, SQ_OUTBOX_RECOVER, "UPDATE outbox SET"
	    " state = 'queued', next_at = ?1, lease_until = 0,"
	    " last_error = 'interrupted by a restart' WHERE state = 'sending'");
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, now);
	rc = sqlite3_step(s);
	store_done(s);
	if (rc != SQLITE_DONE)
		goto fail;
	*queued = sqlite3_changes(st->db);
	if (store_commit(st) == -1)
		goto fail;
	return 0;
fail:
	store_fail(st, "outbox");
	store_rollback(st);
	return -1;
}

int
store_copy_seen(struct store *st, const char *nonce, const char *qid,
    int64_t now)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, SQ_COPY_SEEN, "INSERT INTO copy_seen (nonce,"
	    " queue_id, at) VALUES (?1, ?2, ?3) ON CONFLICT (nonce)"
	    " DO UPDATE SET queue_id = excluded.queue_id, at = excluded.at");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, nonce);
	store_bind_text(s, 2, qid);
	sqlite3_bind_int64(s, 3, now);
	rc = sqlite3_step(s);
	store_done(s);
	return rc == SQLITE_DONE ? 0 : store_fail(st, "copy_seen");
}

int
store_copy_was_seen(struct store *st, const char *nonce)
{
	sqlite3_stmt *s;
	int rc;

	s = store_stmt(st, SQ_COPY_WAS_SEEN, "SELECT 1 FROM copy_seen"
	    " WHERE nonce = ?1");
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, nonce);
	rc = sqlite3_step(s);
	store_done(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_fail(st, "copy_seen");
}
