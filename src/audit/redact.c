/*
 * redact.c - erasing a customer and recording that it was done, in one
 * transaction (audit.h, audit_redact).
 *
 * The redaction row names the customer by id and what asked for it, and
 * nothing personal: it is the evidence that the blanked rows before it
 * were erased on request rather than tampered with.
 */
#include <string.h>

#include "audit.h"

int
audit_redact(struct store *st, struct audit_chain *ch, int64_t id,
    int64_t at, const char *source, const char *config_hash,
    struct store_redaction *r)
{
	struct store_audit a;

	if (store_customer_redact(st, id, at, r) == -1)
		return -1;
	memset(&a, 0, sizeof(a));
	a.at = at;
	a.channel = "customer";
	a.queue_id = "";
	a.message_id = "";
	a.campaign_id = "";
	a.recipient = "";
	a.customer_id = id;
	a.decision = AUDIT_REDACTED;
	a.detail = source;
	a.segment = "";
	a.variant = "";
	a.consent = "";
	a.config_hash = config_hash;
	return audit_append(st, ch, &a);
}
