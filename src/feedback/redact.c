/*
 * redact.c - Shopify's customers/redact: the customer erased at once,
 * while the audit chain still verifies (audit.h), rather than left for a
 * person to do within the 30 days Shopify allows.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "feedback_shopify.h"
#include "store_feedback.h"
#include "store_lookup.h"

/* The customer P names: by the shop's id, else by email.  0, 1, -1. */
static int
redact_find(struct store *st, const struct feedback_shopify *p, int64_t *id)
{
	const struct feedback_shopify_subject *s = &p->subject;
	int rc = 1;

	if (s->customer_id != NULL &&
	    (rc = store_webhook_customer(st, p->w.source, s->customer_id,
	    id)) != 1)
		return rc;
	if (s->email != NULL)
		rc = store_customer_find(st, s->email, id);
	return rc;
}

int
feedback_shopify_redact(struct store *st, const struct feedback_shopify *p,
    const char *config_hash, int64_t now, int64_t *customer,
    struct store_redaction *r, char *anchor, char *err, size_t errlen)
{
	struct audit_chain ch = { 0 };
	char source[160];
	int rc, chained = 0;

	memset(r, 0, sizeof(*r));
	*customer = 0;
	if (store_begin(st) == -1)
		goto fail;
	rc = store_delivery_once(st, p->w.source, p->w.delivery_id,
	    p->w.topic, now);
	if (rc == 1) {
		store_rollback(st);
		return 2;
	}
	if (rc == -1 || (rc = redact_find(st, p, customer)) == -1)
		goto fail;
	if (rc == 1) {
		/* nothing held: the delivery alone, so a retry is a repeat */
		if (store_commit(st) == -1)
			goto fail;
		return 1;
	}
	snprintf(source, sizeof(source), "%s %s %s (customer %s)",
	    p->w.source, p->w.topic, p->w.delivery_id,
	    p->subject.customer_id != NULL ? p->subject.customer_id : "?");
	if (audit_begin(st, &ch) == -1)
		goto fail;
	chained = 1;
	if (audit_redact(st, &ch, *customer, now, source, config_hash,
	    r) == -1 || store_commit(st) == -1)
		goto fail;
	audit_anchor_format(&ch, anchor, AUDIT_ANCHOR_MAX);
	audit_end(&ch);
	return 0;
fail:
	snprintf(err, errlen, "%s %s: %s", p->w.topic, p->w.delivery_id,
	    store_error(st));
	store_rollback(st);
	if (chained)
		audit_end(&ch);
	return -1;
}
