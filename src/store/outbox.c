/*
 * outbox.c - the durable queue of tailored copies.
 *
 * A claim is one UPDATE ... RETURNING: the row moves to 'sending' with a
 * lease in the same statement that picks it, so two workers never take
 * the same job, and a worker killed mid-send leaves a lease that runs
 * out rather than a job that is lost.  On PostgreSQL the pick locks the
 * row and passes over rows other claims have locked (FOR UPDATE SKIP
 * LOCKED): a fleet's workers claim side by side, outside the writers'
 * lock, and never the same job.
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
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_OUTBOX_ADD, "INSERT INTO outbox (kind,"
	    " campaign_id, message_key, variant, sender, recipients, message,"
	    " not_before, next_at, state, created_at, nonce, customer_id,"
	    " time_zone, country, region)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, 'queued', ?9, ?10,"
	    " ?11, ?12, ?13, ?14)"
	    /* an SMS queued meanwhile is no error: on PostgreSQL an
	     * error would abort the caller's transaction */
	    " ON CONFLICT (customer_id, campaign_id) WHERE kind = 'sms'"
	    " DO NOTHING RETURNING id");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, j->kind);
	db_bind_text(s, 2, j->campaign_id);
	db_bind_text(s, 3, j->message_key);
	db_bind_text(s, 4, j->variant);
	db_bind_text(s, 5, j->sender);
	db_bind_text(s, 6, j->recipients);
	if (strcmp(j->kind, "email") == 0)
		db_bind_zeroblob(s, 7, 0);
	else
		db_bind_blob(s, 7, j->message, j->len);
	db_bind_int(s, 8, j->not_before);
	db_bind_int(s, 9, j->created_at);
	db_bind_text(s, 10, j->nonce != NULL ? j->nonce : "");
	if (j->customer_id != 0)
		db_bind_int(s, 11, j->customer_id);
	db_bind_text(s, 12, j->time_zone);
	db_bind_text(s, 13, j->country);
	db_bind_text(s, 14, j->region);
	if ((rc = db_step(s)) == DB_ROW) {
		*id = db_col_int(s, 0);
		rc = db_step(s);
	} else if (rc == DB_DONE)
		rc = DB_UNIQUE;		/* no row: the SMS was queued */
	store_done(s);
	if (rc == DB_UNIQUE)
		return 1;
	if (rc != DB_DONE)
		return store_fail(st, "outbox");
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
	struct db_blob	*b;
	size_t		 at;
	int		 failed;	/* db_errmsg() says why */
};

static int
blob_put(void *arg, const void *p, size_t n)
{
	struct blob_writer *w = arg;

	if (db_blob_write(w->b, p, n, w->at) == -1) {
		w->failed = 1;
		return -1;
	}
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
	struct blob_writer w = { NULL, 0, 0 };
	struct db_stmt *s;
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
	db_bind_int(s, 1, rowid);
	db_bind_zeroblob(s, 2, j->len);
	rc = db_step(s);
	store_done(s);
	if (rc != DB_DONE)
		return store_fail(st, "outbox: message");
	if (db_blob_open(st->db, "outbox_body", "message", "job_id", rowid,
	    j->len, 1, &w.b) == -1)
		return store_fail(st, "outbox: message");
	rc = fill(arg, blob_put, &w);
	if (w.failed) {
		store_fail(st, "outbox: message");
		db_blob_close(w.b);
		return -1;
	}
	if (rc != 0 || w.at != j->len) {
		db_blob_close(w.b);
		return store_failf(st, "outbox: message: %zu of %zu bytes"
		    " written", w.at, j->len);
	}
	if (db_blob_close(w.b) == -1)
		return store_fail(st, "outbox: message");
	if (id != NULL)
		*id = rowid;
	return 0;
}

