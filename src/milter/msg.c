/*
 * msg.c - a message's state, and its end: the steps milter.h names, run
 * in order from milter_msg_eom (1. decide.c, 2. split.c renders the
 * parts, 3. record.c, 4. apply.c); and the path of a copy of ours that
 * comes back through the re-injection port.
 *
 * Order at the end of the message matters: rendering comes before the
 * transaction, so that a template error tempfails without recording a
 * delivery that did not happen; the transaction comes before any request
 * to the MTA, so that nothing is changed that the ledger does not know.
 * Between the lookups and the commit another message of the same
 * campaign may have delivered to a recipient; the ledger notices (a
 * delivery stands) and that recipient is removed as a duplicate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/evp.h>

#include "digest.h"
#include "msg_int.h"
#include "parse.h"
#include "store_outbox.h"
#include "str.h"
#include "xalloc.h"

#define HEADERS_MAX	(1024 * 1024)	/* Postfix allows 100 KB */

struct milter_msg *
milter_msg_new(void)
{
	struct milter_msg *m = xcalloc(1, sizeof(*m));

	buf_init(&m->headers, HEADERS_MAX);
	return m;
}

void
milter_msg_reset(struct milter_msg *m)
{
	size_t i;

	/* the next message, an abort or a close: the MTA has its answer */
	if (m->copy_anchor[0] != '\0') {
		daemon_log(LOG_INFO, m->qid, "%s", m->copy_anchor);
		m->copy_anchor[0] = '\0';
	}
	for (i = 0; i < m->nrcpts; i++) {
		free(m->rcpts[i].addr);
		msg_sms_free(&m->rcpts[i]);
	}
	m->nrcpts = 0;
	free(m->sender);
	m->sender = NULL;
	buf_reset(&m->headers);
	m->campaign_headers = 0;
	m->dkim_headers = 0;
	m->campaign[0] = '\0';
	m->bad_campaign = 0;
	m->message_id[0] = '\0';
	m->header_error = 0;
	spool_free(m->spool);
	m->spool = NULL;
	m->spool_error = 0;
	m->qid[0] = '\0';
	m->marker[0] = '\0';
	marker_body_free(m->marker_body);
	m->marker_body = NULL;
	m->own_copy = 0;
	m->sms_seen = 0;
}

void
milter_msg_free(struct milter_msg *m)
{
	if (m == NULL)
		return;
	milter_msg_reset(m);
	free(m->rcpts);
	free(m->facts);
	buf_free(&m->headers);
	free(m);
}

void
milter_msg_set_queue_id(struct milter_msg *m, const char *qid)
{
	if (qid != NULL && *qid != '\0') {
		snprintf(m->qid, sizeof(m->qid), "%s", qid);
		str_mask_controls(m->qid);	/* it starts every log line */
	}
}

void
milter_msg_sender(struct milter_msg *m, const char *addr)
{
	free(m->sender);
	m->sender = xstrdup(addr);
}

/* "<Ann@Example.COM>" -> "ann@example.com"; "" when it is no address. */
static void
normalise_rcpt(const char *addr, char *out, size_t outlen)
{
	char bare[320];
	const char *why;
	size_t n;

	while (*addr == ' ')
		addr++;
	if (*addr == '<')
		addr++;
	n = strcspn(addr, ">");
	if (n >= sizeof(bare))
		n = sizeof(bare) - 1;
	memcpy(bare, addr, n);
	bare[n] = '\0';
	if (parse_email(bare, out, outlen, &why) == -1)
		out[0] = '\0';
}

void
milter_msg_rcpt(struct milter_msg *m, const char *addr)
{
	struct milter_rcpt *r;

	if (m->nrcpts == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->rcpts = xreallocarray(m->rcpts, m->cap, sizeof(*m->rcpts));
	}
	r = &m->rcpts[m->nrcpts++];
	memset(r, 0, sizeof(*r));
	r->addr = xstrdup(addr);
	r->part = -1;
	normalise_rcpt(addr, r->email, sizeof(r->email));
}

