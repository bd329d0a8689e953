/*
 * unsub_apply.c - what a genuine unsubscribe token's holder asks for,
 * recorded with its audit row: the one place segctl unsubscribe and
 * segfeed share (see unsub.h).
 *
 * What holds now is read inside the write transaction (BEGIN IMMEDIATE),
 * so two requests racing (a mail client retrying a one-click POST while
 * the first is being committed) cannot both record: the second reads
 * what the first wrote and changes nothing.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "policy.h"
#include "store_lookup.h"
#include "store_record.h"
#include "unsub.h"

static const char *const choice_names[] = {
	[UNSUB_UNSUBSCRIBE] = "unsubscribe",
	[UNSUB_FEWER] = "fewer",
	[UNSUB_STAY] = "stay",
};

const char *
unsub_choice_name(enum unsub_choice c)
{
	return c <= UNSUB_STAY ? choice_names[c] : "?";
}

/*
 * The change RQ asks of customer ID whose facts are R, written; its
 * audit decision and detail into DECISION and DETAIL.  0 (*ALREADY set
 * when nothing needed writing), or -1.
 */
static int
unsub_write(struct store *st, const struct unsub_request *rq, int64_t id,
    const struct store_recipient *r, const char **decision, char *detail,
    size_t len, int *already)
{
	struct store_engagement e;
	struct store_consent c;
	enum store_change ch = STORE_UNCHANGED;
	char evidence[512];
	int unsubscribed;

	unsubscribed = policy_unsubscribed(r->unsubscribed_at, r->consent_at);
	*already = 0;
	switch (rq->choice) {
	case UNSUB_UNSUBSCRIBE:
		if ((*already = unsubscribed))
			return 0;
		memset(&e, 0, sizeof(e));
		e.customer_id = id;
		e.campaign_id = rq->campaign;
		e.type = ENG_UNSUBSCRIBE;
		e.at = rq->now;
		*decision = "unsubscribed";
		snprintf(detail, len, "%s link from campaign %s", rq->source,
		    rq->campaign);
		return store_engagement_add(st, &e, &ch);
	case UNSUB_FEWER:
		if (store_cadence_set(st, id, rq->fewer_days, rq->source,
		    rq->now, &ch) == -1)
			return -1;
		*already = ch == STORE_UNCHANGED;
		*decision = "cadence";
		snprintf(detail, len, "fewer emails: at most one campaign"
		    " every %lld d (%s, link from campaign %s)",
		    (long long)rq->fewer_days, rq->source, rq->campaign);
		return 0;
	case UNSUB_STAY:
		/* only what an unsubscribe took away is given back: never
		 * a consent that was revoked, or never given */
		if (!unsubscribed || !r->has_consent || !r->consent_granted) {
			*already = 1;
			return 0;
		}
		snprintf(evidence, sizeof(evidence), "\"stay subscribed\" on"
		    " the unsubscribe page (%s), link from campaign %s made"
		    " at %lld", rq->source, rq->campaign,
		    (long long)rq->token_at);
		memset(&c, 0, sizeof(c));
		c.customer_id = id;
		c.channel = CHANNEL_EMAIL;
		c.granted = 1;
		c.source = "unsubscribe_page";
		/* after the unsubscribe, or policy_unsubscribed still holds
		 * for an answer within the same second */
		c.recorded_at = rq->now > r->unsubscribed_at ? rq->now :
		    r->unsubscribed_at + 1;
		c.evidence = evidence;
		*decision = "resubscribed";
		snprintf(detail, len, "%s", evidence);
		return store_consent_record(st, &c, 0, &ch);
	}
	return -1;
}

int
unsub_apply(struct store *st, const struct unsub_request *rq,
    enum unsub_outcome *out)
{
	struct audit_chain ch = { 0 };
	struct store_recipient r;
	struct store_audit a;
	const char *decision = "";
	char detail[640];
	int64_t id;
	int rc, already;

	if (store_begin(st) == -1)
		return -1;
	if ((rc = store_customer_find(st, rq->email, &id)) != 0) {
		store_rollback(st);
		if (rc == -1)
			return -1;
		*out = UNSUB_NO_CUSTOMER;
		return 0;
	}
	if (store_recipient_get(st, rq->email, rq->campaign, rq->now, 0,
	    &r) == -1 || unsub_write(st, rq, id, &r, &decision, detail,
	    sizeof(detail), &already) == -1)
		goto fail;
	if (already) {
		store_rollback(st);
		*out = UNSUB_ALREADY;
		return 0;
	}
	memset(&a, 0, sizeof(a));
	a.at = rq->now;
	a.channel = "email";
	a.queue_id = rq->via;
	a.message_id = "";
	a.campaign_id = rq->campaign;
	a.recipient = rq->email;
	a.customer_id = id;
	a.decision = decision;
	a.detail = detail;
	a.segment = "";
	a.variant = "";
	a.consent = "";
	a.config_hash = rq->config_hash;
	if (audit_begin(st, &ch) == -1)
		goto fail;
	if (audit_append(st, &ch, &a) == -1 || store_commit(st) == -1) {
		audit_end(&ch);
		goto fail;
	}
	audit_end(&ch);
	*out = UNSUB_DONE;
	return 0;
fail:
	store_rollback(st);
	return -1;
}