static void
job_from_row(struct db_stmt *s, struct store_job *j, int with_message)
{
	memset(j, 0, sizeof(*j));
	j->id = db_col_int(s, 0);
	j->kind = db_col_text(s, 1);
	j->campaign_id = db_col_text(s, 2);
	j->message_key = db_col_text(s, 3);
	j->variant = db_col_text(s, 4);
	j->sender = db_col_text(s, 5);
	j->recipients = db_col_text(s, 6);
	j->not_before = db_col_int(s, 7);
	j->next_at = db_col_int(s, 8);
	j->attempts = db_col_int(s, 9);
	j->state = job_state_parse(db_col_text(s, 10));
	j->last_error = db_col_text(s, 11);
	j->created_at = db_col_int(s, 12);
	j->done_at = db_col_int(s, 13);
	j->nonce = db_col_text(s, 14);
	j->customer_id = db_col_int(s, 15);
	j->time_zone = db_col_text(s, 16);
	j->country = db_col_text(s, 17);
	j->region = db_col_text(s, 18);
	j->gateway_ref = db_col_text(s, 19);
	if (with_message) {
		/* an SMS's text (SQLite's NULL for an empty one); a
		 * copy's length, without reading the copy */
		if (strcmp(j->kind, "sms") == 0) {
			j->message = db_col_blob(s, 20, &j->len);
			if (j->message == NULL)
				j->message = "";
		} else
			j->len = (size_t)db_col_int(s, 21);
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

/* The job due first marked as being sent; LOCK is how the pick locks it. */
#define CLAIM_SQL(lock)							\
	"UPDATE outbox SET"						\
	" state = 'sending', lease_until = ?1 + ?2,"			\
	" attempts = attempts + 1, claimed_by = nullif(?5, '')"		\
	" WHERE id = (SELECT id FROM outbox"				\
	"  WHERE (state = 'queued' AND kind IN (?3, ?4) AND next_at <= ?1)" \
	"  OR (state = 'sending' AND kind IN (?3, ?4)"			\
	"   AND lease_until <= ?1)"					\
	"  ORDER BY next_at, id LIMIT 1" lock ")"			\
	" RETURNING " JOB_COLUMNS ", CASE kind WHEN 'sms' THEN message END," \
	" (SELECT length(b.message) FROM outbox_body b"			\
	"  WHERE b.job_id = outbox.id)"

/* Marks the job due first as being sent: 0 and *OUT, 1 for none, or -1
 * (*OUT may be set then: the caller frees it). */
static int
claim_due(struct store *st, int64_t now, int64_t lease, const char *email,
    const char *sms, struct store_job **out)
{
	struct store_job j;
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_OUTBOX_CLAIM, db_engine(st->db) == DB_PGSQL ?
	    CLAIM_SQL(" FOR UPDATE SKIP LOCKED") : CLAIM_SQL(""));
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, now);
	db_bind_int(s, 2, lease);
	db_bind_text(s, 3, email);
	db_bind_text(s, 4, sms);
	db_bind_text(s, 5, st->relay);
	rc = db_step(s);
	if (rc == DB_ROW) {
		job_from_row(s, &j, 1);
		*out = job_dup(&j);
		rc = db_step(s);
		store_done(s);
		if (rc != DB_DONE)
			return store_fail(st, "outbox claim");
		return 0;
	}
	store_done(s);
	return rc == DB_DONE ? 1 : store_fail(st, "outbox claim");
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
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_COPY_FORGET, "DELETE FROM copy_seen"
	    " WHERE nonce = ?1");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, nonce);
	rc = db_step(s);
	store_done(s);
	return rc == DB_DONE ? 0 : store_fail(st, "copy_seen");
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
	struct db_stmt *s;
	int rc;

	*next_at = 0;
	*out = NULL;
	if (store_begin_rows(st) == -1)
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
	    "  WHERE state = 'sending' AND kind IN (?1, ?2)) AS n");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, email);
	db_bind_text(s, 2, sms);
	if ((rc = db_step(s)) == DB_ROW)
		*next_at = db_col_int(s, 0);
	store_done(s);
	return rc == DB_ROW ? 1 : store_fail(st, "outbox");
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
	struct db_blob *b = NULL;
	int rc;

	if (db_blob_open(st->db, "outbox_body", "message", "job_id", id, 0, 0,
	    &b) == -1)
		return store_fail(st, "outbox: message");
	rc = db_blob_read(b, buf, len, at);
	if (rc == -1)
		store_failf(st, "outbox: job %lld: message: %s", (long long)id,
		    db_errmsg(st->db));
	db_blob_close(b);
	return rc;
}

