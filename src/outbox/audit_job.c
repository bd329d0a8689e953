/*
 * audit_job.c - what happened to a copy or an SMS, in the audit log, one
 * row per recipient: the outbox workers (sent SMS, failed, expired) and
 * segctl outbox (cancelled, retried) write them alike.  A row names the
 * customer too: an SMS job's, a copy's recipient's by address.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "outbox.h"
#include "store_lookup.h"
#include "store_outbox.h"

int
outbox_audit_job(struct store *st, const struct store_job *j,
    const char *decision, const char *why, const char *config_hash,
    int64_t now, char *anchor)
{
	struct audit_chain ch = { 0 };
	struct store_audit a;
	char rcpt[1024], detail[640], name[32];
	const char *p, *eol;
	int sms = strcmp(j->kind, "sms") == 0;

	if (audit_begin(st, &ch) == -1)
		return -1;
	/* segctl outbox names copy_cancelled and the like: an SMS is no copy */
	if (sms && strncmp(decision, "copy_", 5) == 0) {
		snprintf(name, sizeof(name), "sms_%s", decision + 5);
		decision = name;
	}
	/* printf's "(null)" for a NULL is no reason, and undefined */
	snprintf(detail, sizeof(detail), "outbox job %lld after %lld"
	    " attempts%s%s", (long long)j->id, (long long)j->attempts,
	    why != NULL ? ": " : "", why != NULL ? why : "");
	for (p = j->recipients; *p != '\0'; p = *eol ? eol + 1 : eol) {
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		if (eol == p)
			continue;
		snprintf(rcpt, sizeof(rcpt), "%.*s", (int)(eol - p), p);
		memset(&a, 0, sizeof(a));
		a.at = now;
		a.channel = sms ? "sms" : "email";
		a.customer_id = j->customer_id;
		/* a copy's recipient is found by address: their rows are
		 * counted, and erased, with their other rows */
		if (!sms && store_customer_find(st, rcpt,
		    &a.customer_id) == -1) {
			audit_end(&ch);
			return -1;
		}
		a.queue_id = "outbox";
		a.message_id = j->message_key;
		a.campaign_id = j->campaign_id;
		a.recipient = rcpt;
		a.decision = decision;
		a.detail = detail;
		a.segment = "";
		a.variant = j->variant;
		a.consent = "";
		a.config_hash = config_hash;
		if (audit_append(st, &ch, &a) == -1) {
			audit_end(&ch);
			return -1;
		}
	}
	if (anchor != NULL)
		audit_anchor_format(&ch, anchor, AUDIT_ANCHOR_MAX);
	audit_end(&ch);
	return 0;
}
