/*
 * msg.c - a message's state and the end-of-message decision.
 *
 * Order at the end of the message matters: rendering comes before the
 * transaction, so that a template error tempfails without recording a
 * delivery that did not happen; the transaction comes before any request
 * to the MTA, so that nothing is changed that the ledger does not know.
 * Between the lookups and the commit another message of the same
 * campaign may have delivered to a recipient; the ledger notices (a
 * delivery stands) and that recipient is removed as a duplicate.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <openssl/evp.h>

#include "audit.h"
#include "buf.h"
#include "digest.h"
#include "milter.h"
#include "msg_int.h"
#include "parse.h"
#include "policy.h"
#include "render.h"
#include "segment.h"
#include "spool.h"
#include "str.h"
#include "template.h"
#include "unsub.h"
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

/* Template callbacks over a group. */
static const char *
group_value(void *arg, const char *name)
{
	const struct milter_group *g = arg;
	const char *v = campaign_value(g->c, g->variant, name);

	if (v != NULL || g->single == NULL || g->withheld)
		return v;
	if (strcmp(name, "first_name") == 0)
		v = g->single->r->first_name;
	else if (strcmp(name, "last_name") == 0)
		v = g->single->r->last_name;
	else if (strcmp(name, "company") == 0)
		v = g->single->r->company;
	else if (strcmp(name, "email") == 0)
		v = g->single->email;
	return v != NULL && *v != '\0' ? v : NULL;
}

static int
group_flag(void *arg, const char *name)
{
	const struct milter_group *g = arg;
	size_t i;

	for (i = 0; i < g->nflags; i++)
		if (strcmp(g->flags[i], name) == 0)
			return 1;
	return 0;
}

void
msg_vars(struct milter_group *g, const struct daemon_env *env,
    struct template_vars *vars)
{
	vars->value = group_value;
	vars->flag = group_flag;
	vars->arg = g;
	vars->unknown_empty = env->conf->milter.unknown_empty;
}

static int
rcpt_has_flag(const struct milter_rcpt *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->flags->n; i++)
		if (strcmp(r->flags->ptr[i], name) == 0)
			return 1;
	return 0;
}

/* ONLY: a variant, MSG_ALL_KEPT; or, with BY_PART, a part index. */
static int
in_group(const struct milter_rcpt *r, int only, int by_part)
{
	if (r->d.reason != POLICY_DELIVER)
		return 0;
	if (by_part)
		return r->part == only;
	return only == MSG_ALL_KEPT || r->d.variant == only;
}

static size_t
group_build(struct milter_msg *m, const struct campaign *c, int only,
    int by_part, struct milter_group *g, int *mixed)
{
	const struct milter_rcpt *first = NULL;
	size_t i, j, kept = 0;

	memset(g, 0, sizeof(*g));
	g->c = c;
	*mixed = 0;
	for (i = 0; i < m->nrcpts; i++) {
		if (!in_group(&m->rcpts[i], only, by_part))
			continue;
		if (first == NULL) {
			first = &m->rcpts[i];
			g->variant = first->d.variant;
		} else if (m->rcpts[i].d.variant != g->variant) {
			*mixed = 1;
		}
		kept++;
	}
	if (*mixed)
		g->variant = -1;
	if (first == NULL)
		return 0;
	g->single = kept == 1 ? first : NULL;
	g->flags = xcalloc(first->flags->n + 1, sizeof(*g->flags));
	for (j = 0; j < first->flags->n; j++) {
		for (i = 0; i < m->nrcpts; i++)
			if (in_group(&m->rcpts[i], only, by_part) &&
			    !rcpt_has_flag(&m->rcpts[i], first->flags->ptr[j]))
				break;
		if (i == m->nrcpts)
			g->flags[g->nflags++] = first->flags->ptr[j];
	}
	return kept;
}

size_t
msg_group(struct milter_msg *m, const struct campaign *c, int only,
    struct milter_group *g, int *mixed)
{
	return group_build(m, c, only, 0, g, mixed);
}

void
msg_part_group(struct milter_msg *m, const struct campaign *c, int p,
    struct milter_group *g)
{
	int mixed;

	group_build(m, c, p, 1, g, &mixed);
}

