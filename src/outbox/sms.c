/*
 * sms.c - sending one claimed SMS job, and where its recipient lives.
 *
 * Quiet hours are checked again at send time, not only when the job was
 * queued: a job retried after a 429 or a restart may come due at night.
 * So are consent and the number: a STOP that arrives while a job waits
 * withdraws it.
 * A permanent refusal says something about the number (opted out,
 * invalid); that is recorded against the number, so no campaign tries
 * it again until the customer consents anew or their number changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "gateway.h"
#include "daemon.h"
#include "outbox.h"
#include "outbox_int.h"
#include "parse.h"
#include "policy.h"
#include "render.h"
#include "store_lookup.h"
#include "store_record.h"
#include "tz.h"

/* The outcome of one attempt, recorded, and logged. */
static void
record_sms(struct store *st, const struct daemon_env *env,
    const struct store_job *j, const struct gw_sms_reply *rep, int64_t now)
{
	struct outbox_outcome o;
	char why[400];

	outbox_outcome_of(env, j, rep->result, rep->why, now, &o);
	/* no id (Kannel's, a reply cut off): none kept, not "" */
	if (rep->result == GW_SENT && rep->ref[0] != '\0')
		o.ref = rep->ref;
	if (rep->result == GW_PERMFAIL && rep->refusal != GW_SMS_OTHER) {
		o.mark = rep->refusal == GW_SMS_OPTED_OUT ? PHONE_OPTED_OUT :
		    PHONE_INVALID;
		o.mark_detail = rep->why;
		snprintf(why, sizeof(why), "%s; number marked %s", rep->why,
		    rep->refusal == GW_SMS_OPTED_OUT ? "opted out" :
		    "invalid");
		o.why = why;
	}
	if (outbox_record(st, env, j, &o, now) == 0)
		daemon_log(rep->result == GW_SENT ? LOG_INFO : LOG_WARNING,
		    "outbox", "sms job %lld: campaign=%s, customer=%lld,"
		    " attempt %lld: %s: %s", (long long)j->id, j->campaign_id,
		    (long long)j->customer_id, (long long)j->attempts,
		    o.decision != NULL ? o.decision + 4 : "deferred",
		    o.why != NULL ? o.why : rep->why);
}

/* Gives J up without asking the gateway: DECISION, audited, WHY. */
static void
give_up(struct store *st, const struct daemon_env *env,
    const struct store_job *j, const char *decision, const char *why,
    int64_t now)
{
	struct outbox_outcome o;

	memset(&o, 0, sizeof(o));
	o.state = JOB_FAILED;
	o.next_at = now;
	o.why = why;
	o.decision = decision;
	o.mark = -1;
	if (outbox_record(st, env, j, &o, now) == 0)
		daemon_log(LOG_WARNING, "outbox", "sms job %lld: campaign=%s,"
		    " customer=%lld: %s: %s", (long long)j->id,
		    j->campaign_id, (long long)j->customer_id, decision + 4,
		    why);
}

/*
 * Whether J may still go: the customer's consent and number as they are
 * now, since a STOP, a revocation or a new number may have come in while
 * the job waited (quiet hours, send_after, retries).  Caps and the
 * campaign's own job are not asked again: they were counted when it was
 * queued.  0 when it may, 1 with WHY when not, -1 on a store error.
 */