/* VALUE without surrounding blanks, into OUT; 0, or -1 if it is empty. */
static int
trimmed(const char *value, char *out, size_t outlen)
{
	size_t n;

	while (*value == ' ' || *value == '\t' || *value == '\r' ||
	    *value == '\n')
		value++;
	n = strlen(value);
	while (n > 0 && strchr(" \t\r\n", value[n - 1]) != NULL)
		n--;
	if (n == 0 || n >= outlen)
		return -1;
	memcpy(out, value, n);
	out[n] = '\0';
	return 0;
}

int
msg_put_header(struct buf *out, const char *name, const char *value)
{
	const char *v;
	int rc = 0;

	rc |= buf_puts(out, name);
	rc |= buf_puts(out, ": ");
	for (v = value; *v != '\0'; v++) {
		if (*v == '\n' && (v == value || v[-1] != '\r'))
			rc |= buf_putc(out, '\r');
		rc |= buf_putc(out, *v);
	}
	rc |= buf_puts(out, "\r\n");
	return rc != 0 ? -1 : 0;
}

int
milter_msg_header(struct milter_msg *m, const struct daemon_env *env,
    const char *name, const char *value)
{
	int rc;

	if (strcasecmp(name, env->conf->milter.campaign_header) == 0) {
		if (m->campaign_headers++ == 0 &&
		    trimmed(value, m->campaign, sizeof(m->campaign)) == -1)
			m->bad_campaign = 1;
	} else if (strcasecmp(name, MARKER_HEADER) == 0 &&
	    m->marker[0] == '\0') {
		str_copy(m->marker, sizeof(m->marker), value);
	} else if (strcasecmp(name, "DKIM-Signature") == 0) {
		m->dkim_headers++;
	} else if (strcasecmp(name, "Message-ID") == 0 &&
	    m->message_id[0] == '\0') {
		if (trimmed(value, m->message_id, sizeof(m->message_id)) == -1)
			m->message_id[0] = '\0';
	}
	rc = msg_put_header(&m->headers, name, value);
	if (rc != 0 && !m->header_error) {
		daemon_log(LOG_ERR, m->qid, "headers over %d bytes",
		    HEADERS_MAX);
		m->header_error = 1;
	}
	return rc != 0 ? -1 : 0;
}

int
milter_msg_eoh(struct milter_msg *m, const struct daemon_env *env)
{
	if (m->marker[0] != '\0') {
		if (marker_parse(m->marker, &m->mk) == 0) {
			/*
			 * A marker is checked against the body and the
			 * recipients at the end.  Copies carry no campaign
			 * header.  One that does is spooled like any
			 * campaign: if its marker does not verify, or was
			 * used before, it is judged like one.
			 */
			m->marker_body = marker_body_new();
			if (m->campaign_headers == 0)
				return 2;
		} else {
			daemon_log(LOG_WARNING, m->qid, "%s is not a marker:"
			    " ignored", MARKER_HEADER);
		}
	}
	if (m->campaign_headers == 0)
		return 0;
	if (m->header_error)
		return -1;
	m->spool = spool_new((size_t)env->conf->milter.spool_memory_kb * 1024,
	    env->conf->milter.spool_dir);
	if (spool_write(m->spool, m->headers.data, m->headers.len) == -1 ||
	    spool_write(m->spool, "\r\n", 2) == -1) {
		daemon_log(LOG_ERR, m->qid, "spool: %s", spool_error(m->spool));
		return -1;
	}
	return 1;
}

int
milter_msg_body(struct milter_msg *m, const unsigned char *p, size_t len)
{
	if (m->marker_body != NULL)
		marker_body_add(m->marker_body, p, len);
	if (m->spool == NULL || m->spool_error)
		return m->marker_body != NULL && m->campaign_headers == 0 ?
		    0 : -1;
	if (spool_write(m->spool, p, len) == -1) {
		daemon_log(LOG_ERR, m->qid, "spool: %s", spool_error(m->spool));
		m->spool_error = 1;
		return -1;
	}
	return 0;
}

static void
store_lock(const struct daemon_env *env)
{
	if (env->store_lock != NULL)
		pthread_mutex_lock(env->store_lock);
}

static void
store_unlock(const struct daemon_env *env)
{
	if (env->store_lock != NULL)
		pthread_mutex_unlock(env->store_lock);
}