/* Every recipient's facts, in batches (store_recipients_get). */
static int
lookup_all(struct milter_msg *m, struct store *st, const char *campaign,
    int64_t now, int64_t window_secs)
{
	const char **emails;
	struct store_recipient **r;
	size_t i;
	int rc;

	/* what the array held was an earlier message's, and the store zeroes
	 * each record: neither a copy nor a calloc of 6.5 KB a recipient */
	if (m->nrcpts > m->facts_cap) {
		m->facts_cap = m->nrcpts;
		free(m->facts);
		m->facts = xreallocarray(NULL, m->facts_cap,
		    sizeof(*m->facts));
	}
	emails = xcalloc(m->nrcpts + 1, sizeof(*emails));
	r = xcalloc(m->nrcpts + 1, sizeof(*r));
	for (i = 0; i < m->nrcpts; i++) {
		m->rcpts[i].r = &m->facts[i].r;
		m->rcpts[i].flags = &m->facts[i].flags;
		emails[i] = m->rcpts[i].email;
		r[i] = m->rcpts[i].r;
	}
	rc = store_recipients_get(st, emails, m->nrcpts, campaign, now,
	    window_secs, r);
	free(emails);
	free(r);
	return rc;
}

int
msg_decide(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct store *st, int64_t now)
{
	const struct conf_policy *pol = &env->conf->policy;
	struct policy_campaign pc;
	struct policy_facts f;
	struct milter_rcpt *r;
	size_t i;

	memset(&pc, 0, sizeof(pc));
	pc.include = (const char *const *)c->include;
	pc.ninclude = c->ninclude;
	pc.exclude = (const char *const *)c->exclude;
	pc.nexclude = c->nexclude;
	pc.variants = c->variant_names;
	pc.nvariants = c->nvariants;
	pc.experiment = c->arms.experiment;
	pc.tailored = c->arms.tailored;
	pc.broad = c->arms.broad;
	pc.none = c->arms.none;
	pc.draws = env->draws;
	/* one snapshot, and one lock instead of one per statement */
	if (store_begin_read(st) == -1) {
		daemon_log(LOG_ERR, m->qid, "store: %s", store_error(st));
		store_rollback(st);
		return -1;
	}
	if (lookup_all(m, st, c->id, now, pol->cap_window_hours * 3600) == -1) {
		daemon_log(LOG_ERR, m->qid, "store: %s", store_error(st));
		store_rollback(st);
		return -1;
	}
	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		r->flags->n = 0;
		if (r->r->has_segment)
			segment_flags(&r->r->seg, r->flags);
		memset(&f, 0, sizeof(f));
		f.found = r->r->customer_id != 0;
		f.customer_id = r->r->customer_id;
		f.email_consent = r->r->has_consent && r->r->consent_granted;
		f.consent_at = r->r->consent_at;
		f.unsubscribed_at = r->r->unsubscribed_at;
		f.bounces = r->r->bounces_since_consent;
		f.complained_at = r->r->complained_at;
		f.soft_bounce_at = r->r->soft_bounce_at;
		f.nsoft_bounces = r->r->nsoft_bounces;
		f.unanswered = r->r->unanswered;
		f.last_delivery_at = r->r->last_delivery_at;
		f.min_gap_days = r->r->min_gap_days;
		f.deliveries_in_window = r->r->in_window;
		f.campaign_delivered_at = r->r->campaign_at;
		/*
		 * The MTA retrying this very message (it never got our
		 * answer): who was to get it in place did not get it.
		 * Whoever was given a copy has it queued: a duplicate.
		 */
		if (strcmp(r->r->campaign_route, "inplace") == 0 &&
		    strcmp(r->r->campaign_message, m->message_id[0] != '\0' ?
		    m->message_id : m->qid) == 0)
			f.campaign_delivered_at = 0;
		f.flags = r->flags->ptr;
		f.nflags = r->flags->n;
		policy_decide(pol, &pc, &f, now, &r->d);
	}
	/* SMS facts, and the newest job (SMS caps are checked against it) */
	if (msg_sms_lookup(m, env, c, st, now) == -1 ||
	    (c->sms.text != NULL && env->conf->sms.driver != SMS_OFF &&
	    store_outbox_last_id(st, &m->sms_seen) == -1)) {
		daemon_log(LOG_ERR, m->qid, "store: %s", store_error(st));
		store_rollback(st);
		return -1;
	}
	if (store_commit(st) == -1) {
		daemon_log(LOG_ERR, m->qid, "store: %s", store_error(st));
		store_rollback(st);
		return -1;
	}
	return 0;
}