static int
still_allowed(struct store *st, const struct daemon_env *env,
    const struct store_job *j, int64_t now, char *why, size_t whylen)
{
	struct store_sms_facts f;
	struct policy_sms_facts pf;
	struct policy_sms_decision d;
	int rc;

	pthread_mutex_lock(env->store_lock);
	rc = store_sms_facts_get(st, j->customer_id, j->campaign_id, now, &f);
	if (rc == -1)
		daemon_log(LOG_ERR, "outbox", "sms job %lld: store: %s",
		    (long long)j->id, store_error(st));
	pthread_mutex_unlock(env->store_lock);
	if (rc == -1)
		return -1;
	if (rc == 1) {
		snprintf(why, whylen, "the customer is no longer in the"
		    " store");
		return 1;
	}
	if (strcmp(f.phone, j->recipients) != 0) {
		snprintf(why, whylen, "the customer's number changed since"
		    " the SMS was queued");
		return 1;
	}
	daemon_sms_facts(&f, &pf);
	pf.sent_day = pf.sent_month = pf.campaign_job = 0;
	pf.parts = 1;
	pf.has_place = 1;
	policy_sms_decide(&env->conf->sms, &pf, &d);
	if (d.reason == POLICY_SMS_QUEUE)
		return 0;
	snprintf(why, whylen, "%s since it was queued: %s",
	    policy_sms_reason_name(d.reason), d.detail);
	return 1;
}

/* Puts J back until DUE without an attempt at the gateway. */
static void
hold(struct store *st, const struct daemon_env *env,
    const struct store_job *j, int64_t due)
{
	char when[32], why[64];
	int rc;

	format_time(due, when, sizeof(when));
	snprintf(why, sizeof(why), "quiet hours until %s", when);
	pthread_mutex_lock(env->store_lock);
	rc = store_outbox_hold(st, j->id, due, why);
	pthread_mutex_unlock(env->store_lock);
	if (rc == -1)
		daemon_log(LOG_ERR, "outbox", "sms job %lld: store: %s",
		    (long long)j->id, store_error(st));
	else
		daemon_log(LOG_INFO, "outbox", "sms job %lld: %s",
		    (long long)j->id, why);
}

void
outbox_sms_attempt(struct store *st, const struct daemon_env *env,
    struct gw_sms *gw, const struct store_job *j, int64_t now)
{
	const struct conf_sms *cs = &env->conf->sms;
	struct render_sms_size size;
	struct policy_place place;
	struct gw_sms_reply rep;
	struct gw_sms_msg msg;
	const struct tz *one;
	char text[16 * 1024], why[256];
	int64_t due;
	int rc;

	/* queued while the driver was off, or stuck behind a backlog */
	if (now - j->not_before >= cs->max_age_hours * 3600) {
		give_up(st, env, j, "sms_expired", "not sent within"
		    " sms.max_age_hours of being due", now);
		return;
	}
	if ((rc = still_allowed(st, env, j, now, why, sizeof(why))) != 0) {
		/* a store error leaves the job to its lease: tried again */
		if (rc == 1)
			give_up(st, env, j, "sms_withdrawn", why, now);
		return;
	}
	if (daemon_sms_place(env->tzdb, cs, j->time_zone, j->country,
	    j->region, &place, &one) == -1 ||
	    (due = policy_place_due(&place, now)) == -1) {
		/* the zone left the tz database since it was queued */
		snprintf(why, sizeof(why), "local time unknown (time zone"
		    " '%s', country '%s'): quiet hours cannot be kept",
		    j->time_zone, j->country);
		give_up(st, env, j, "sms_failed", why, now);
		return;
	}
	if (due > now) {
		hold(st, env, j, due);
		return;
	}
	snprintf(text, sizeof(text), "%.*s", (int)j->len,
	    (const char *)j->message);
	memset(&msg, 0, sizeof(msg));
	msg.to = j->recipients;
	msg.text = text;
	msg.key = j->nonce;
	msg.campaign = j->campaign_id;
	msg.job = j->id;
	msg.ucs2 = render_sms_size(text, strlen(text), &size) == 0 &&
	    size.coding == RENDER_SMS_UCS2;
	if (gw_sms_send(gw, cs, &msg, now, &rep) == GW_CANCELLED) {
		daemon_log(LOG_NOTICE, "outbox", "sms job %lld: stopped"
		    " mid-send: left to the restart's recovery",
		    (long long)j->id);
		return;
	}
	record_sms(st, env, j, &rep, (int64_t)time(NULL));
}