int
store_outbox_update(struct store *st, int64_t id, enum store_job_state state,
    int64_t next_at, const char *error, int64_t now)
{
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_OUTBOX_UPDATE, "UPDATE outbox SET state = ?2,"
	    " next_at = ?3, last_error = ?4, lease_until = 0,"
	    " done_at = CASE WHEN ?2 IN ('sent', 'failed', 'cancelled')"
	    "  THEN ?5 END WHERE id = ?1");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, id);
	db_bind_text(s, 2, store_job_state_name(state));
	db_bind_int(s, 3, next_at);
	db_bind_text(s, 4, error);
	db_bind_int(s, 5, now);
	rc = db_step(s);
	store_done(s);
	if (rc != DB_DONE)
		return store_fail(st, "outbox");
	if (db_changes(st->db) != 1)
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
	db_bind_int(s, 1, id);
	rc = db_step(s);
	store_done(s);
	return rc == DB_DONE ? 0 : store_fail(st, "outbox");
}

int
store_outbox_hold(struct store *st, int64_t id, int64_t until,
    const char *why)
{
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_OUTBOX_HOLD, "UPDATE outbox SET state = 'queued',"
	    " next_at = ?2, last_error = ?3, lease_until = 0,"
	    " attempts = greatest(attempts - 1, 0) WHERE id = ?1");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, id);
	db_bind_int(s, 2, until);
	db_bind_text(s, 3, why);
	rc = db_step(s);
	store_done(s);
	return rc == DB_DONE ? 0 : store_fail(st, "outbox");
}

/* One integer from statement ID (SQL, binding ARG to ?1 if not 0). */
static int
outbox_int(struct store *st, enum store_stmt_id id, const char *sql,
    int64_t arg, int64_t *out)
{
	struct db_stmt *s;
	int rc;

	if ((s = store_stmt(st, id, sql)) == NULL)
		return -1;
	db_bind_int(s, 1, arg);
	if ((rc = db_step(s)) == DB_ROW)
		*out = db_col_int(s, 0);
	store_done(s);
	return rc == DB_ROW ? 0 : store_fail(st, "outbox");
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
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_OUTBOX_REF, "UPDATE outbox SET gateway_ref = ?2"
	    " WHERE id = ?1");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, id);
	db_bind_text(s, 2, ref);
	rc = db_step(s);
	store_done(s);
	return rc == DB_DONE ? 0 : store_fail(st, "outbox");
}

int
store_outbox_scan(struct store *st, store_job_fn fn, void *arg)
{
	struct store_job j;
	struct db_stmt *s;
	int rc, stop = 0;

	s = store_stmt(st, SQ_OUTBOX_SCAN, "SELECT " JOB_COLUMNS
	    " FROM outbox ORDER BY id");
	if (s == NULL)
		return -1;
	while (!stop && (rc = db_step(s)) == DB_ROW) {
		job_from_row(s, &j, 0);
		stop = fn(&j, arg);
	}
	store_done(s);
	if (!stop && rc != DB_DONE)
		return store_fail(st, "outbox");
	return stop;
}

/* Job ID read by S (its id ?1), as store_outbox_get() says. */
static int
outbox_get(struct store *st, struct db_stmt *s, int64_t id,
    struct store_job **out)
{
	struct store_job j;
	int rc;

	if (s == NULL)
		return -1;
	db_bind_int(s, 1, id);
	rc = db_step(s);
	if (rc == DB_ROW) {
		job_from_row(s, &j, 0);
		*out = job_dup(&j);
	}
	store_done(s);
	if (rc == DB_ROW)
		return 0;
	return rc == DB_DONE ? 1 : store_fail(st, "outbox");
}