/*
 * Every copy of the plan into the outbox, inside the transaction, after
 * the ledger: a recipient the ledger has just found delivered by another
 * message is out of their part (and of its marker), and a part left
 * empty sends nothing.
 */
static int
queue_copies(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct store *st, struct msg_plan *p,
    int64_t now)
{
	char from[PARSE_EMAIL_MAX + 3];
	struct store_job j;
	struct buf rcpts;
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < p->nparts; i++) {
		if ((int)i == p->inplace || p->parts[i].n == 0 ||
		    p->parts[i].copy.len == 0)
			continue;
		if (msg_copy_rebind(m, env, &p->parts[i], (int)i) == -1) {
			daemon_log(LOG_ERR, m->qid, "campaign=%s: cannot make"
			    " copy %zu's marker again", c->id, i + 1);
			return -1;
		}
		buf_init(&rcpts, 64 * 1024 * 1024);
		msg_part_recipients(m, (int)i, &rcpts);
		memset(&j, 0, sizeof(j));
		j.kind = "email";
		j.campaign_id = c->id;
		j.message_key = m->message_id[0] != '\0' ? m->message_id :
		    m->qid;
		j.variant = campaign_variant_name(c, p->parts[i].g.variant);
		j.sender = m->sender != NULL ? m->sender : "<>";
		if (msg_return_path(m, env, &p->parts[i], from,
		    sizeof(from)) == 0)
			j.sender = from;
		j.recipients = buf_str(&rcpts);
		j.message = p->parts[i].copy.data;
		j.len = p->parts[i].copy.len;
		j.nonce = p->parts[i].nonce;
		j.not_before = p->parts[i].send_after > now ?
		    p->parts[i].send_after : now;
		j.created_at = now;
		rc = store_outbox_add(st, &j, &p->parts[i].job);
		buf_free(&rcpts);
	}
	return rc;
}

/* The ledger row for R; a delivery that loses to another message's
 * becomes a duplicate, out of its part. */
static int
record_ledger(struct milter_msg *m, const struct campaign *c,
    struct store *st, struct msg_plan *p, struct milter_rcpt *r, int64_t now)
{
	struct store_ledger l;
	int written = 1;

	if (r->d.reason == POLICY_DUPLICATE)
		return 0;	/* its row is the delivery that stands */
	memset(&l, 0, sizeof(l));
	l.campaign_id = c->id;
	l.recipient = r->email[0] != '\0' ? r->email : r->addr;
	l.message_key = m->message_id[0] != '\0' ? m->message_id : m->qid;
	l.customer_id = r->r->customer_id;
	l.queue_id = m->qid;
	l.decision = policy_reason_name(r->d.reason);
	l.variant = r->d.reason == POLICY_DELIVER ?
	    campaign_variant_name(c, r->d.variant) : NULL;
	l.route = r->part < 0 ? NULL : r->part == p->inplace ? "inplace" :
	    "copy";
	l.at = now;
	l.arm = r->d.arm != ARM_UNSET ? policy_arm_name(r->d.arm) : NULL;
	l.segment = r->r->has_segment ?
	    conf_lifecycle_name(r->r->seg.lifecycle) : NULL;
	if (store_ledger_put(st, &l, &written) == -1)
		return -1;
	if (!written && r->d.reason == POLICY_DELIVER) {
		r->d.reason = POLICY_DUPLICATE;
		snprintf(r->d.detail, sizeof(r->d.detail), "delivered by"
		    " another message meanwhile");
		if (r->part >= 0)
			p->parts[r->part].n--;
		r->part = -1;
	}
	return 0;
}

