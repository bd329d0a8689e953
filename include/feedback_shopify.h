/*
 * feedback_shopify - the pure core of Shopify's webhook endpoint.
 *
 * A delivery is (1) verified: X-Shopify-Hmac-Sha256 is the base64
 * HMAC-SHA256 of the raw body under the app's client secret; (2) parsed
 * for its topic (X-Shopify-Topic) into the store's records, as the CSV
 * importers map Shopify's exports; (3) applied once, by its
 * X-Shopify-Webhook-Id, in one transaction (store_webhook_apply).  The
 * HTTP listener (segfeed) does the I/O and answers; nothing here reads a
 * socket, a clock or a file.
 *
 * Parsing uses json-glib on a body of at most FEEDBACK_SHOPIFY_BODY_MAX
 * bytes, nested at most FEEDBACK_SHOPIFY_DEPTH_MAX deep (checked before
 * json-glib, whose parser recurses), with at most
 * FEEDBACK_SHOPIFY_ITEMS_MAX line items, refunds or transactions.  A
 * payload that is not JSON, has a field of the wrong type, or lacks one
 * the mapping needs is refused whole with a message naming the field
 * ("line_items[1].quantity: expected an integer"): such a payload will
 * not get better on a retry.  Unknown fields are ignored: Shopify adds
 * fields without notice.
 *
 * Ownership: feedback_shopify_parse() returns a payload the caller frees
 * with feedback_shopify_free(); every string in it belongs to it.
 */
#ifndef SEGM_FEEDBACK_SHOPIFY_H
#define SEGM_FEEDBACK_SHOPIFY_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"
#include "store_feedback.h"
#include "store_record.h"

struct store_redaction;		/* store_audit.h */

#define FEEDBACK_SHOPIFY_BODY_MAX	(1024 * 1024)
#define FEEDBACK_SHOPIFY_DEPTH_MAX	32
#define FEEDBACK_SHOPIFY_ITEMS_MAX	1000
#define FEEDBACK_SHOPIFY_TEXT_MAX	1024	/* bytes of a free text */
#define FEEDBACK_SHOPIFY_ID_MAX		64	/* bytes of a Shopify id */

/* What store_webhook records as the source of these deliveries. */
#define FEEDBACK_SHOPIFY_SOURCE		"shopify"

/* X-Shopify-Topic values understood. */
enum feedback_shopify_topic {
	SHOPIFY_ORDERS_CREATE,
	SHOPIFY_ORDERS_UPDATED,
	SHOPIFY_ORDERS_CANCELLED,
	SHOPIFY_REFUNDS_CREATE,
	SHOPIFY_CUSTOMERS_CREATE,
	SHOPIFY_CUSTOMERS_UPDATE,
	SHOPIFY_CHECKOUTS_CREATE,
	SHOPIFY_CHECKOUTS_UPDATE,
	SHOPIFY_CUSTOMERS_DATA_REQUEST,
	SHOPIFY_CUSTOMERS_REDACT,
	SHOPIFY_TOPIC_COUNT
};

const char *feedback_shopify_topic_name(enum feedback_shopify_topic t);
/* 0 and *OUT for a topic above ("orders/create"), -1 for any other. */
int	 feedback_shopify_topic_parse(const char *name,
	    enum feedback_shopify_topic *out);

/*
 * 1 when HMAC_B64 (the header's value) is the base64 HMAC-SHA256 of the
 * LEN bytes at BODY under SECRET, compared in constant time; 0 when not,
 * or when SECRET is empty (a key anybody knows) or HMAC_B64 NULL.  After
 * a secret rotation Shopify may sign with the old secret for an hour:
 * the caller tries both.
 */
int	 feedback_shopify_valid(const char *secret, const void *body,
	    size_t len, const char *hmac_b64);

/* email_marketing_consent.state / sms_marketing_consent.state */
enum feedback_shopify_consent_state {
	SHOPIFY_CONSENT_SUBSCRIBED,
	SHOPIFY_CONSENT_NOT_SUBSCRIBED,
	SHOPIFY_CONSENT_PENDING,
	SHOPIFY_CONSENT_UNSUBSCRIBED,
	SHOPIFY_CONSENT_REDACTED,
	SHOPIFY_CONSENT_INVALID,
	SHOPIFY_CONSENT_STATE_COUNT
};

