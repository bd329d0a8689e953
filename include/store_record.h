/*
 * store_record - the records the store keeps of customers, as the
 * shop's exports, its webhooks and customers' own replies bring them
 * (src/store/records.c, sources.c, sms.c): profiles, products, orders
 * and their lines, behaviour events, consent and its history, a
 * customer's own cadence, engagement, what is known of a phone number,
 * and where each fact came from.
 *
 * Written by the imports (src/import/, which use nothing else), and by
 * segfeed and the outbox where a bounce, an unsubscribe, a STOP reply or
 * a gateway's refusal is recorded (src/feedback/, src/outbox/); read by
 * segctl explain and segfeed's bounce handling.  A whole webhook
 * delivery is written through store_feedback.h, which takes these
 * records.  Upserts report through enum store_change; the conventions
 * are store.h's.
 */
#ifndef SEGM_STORE_RECORD_H
#define SEGM_STORE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "segment.h"
#include "store.h"

/*
 * Provenance: until store_source_end, the profiles, orders and events
 * this handle inserts or changes name a source NAME ("import orders
 * orders.csv", "shopify orders/create DELIVERY") that arrived at AT,
 * recorded by store_source_begin inside the caller's write transaction.
 * A rollback forgets it.  0, or -1.
 */
int	 store_source_begin(struct store *st, const char *name, int64_t at);
void	 store_source_end(struct store *st);

/*
 * Where customer ID's facts came from, for segctl explain: FN is called
 * for the profile, then the latest STORE_FACT_ORDERS orders (newest
 * first), then the latest event of each type.  SOURCE is NULL for a
 * fact written before schema version 13 or by hand; AT is the fact's
 * own time (the order placed, the event), 0 for the profile; ARRIVED
 * the source's.  *MORE (may be NULL) is how many older orders were left
 * out.  0, FN's non-zero, or -1.
 */
enum store_fact_kind { FACT_PROFILE, FACT_ORDER, FACT_EVENT };
#define STORE_FACT_ORDERS	5
struct store_fact_source {
	enum store_fact_kind kind;
	const char	*ref;		/* the order's reference, the event's
					   type; "" for the profile */
	int64_t		 at;
	const char	*source;
	int64_t		 arrived;
};
typedef int (*store_fact_source_fn)(const struct store_fact_source *f,
	    void *arg);
int	 store_fact_sources(struct store *st, int64_t id,
	    store_fact_source_fn fn, void *arg, int64_t *more);

/* Customer profile; NULL strings are stored as NULL (absent). */
struct store_customer {
	const char	*email;		/* normalised, required */
	const char	*external_id;
	const char	*first_name;
	const char	*last_name;
	const char	*phone;		/* E.164 */
	const char	*country;	/* ISO 3166 alpha-2 */
	const char	*region;
	const char	*currency;	/* ISO 4217 */
	const char	*language;	/* BCP 47 primary tag */
	const char	*time_zone;	/* IANA */
	const char	*account_type;	/* "retail" when NULL */
	const char	*company;
	const char	*tags;
	int		 tax_exempt;
	int64_t		 created_at;	/* 0: unknown */
};

/* Replaces the profile of EMAIL (creating it); *id is its row id. */
int	 store_customer_upsert(struct store *st, const struct store_customer *c,
	    int64_t *id, enum store_change *changed);
/* Creates a bare customer for EMAIL if there is none (orders of guests). */
int	 store_customer_ensure(struct store *st, const char *email,
	    int64_t *id, enum store_change *changed);

struct store_product {
	const char	*sku;		/* required */
	const char	*handle;
	const char	*title;
	const char	*category;	/* slug */
	int64_t		 cost;		/* cents per unit, -1 unknown */
};

int	 store_product_upsert(struct store *st, const struct store_product *p,
	    enum store_change *changed);

struct store_order {
	const char	*ref;		/* natural key: Shopify "Name" */
	int64_t		 customer_id;
	int64_t		 created_at;
	const char	*financial_status;
	int64_t		 cancelled_at;	/* 0: not cancelled */
	const char	*currency;
	int64_t		 total;		/* cents */
	int64_t		 refunded;	/* cents */
	const char	*discount_code;
};

struct store_order_line {
	int64_t		 line_no;	/* 1-based position in the order */
	const char	*sku;
	const char	*product;
	const char	*category;	/* slug, NULL: from products/config */
	int64_t		 quantity;
	int64_t		 price;		/* cents per unit */
};

int	 store_order_upsert(struct store *st, const struct store_order *o,
	    int64_t *order_id, enum store_change *changed);
int	 store_order_line_upsert(struct store *st, int64_t order_id,
	    const struct store_order_line *l, enum store_change *changed);
/* Drops lines numbered above NLINES (an order re-exported shorter). */
int	 store_order_lines_trim(struct store *st, int64_t order_id,
	    int64_t nlines, enum store_change *changed);

/*
 * Bulk imports: orders and lines written many rows per statement, which
 * spares SQLite much of its work per row.  store_orders_add() inserts the
 * N orders whose refs are new, with ids from the next free one on, and
 * leaves the others alone: IDS[i] is order i's new id, or 0 if its ref was
 * in the store already (the caller upserts those one at a time).
 * store_order_lines_add() inserts lines of orders just added (a line that
 * exists already is an error); line i belongs to ORDER_IDS[i].
 */
