/*
 * sms.c - a campaign message's SMS: who gets one, with which text, when.
 *
 * The email path never waits on a gateway: a message only queues SMS
 * jobs, in the transaction that records its email decisions, and the
 * outbox workers send them.  Everything here but the store calls runs
 * outside the store lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "expr.h"
#include "milter.h"
#include "msg_int.h"
#include "parse.h"
#include "store_outbox.h"
#include "str.h"
#include "tz.h"
#include "xalloc.h"

/*
 * Whether the campaign's SMS is for R as the email decided: the email
 * goes to them, or it is texted instead (channel sms), or (either of
 * the other channels) it does not go for want of email consent alone.
 */
static int
sms_channel(const struct milter_rcpt *r, const struct campaign *c)
{
	return r->d.reason == POLICY_DELIVER ||
	    r->d.reason == POLICY_BY_SMS ||
	    (r->d.reason == POLICY_NO_CONSENT &&
	    c->sms.channel != CHANNEL_WITH_EMAIL);
}

/* expr_eval's question of R's segment flags. */
static int
sms_has(const char *name, void *arg)
{
	return segment_flags_has(arg, name);
}

int
msg_sms_segment(const struct milter_rcpt *r, const struct campaign *c)
{
	size_t i;

	for (i = 0; i < c->sms.nsegments; i++)
		if (expr_eval(c->sms.segments[i], sms_has, r->flags))
			return 1;
	return 0;
}

void
msg_sms_free(struct milter_rcpt *r)
{
	if (r->sms == NULL)
		return;
	free(r->sms->text);
	free(r->sms);
	r->sms = NULL;
}

/*
 * The SMS facts of the recipients in WHO[0..N-1], read in one batch
 * (store_sms_facts_get_many) into each one's r->sms->f.  FOUND[i] says
 * whether the customer still exists.
 */
static int
facts_of(struct store *st, const struct campaign *c, int64_t now,
    struct milter_rcpt *const *who, size_t n, int *found)
{
	struct store_sms_facts **fp;
	int64_t *ids;
	size_t i;
	int rc;

	ids = xcalloc(n + 1, sizeof(*ids));
	fp = xcalloc(n + 1, sizeof(*fp));
	for (i = 0; i < n; i++) {
		ids[i] = who[i]->r->customer_id;
		fp[i] = &who[i]->sms->f;
	}
	rc = store_sms_facts_get_many(st, ids, n, c->id, now, fp, found);
	free(ids);
	free(fp);
	return rc;
}

int
msg_sms_lookup(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct store *st, int64_t now)
{
	struct milter_rcpt *r, **who;
	int *found, rc;
	size_t i, n = 0;

	for (i = 0; i < m->nrcpts; i++)
		msg_sms_free(&m->rcpts[i]);
	/* SMS off: nothing queued to go out, unaudited, some day later */
	if (env->conf->sms.driver == SMS_OFF || c->sms.text == NULL)
		return 0;
	who = xcalloc(m->nrcpts + 1, sizeof(*who));
	found = xcalloc(m->nrcpts + 1, sizeof(*found));
	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		if (!sms_channel(r, c) || r->r->customer_id == 0 ||
		    !msg_sms_segment(r, c))
			continue;
		r->sms = xcalloc(1, sizeof(*r->sms));
		who[n++] = r;
	}
	rc = facts_of(st, c, now, who, n, found);
	for (i = 0; i < n; i++)
		if (rc == -1 || !found[i])
			msg_sms_free(who[i]);	/* deleted meanwhile: none */
	free(who);
	free(found);
	return rc;
}

/* R's text for their variant, sections and names; NULL (logged) if it
 * does not render. */
static char *
sms_render(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct milter_rcpt *r)
{
	struct milter_group g;
	struct template_vars vars;
	struct buf out;
	char err[256];

	memset(&g, 0, sizeof(g));
	g.c = c;
	g.variant = r->d.variant;
	g.flags = r->flags->ptr;
	g.nflags = r->flags->n;
	g.single = r;
	msg_vars(&g, env, &vars);
	buf_init(&out, RENDER_SMS_TEXT_MAX);
	if (template_render(c->sms.text, strlen(c->sms.text), TEMPLATE_TEXT,
	    &vars, &out, err, sizeof(err)) == -1) {
		daemon_log(LOG_ERR, m->qid, "to=%s, campaign=%s: sms text: %s",
		    r->addr, c->id, err);
		buf_free(&out);
		return NULL;
	}
	return buf_take(&out);
}

/*
 * Where and when a recipient's SMS may go: a message's recipients mostly
 * share a time zone, so the place found for one, and its first allowed
 * minute, serve the next with the same zone, country and region.
 */
