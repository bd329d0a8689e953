/*
 * test_outbox.c - the outbox's pure parts and its store: backoff with
 * jitter, the copy marker (valid, forged, another key, tampered), jobs
 * through claim, lease, retry and completion on a real store, the
 * audit rows of what became of a job, and claims side by side on a
 * fleet's store, with the reads that change a job locking it.
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
#include "marker.h"
#include "unsub.h"
#include "outbox.h"
#include "store_audit.h"
#include "store_outbox.h"
#include "schema_later.h"
#include "tstore.h"

#define NOW	((int64_t)1795000000)

static void
test_backoff(void **state)
{
	(void)state;
	/* doubling from the base, the middle of the jitter range */
	assert_int_equal(outbox_backoff(30, 3600, 1, 0.5), 30);
	assert_int_equal(outbox_backoff(30, 3600, 2, 0.5), 60);
	assert_int_equal(outbox_backoff(30, 3600, 3, 0.5), 120);
	/* capped */
	assert_int_equal(outbox_backoff(30, 3600, 20, 0.5), 3600);
	assert_int_equal(outbox_backoff(30, 3600, 200, 0.5), 3600);
	/* jitter: half to one and a half times */
	assert_int_equal(outbox_backoff(30, 3600, 2, 0.0), 30);
	assert_int_equal(outbox_backoff(30, 3600, 2, 0.999), 89);
	/* never zero */
	assert_int_equal(outbox_backoff(1, 1, 1, 0.0), 1);
}

/* MARKER's fields, parsed; fails the test if it has not the form. */
static struct marker
parsed(const char *marker)
{
	struct marker mk;

	assert_int_equal(marker_parse(marker, &mk), 0);
	return mk;
}

static void
test_marker(void **state)
{
	const unsigned char key[] = "0123456789abcdef0123456789abcdef";
	const unsigned char other[] = "fedcba9876543210fedcba9876543210";
	const char *const to[] = { "rob@example.com", "ann@example.com" };
	const char *const swapped[] = { "ann@example.com", "rob@example.com" };
	const char *const fewer[] = { "ann@example.com" };
	char m1[MARKER_MAX], m2[MARKER_MAX], bad[MARKER_MAX], *p;
	char n1[MARKER_NONCE_MAX], n2[MARKER_NONCE_MAX];
	char rcpts[MARKER_DIGEST_MAX], r2[MARKER_DIGEST_MAX];
	char body[MARKER_DIGEST_MAX], b2[MARKER_DIGEST_MAX];
	struct marker_body *b;
	struct marker mk;

	(void)state;
	marker_rcpts(to, 2, rcpts);
	marker_rcpts(swapped, 2, r2);
	assert_string_equal(rcpts, r2);		/* any order */
	marker_rcpts(fewer, 1, r2);
	assert_string_not_equal(rcpts, r2);
	/* the body's digest: in any pieces, with any line ends */
	b = marker_body_new();
	marker_body_add(b, "Hello\r\nworld\r\n", 14);
	marker_body_end(b, body);
	b = marker_body_new();
	marker_body_add(b, "Hel", 3);
	marker_body_add(b, "lo\nwor", 6);
	marker_body_add(b, "ld\r", 3);
	marker_body_end(b, b2);
	assert_string_equal(body, b2);

	assert_int_equal(marker_make(key, 32, "spring", NOW, rcpts, body, m1,
	    sizeof(m1), n1), 0);
	assert_int_equal(marker_make(key, 32, "spring", NOW, rcpts, body, m2,
	    sizeof(m2), n2), 0);
	assert_string_not_equal(m1, m2);	/* a fresh nonce each time */
	assert_string_not_equal(n1, n2);
	assert_int_equal(strlen(n1), 24);
	mk = parsed(m1);
	assert_string_equal(mk.nonce, n1);
	assert_true(marker_verify(key, 32, &mk, rcpts, body));
	mk = parsed(m2);
	assert_true(marker_verify(key, 32, &mk, rcpts, body));
	/* another key, other recipients, another body */
	assert_false(marker_verify(other, 32, &mk, rcpts, body));
	assert_false(marker_verify(key, 0, &mk, rcpts, body));
	assert_false(marker_verify(key, 32, &mk, r2, body));
	b = marker_body_new();
	marker_body_add(b, "Hello world!", 12);
	marker_body_end(b, b2);
	assert_false(marker_verify(key, 32, &mk, rcpts, b2));
	/* any field changed breaks the MAC */
	snprintf(bad, sizeof(bad), "%s", m1);
	p = strstr(bad, "c=spring");
	p[2] = 'S';
	mk = parsed(bad);
	assert_false(marker_verify(key, 32, &mk, rcpts, body));
	snprintf(bad, sizeof(bad), "%s", m1);
	p = strstr(bad, "t=") + 2;
	*p = *p == '1' ? '2' : '1';
	mk = parsed(bad);
	assert_false(marker_verify(key, 32, &mk, rcpts, body));
	snprintf(bad, sizeof(bad), "%s", m1);
	p = strstr(bad, "mac=") + 4;
	*p = *p == '0' ? '1' : '0';
	mk = parsed(bad);
	assert_false(marker_verify(key, 32, &mk, rcpts, body));
	/* not a marker's form: version 1, short nonce, upper case, empty */
	assert_int_equal(marker_parse("v1; n=00; c=x; t=1; mac=00", &mk), -1);
	assert_int_equal(marker_parse("", &mk), -1);
	snprintf(bad, sizeof(bad), "%s", m1);
	p = strstr(bad, "n=") + 2;
	memmove(p, p + 2, strlen(p + 2) + 1);
	assert_int_equal(marker_parse(bad, &mk), -1);
	snprintf(bad, sizeof(bad), "%s", m1);
	p = strstr(bad, "mac=") + 4;
	*p = 'A';
	assert_int_equal(marker_parse(bad, &mk), -1);
}