/*
 * A message without a Message-ID is known by its sender, recipients and
 * content: the ledger keys deliveries by message, and a client's retry
 * must be recognised as the same message (the queue id changes with
 * every attempt).  SHA-256 rather than BLAKE2b, though this needs no
 * more than to tell messages apart: it hashes every such message whole,
 * and with the SHA instructions of current x86 and ARM processors
 * OpenSSL's SHA-256 runs at 1.78 GB/s against BLAKE2b's 0.93 (16 KB
 * blocks, openssl speed, on the bench machine).
 */
static int
digest_chunk(void *arg, const void *p, size_t n)
{
	return EVP_DigestUpdate(arg, p, n) == 1 ? 0 : 1;
}

static void
message_fingerprint(struct milter_msg *m)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t i;
	EVP_MD_CTX *md;
	int rc;

	md = digest_sha256_begin();
	EVP_DigestUpdate(md, m->sender ? m->sender : "", m->sender ?
	    strlen(m->sender) : 0);
	for (i = 0; i < m->nrcpts; i++)
		EVP_DigestUpdate(md, m->rcpts[i].addr,
		    strlen(m->rcpts[i].addr) + 1);
	rc = spool_each(m->spool, digest_chunk, md);
	EVP_DigestFinal_ex(md, d, &n);
	EVP_MD_CTX_free(md);
	if (rc != 0)
		return;
	memcpy(m->message_id, "sha256:", 7);
	str_hex(d, n < 16 ? n : 16, m->message_id + 7);
}

/*
 * A copy of ours: the marker goes, nothing else changes.  That it went
 * through is noted too: if segmilter dies while its outbox waits for the
 * re-injection's reply, the restart knows the copy is already on its way
 * (store_outbox_recover) and does not send it twice.  The note is the
 * last thing done before the answer, so that the time in which a crash
 * loses a noted copy (noted, but the MTA never hears "continue") is what
 * lies between the commit and libmilter's write; the WAL's checkpoints
 * (src/daemon/checkpoint.c), the freeing of the message (mlfi.c) and
 * the audit head's log line (milter_msg_reset) are kept out of it:
 * t-fault lost a copy to a SIGKILL in it once in its fourth run of a
 * day.
 */
static enum milter_verdict
pass_copy(struct milter_msg *m, const struct daemon_env *env,
    struct store *st, int64_t now, const struct milter_ops *ops)
{
	char why[512];
	int rc = -1;

	daemon_log(LOG_INFO, m->qid, "copy %s: a segmilter copy, passed"
	    " untouched", m->mk.nonce);
	if (ops->chgheader(ops->ctx, MARKER_HEADER, 1, NULL) != 0)
		return MILTER_TEMPFAIL;
	str_copy(why, sizeof(why), "closed");
	if (st != NULL) {
		store_lock(env);
		if ((rc = msg_note_copy(m, env, st, now)) == -1)
			str_copy(why, sizeof(why), store_error(st));
		store_unlock(env);
	}
	if (rc == -1)
		daemon_log(LOG_WARNING, m->qid, "copy %s: not noted as passed"
		    " (store: %s): a crash now could send it twice",
		    m->mk.nonce, why);
	return MILTER_CONTINUE;
}

/*
 * Whether M's marker was made for this message: its body and its
 * recipients, under this relay's key.
 */
static int
marker_check(struct milter_msg *m, const struct daemon_env *env)
{
	char rcpts[MARKER_DIGEST_MAX], body[MARKER_DIGEST_MAX];
	int ok;

	marker_body_end(m->marker_body, body);
	m->marker_body = NULL;
	msg_rcpts_digest(m, MSG_ALL_RCPTS, rcpts);
	ok = marker_verify(env->conf->outbox.key, env->conf->outbox.keylen,
	    &m->mk, rcpts, body);
	if (!ok)
		daemon_log(LOG_WARNING, m->qid, "copy %s: %s does not verify"
		    " (another key, body or recipients): ignored", m->mk.nonce,
		    MARKER_HEADER);
	return ok;
}

enum milter_verdict
milter_msg_eom(struct milter_msg *m, const struct daemon_env *env,
    struct store *st, int64_t now, const struct milter_ops *ops)
{
	const struct campaign *c;
	struct msg_plan plan;
	enum milter_verdict v;
	char err[512], text[700];
	size_t kept, i;
	int64_t due;
	int rc;