static int
record_audit(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct store *st, struct audit_chain *ch,
    const struct msg_plan *p, const struct milter_rcpt *r, int64_t now)
{
	const struct msg_part *part = r->part >= 0 ? &p->parts[r->part] :
	    NULL;
	struct store_audit a;
	char detail[sizeof(r->d.detail) + 96], when[32];

	str_copy(detail, sizeof(detail), r->d.detail);
	if (part != NULL && part->job != 0) {
		format_time(part->send_after, when, sizeof(when));
		snprintf(detail, sizeof(detail), "%s%scopy, outbox job %lld%s%s",
		    r->d.detail, r->d.detail[0] ? "; " : "",
		    (long long)part->job, part->send_after > now ?
		    ", held until " : "", part->send_after > now ? when : "");
	}
	memset(&a, 0, sizeof(a));
	a.at = now;
	a.channel = "email";
	a.queue_id = m->qid;
	a.message_id = m->message_id;
	a.campaign_id = c->id;
	a.recipient = r->email[0] != '\0' ? r->email : r->addr;
	a.customer_id = r->r->customer_id;
	/* a delivery of the broad arm says so: the default is no accident */
	a.decision = r->d.reason == POLICY_DELIVER && r->d.arm == ARM_BROAD ?
	    "broad" : policy_reason_name(r->d.reason);
	a.detail = detail;
	a.segment = r->r->has_segment ?
	    conf_lifecycle_name(r->r->seg.lifecycle) : "";
	a.variant = r->d.reason == POLICY_DELIVER ?
	    campaign_variant_name(c, r->d.variant) : "";
	a.consent = r->r->has_consent ? r->r->consent_evidence : "";
	a.config_hash = env->conf_hash;
	return audit_append(st, ch, &a);
}

/*
 * The audit head just committed, to syslog: an anchor outside the store
 * (audit.h), so that whoever can write the store cannot rewrite history
 * unseen.  A line per commit: any later anchor vouches for every row
 * before it.
 */
static void
log_anchor(const char *qid, const struct audit_chain *ch)
{
	char anchor[AUDIT_ANCHOR_MAX];

	audit_anchor_format(ch, anchor, sizeof(anchor));
	daemon_log(LOG_INFO, qid, "%s", anchor);
}

/*
 * In one transaction: the ledger rows (which may turn a delivery into a
 * duplicate), then the copies, then the audit rows that name them, then
 * the SMS jobs and their audit rows.
 */
