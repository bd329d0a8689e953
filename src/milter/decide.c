/*
 * decide.c - step 1 of the end of a message: every recipient looked up
 * in one read snapshot, and judged by policy.  Nothing is recorded here:
 * a decision becomes a delivery only in record.c's transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "msg_int.h"
#include "policy.h"
#include "segment.h"
#include "store_outbox.h"
#include "xalloc.h"

/* Every recipient's facts, in batches (store_recipients_get), the
 * deliveries counted as the campaign's class POL counts them. */
static int
lookup_all(struct milter_msg *m, struct store *st, const char *campaign,
    int64_t now, const struct conf_policy *pol)
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
	    pol->cap_window_hours * 3600, pol->priority, r);
	free(emails);
	free(r);
	return rc;
}

/*
 * A delivery D whose variant waits for the local window W (send_local):
 * due at the first instant inside it, once send_after has passed, where
 * recipient R lives; where that is not known (no zone, a country's zones
 * that never share the window, no tz database), in UTC.
 */
static void
local_due(const struct daemon_env *env, const struct conf_window *w,
    const struct store_recipient *r, int64_t now, struct policy_decision *d)
{
	struct policy_place p;
	const struct tz *one;
	int64_t from = d->due_at > now ? d->due_at : now, due = -1;

	if (daemon_place(env->tzdb, r->seg.time_zone, r->seg.country, *w, &p,
	    &one) == 0)
		due = policy_place_due(&p, from);
	d->due_at = due != -1 ? due : policy_utc_due(w, from);
}

int
msg_decide(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct store *st, int64_t now)
{
	const struct conf_policy *pol;
	const struct conf_window *w;
	struct policy_campaign pc;
	struct policy_facts f;
	struct milter_rcpt *r;
	size_t i;

	pol = campaign_policy(c, env->conf);
	memset(&pc, 0, sizeof(pc));
	pc.class_name = c->class_name;
	pc.include = (const struct expr *const *)c->include;
	pc.ninclude = c->ninclude;
	pc.exclude = (const struct expr *const *)c->exclude;
	pc.nexclude = c->nexclude;
	pc.variants = c->variant_match;
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
	if (lookup_all(m, st, c->id, now, pol) == -1) {
		daemon_log(LOG_ERR, m->qid, "store: %s", store_error(st));
		store_rollback(st);
		return -1;
	}
	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		r->flags->n = 0;
		if (r->r->has_segment)
			segment_flags(&r->r->seg, r->flags);
		daemon_policy_facts(&f, r->r);
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
		policy_due(campaign_due(c, r->d.variant), c->goals, &f,
		    &r->d);
		if (r->d.reason == POLICY_DELIVER &&
		    (w = campaign_local(c, r->d.variant)) != NULL)
			local_due(env, w, r->r, now, &r->d);
		/* the channel chosen for their segment: texted instead */
		if (r->d.reason == POLICY_DELIVER && c->sms.text != NULL &&
		    c->sms.channel == CHANNEL_SMS_ONLY &&
		    msg_sms_segment(r, c)) {
			r->d.reason = POLICY_BY_SMS;
			snprintf(r->d.detail, sizeof(r->d.detail), "channel"
			    " sms: the campaign texts their segment instead");
		}
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
