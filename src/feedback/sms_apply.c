/*
 * sms_apply.c - what a gateway's report does to the store: a STOP opts
 * the number out and withdraws its queued SMS, a START grants consent
 * again, a delivery report marks the number or records what became of
 * the SMS.
 *
 * Each runs in one write transaction with its audit rows, so a reply is
 * applied and audited together or not at all (and then the gateway's
 * retry applies it again).  The outbox's rows for a withdrawn job are
 * written by outbox_audit_job, as when its own send-time check
 * withdraws one; those begin their own chain, so they are appended
 * first, and this file's rows after them, from the head they leave.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "feedback_sms.h"
#include "outbox.h"
#include "parse.h"
#include "store_feedback.h"
#include "store_outbox.h"
#include "store_record.h"
#include "str.h"

/* How much of a reply goes into the evidence and the audit rows. */
#define REPLY_QUOTE	32

static enum feedback_sms_error
failed(struct store *st)
{
	store_rollback(st);
	return FEEDBACK_SMS_E_STORE;
}

/* "reply 'STOP' (MessageSid SM...) at 2026-...Z" into OUT. */
static void
describe_reply(const struct feedback_sms_inbound *in, int64_t now,
    char *out, size_t len)
{
	char text[REPLY_QUOTE + 4], sid[72], when[32];

	/* from outside: no control character reaches the log or the row */
	str_copy(text, sizeof(text), in->text);
	str_mask_controls(text);
	str_copy(sid, sizeof(sid), in->sid);
	str_mask_controls(sid);
	format_time(now, when, sizeof(when));
	snprintf(out, len, "reply '%s'%s%s%s at %s", text,
	    sid[0] != '\0' ? " (message " : "", sid,
	    sid[0] != '\0' ? ")" : "", when);
}

/*
 * Rows for PHONE's customers IDS[0..N-1] (customer 0 when N is 0), all
 * saying DECISION and DETAIL, and the new head into ANCHOR.
 */
static int
audit_rows(struct store *st, const char *phone, const int64_t *ids,
    size_t n, const char *message_id, const char *decision,
    const char *detail, const char *consent, const char *config_hash,
    int64_t now, char *anchor)
{
	struct audit_chain ch = { 0 };
	struct store_audit a;
	size_t i;
	int rc = 0;

	if (audit_begin(st, &ch) == -1)
		return -1;
	for (i = 0; rc == 0 && i < (n > 0 ? n : 1); i++) {
		memset(&a, 0, sizeof(a));
		a.at = now;
		a.channel = "sms";
		a.queue_id = "segfeed";
		a.message_id = message_id;
		a.campaign_id = "";
		a.recipient = phone;
		a.customer_id = n > 0 ? ids[i] : 0;
		a.decision = decision;
		a.detail = detail;
		a.segment = "";
		a.variant = "";
		a.consent = consent;
		a.config_hash = config_hash;
		rc = audit_append(st, &ch, &a);
	}
	if (rc == 0 && anchor != NULL)
		audit_anchor_format(&ch, anchor, AUDIT_ANCHOR_MAX);
	audit_end(&ch);
	return rc;
}

/* Withdraws the jobs queued to PHONE, each audited as sms_withdrawn. */
static int
withdraw(struct store *st, const char *phone, const char *why,
    const char *config_hash, int64_t now, int64_t *withdrawn)
{
	int64_t ids[STORE_FEEDBACK_MAX];
	struct store_job *j;
	size_t n, i;
	int rc;

	/* each batch leaves the queue: the next finds the rest */
	do {
		if (store_feedback_sms_queued(st, phone, ids,
		    STORE_FEEDBACK_MAX, &n) == -1)
			return -1;
		for (i = 0; i < n; i++) {
			if ((rc = store_outbox_get_locked(st, ids[i], &j)) != 0)
				return -1;	/* read a moment ago */
			/* claimed since the list (a fleet's worker): in a
			 * worker's hands, past withdrawing, as the list's
			 * own 'sending' jobs are */
			if (j->state != JOB_QUEUED) {
				store_job_free(j);
				continue;
			}
			rc = store_outbox_update(st, ids[i], JOB_FAILED, now,
			    why, now);
			if (rc == 0)
				rc = outbox_audit_job(st, j, "sms_withdrawn",
				    why, config_hash, now, NULL);
			store_job_free(j);
			if (rc != 0)
				return -1;
			(*withdrawn)++;
		}
	} while (n == STORE_FEEDBACK_MAX);
	return 0;
}

/*
 * A reply taken before, by its gateway's message id: 1 (the transaction
 * rolled back, nothing to do), 0 when new (recorded), -1.  A STOP the
 * gateway sends again after a later START must not opt out again.
 */
static int
reply_seen(struct store *st, const struct feedback_sms_inbound *in,
    int64_t now, struct feedback_sms_applied *out)
{
	int rc;

	if (in->sid == NULL || in->sid[0] == '\0')
		return 0;
	if ((rc = store_delivery_once(st, "sms_reply", in->sid,
	    feedback_sms_keyword_name(in->keyword), now)) != 1)
		return rc;
	out->repeated = 1;
	return store_rollback(st) == -1 ? -1 : 1;
}