struct place_memo {
	const struct store_sms_facts *of;	/* NULL: nothing yet */
	struct policy_place	 place;
	const struct tz		*one;		/* place.zones may point here */
	int			 has_place;
	int64_t			 due;		/* 0: not yet found (a due
						 * is -1 or a time from now) */
};

static void
place_of(struct tzdb *db, const struct conf_sms *cs,
    const struct store_sms_facts *f, struct place_memo *pm)
{
	if (pm->of != NULL && strcmp(pm->of->time_zone, f->time_zone) == 0 &&
	    strcmp(pm->of->country, f->country) == 0 &&
	    strcmp(pm->of->region, f->region) == 0)
		return;
	pm->of = f;
	pm->has_place = daemon_sms_place(db, cs, f->time_zone, f->country,
	    f->region, &pm->place, &pm->one) == 0;
	pm->due = 0;
}

void
msg_sms_decide(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, int64_t now)
{
	const struct conf_sms *cs = &env->conf->sms;
	struct policy_sms_facts pf;
	struct place_memo pm;
	struct milter_rcpt *r;
	struct msg_sms *s;
	size_t i;

	memset(&pm, 0, sizeof(pm));
	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		if ((s = r->sms) == NULL)
			continue;
		s->text = sms_render(m, env, c, r);
		if (s->text != NULL &&
		    render_sms_size(s->text, strlen(s->text), &s->size) == -1) {
			free(s->text);
			s->text = NULL;
		}
		place_of(env->tzdb, cs, &s->f, &pm);
		daemon_sms_facts(&s->f, &pf);
		/* an empty text is no message */
		pf.parts = s->text != NULL && s->size.chars > 0 ?
		    s->size.parts : 0;
		pf.has_place = pm.has_place;
		policy_sms_decide(cs, &pf, &s->d);
		if (s->d.reason != POLICY_SMS_QUEUE)
			continue;
		if (pm.due == 0)
			pm.due = policy_place_due(&pm.place,
			    c->sms.send_after > now ? c->sms.send_after : now);
		s->due = pm.due;
		if (s->due == -1) {
			s->d.reason = POLICY_SMS_NO_PLACE;
			snprintf(s->d.detail, sizeof(s->d.detail), "no allowed"
			    " minute in the next 8 days across %zu time"
			    " zones", pm.place.nzones);
		}
	}
	/* texted instead only when a text goes: else the email does */
	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		if (r->d.reason != POLICY_BY_SMS || (r->sms != NULL &&
		    r->sms->d.reason == POLICY_SMS_QUEUE))
			continue;
		r->d.reason = POLICY_DELIVER;
		snprintf(r->d.detail, sizeof(r->d.detail), "channel sms, but"
		    " no text can go (%s): emailed",
		    r->sms != NULL ? policy_sms_reason_name(r->sms->d.reason) :
		    "no SMS facts");
	}
}

static int
queue_one(struct milter_msg *m, const struct campaign *c, struct store *st,
    struct milter_rcpt *r, int64_t now)
{
	struct msg_sms *s = r->sms;
	struct store_job j;
	char key[CAMPAIGN_ID_MAX + 32];
	int rc;

	snprintf(key, sizeof(key), "sms-%s-%lld", c->id,
	    (long long)r->r->customer_id);
	memset(&j, 0, sizeof(j));
	j.kind = "sms";
	j.campaign_id = c->id;
	j.message_key = m->message_id[0] != '\0' ? m->message_id : m->qid;
	j.variant = campaign_variant_name(c, r->d.variant);
	j.sender = "";
	j.recipients = s->f.phone;
	j.message = s->text;
	j.len = strlen(s->text);
	j.nonce = key;
	j.not_before = s->due;
	j.created_at = now;
	j.customer_id = r->r->customer_id;
	j.time_zone = s->f.time_zone;
	j.country = s->f.country;
	j.region = s->f.region;
	rc = store_outbox_add(st, &j, &s->job);
	if (rc == 1) {
		/* another message of the campaign queued it meanwhile */
		s->d.reason = POLICY_SMS_DUPLICATE;
		snprintf(s->d.detail, sizeof(s->d.detail), "queued by another"
		    " message meanwhile");
		return 0;
	}
	return rc;
}

/* A due minute as the audit rows write it: formatted once for the
 * recipients that share it, most of a message's. */
struct due_text {
	int64_t	 due;
	char	 text[32];	/* "": none yet */
};