static int
record_all(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct store *st, struct msg_plan *p,
    int64_t now)
{
	struct audit_chain ch = { 0 };
	size_t i;

	if (store_begin(st) == -1 || audit_begin(st, &ch) == -1)
		goto fail;
	for (i = 0; i < m->nrcpts; i++)
		if (record_ledger(m, c, st, p, &m->rcpts[i], now) == -1)
			goto fail;
	if (queue_copies(m, env, c, st, p, now) == -1)
		goto fail;
	for (i = 0; i < m->nrcpts; i++)
		if (record_audit(m, env, c, st, &ch, p, &m->rcpts[i],
		    now) == -1)
			goto fail;
	if (msg_sms_record(m, env, c, st, &ch, now) == -1)
		goto fail;
	if (store_commit(st) == -1)
		goto fail;
	log_anchor(m->qid, &ch);
	audit_end(&ch);
	return 0;
fail:
	audit_end(&ch);
	daemon_log(LOG_ERR, m->qid, "campaign=%s: store: %s", c->id,
	    store_error(st));
	store_rollback(st);
	return -1;
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
 * "451 4.3.0 ..." with TEXT, which carries no CR/LF, no other control
 * character (a value from the message, such as its campaign header) and
 * no raw '%'.
 */
static void
reply(const struct milter_ops *ops, const char *rcode, const char *xcode,
    const char *text)
{
	char safe[512];
	size_t i, n = 0;

	for (i = 0; text[i] != '\0' && n + 2 < sizeof(safe); i++) {
		if (text[i] == '\r' || text[i] == '\n')
			safe[n++] = ' ';
		else if (text[i] == '%') {
			safe[n++] = '%';
			safe[n++] = '%';
		} else
			safe[n++] = text[i];
	}
	safe[n] = '\0';
	str_mask_controls(safe);
	ops->setreply(ops->ctx, rcode, xcode, safe);
}

static enum milter_verdict
store_failed(struct milter_msg *m, const struct daemon_env *env,
    const struct milter_ops *ops)
{
	if (env->conf->milter.on_store_error == ON_ERROR_ACCEPT) {
		daemon_log(LOG_WARNING, m->qid, "campaign=%s: store error:"
		    " accepting untouched (on_store_error = accept)",
		    m->campaign);
		return MILTER_CONTINUE;
	}
	reply(ops, "451", "4.3.0", "segmilter: customer store unavailable,"
	    " try again later");
	return MILTER_TEMPFAIL;
}

static int
replace_chunk(void *arg, const void *p, size_t n)
{
	const struct milter_ops *ops = arg;

	return ops->replacebody(ops->ctx, p, n) != 0 ? 1 : 0;
}

static int
replace_body(struct spool *body, const struct milter_ops *ops, char *err,
    size_t errlen)
{
	switch (spool_each(body, replace_chunk, (void *)ops)) {
	case 0:
		return 0;
	case 1:
		snprintf(err, errlen, "replacebody refused");
		break;
	default:
		snprintf(err, errlen, "spool: %s", spool_error(body));
		break;
	}
	return -1;
}

/*
 * Requests to the MTA; headers before the body, as Postfix wants.  The
 * recipients of copies leave the original only now, after the commit
 * that queued their copy.
 */
static int
apply(struct milter_msg *m, const struct daemon_env *env,
    const struct msg_plan *p, int64_t now, const struct milter_ops *ops)
{
	const struct msg_part *part = &p->parts[p->inplace];
	const struct render_result *res = &part->res;
	char err[256], unsub[UNSUB_TOKEN_MAX + 512];
	char from[PARSE_EMAIL_MAX + 3];
	size_t i;
	int n;

	for (i = 0; i < m->nrcpts; i++)
		if ((m->rcpts[i].d.reason != POLICY_DELIVER ||
		    m->rcpts[i].part != p->inplace) &&
		    ops->delrcpt(ops->ctx, m->rcpts[i].addr) != 0)
			return -1;
	/*
	 * A signature made before us does not survive what follows: it
	 * goes, rather than fail at the receiver (signing belongs after
	 * segmilter).  With dkim_signature = keep, nothing is rewritten
	 * (msg_plan_build): the campaign header stays too.
	 */
	if (m->dkim_headers > 0 && env->conf->milter.dkim_signature ==
	    DKIM_KEEP)
		goto headers_done;
	for (n = m->dkim_headers; n >= 1; n--)
		if (ops->chgheader(ops->ctx, "DKIM-Signature", n, NULL) != 0)
			return -1;
	if (m->dkim_headers > 0)
		daemon_log(LOG_NOTICE, m->qid, "DKIM-Signature removed (%d):"
		    " the message is rewritten; sign after segmilter",
		    m->dkim_headers);
	/* from the last: an index must not shift under later deletes */
	for (n = m->campaign_headers; n >= 1; n--)
		if (ops->chgheader(ops->ctx,
		    env->conf->milter.campaign_header, n, NULL) != 0)
			return -1;
	if (res->subject != NULL &&
	    ops->chgheader(ops->ctx, "Subject", 1, res->subject) != 0)
		return -1;
	if (res->content_type != NULL &&
	    ops->chgheader(ops->ctx, "Content-Type", 1, res->content_type) != 0)
		return -1;
	if (res->transfer_encoding != NULL &&
	    ops->chgheader(ops->ctx, "Content-Transfer-Encoding", 1,
	    res->transfer_encoding) != 0)
		return -1;
headers_done:
	if (msg_unsub_header(m, env, part, now, unsub, sizeof(unsub)) == 0 &&
	    (ops->addheader(ops->ctx, "List-Unsubscribe", unsub) != 0 ||
	    ops->addheader(ops->ctx, "List-Unsubscribe-Post",
	    "List-Unsubscribe=One-Click") != 0))
		return -1;
	if (msg_return_path(m, env, part, from, sizeof(from)) == 0) {
		if (ops->chgfrom == NULL)
			daemon_log(LOG_WARNING, m->qid, "the MTA does not offer"
			    " to change the sender: return path kept, bounces"
			    " go to %s", m->sender != NULL ? m->sender : "<>");
		else if (ops->chgfrom(ops->ctx, from) != 0)
			return -1;
	}
	if (part->body != NULL && res->body_changed &&
	    replace_body(part->body, ops, err, sizeof(err)) == -1) {
		daemon_log(LOG_ERR, m->qid, "body: %s", err);
		return -1;
	}
	return 0;
}

/*
 * One line per suppressed recipient, the reason and its figures; the
 * delivered ones are counted in the summary line (Postfix logs each
 * delivery, and the audit log has every decision): a 50-recipient
 * broadcast should not cost 50 log lines to say that all went well.
 */
static void
log_decisions(struct milter_msg *m, const struct campaign *c)
{
	struct milter_rcpt *r;
	size_t i;

	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		if (r->d.reason == POLICY_DELIVER)
			continue;
		daemon_log(LOG_INFO, m->qid, "to=%s, campaign=%s, decision=%s,"
		    " segment=%s, variant=%s%s%s", r->addr, c->id,
		    policy_reason_name(r->d.reason),
		    r->r->has_segment ? conf_lifecycle_name(r->r->seg.lifecycle) :
		    "none", r->d.reason == POLICY_DELIVER ?
		    campaign_variant_name(c, r->d.variant) : "none",
		    r->d.detail[0] != '\0' ? ", detail=" : "", r->d.detail);
	}
}