/*
 * An unsubscribe link is no marker: the token's MAC, under the same key
 * file, over fields laid out as a marker's, does not verify.  Before
 * markers had a key of their own this was how anyone who had received a
 * campaign could make a marker.
 */
static void
test_marker_not_from_token(void **state)
{
	const unsigned char key[] = "0123456789abcdef0123456789abcdef";
	const char *const to[] = { "una@example.com" };
	char token[UNSUB_TOKEN_MAX], forged[MARKER_MAX], rcpts[MARKER_DIGEST_MAX];
	char campaign[64], email[320], body[MARKER_DIGEST_MAX];
	struct marker_body *b;
	struct marker mk;
	int64_t at;

	(void)state;
	marker_rcpts(to, 1, rcpts);
	b = marker_body_new();
	marker_body_end(b, body);
	/* a token for campaign "00ff..." and address "spring": a marker's
	 * nonce and campaign in its first two fields */
	assert_int_equal(unsub_token_make(key, 32, "00ff00ff00ff00ff00ff00ff",
	    "spring", NOW, token, sizeof(token)), 0);
	assert_int_equal(unsub_token_parse(key, 32, token, campaign,
	    sizeof(campaign), email, sizeof(email), &at), 0);
	snprintf(forged, sizeof(forged), "v2; n=%s; c=%s; t=%lld; r=%s;"
	    " mac=%s", campaign, email, (long long)at, rcpts,
	    strchr(token, '.') + 1);
	assert_int_equal(marker_parse(forged, &mk), 0);
	assert_false(marker_verify(key, 32, &mk, rcpts, body));
}

/* Claims an email job at NOW with a 600 s lease. */
static int
claim(struct store *st, int64_t now, struct store_job **j, int64_t *next)
{
	return store_outbox_claim(st, now, 600, STORE_JOB_EMAIL, j, next);
}

/* How many bytes of its copy job ID still keeps in the store at PATH. */
static int64_t
body_kept(const char *path, int64_t id)
{
	return tstore_int(path, "SELECT coalesce((SELECT length(message)"
	    " FROM outbox_body WHERE job_id = %lld), 0)", (long long)id);
}

/* J a due email job of campaign spring's to a@example.com (test_jobs's
 * first, with b@ too), created at NOW */
static void
email_job(struct store_job *j)
{
	memset(j, 0, sizeof(*j));
	j->kind = "email";
	j->campaign_id = "spring";
	j->message_key = "<m@x>";
	j->variant = "vip";
	j->sender = "<news@shop.example>";
	j->recipients = "a@example.com\n";
	j->message = "Subject: x\r\n\r\nbody\r\n";
	j->len = strlen(j->message);
	j->not_before = j->created_at = NOW;
}