static int
audit_one(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct store *st, struct audit_chain *ch,
    const struct milter_rcpt *r, struct due_text *when, int64_t now)
{
	const struct msg_sms *s = r->sms;
	struct store_audit a;
	char detail[sizeof(s->d.detail) + 160];

	if (s->d.reason == POLICY_SMS_QUEUE) {
		if (when->text[0] == '\0' || when->due != s->due) {
			format_time(s->due, when->text, sizeof(when->text));
			when->due = s->due;
		}
		snprintf(detail, sizeof(detail), "outbox job %lld, %s, %zu"
		    " part%s, due %s%s", (long long)s->job,
		    render_sms_coding_name(s->size.coding), s->size.parts,
		    s->size.parts == 1 ? "" : "s", when->text, s->due > now &&
		    s->due > c->sms.send_after ? " (quiet hours)" : "");
	} else
		str_copy(detail, sizeof(detail), s->d.detail);
	memset(&a, 0, sizeof(a));
	a.at = now;
	a.channel = "sms";
	a.queue_id = m->qid;
	a.message_id = m->message_id;
	a.campaign_id = c->id;
	a.recipient = s->f.phone[0] != '\0' ? s->f.phone : r->email;
	a.customer_id = r->r->customer_id;
	a.decision = policy_sms_reason_name(s->d.reason);
	a.detail = detail;
	a.segment = r->r->has_segment ?
	    conf_lifecycle_name(r->r->seg.lifecycle) : "";
	a.variant = campaign_variant_name(c, r->d.variant);
	a.consent = s->f.has_consent ? s->f.consent_evidence : "";
	a.config_hash = env->conf_hash;
	return audit_append(st, ch, &a);
}

/*
 * Another message may have queued an SMS for one of M's recipients
 * since the lookups (another campaign: the unique index stops only the
 * same one); if any SMS job is newer than the lookups, those jobs are
 * added to the facts read then and the decision taken again, in the
 * caller's write transaction.  Jobs queued since are recent: they count
 * toward both caps.  Consent, number and STOP replies that changed
 * meanwhile are not read again here: the worker checks them again before
 * it sends (outbox/sms.c), and cancels the job, audited.
 */
static int
recheck_caps(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct store *st)
{
	struct policy_sms_facts pf;
	struct store_sms_facts f;
	struct milter_rcpt **who;
	int64_t newer, *ids, *count, *job;
	size_t i, n = 0;
	int rc;

	/* nobody to text: no store round trip for the campaigns without */
	for (i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].sms != NULL &&
		    m->rcpts[i].sms->d.reason == POLICY_SMS_QUEUE)
			break;
	if (i == m->nrcpts)
		return 0;
	if (store_outbox_sms_after(st, m->sms_seen, &newer) == -1)
		return -1;
	if (newer == 0)
		return 0;
	who = xcalloc(m->nrcpts + 1, sizeof(*who));
	ids = xcalloc(m->nrcpts + 1, sizeof(*ids));
	count = xcalloc(m->nrcpts + 1, sizeof(*count));
	job = xcalloc(m->nrcpts + 1, sizeof(*job));
	for (i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i].sms != NULL &&
		    m->rcpts[i].sms->d.reason == POLICY_SMS_QUEUE) {
			who[n] = &m->rcpts[i];
			ids[n++] = m->rcpts[i].r->customer_id;
		}
	rc = store_sms_jobs_since(st, m->sms_seen, ids, n, c->id, count, job);
	for (i = 0; rc == 0 && i < n; i++) {
		if (count[i] == 0)
			continue;
		f = who[i]->sms->f;
		f.sent_day += count[i];
		f.sent_month += count[i];
		if (job[i] != 0)
			f.campaign_job = job[i];
		daemon_sms_facts(&f, &pf);
		pf.parts = who[i]->sms->size.parts;
		pf.has_place = 1;
		policy_sms_decide(&env->conf->sms, &pf, &who[i]->sms->d);
	}
	free(who);
	free(ids);
	free(count);
	free(job);
	return rc;
}

int
msg_sms_record(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct store *st, struct audit_chain *ch,
    int64_t now)
{
	struct due_text when = { 0, "" };
	struct milter_rcpt *r;
	size_t i;

	if (recheck_caps(m, env, c, st) == -1)
		return -1;
	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		/* the ledger may have found the email a duplicate */
		if (r->sms == NULL || !sms_channel(r, c))
			continue;
		if (r->sms->d.reason == POLICY_SMS_QUEUE &&
		    queue_one(m, c, st, r, now) == -1)
			return -1;
		if (audit_one(m, env, c, st, ch, r, &when, now) == -1)
			return -1;
	}
	return 0;
}