/*
 * The summary line: who went how, per variant, so that its length does
 * not grow with the copies (a message split per recipient made 395 of
 * them, and a line cut at syslog's limit).
 */
static void
log_summary(struct milter_msg *m, const struct campaign *c,
    const struct msg_plan *p, size_t kept)
{
	const struct msg_part *pt;
	struct buf line;
	char when[32];
	int64_t first, last;
	size_t i, copies, n;
	int v;

	buf_init(&line, 4096);
	buf_printf(&line, "campaign=%s: delivered to %zu of %zu", c->id, kept,
	    m->nrcpts);
	if (p->inplace >= 0 && p->parts[p->inplace].n > 0) {
		pt = &p->parts[p->inplace];
		buf_printf(&line, "; in place: %zu, variant=%s, body %s", pt->n,
		    p->mixed ? "default (several)" :
		    campaign_variant_name(c, pt->g.variant),
		    pt->body != NULL && pt->res.body_changed ? "rewritten" :
		    "untouched");
	}
	for (v = -1; v < (int)c->nvariants; v++) {
		copies = n = 0;
		first = last = 0;
		for (i = 0; i < p->nparts; i++) {
			pt = &p->parts[i];
			if (pt->n == 0 || (int)i == p->inplace ||
			    pt->g.variant != v)
				continue;
			copies++;
			n += pt->n;
			if (first == 0 || pt->job < first)
				first = pt->job;
			if (pt->job > last)
				last = pt->job;
		}
		if (copies == 0)
			continue;
		format_time(campaign_send_after(c, v), when, sizeof(when));
		buf_printf(&line, "; variant=%s: %zu in %zu cop%s (job%s %lld%s",
		    campaign_variant_name(c, v), n, copies, copies == 1 ? "y" :
		    "ies", first == last ? "" : "s", (long long)first,
		    first == last ? "" : "-");
		if (first != last)
			buf_printf(&line, "%lld", (long long)last);
		buf_printf(&line, ")%s%s", campaign_send_after(c, v) > 0 ?
		    ", held until " : "", campaign_send_after(c, v) > 0 ?
		    when : "");
	}
	daemon_log(LOG_INFO, m->qid, "%s", buf_str(&line));
	buf_free(&line);
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

/* When the first of the jobs the message queued is due; INT64_MAX: none. */
static int64_t
earliest_job(const struct milter_msg *m, const struct msg_plan *p,
    int64_t now)
{
	int64_t due = INT64_MAX, t;
	size_t i;

	for (i = 0; i < p->nparts; i++) {
		if (p->parts[i].job == 0)
			continue;
		t = p->parts[i].send_after > now ? p->parts[i].send_after : now;
		if (t < due)
			due = t;
	}
	for (i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].sms != NULL && m->rcpts[i].sms->job != 0 &&
		    m->rcpts[i].sms->due < due)
			due = m->rcpts[i].sms->due;
	return due;
}

/*
 * The note and an audit row per recipient, in one transaction: a marker
 * lets a message skip every rule, so each one honoured is on record.
 */
static int
note_copy(struct milter_msg *m, const struct daemon_env *env,
    struct store *st, int64_t now)
{
	struct audit_chain ch = { 0 };
	struct store_audit a;
	char detail[128];
	size_t i;

