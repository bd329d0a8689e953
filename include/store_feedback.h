/*
 * store_feedback - what segfeed writes as one thing (src/store/
 * feedback.c, webhook.c): a shop's webhook delivery with the records it
 * brings, each delivery once; an SMS gateway's replies and delivery
 * reports against the numbers, consent and jobs they concern.  The
 * records themselves (struct store_customer, store_order, ...) are
 * store_record.h's; a client that fills a webhook includes both.
 *
 * Used by src/feedback/ and segctl webhook (pruning deliveries).
 * Conventions: store.h.
 */
#ifndef SEGM_STORE_FEEDBACK_H
#define SEGM_STORE_FEEDBACK_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* store_record.h's, which a webhook's delivery brings */
struct store_consent;
struct store_customer;
struct store_event;
struct store_order;
struct store_order_line;

/*
 * SMS feedback: what segfeed reads and writes when a gateway reports
 * back (src/store/feedback.c), inside the caller's write transaction.
 * PHONE is E.164 as stored.  0, or -1 unless said otherwise.
 *
 * store_feedback_customers: the customers with PHONE, in id order, up to
 * MAX into IDS, *N of them.
 * store_feedback_sms_queued: the SMS jobs queued (not yet claimed) to
 * PHONE for its customers, up to MAX, oldest first.
 * store_feedback_sms_regrant: SMS consent granted again at AT, with
 * SOURCE and EVIDENCE, to each customer with PHONE whose consent does not
 * stand (revoked, or older than the number's opt-out) and who granted
 * it before; IDS gets those whose consent this made current.  Customers
 * who never granted it get none: *SKIPPED says how many.
 * store_feedback_sms_job: the SMS job a delivery report is about: job
 * JOB when > 0 (to PHONE unless PHONE is ""), else the job to PHONE
 * whose gateway id is REF.  0 and *ID, 1 when there is none, or -1.
 */
#define STORE_FEEDBACK_MAX	64	/* as store_phone_mark's customers */
int	 store_feedback_customers(struct store *st, const char *phone,
	    int64_t *ids, size_t max, size_t *n);
int	 store_feedback_sms_queued(struct store *st, const char *phone,
	    int64_t *ids, size_t max, size_t *n);
int	 store_feedback_sms_regrant(struct store *st, const char *phone,
	    const char *source, const char *evidence, int64_t at,
	    int64_t *ids, size_t max, size_t *n, int64_t *skipped);
int	 store_feedback_sms_job(struct store *st, const char *phone,
	    const char *ref, int64_t job, int64_t *id);

/*
 * Webhooks (src/store/webhook.c): what one delivery of a shop's webhook
 * brings, written in one transaction together with the delivery's id.
 * Shops deliver at least once and retry for hours, so a delivery whose
 * id was seen changes nothing, and an update older than the one the
 * store holds for the same customer or order (by the shop's updated_at)
 * is recorded as seen but not applied.  The store knows no shop's JSON:
 * the caller (src/feedback/) maps a payload into these records.
 */
struct store_webhook_refund {
	const char	*id;		/* the shop's refund id, required */
	int64_t		 amount;	/* cents returned */
};

struct store_webhook {
	const char	*source;	/* "shopify" */
	const char	*delivery_id;	/* X-Shopify-Webhook-Id, required */
	const char	*event_id;	/* X-Shopify-Event-Id, NULL: none */
	const char	*topic;		/* "orders/create" */
	int64_t		 received_at;

	/*
	 * The customer: EMAIL normalised, NULL when the delivery names
	 * nobody to write (a guest order, a checkout without an email).
	 * CUSTOMER replaces the profile (store_customer_upsert), NULL
	 * creates a bare one if there is none (store_customer_ensure).
	 * CUSTOMER_KEY is the shop's id for it, for the staleness check.
	 */
	const char	*email;
	const struct store_customer *customer;
	const char	*customer_key;
	/* statements for the customer (customer_id is filled in); an SMS
	 * consent is not taken for a number that opted out after it */
	const struct store_consent *consent;
	size_t		 nconsent;

	/*
	 * An order (customer_id filled in) and its lines, which replace
	 * the order's; ORDER->refunded < 0 keeps what the store has.
	 * ORDER_KEY is the shop's id for the order.  REFUNDS are recorded
	 * for it; without ORDER they are refunds of the order ORDER_KEY,
	 * added to its refunded amount unless counted before.
	 */
	const struct store_order *order;
	const char	*order_key;
	const struct store_order_line *lines;
	size_t		 nlines;
	const struct store_webhook_refund *refunds;
	size_t		 nrefunds;

	int64_t		 updated_at;	/* the customer's or order's, 0: unknown */

	/* behaviour (customer_id filled in), inserted or ignored */
	const struct store_event *events;
	size_t		 nevents;

	/*
	 * Called inside the transaction once a customer's facts are
	 * written (the refunded order's customer too), with their id:
	 * segment_refresh, so that the next message sees the change.  -1
	 * (store_error set) undoes the delivery.  NULL: nothing.
	 */
	int		(*written)(struct store *st, int64_t customer_id,
			    void *arg);
	void		*written_arg;
};

enum store_webhook_result {
	STORE_WEBHOOK_APPLIED,		/* written, the delivery recorded */
	STORE_WEBHOOK_DUPLICATE,	/* delivery seen before: nothing */
	STORE_WEBHOOK_STALE,		/* the store holds a newer update:
					   only the delivery recorded */
	STORE_WEBHOOK_UNKNOWN_ORDER	/* refunds of an order the store
					   does not know: kept, not added */
};

/* 1 when SOURCE's delivery ID was recorded, 0 when not, or -1. */
int	 store_webhook_seen(struct store *st, const char *source,
	    const char *delivery_id);
/*
 * Applies W in a transaction of its own (so not inside one): *RESULT
 * says what was done, *CHANGED whether any row but the delivery's
 * changed.  0; or -1 with store_error(), nothing written.
 */
int	 store_webhook_apply(struct store *st, const struct store_webhook *w,
	    enum store_webhook_result *result, enum store_change *changed);
/*
 * Records delivery ID from SOURCE (an SMS reply's MessageSid) as taken,
 * in the caller's transaction: 0 when it is new, 1 when it was taken
 * before (nothing written), -1.
 */
int	 store_delivery_once(struct store *st, const char *source,
	    const char *id, const char *topic, int64_t at);
/* Our customer for SOURCE's customer KEY: 0 and *ID, 1 when the shop's
 * id is not mapped, or -1. */
int	 store_webhook_customer(struct store *st, const char *source,
	    const char *key, int64_t *id);
/* Forgets deliveries received before BEFORE (retries end after hours);
 * *N (may be NULL) how many.  0, or -1. */
int	 store_webhook_prune(struct store *st, int64_t before, int64_t *n);

#endif