int
store_outbox_get(struct store *st, int64_t id, struct store_job **out)
{
	return outbox_get(st, store_stmt(st, SQ_OUTBOX_GET, "SELECT "
	    JOB_COLUMNS " FROM outbox WHERE id = ?1"), id, out);
}

int
store_outbox_get_locked(struct store *st, int64_t id, struct store_job **out)
{
	/* SQLite's writer holds the file: no claim runs meanwhile */
	if (db_engine(st->db) != DB_PGSQL)
		return store_outbox_get(st, id, out);
	return outbox_get(st, store_stmt(st, SQ_OUTBOX_GET_LOCKED, "SELECT "
	    JOB_COLUMNS " FROM outbox WHERE id = ?1 FOR UPDATE"), id, out);
}


/* Jobs being sent by this relay's last process, ?2, or by nobody now. */
#define LEFT_SENDING	"state = 'sending' AND (claimed_by IS NULL" \
			" OR claimed_by = ?2 OR lease_until <= ?1)"
/* Those of them that segmilter on the re-injection port saw pass. */
#define SEEN_PASSING	LEFT_SENDING " AND kind = 'email' AND nonce <> ''" \
			" AND nonce IN (SELECT nonce FROM copy_seen)"

void
store_set_relay(struct store *st, const char *name)
{
	snprintf(st->relay, sizeof(st->relay), "%s", name);
}

int
store_outbox_recover(struct store *st, int64_t now, int64_t *queued,
    int64_t *sent)
{
	struct db_stmt *s;
	int rc;

	*queued = *sent = 0;
	if (store_begin(st) == -1)
		return -1;
	/* seen on the re-injection port: the far end has it, bodies go */
	s = store_stmt(st, SQ_OUTBOX_RECOVER_BODIES, "DELETE FROM outbox_body"
	    " WHERE job_id IN (SELECT id FROM outbox WHERE " SEEN_PASSING ")");
	if (s == NULL)
		goto fail;
	db_bind_int(s, 1, now);
	db_bind_text(s, 2, st->relay);
	rc = db_step(s);
	store_done(s);
	if (rc != DB_DONE)
		goto fail;
	s = store_stmt(st, SQ_OUTBOX_RECOVER_SENT, "UPDATE outbox SET"
	    " state = 'sent', done_at = ?1, lease_until = 0,"
	    " last_error = 'seen passing before a restart'"
	    " WHERE " SEEN_PASSING);
	if (s == NULL)
		goto fail;
	db_bind_int(s, 1, now);
	db_bind_text(s, 2, st->relay);
	rc = db_step(s);
	store_done(s);
	if (rc != DB_DONE)
		goto fail;
	*sent = db_changes(st->db);
	s = store_stmt(st, SQ_OUTBOX_RECOVER, "UPDATE outbox SET"
	    " state = 'queued', next_at = ?1, lease_until = 0,"
	    " last_error = 'interrupted by a restart' WHERE " LEFT_SENDING);
	if (s == NULL)
		goto fail;
	db_bind_int(s, 1, now);
	db_bind_text(s, 2, st->relay);
	rc = db_step(s);
	store_done(s);
	if (rc != DB_DONE)
		goto fail;
	*queued = db_changes(st->db);
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
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_COPY_SEEN, "INSERT INTO copy_seen (nonce,"
	    " queue_id, at) VALUES (?1, ?2, ?3) ON CONFLICT (nonce)"
	    " DO UPDATE SET queue_id = excluded.queue_id, at = excluded.at");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, nonce);
	db_bind_text(s, 2, qid);
	db_bind_int(s, 3, now);
	rc = db_step(s);
	store_done(s);
	return rc == DB_DONE ? 0 : store_fail(st, "copy_seen");
}

int
store_copy_was_seen(struct store *st, const char *nonce)
{
	struct db_stmt *s;
	int rc;

	s = store_stmt(st, SQ_COPY_WAS_SEEN, "SELECT 1 FROM copy_seen"
	    " WHERE nonce = ?1");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, nonce);
	rc = db_step(s);
	store_done(s);
	if (rc == DB_ROW)
		return 1;
	return rc == DB_DONE ? 0 : store_fail(st, "copy_seen");
}