enum feedback_sms_error
feedback_sms_apply_optout(struct store *st,
    const struct feedback_sms_inbound *in, int64_t now,
    const char *config_hash, char *anchor, struct feedback_sms_applied *out)
{
	int64_t ids[STORE_FEEDBACK_MAX];
	char reply[200], why[256];
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (anchor != NULL)
		anchor[0] = '\0';
	describe_reply(in, now, reply, sizeof(reply));
	if (store_begin(st) == -1)
		return FEEDBACK_SMS_E_STORE;
	if ((rc = reply_seen(st, in, now, out)) != 0)
		return rc == 1 ? FEEDBACK_SMS_OK : failed(st);
	/* 1: opted out so already, as of now or later */
	if ((rc = store_phone_mark(st, in->from, PHONE_OPTED_OUT,
	    "sms_reply", reply, now, &out->customers)) == -1)
		return failed(st);
	out->changed = rc == 0;
	/* the words of the outbox's own check at send time */
	snprintf(why, sizeof(why), "opted_out since it was queued: %s",
	    reply);
	if (withdraw(st, in->from, why, config_hash, now,
	    &out->withdrawn) == -1)
		return failed(st);
	if ((out->changed || out->withdrawn > 0) &&
	    (store_feedback_customers(st, in->from, ids, STORE_FEEDBACK_MAX,
	    &n) == -1 || audit_rows(st, in->from, ids, n, in->sid,
	    "sms_optout", reply, "revoked sms_reply", config_hash, now,
	    anchor) == -1))
		return failed(st);
	if (store_commit(st) == -1)
		return failed(st);
	return FEEDBACK_SMS_OK;
}

enum feedback_sms_error
feedback_sms_apply_optin(struct store *st,
    const struct feedback_sms_inbound *in, int64_t now,
    const char *config_hash, char *anchor, struct feedback_sms_applied *out)
{
	int64_t ids[STORE_FEEDBACK_MAX];
	char reply[200], consent[240];
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (anchor != NULL)
		anchor[0] = '\0';
	describe_reply(in, now, reply, sizeof(reply));
	if (store_begin(st) == -1)
		return FEEDBACK_SMS_E_STORE;
	if ((rc = reply_seen(st, in, now, out)) != 0)
		return rc == 1 ? FEEDBACK_SMS_OK : failed(st);
	if (store_feedback_sms_regrant(st, in->from, "sms_reply", reply, now,
	    ids, STORE_FEEDBACK_MAX, &n, &out->skipped) == -1)
		return failed(st);
	out->customers = (int64_t)n;
	out->changed = n > 0;
	snprintf(consent, sizeof(consent), "granted sms_reply: %s", reply);
	if (n > 0 && audit_rows(st, in->from, ids, n, in->sid, "sms_optin",
	    reply, consent, config_hash, now, anchor) == -1)
		return failed(st);
	if (store_commit(st) == -1)
		return failed(st);
	return FEEDBACK_SMS_OK;
}

enum feedback_sms_error
feedback_sms_apply_report(struct store *st,
    const struct feedback_sms_report *r, int64_t now,
    const char *config_hash, char *anchor, struct feedback_sms_applied *out)
{
	struct store_job *j = NULL;
	const char *decision;
	char ref[72], code[16], why[256];
	int mark, rc;

	memset(out, 0, sizeof(*out));
	if (anchor != NULL)
		anchor[0] = '\0';
	if (r->status == FEEDBACK_SMS_ST_PENDING)
		return FEEDBACK_SMS_OK;
	mark = r->status == FEEDBACK_SMS_ST_OPTED_OUT ||
	    r->status == FEEDBACK_SMS_ST_INVALID;
	decision = r->status == FEEDBACK_SMS_ST_DELIVERED ? "sms_delivered" :
	    "sms_undelivered";
	str_copy(ref, sizeof(ref), r->ref);
	str_mask_controls(ref);
	str_copy(code, sizeof(code), r->code);
	str_mask_controls(code);
	snprintf(why, sizeof(why), "the gateway reports %s%s%s%s%s%s",
	    feedback_sms_status_name(r->status), code[0] != '\0' ?
	    " (code " : "", code, code[0] != '\0' ? ")" : "",
	    ref[0] != '\0' ? " for message " : "", ref);
	if (store_begin(st) == -1)
		return FEEDBACK_SMS_E_STORE;
	if (mark) {
		/* as outbox_record marks a refusal: source "gateway" */
		if ((rc = store_phone_mark(st, r->to,
		    r->status == FEEDBACK_SMS_ST_OPTED_OUT ? PHONE_OPTED_OUT :
		    PHONE_INVALID, "gateway", why, now, &out->customers)) == -1)
			return failed(st);
		out->changed = rc == 0;
		if (out->changed)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
			    "; number marked %s", r->status ==
			    FEEDBACK_SMS_ST_OPTED_OUT ? "opted out" :
			    "invalid");
	}
	if ((rc = store_feedback_sms_job(st, r->to, r->ref, r->job,
	    &out->job)) == -1)
		return failed(st);
	if (rc == 0) {
		if (store_outbox_get(st, out->job, &j) != 0)
			return failed(st);
		rc = outbox_audit_job(st, j, decision, why, config_hash, now,
		    anchor);
		store_job_free(j);
	} else
		rc = audit_rows(st, r->to, NULL, 0, ref, decision, why, "",
		    config_hash, now, anchor);
	if (rc == -1 || store_commit(st) == -1)
		return failed(st);
	return FEEDBACK_SMS_OK;
}