/* What the delivery's headers say; the strings are copied. */
struct feedback_shopify_delivery {
	const char	*webhook_id;	/* X-Shopify-Webhook-Id, required */
	const char	*event_id;	/* X-Shopify-Event-Id, NULL: none */
	int64_t		 received_at;	/* consent without a date of its own
					   is dated so (Shopify's rule) */
};

/* A checkout: a cart until completed_at is set. */
struct feedback_shopify_cart {
	int		 present;
	char		*token;		/* its key */
	int64_t		 at;		/* updated_at, else created_at */
	int64_t		 completed_at;	/* 0: not completed */
	int64_t		 value;		/* cents, -1 unknown */
	char		*recovery_url;	/* abandoned_checkout_url, NULL */
};

/*
 * customers/data_request and customers/redact: who, and which orders.
 * Nothing is written for them: what to do is the caller's.
 */
struct feedback_shopify_subject {
	char		*shop_domain;
	char		*customer_id;	/* NULL when absent */
	char		*email;		/* normalised, NULL when absent */
	char		*phone;		/* as sent, NULL when absent */
	char		**orders;	/* orders_to_redact / _requested */
	size_t		 norders;
	char		*request_id;	/* data_request.id, NULL */
};

struct feedback_shopify {
	enum feedback_shopify_topic topic;
	/*
	 * What store_webhook_apply() writes; its pointers lead to the
	 * members below.  w.email NULL: nobody to write (a guest order, a
	 * customer or checkout without an email).
	 */
	struct store_webhook	 w;
	struct store_customer	 customer;
	struct store_consent	 consent[2];
	struct store_order	 order;
	struct store_order_line	*lines;
	struct store_webhook_refund *refunds;
	struct store_event	*events;
	struct feedback_shopify_cart cart;
	struct feedback_shopify_subject subject;
	/* the last value dropped rather than refused ("phone: ..."), "" */
	char			 warning[256];

	char			**owned;	/* strings to free */
	size_t			 nowned, capowned;
};

/*
 * Parses BODY (LEN bytes) as TOPIC's payload from delivery D into a new
 * *OUT.  0; or -1 with ERR naming the field, and *OUT NULL.
 */
int	 feedback_shopify_parse(enum feedback_shopify_topic topic,
	    const void *body, size_t len,
	    const struct feedback_shopify_delivery *d,
	    struct feedback_shopify **out, char *err, size_t errlen);
/* Safe on NULL. */
void	 feedback_shopify_free(struct feedback_shopify *p);

/*
 * Applies P to ST once (store_webhook_apply), the customer's segments
 * refreshed by RULES at NOW in the same transaction (segment_refresh):
 * 0 with *RESULT and
 * *CHANGED; 1 for data_request and redact, which write nothing, not even
 * the delivery (the caller acts on P->subject, then may record the
 * delivery alone with store_webhook_apply(st, &p->w, ...)); -1
 * with ERR when the store failed (nothing written: answer so that
 * Shopify retries).
 */
int	 feedback_shopify_apply(struct store *st,
	    const struct feedback_shopify *p, const struct conf_segments *rules,
	    int64_t now, enum store_webhook_result *result,
	    enum store_change *changed, char *err, size_t errlen);

/*
 * customers/redact (P): erases the customer it names, found by the
 * shop's id for them, else by email, and records delivery P->w once, in
 * one transaction with the redaction's audit row (audit_redact, with
 * CONFIG_HASH).  0 when erased: *CUSTOMER, *R and the new head in ANCHOR
 * (AUDIT_ANCHOR_MAX); 1 when there was nobody to erase, 2 when the
 * delivery was seen before (nothing written); -1 with ERR when the store
 * failed (nothing written: answer so that Shopify retries).
 */
int	 feedback_shopify_redact(struct store *st,
	    const struct feedback_shopify *p, const char *config_hash,
	    int64_t now, int64_t *customer, struct store_redaction *r,
	    char *anchor, char *err, size_t errlen);

#endif