/* A new store in a new directory DIR (DIRLEN bytes), its name in PATH */
static struct store *
new_store(char *dir, size_t dirlen, char *path, size_t pathlen)
{
	struct store *st;
	char err[512];

	snprintf(dir, dirlen, "/tmp/segm-outbox-XXXXXX");
	assert_non_null(mkdtemp(dir));
	tstore_name(dir, path, pathlen);
	if (store_open(path, STORE_CREATE, 1000, &st, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	return st;
}

/* ST closed and its directory DIR gone */
static void
drop_store(struct store *st, const char *dir)
{
	char cmd[96];

	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_jobs(void **state)
{
	struct store_job j, *got, *c;
	struct store *st;
	char dir[64], path[256], body[64];
	int64_t id1, id2, next, q, sent;

	(void)state;
	st = new_store(dir, sizeof(dir), path, sizeof(path));
	email_job(&j);
	j.recipients = "a@example.com\nb@example.com\n";
	assert_int_equal(store_outbox_add(st, &j, &id1), 0);
	j.variant = "lapsed";
	j.nonce = "n2";
	j.not_before = NOW + 3600;		/* held */
	assert_int_equal(store_outbox_add(st, &j, &id2), 0);

	/* the due one, with its message; the held one is not due */
	assert_int_equal(claim(st, NOW, &c, &next), 0);
	assert_int_equal(c->id, id1);
	assert_int_equal(c->attempts, 1);
	assert_int_equal(c->state, JOB_SENDING);
	assert_int_equal(c->len, j.len);
	assert_null(c->message);	/* read as it is sent */
	assert_int_equal(store_outbox_read(st, c->id, 2, body, j.len - 2), 0);
	assert_memory_equal(body, (const char *)j.message + 2, j.len - 2);
	assert_int_equal(store_outbox_read(st, c->id, 2, body, j.len), -1);
	assert_string_equal(c->recipients, j.recipients);
	store_job_free(c);
	assert_int_equal(claim(st, NOW, &c, &next), 1);
	assert_int_equal(next, NOW + 600);	/* id1's lease runs out first */

	/* a worker died: the lease runs out, the job is claimed again */
	assert_int_equal(claim(st, NOW + 600, &c, &next), 0);
	assert_int_equal(c->id, id1);
	assert_int_equal(c->attempts, 2);
	store_job_free(c);
	/* deferred, then sent */
	assert_int_equal(store_outbox_update(st, id1, JOB_QUEUED, NOW + 700,
	    "421 busy", NOW + 600), 0);
	/* deferred, it keeps its body; sent (below), it is the MTA's */
	assert_int_equal(body_kept(path, id1), (int64_t)j.len);
	assert_int_equal(claim(st, NOW + 650, &c, &next), 1);
	assert_int_equal(next, NOW + 700);
	assert_int_equal(claim(st, NOW + 700, &c, &next), 0);
	assert_int_equal(c->attempts, 3);
	assert_string_equal(c->last_error, "421 busy");
	store_job_free(c);
	assert_int_equal(store_outbox_update(st, id1, JOB_SENT, NOW + 700,
	    NULL, NOW + 700), 0);
	assert_int_equal(store_outbox_get(st, id1, &got), 0);
	assert_int_equal(got->state, JOB_SENT);
	assert_int_equal(got->done_at, NOW + 700);
	store_job_free(got);
	assert_int_equal(body_kept(path, id1), 0);
	assert_int_equal(body_kept(path, id2), (int64_t)j.len);

	/* the held job once its time has come */
	assert_int_equal(claim(st, NOW + 3600, &c, &next), 0);
	assert_int_equal(c->id, id2);
	store_job_free(c);
	/* a restart puts what was being sent back in the queue ... */
	assert_int_equal(store_outbox_recover(st, NOW + 3601, &q, &sent), 0);
	assert_int_equal(q, 1);
	assert_int_equal(sent, 0);
	assert_int_equal(store_outbox_get(st, id2, &got), 0);
	assert_int_equal(got->state, JOB_QUEUED);
	store_job_free(got);
	/* ... unless it was seen passing on the re-injection port */
	assert_int_equal(claim(st, NOW + 3601, &c, &next), 0);
	store_job_free(c);
	assert_int_equal(store_copy_seen(st, "n2", "4QCOPY", NOW + 3602), 0);
	assert_int_equal(store_outbox_recover(st, NOW + 3603, &q, &sent), 0);
	assert_int_equal(q, 0);
	assert_int_equal(sent, 1);
	assert_int_equal(store_outbox_get(st, id2, &got), 0);
	assert_int_equal(got->state, JOB_SENT);
	store_job_free(got);
	assert_int_equal(body_kept(path, id2), 0);
	/* ... by this attempt: one that passed, then was refused or cut
	 * off and deferred, does not make the next one sent unseen */
	j.kind = "email";
	j.nonce = "n4";
	j.not_before = NOW + 3603;
	assert_int_equal(store_outbox_add(st, &j, &id2), 0);
	assert_int_equal(claim(st, NOW + 3603, &c, &next), 0);
	assert_int_equal(c->id, id2);
	store_job_free(c);
	assert_int_equal(store_copy_seen(st, "n4", "4QCOPY1", NOW + 3603), 0);
	assert_int_equal(store_outbox_update(st, id2, JOB_QUEUED, NOW + 3604,
	    "421 shutting down", NOW + 3603), 0);
	assert_int_equal(claim(st, NOW + 3604, &c, &next), 0);
	assert_int_equal(c->attempts, 2);
	store_job_free(c);
	assert_int_equal(store_copy_was_seen(st, "n4"), 0);
	assert_int_equal(store_outbox_recover(st, NOW + 3605, &q, &sent), 0);
	assert_int_equal(q, 1);
	assert_int_equal(sent, 0);
	assert_int_equal(store_outbox_update(st, id2, JOB_SENT, 0, NULL,
	    NOW + 3606), 0);
	assert_string_equal(store_job_state_name(JOB_CANCELLED), "cancelled");
	assert_int_equal(store_outbox_update(st, 999, JOB_SENT, 0, NULL, 0),
	    -1);

	/* a worker claims only the kinds it can send */
	memset(&j, 0, sizeof(j));
	j.kind = "sms";
	j.campaign_id = "cart";
	j.message_key = "<c@x>";
	j.variant = "default";
	j.sender = "";
	j.recipients = "+15550001111";
	j.message = "Your cart";
	j.len = strlen(j.message);
	j.nonce = "sms-cart-1";
	j.customer_id = 1;
	j.not_before = j.created_at = NOW + 7200;
	assert_int_equal(store_outbox_add(st, &j, &id1), 0);
	assert_int_equal(claim(st, NOW + 7200, &c, &next), 1);
	assert_int_equal(next, 0);	/* none of its kinds waits */
	assert_int_equal(store_outbox_claim(st, NOW + 7200, 600,
	    STORE_JOB_EMAIL | STORE_JOB_SMS, &c, &next), 0);
	assert_int_equal(c->id, id1);
	assert_string_equal(c->kind, "sms");
	assert_int_equal(c->customer_id, 1);
	assert_string_equal(c->nonce, "sms-cart-1");
	store_job_free(c);
	/* a quiet-hours hold gives the attempt back */
	assert_int_equal(store_outbox_hold(st, id1, NOW + 9000, "quiet"), 0);
	assert_int_equal(store_outbox_claim(st, NOW + 9000, 600,
	    STORE_JOB_SMS, &c, &next), 0);
	assert_int_equal(c->attempts, 1);
	store_job_free(c);

	/* SMS held for quiet hours do not hide what is due, of each kind */
	for (q = 2; q <= 4; q++) {
		j.customer_id = q;
		j.not_before = NOW + 20000 + q;
		assert_int_equal(store_outbox_add(st, &j, &id2), 0);
	}
	memset(&j, 0, sizeof(j));
	j.kind = "email";
	j.campaign_id = "late";
	j.message_key = "<l@x>";
	j.variant = "default";
	j.sender = "<news@shop.example>";
	j.recipients = "c@example.com\n";
	j.message = "Subject: y\r\n\r\nbody\r\n";
	j.len = strlen(j.message);
	j.nonce = "n3";
	j.not_before = j.created_at = NOW + 9500;
	assert_int_equal(store_outbox_add(st, &j, &id2), 0);
	assert_int_equal(claim(st, NOW + 9100, &c, &next), 1);
	assert_int_equal(next, NOW + 9500);
	assert_int_equal(store_outbox_claim(st, NOW + 9100, 600,
	    STORE_JOB_SMS, &c, &next), 1);
	assert_int_equal(next, NOW + 9600);	/* id1's lease */
	assert_int_equal(store_outbox_claim(st, NOW + 9100, 600,
	    STORE_JOB_EMAIL | STORE_JOB_SMS, &c, &next), 1);
	assert_int_equal(next, NOW + 9500);
	assert_int_equal(store_outbox_claim(st, NOW + 9500, 600,
	    STORE_JOB_SMS, &c, &next), 1);
	assert_int_equal(claim(st, NOW + 9500, &c, &next), 0);
	assert_int_equal(c->id, id2);
	store_job_free(c);
	assert_int_equal(store_outbox_claim(st, NOW + 20002, 600,
	    STORE_JOB_EMAIL | STORE_JOB_SMS, &c, &next), 0);
	assert_string_equal(c->kind, "sms");	/* id1's lease ran out */
	assert_int_equal(c->id, id1);
	store_job_free(c);
	drop_store(st, dir);
}

/*
 * Schema 18: a store of 17 kept each email copy's body in its outbox
 * row.  The upgrade moves the bodies of copies not yet sent into
 * outbox_body, where a claim's length and the worker's reads find them;
 * an SMS keeps its text in the job.
 */
static void
test_bodies_moved(void **state)
{
	struct store_job j, *c;
	struct store *st;
	char dir[64], path[256], err[512], body[64];
	int64_t email, sms, next;

	(void)state;
	/* a PostgreSQL store starts at schema 20: it was never 17 */
	if (tstore_pgsql())
		skip();
	st = new_store(dir, sizeof(dir), path, sizeof(path));
	email_job(&j);
	j.nonce = "n1";
	assert_int_equal(store_outbox_add(st, &j, &email), 0);
	j.kind = "sms";
	j.recipients = "+15550001111";
	j.message = "Your cart";
	j.len = strlen(j.message);
	j.customer_id = 1;
	assert_int_equal(store_outbox_add(st, &j, &sms), 0);
	store_close(st);
	/* as schema 17 kept them */
	tstore_exec(path, "UPDATE outbox SET message ="
	    " (SELECT message FROM outbox_body WHERE job_id = outbox.id)"
	    " WHERE kind = 'email'; DROP TABLE outbox_body;"
	    SCHEMA_UNDO_19
	    " DELETE FROM schema_migrations WHERE version >= 18");

	assert_int_equal(store_open(path, STORE_CREATE, 5000, &st, err,
	    sizeof(err)), 0);
	assert_int_equal(body_kept(path, email), 20);
	assert_int_equal(claim(st, NOW, &c, &next), 0);
	assert_int_equal(c->id, email);
	assert_int_equal(c->len, 20);
	assert_int_equal(store_outbox_read(st, c->id, 0, body, c->len), 0);
	assert_memory_equal(body, "Subject: x\r\n\r\nbody\r\n", 20);
	store_job_free(c);
	assert_int_equal(store_outbox_claim(st, NOW, 600, STORE_JOB_SMS, &c,
	    &next), 0);
	assert_int_equal(c->id, sms);
	assert_int_equal(c->len, 9);
	assert_memory_equal(c->message, "Your cart", 9);
	store_job_free(c);
	drop_store(st, dir);
}

/* Each audit row's detail, one per line, into the buffer at ARG. */
static int
details(const struct store_audit *a, void *arg)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 1024 - n, "%s %s\n", a->decision, a->detail);
	return 0;
}

/*
 * An SMS job's audit rows say what the gateway said, and a row with no
 * reason says none: printf's "(null)" for a NULL WHY was every sent
 * SMS's detail (undefined behaviour besides).
 */
static void
test_audit_job(void **state)
{
	struct store_job j;
	struct store *st;
	char dir[64], path[256], got[1024] = "";
	char anchor[AUDIT_ANCHOR_MAX];

	(void)state;
	st = new_store(dir, sizeof(dir), path, sizeof(path));
	memset(&j, 0, sizeof(j));
	j.id = 7;
	j.attempts = 1;
	j.kind = "sms";
	j.campaign_id = "spring";
	j.message_key = "<m@x>";
	j.variant = "default";
	j.recipients = "+15551234567";
	j.customer_id = 42;
	assert_int_equal(store_begin(st), 0);
	anchor[0] = '\0';
	assert_int_equal(outbox_audit_job(st, &j, "sms_sent",
	    "HTTP 201, id SMabc", "hash", NOW, NULL), 0);
	assert_int_equal(outbox_audit_job(st, &j, "sms_sent", NULL, "hash",
	    NOW, NULL), 0);
	/* segctl outbox's copy_* names an SMS's rows sms_* */
	assert_int_equal(outbox_audit_job(st, &j, "copy_cancelled",
	    "by segctl outbox", "hash", NOW, anchor), 0);
	assert_non_null(strstr(anchor, "audit=3:"));
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_audit_scan(st, 0, details, got), 0);
	assert_string_equal(got,
	    "sms_sent outbox job 7 after 1 attempts: HTTP 201, id SMabc\n"
	    "sms_sent outbox job 7 after 1 attempts\n"
	    "sms_cancelled outbox job 7 after 1 attempts: by segctl outbox\n");
	drop_store(st, dir);
}