	if (store_begin(st) == -1)
		return -1;
	if (store_copy_seen(st, m->mk.nonce, m->qid, now) == -1 ||
	    audit_begin(st, &ch) == -1)
		goto fail;
	snprintf(detail, sizeof(detail), "copy %s: its marker verified,"
	    " passed untouched", m->mk.nonce);
	for (i = 0; i < m->nrcpts; i++) {
		memset(&a, 0, sizeof(a));
		a.at = now;
		a.channel = "email";
		a.queue_id = m->qid;
		a.message_id = m->message_id;
		a.campaign_id = m->mk.campaign;
		a.recipient = m->rcpts[i].email[0] != '\0' ?
		    m->rcpts[i].email : m->rcpts[i].addr;
		/* whose it is, so that erasing them blanks this row too */
		if (m->rcpts[i].email[0] != '\0' &&
		    store_customer_find(st, m->rcpts[i].email,
		    &a.customer_id) == -1)
			goto fail;
		a.decision = "copy_passed";
		a.detail = detail;
		a.segment = "";
		a.variant = "";
		a.consent = "";
		a.config_hash = env->conf_hash;
		if (audit_append(st, &ch, &a) == -1)
			goto fail;
	}
	if (store_commit(st) == -1)
		goto fail;
	audit_anchor_format(&ch, m->copy_anchor, sizeof(m->copy_anchor));
	audit_end(&ch);
	return 0;
fail:
	audit_end(&ch);
	store_rollback(st);
	return -1;
}

/*
 * A copy of ours: the marker goes, nothing else changes.  That it went
 * through is noted too: if segmilter dies while its outbox waits for the
 * re-injection's reply, the restart knows the copy is already on its way
 * (store_outbox_recover) and does not send it twice.  The note is the
 * last thing done before the answer, so that the time in which a crash
 * loses a noted copy (noted, but the MTA never hears "continue") is what
 * lies between the commit and libmilter's write; the WAL's checkpoints
 * (checkpoint.c), the freeing of the message (mlfi.c) and the audit
 * head's log line (milter_msg_reset) are kept out of it: t-fault lost a
 * copy to a SIGKILL in it once in its fourth run of a day.
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
		if ((rc = note_copy(m, env, st, now)) == -1)
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
		reply(ops, "451", "4.3.0", "segmilter: cannot hold the message,"
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
		reply(ops, "451", "4.7.1", text);
		return MILTER_TEMPFAIL;
	}
	if (st == NULL)
		return store_failed(m, env, ops);
	if (m->message_id[0] == '\0')
		message_fingerprint(m);
	store_lock(env);
	rc = msg_decide(m, env, c, st, now);
	store_unlock(env);
	if (rc == -1)
		return store_failed(m, env, ops);
	msg_sms_decide(m, env, c, now);

	if (msg_plan_build(m, env, c, now, 1, &plan, err, sizeof(err)) ==
	    -1) {
		daemon_log(LOG_ERR, m->qid, "campaign=%s: render: %s:"
		    " tempfail", c->id, err);
		snprintf(text, sizeof(text), "segmilter: campaign %s: %s",
		    c->id, err);
		reply(ops, "451", "4.7.0", text);
		msg_plan_free(&plan);
		return MILTER_TEMPFAIL;
	}
	if (plan.mixed)
		daemon_log(LOG_NOTICE, m->qid, "campaign=%s: recipients in"
		    " several variants and no outbox.reinject_url: the default"
		    " variant for all", c->id);

	store_lock(env);
	rc = record_all(m, env, c, st, &plan, now);
	store_unlock(env);
	if (rc == -1) {
		msg_plan_free(&plan);
		return store_failed(m, env, ops);
	}
	if ((due = earliest_job(m, &plan, now)) != INT64_MAX &&
	    env->outbox_wake != NULL)
		env->outbox_wake(env->outbox_arg, due);
	log_decisions(m, c);
	for (kept = 0, i = 0; i < m->nrcpts; i++)
		kept += m->rcpts[i].d.reason == POLICY_DELIVER;
	if (kept == 0 || plan.inplace == -1 ||
	    plan.parts[plan.inplace].n == 0) {
		if (kept > 0)
			log_summary(m, c, &plan, kept);
		daemon_log(LOG_INFO, m->qid, "campaign=%s: nobody left in the"
		    " original: discarded", c->id);
		v = MILTER_DISCARD;
	} else if (apply(m, env, &plan, now, ops) == -1) {
		daemon_log(LOG_ERR, m->qid, "campaign=%s: the MTA refused a"
		    " change: tempfail", c->id);
		v = MILTER_TEMPFAIL;
	} else {
		log_summary(m, c, &plan, kept);
		v = MILTER_CONTINUE;
	}
	msg_plan_free(&plan);
	return v;
}
