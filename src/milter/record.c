/*
 * record.c - step 3: in one transaction, committed before anything is
 * said to the MTA, the ledger rows, the copies queued in the outbox, an
 * audit row per recipient and the SMS jobs; and, for a copy of ours that
 * passes the re-injection port, the note that it did.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "audit.h"
#include "msg_int.h"
#include "parse.h"
#include "policy.h"
#include "store_outbox.h"
#include "str.h"
#include "xalloc.h"

/* A copy on its way into the store: its header block, then its body. */
struct copy_fill {
	const struct msg_part	*part;
	struct spool		*bodies;
	const char		*qid;
};

/*
 * store_fill_fn: the body comes from the spool as it goes in.  A store
 * write that fails is the store's to report; only a failed read sets
 * the spool's error (any earlier one failed the plan).
 */
static int
fill_copy(void *arg, store_put_fn put, void *w)
{
	struct copy_fill *f = arg;

	if (put(w, f->part->copy.data, f->part->copy.len) == -1)
		return -1;
	if (spool_range(f->bodies, f->part->body_at, f->part->body_len, put,
	    w) == 0)
		return 0;
	if (spool_error(f->bodies)[0] != '\0')
		daemon_log(LOG_ERR, f->qid, "spool: %s",
		    spool_error(f->bodies));
	return -1;
}

/*
 * Every copy of the plan into the outbox, inside the transaction, after
 * the ledger: a recipient the ledger has just found delivered by another
 * message is out of their part (and of its marker), and a part left
 * empty sends nothing.  Each copy is read from its spool into the store
 * as it goes in: a message split ten ways is not held ten times.
 */
static int
queue_copies(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct store *st, struct msg_plan *p,
    int64_t now)
{
	char from[PARSE_EMAIL_MAX + 3];
	struct store_job j;
	struct copy_fill f;
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
		j.len = p->parts[i].copy.len + p->parts[i].body_len;
		j.nonce = p->parts[i].nonce;
		j.not_before = p->parts[i].send_after > now ?
		    p->parts[i].send_after : now;
		j.created_at = now;
		memset(&f, 0, sizeof(f));
		f.part = &p->parts[i];
		f.bodies = p->bodies;
		f.qid = m->qid;
		rc = store_outbox_add_from(st, &j, fill_copy, &f,
		    &p->parts[i].job);
		buf_free(&rcpts);
	}
	return rc;
}

/* The ledger row for R into L, with the priority of the campaign's
 * class POL. */
static void
ledger_row(const struct milter_msg *m, const struct campaign *c,
    const struct conf_policy *pol, const struct msg_plan *p,
    const struct milter_rcpt *r, int64_t now, struct store_ledger *l)
{
	memset(l, 0, sizeof(*l));
	l->campaign_id = c->id;
	l->recipient = r->email[0] != '\0' ? r->email : r->addr;
	l->message_key = m->message_id[0] != '\0' ? m->message_id : m->qid;
	l->customer_id = r->r->customer_id;
	l->queue_id = m->qid;
	l->decision = policy_reason_name(r->d.reason);
	l->variant = r->d.reason == POLICY_DELIVER ?
	    campaign_variant_name(c, r->d.variant) : NULL;
	l->route = r->part < 0 ? NULL : r->part == p->inplace ? "inplace" :
	    "copy";
	l->at = now;
	l->arm = r->d.arm != ARM_UNSET ? policy_arm_name(r->d.arm) : NULL;
	l->segment = r->r->has_segment ?
	    conf_lifecycle_name(r->r->seg.lifecycle) : NULL;
	l->answered_at = r->r->last_answer_at;
	l->deliveries_kept = r->r->deliveries_kept;
	l->priority = pol->priority;
}

/* R, decided a delivery, goes nowhere after all: WHY, out of its part. */
static void
record_refuse(struct msg_plan *p, struct milter_rcpt *r,
    enum policy_reason why, const char *detail)
{
	r->d.reason = why;
	snprintf(r->d.detail, sizeof(r->d.detail), "%s", detail);
	if (r->part >= 0)
		p->parts[r->part].n--;
	r->part = -1;
}

/*
 * Every recipient's ledger row, at once; a delivery that loses to
 * another message's becomes a duplicate, out of its part.  A duplicate
 * decided already has no row to write: its row is the delivery that
 * stands.
 */
static int
record_ledgers(struct milter_msg *m, const struct campaign *c,
    const struct conf_policy *pol, struct store *st, struct msg_plan *p,
    int64_t now)
{
	struct store_ledger *l = xcalloc(m->nrcpts + 1, sizeof(*l));
	size_t *who = xcalloc(m->nrcpts + 1, sizeof(*who));
	int *written = xcalloc(m->nrcpts + 1, sizeof(*written));
	struct milter_rcpt *r;
	size_t i, n = 0;
	int rc;

	for (i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].d.reason != POLICY_DUPLICATE) {
			ledger_row(m, c, pol, p, &m->rcpts[i], now, &l[n]);
			who[n++] = i;
		}
	rc = store_ledger_put_many(st, l, n, written);
	for (i = 0; rc == 0 && i < n; i++) {
		r = &m->rcpts[who[i]];
		if (!written[i] && r->d.reason == POLICY_DELIVER)
			record_refuse(p, r, POLICY_DUPLICATE, "delivered by"
			    " another message meanwhile");
	}
	free(written);
	free(who);
	free(l);
	return rc;
}