/*
 * PostgreSQL: a claim passes over the job another relay's worker has
 * locked, and waits neither for that nor for the writers' lock a relay
 * recording a message holds; the job is claimable again once the other
 * lets go.  Claiming under the writers' lock, or picking without SKIP
 * LOCKED, makes the claim wait into its lock timeout.
 */
static void
test_claims_side_by_side(void **state)
{
	struct store_job j, *c;
	struct store *st;
	struct db *other;
	char dir[64], path[256], sql[160];
	int64_t id1, id2, next;

	(void)state;
	if (!tstore_pgsql())
		skip();
	st = new_store(dir, sizeof(dir), path, sizeof(path));
	email_job(&j);
	assert_int_equal(store_outbox_add(st, &j, &id1), 0);
	j.created_at = NOW + 1;
	j.not_before = NOW + 1;
	assert_int_equal(store_outbox_add(st, &j, &id2), 0);

	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(1936025431);"
	    " SELECT id FROM outbox WHERE id = %lld FOR UPDATE",
	    (long long)id1);
	other = tstore_hold(path, sql);
	assert_int_equal(claim(st, NOW + 10, &c, &next), 0);
	assert_int_equal(c->id, id2);
	store_job_free(c);
	assert_int_equal(claim(st, NOW + 10, &c, &next), 1);
	tstore_release(other);
	assert_int_equal(claim(st, NOW + 10, &c, &next), 0);
	assert_int_equal(c->id, id1);
	store_job_free(c);
	drop_store(st, dir);
}