#define STORE_ORDERS_MANY_LOG2	9	/* up to 512 orders a statement */
#define STORE_LINES_MANY_LOG2	10	/* up to 1024 lines */
int	 store_orders_add(struct store *st, const struct store_order *o,
	    size_t n, int64_t *ids);
int	 store_order_lines_add(struct store *st, const int64_t *order_ids,
	    const struct store_order_line *l, size_t n);

struct store_event {
	int64_t		 customer_id;
	enum segment_event_type type;
	int64_t		 at;
	const char	*category;
	const char	*sku;
	int64_t		 cart_value;	/* cents, -1 unknown */
};

int	 store_event_add(struct store *st, const struct store_event *e,
	    enum store_change *changed);
/* N events at once, many to a statement; *INSERTED of them were new. */
#define STORE_EVENTS_MANY_LOG2	9	/* up to 512 a statement */
int	 store_events_add(struct store *st, const struct store_event *e,
	    size_t n, int64_t *inserted);

enum store_channel { CHANNEL_EMAIL, CHANNEL_SMS };

struct store_consent {
	int64_t		 customer_id;
	enum store_channel channel;
	int		 granted;	/* 1 granted, 0 revoked/refused */
	const char	*source;	/* "shopify_customers", a form id... */
	int64_t		 recorded_at;
	const char	*evidence;	/* consent text, form id, IP... */
};

/*
 * Records a consent statement in the history and makes it current unless a
 * later one is current already.  FLAGS:
 *   STORE_CONSENT_IF_DIFFERENT  a statement whose status equals the current
 *       one is not recorded (exports that carry no timestamp of their own);
 *   STORE_CONSENT_FIRST  the caller has just created the customer, so no
 *       statement can exist yet and none is looked up.
 */
#define STORE_CONSENT_IF_DIFFERENT	0x1
#define STORE_CONSENT_FIRST		0x2
int	 store_consent_record(struct store *st, const struct store_consent *c,
	    int flags, enum store_change *changed);
/*
 * Records N statements as store_consent_record() with STORE_CONSENT_FIRST
 * would, many to a statement: for customers just created.
 */
#define STORE_CONSENT_MANY_LOG2	9	/* up to 512 a statement */
int	 store_consent_add(struct store *st, const struct store_consent *c,
	    size_t n);
/* 0 and *c filled (strings valid until the next call), 1 if no record. */
int	 store_consent_get(struct store *st, int64_t customer_id,
	    enum store_channel channel, struct store_consent *c);

enum store_engagement_type {
	ENG_SENT,
	ENG_OPEN,
	ENG_CLICK,
	ENG_UNSUBSCRIBE,
	ENG_BOUNCE,
	ENG_SMS_OPTOUT,
	ENG_SOFT_BOUNCE,	/* a transient failure reported (segctl
				   bounce): suppresses only in numbers */
	ENG_COMPLAINT,		/* a feedback report: stops email like an
				   unsubscribe */
	ENG_COUNT
};

struct store_engagement {
	int64_t		 customer_id;
	const char	*campaign_id;
	enum store_engagement_type type;
	int64_t		 at;
};

int	 store_engagement_add(struct store *st,
	    const struct store_engagement *e, enum store_change *changed);
/*
 * Adds N records at once (fewer statements for bulk imports); *INSERTED
 * is how many were new, the rest being already there.
 */
#define STORE_ENGAGEMENT_MANY_LOG2	9
#define STORE_ENGAGEMENT_MANY	(1 << STORE_ENGAGEMENT_MANY_LOG2)
int	 store_engagement_add_many(struct store *st,
	    const struct store_engagement *e, size_t n, int64_t *inserted);
const char *store_engagement_name(enum store_engagement_type t);
int	 store_engagement_parse(const char *name,
	    enum store_engagement_type *out);

/* Counts of engagement by type for one customer, and the latest of each. */
struct store_engagement_summary {
	int64_t		 count[ENG_COUNT];
	int64_t		 last[ENG_COUNT];
};
int	 store_engagement_summary(struct store *st, int64_t customer_id,
	    struct store_engagement_summary *sum);

/* Profile as stored; strings valid until the next call on the handle. */
int	 store_customer_get(struct store *st, int64_t id,
	    struct store_customer *c);

/*
 * A customer's own cadence ("fewer emails"): at least DAYS between two
 * campaigns, from SOURCE at AT; DAYS 0 removes it.  *CHANGED says
 * whether anything was written (the same wish again writes nothing).
 * 0, or -1.
 */
int	 store_cadence_set(struct store *st, int64_t customer_id, int64_t days,
	    const char *source, int64_t at, enum store_change *changed);

enum store_phone_status { PHONE_OPTED_OUT, PHONE_INVALID };

/* 1 and *AT when PHONE opted out (STOP, or a gateway), 0 when not, -1. */
int	 store_phone_opted_out(struct store *st, const char *phone,
	    int64_t *at);

/*
 * Notes what is known about PHONE (E.164) since AT: opted out (a STOP
 * reply, or the gateway refusing an unsubscribed number) or invalid.
 * An opt-out also revokes the SMS consent of every customer with that
 * number, with SOURCE and DETAIL as the evidence, and records an
 * sms_optout engagement.  *CUSTOMERS (may be NULL): how many.  0; 1 when
 * the number was known so already, as of AT or later (nothing changed);
 * or -1.
 */
int	 store_phone_mark(struct store *st, const char *phone,
	    enum store_phone_status status, const char *source,
	    const char *detail, int64_t at, int64_t *customers);

#endif