/*
 * The deliveries decided on msg_decide's read, their customers'
 * deliveries counted again under the write lock, their own rows written
 * (a campaign never counts against itself): another message, on another
 * relay or another thread here, may have delivered to them since, and
 * the cap or their fatigue may now refuse one.  That one's ledger row is
 * withdrawn (store_delivery_withdraw) and it is suppressed as fatigued,
 * out of its part.
 */
static int
recheck_fatigue(struct milter_msg *m, const struct campaign *c,
    const struct conf_policy *pol, struct store *st, struct msg_plan *p,
    int64_t now)
{
	struct store_recipient **rr = xcalloc(m->nrcpts + 1, sizeof(*rr));
	struct policy_decision d;
	struct policy_facts f;
	struct milter_rcpt *r;
	char detail[sizeof(d.detail)];
	size_t i, n = 0;
	int rc;

	for (i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].d.reason == POLICY_DELIVER)
			rr[n++] = m->rcpts[i].r;
	rc = n == 0 ? 0 : store_recipients_recount(st, c->id, now,
	    pol->cap_window_hours * 3600, pol->priority, n, rr);
	for (i = 0; rc == 0 && i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		if (r->d.reason != POLICY_DELIVER)
			continue;
		daemon_policy_facts(&f, r->r);
		memset(&d, 0, sizeof(d));
		if (!policy_fatigued(pol, c->class_name, &f, now, &d))
			continue;
		rc = store_delivery_withdraw(st, c->id, r->email[0] != '\0' ?
		    r->email : r->addr, policy_reason_name(POLICY_FATIGUED),
		    now);
		snprintf(detail, sizeof(detail), "%.130s; since the lookup",
		    d.detail);
		record_refuse(p, r, POLICY_FATIGUED, detail);
	}
	free(rr);
	return rc;
}

/* A recipient's audit row, its detail in DETAIL (kept by the caller). */
static void
record_audit(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, const struct msg_plan *p,
    const struct milter_rcpt *r, int64_t now, struct store_audit *a,
    char *detail, size_t len)
{
	const struct msg_part *part = r->part >= 0 ? &p->parts[r->part] :
	    NULL;
	char when[32];

	str_copy(detail, len, r->d.detail);
	if (part != NULL && part->job != 0) {
		format_time(part->send_after, when, sizeof(when));
		snprintf(detail, len, "%s%scopy, outbox job %lld%s%s",
		    r->d.detail, r->d.detail[0] ? "; " : "",
		    (long long)part->job, part->send_after > now ?
		    ", held until " : "", part->send_after > now ? when : "");
	}
	memset(a, 0, sizeof(*a));
	a->at = now;
	a->channel = "email";
	a->queue_id = m->qid;
	a->message_id = m->message_id;
	a->campaign_id = c->id;
	a->recipient = r->email[0] != '\0' ? r->email : r->addr;
	a->customer_id = r->r->customer_id;
	/* a delivery of the broad arm says so: the default is no accident */
	a->decision = r->d.reason == POLICY_DELIVER && r->d.arm == ARM_BROAD ?
	    "broad" : policy_reason_name(r->d.reason);
	a->detail = detail;
	a->segment = r->r->has_segment ?
	    conf_lifecycle_name(r->r->seg.lifecycle) : "";
	a->variant = r->d.reason == POLICY_DELIVER ?
	    campaign_variant_name(c, r->d.variant) : "";
	a->consent = r->r->has_consent ? r->r->consent_evidence : "";
	a->config_hash = env->conf_hash;
}

/* Every recipient's audit row, appended at once. */
static int
record_audits(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct store *st, struct audit_chain *ch,
    const struct msg_plan *p, int64_t now)
{
	const size_t len = sizeof(m->rcpts[0].d.detail) + 96;
	struct store_audit *a;
	char *details;
	size_t i;
	int rc;

	a = xcalloc(m->nrcpts + 1, sizeof(*a));
	details = xcalloc(m->nrcpts + 1, len);
	for (i = 0; i < m->nrcpts; i++)
		record_audit(m, env, c, p, &m->rcpts[i], now, &a[i],
		    details + i * len, len);
	rc = audit_append_many(st, ch, a, m->nrcpts);
	free(details);
	free(a);
	return rc;
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
 * In one transaction: the ledger rows (whose keys may turn a delivery
 * into a duplicate; each delivery's cap and fatigue then counted again),
 * then the copies, then the audit rows that name them, then
 * the SMS jobs and their audit rows.
 */
int
msg_record(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct store *st, struct msg_plan *p,
    int64_t now)
{
	const struct conf_policy *pol = campaign_policy(c, env->conf);
	struct audit_chain ch = { 0 };

	if (store_begin(st) == -1 || audit_begin(st, &ch) == -1 ||
	    record_ledgers(m, c, pol, st, p, now) == -1 ||
	    recheck_fatigue(m, c, pol, st, p, now) == -1 ||
	    queue_copies(m, env, c, st, p, now) == -1 ||
	    record_audits(m, env, c, st, &ch, p, now) == -1 ||
	    msg_sms_record(m, env, c, st, &ch, now) == -1 ||
	    store_commit(st) == -1)
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

/* When the first of the jobs the message queued is due; INT64_MAX: none. */
int64_t
msg_earliest_job(const struct milter_msg *m, const struct msg_plan *p,
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
int
msg_note_copy(struct milter_msg *m, const struct daemon_env *env,
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