	if (m->marker_body != NULL)
		m->own_copy = marker_check(m, env);
	if (m->own_copy) {
		/*
		 * A marker honoured once: the same marker again on a
		 * campaign message is someone replaying a copy they were
		 * sent, to get past suppression.
		 */
		if (m->campaign_headers > 0) {
			/* no store: no telling, so not honoured */
			rc = 1;
			if (st != NULL) {
				store_lock(env);
				rc = store_copy_was_seen(st, m->mk.nonce);
				store_unlock(env);
			}
			if (rc != 0) {
				daemon_log(LOG_WARNING, m->qid, "copy %s:"
				    " marker already used once (or store"
				    " error): judged as a campaign",
				    m->mk.nonce);
				m->own_copy = 0;
			}
		}
		if (m->own_copy)
			return pass_copy(m, env, st, now, ops);
	}
	if (m->campaign_headers == 0)
		return MILTER_CONTINUE;
	if (m->spool == NULL || m->spool_error) {
		msg_reply(ops, "451", "4.3.0", "segmilter: cannot hold the message,"
		    " try again later");
		return MILTER_TEMPFAIL;
	}
	if (m->bad_campaign ||
	    (c = campaign_find(env->campaigns, m->campaign)) == NULL) {
		daemon_log(LOG_ERR, m->qid, "campaign=%s: no such campaign in"
		    " %s: tempfail", m->campaign,
		    env->conf->milter.campaigns_dir);
		snprintf(text, sizeof(text), "segmilter: unknown campaign"
		    " '%s'", m->campaign);
		msg_reply(ops, "451", "4.7.1", text);
		return MILTER_TEMPFAIL;
	}
	if (st == NULL)
		return msg_store_failed(m, env, ops);
	if (m->message_id[0] == '\0')
		message_fingerprint(m);
	store_lock(env);
	/* the window the configuration's cap rules read, kept by the store */
	if ((rc = store_deliveries_window(st,
	    conf_cap_window_longest(env->conf) * 3600, now)) == -1)
		daemon_log(LOG_ERR, m->qid, "store: %s", store_error(st));
	else
		rc = msg_decide(m, env, c, st, now);
	store_unlock(env);
	if (rc == -1)
		return msg_store_failed(m, env, ops);
	msg_sms_decide(m, env, c, now);

	if (msg_plan_build(m, env, c, now, 1, &plan, err, sizeof(err)) ==
	    -1) {
		daemon_log(LOG_ERR, m->qid, "campaign=%s: render: %s:"
		    " tempfail", c->id, err);
		snprintf(text, sizeof(text), "segmilter: campaign %s: %s",
		    c->id, err);
		msg_reply(ops, "451", "4.7.0", text);
		msg_plan_free(&plan);
		return MILTER_TEMPFAIL;
	}
	if (plan.mixed)
		daemon_log(LOG_NOTICE, m->qid, "campaign=%s: recipients in"
		    " several variants and no outbox.reinject_url: the default"
		    " variant for all", c->id);

	store_lock(env);
	rc = msg_record(m, env, c, st, &plan, now);
	store_unlock(env);
	if (rc == -1) {
		msg_plan_free(&plan);
		return msg_store_failed(m, env, ops);
	}
	if ((due = msg_earliest_job(m, &plan, now)) != INT64_MAX &&
	    env->outbox_wake != NULL)
		env->outbox_wake(env->outbox_arg, due);
	msg_log_decisions(m, c);
	for (kept = 0, i = 0; i < m->nrcpts; i++)
		kept += m->rcpts[i].d.reason == POLICY_DELIVER;
	if (kept == 0 || plan.inplace == -1 ||
	    plan.parts[plan.inplace].n == 0) {
		if (kept > 0)
			msg_log_summary(m, c, &plan, kept, now);
		daemon_log(LOG_INFO, m->qid, "campaign=%s: nobody left in the"
		    " original: discarded", c->id);
		v = MILTER_DISCARD;
	} else if (msg_apply(m, env, &plan, now, ops) == -1) {
		daemon_log(LOG_ERR, m->qid, "campaign=%s: the MTA refused a"
		    " change: tempfail", c->id);
		v = MILTER_TEMPFAIL;
	} else {
		msg_log_summary(m, c, &plan, kept, now);
		v = MILTER_CONTINUE;
	}
	msg_plan_free(&plan);
	return v;
}