/*
 * PostgreSQL: a job read to be changed (segctl outbox retry or cancel, a
 * STOP withdrawing an SMS) is read locked.  A claim in progress
 * elsewhere is waited for (here into the lock timeout) rather than read
 * as it was; and while the row is held, a claim from another relay
 * passes over it, then takes it once it is let go.  A plain read fails
 * both halves.
 */
static void
test_job_read_locked(void **state)
{
	struct store_job j, *c;
	struct store *st, *other_relay;
	struct db *claiming;
	char dir[64], path[256], err[512], sql[96];
	int64_t id, next;

	(void)state;
	if (!tstore_pgsql())
		skip();
	st = new_store(dir, sizeof(dir), path, sizeof(path));
	email_job(&j);
	assert_int_equal(store_outbox_add(st, &j, &id), 0);

	snprintf(sql, sizeof(sql), "UPDATE outbox SET state = 'sending'"
	    " WHERE id = %lld", (long long)id);
	claiming = tstore_hold(path, sql);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_outbox_get_locked(st, id, &c), -1);
	store_rollback(st);
	tstore_release(claiming);

	assert_int_equal(store_open(path, 0, 1000, &other_relay, err,
	    sizeof(err)), 0);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_outbox_get_locked(st, id, &c), 0);
	assert_int_equal(c->state, JOB_QUEUED);
	store_job_free(c);
	assert_int_equal(claim(other_relay, NOW, &c, &next), 1);
	assert_int_equal(store_rollback(st), 0);
	assert_int_equal(claim(other_relay, NOW, &c, &next), 0);
	assert_int_equal(c->id, id);
	store_job_free(c);
	store_close(other_relay);
	drop_store(st, dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_marker),
		cmocka_unit_test(test_marker_not_from_token),
		cmocka_unit_test(test_jobs),
		cmocka_unit_test(test_bodies_moved),
		cmocka_unit_test(test_audit_job),
		cmocka_unit_test(test_claims_side_by_side),
		cmocka_unit_test(test_job_read_locked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
