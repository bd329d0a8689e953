/*
 * segment - the eight segments of the source article, decided from facts.
 *
 * Pure: segment_classify() sees one customer's facts (profile, orders with
 * their lines, behaviour events) and the rules from segmilter.conf, and
 * fills a segment_result with every rule the customer meets and the figures
 * that decided it.  No I/O, no clock: NOW is passed in.  The store gathers
 * the facts (store_facts_scan); segment_rebuild() in rebuild.c drives the
 * two passes and writes a new generation through the store.
 *
 * VIP is the one rule that needs every customer: the top N percent is known
 * only after all values are seen, so classification yields the VIP value and
 * eligibility, and segment_pick() chooses the lifecycle segment once the
 * threshold is known.
 *
 * Lifecycle rules (a customer may meet several; priority picks one):
 *   b2b         account type, customer tag, tax exempt, company email
 *               domain, or bulk orders (line quantity >= N in >= M orders)
 *   vip         value in the top N percent of eligible customers
 *   lapsed      no completed order within the buying cycle: the longest
 *               cycle of the categories bought, or, if adapting, FACTOR
 *               times the customer's own mean order interval
 *   repeat      two or more completed orders
 *   first_time  exactly one completed order
 *   subscriber  everyone else (no completed order)
 * A completed order is paid (or partially refunded/paid), not cancelled, and
 * not refunded in full.
 */
#ifndef SEGM_SEGMENT_H
#define SEGM_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "progress.h"

#define SEGMENT_MAX_INTERESTS	32	/* most recent kept */

enum segment_event_type {
	SEG_EV_PRODUCT_VIEW,
	SEG_EV_CATEGORY_VIEW,
	SEG_EV_ADD_TO_CART,
	SEG_EV_CHECKOUT_START
};

struct segment_customer {
	int64_t		 id;
	const char	*email;
	const char	*country;
	const char	*currency;
	const char	*language;
	const char	*time_zone;
	const char	*account_type;
	const char	*company;
	const char	*tags;		/* comma separated, as Shopify writes */
	int		 tax_exempt;
};

struct segment_line {
	const char	*sku;
	const char	*product;
	const char	*category;	/* NULL: resolve by config maps */
	int64_t		 quantity;
	int64_t		 price;		/* cents, per unit */
	int64_t		 cost;		/* cents per unit, -1 unknown */
};

struct segment_order {
	int64_t		 id;
	int64_t		 at;
	const char	*financial_status;
	int		 cancelled;
	const char	*currency;
	int64_t		 total;		/* cents */
	int64_t		 refunded;	/* cents */
	size_t		 first_line;	/* index into facts->lines */
	size_t		 nlines;
};

/*
 * Whether O completed: paid (fully or partly), not cancelled, not
 * refunded in full.  1 or 0.
 */
int	 segment_order_completed(const struct segment_order *o);

struct segment_event {
	enum segment_event_type type;
	int64_t		 at;
	const char	*category;	/* may be NULL */
	int64_t		 cart_value;	/* cents, -1 unknown */
};

/*
 * One customer's facts; orders and events in ascending time.  A string
 * added here is one more for rebuild.c's rebuild_strings to copy.
 */
struct segment_facts {
	struct segment_customer	 cust;
	struct segment_order	*orders;
	size_t			 norders;
	struct segment_line	*lines;
	size_t			 nlines;
	struct segment_event	*events;
	size_t			 nevents;
};

enum segment_b2b_reason {
	B2B_NONE,
	B2B_ACCOUNT_TYPE,
	B2B_TAG,
	B2B_TAX_EXEMPT,
	B2B_DOMAIN,
	B2B_BULK
};

/* Where a category interest came from; bits.  DUE and LAPSED are the
 * category's buying cycle (segment_categories), an interest or not. */
#define SEG_INTEREST_BOUGHT	0x1
#define SEG_INTEREST_VIEWED	0x2
#define SEG_INTEREST_CARTED	0x4
#define SEG_INTEREST_SEEN	0x7	/* any of the three: an interest */
#define SEG_INTEREST_DUE	0x8
#define SEG_INTEREST_LAPSED	0x10

/* Which locale facts were not the profile's but derived: bits. */
#define SEG_LOCALE_CURRENCY_ORDER	0x1	/* the latest order's */
#define SEG_LOCALE_CURRENCY_COUNTRY	0x2	/* the country's */
#define SEG_LOCALE_LANGUAGE_COUNTRY	0x4
#define SEG_LOCALE_TZ_COUNTRY		0x8

struct segment_interest {
	char		 category[CONF_NAME_MAX];
	unsigned	 sources;
	int64_t		 last_at;
};

struct segment_result {
	unsigned	 flags;		/* 1u << lifecycle, for each rule met */
	enum conf_lifecycle lifecycle;	/* set by segment_pick() */

	int64_t		 orders;	/* completed */
	int64_t		 net_spend;	/* cents, base currency */
	int64_t		 margin;	/* cents, base currency */
	int64_t		 uncosted_lines; /* lines with unknown cost */
	int64_t		 first_order_at;	/* 0: none */
	int64_t		 last_order_at;

	int64_t		 vip_value;	/* by the configured metric */
	int		 vip_eligible;	/* meets the VIP minimums */

	int64_t		 cycle_days;	/* buying cycle used for lapsed */
	char		 cycle_source[CONF_NAME_MAX]; /* category, "default",
					   or "own interval" */
	int64_t		 mean_interval_days; /* 0: fewer than two orders */

	enum segment_b2b_reason b2b_reason;
	char		 b2b_detail[128];	/* why, for explain */

	int		 cart_abandoner;
	int64_t		 cart_at;
	int64_t		 cart_value;	/* cents, -1 unknown */

	/* refunds, over every order not cancelled: money in base cents */
	int64_t		 refunded;
	int64_t		 refunded_orders;
	unsigned	 locale_derived;	/* SEG_LOCALE_* bits */

	/*
	 * What the rules could not read, for the rebuild to report: lines of
	 * completed orders that map to no category, and orders whose currency
	 * has no rate (counted 1:1 as the base currency; the last one seen).
	 */
	int64_t		 order_lines;
	int64_t		 uncategorised_lines;
	int64_t		 unrated_orders;
	char		 unrated_currency[4];

	/* from here on, not cleared by segment_classify's start */
	struct segment_interest interests[SEGMENT_MAX_INTERESTS];
	size_t		 ninterests;

	/* locale facet: the profile's, else derived (see classify.c) */
	char		 country[3];
	char		 currency[4];
	char		 language[8];
	char		 time_zone[48];
};

/*
 * Per category bought, its own buying cycle (category.c): the last
 * completed order with it, the customer's own mean interval between
 * such orders, and the interval expected of them: their own once they
 * have lapsed.adapt_min_orders orders of it, else their own shrunk
 * toward the category's configured cycle (lapsed.categories), weighted
 * by the orders they have; the cycle alone after one order.  Due from
 * lapsed.due_days before the next expected order, lapsed after it.
 * The customer-level lapsed keeps its meaning (the longest cycle of
 * anything bought: lapsed from the shop); these say from what.
 */
#define SEGMENT_MAX_CATEGORIES	32	/* most recent kept */

enum segment_category_state {
	CAT_CURRENT,
	CAT_DUE,		/* the next order due soon: replenishment */
	CAT_LAPSED		/* past due */
};

struct segment_category {
	char		 category[CONF_NAME_MAX];
	int64_t		 orders;		/* completed, with it */
	int64_t		 first_at, last_at;
	double		 own_days;		/* mean interval, 0: one order */
	int64_t		 cycle_days;		/* configured */
	int64_t		 interval_days;		/* expected */
	int64_t		 due_at;		/* last_at + interval */
	enum segment_category_state state;
};

/* F's categories at NOW into OUT (at most SEGMENT_MAX_CATEGORIES, the
 * most recently bought); how many. */
size_t	 segment_categories(const struct conf_segments *rules,
	    const struct segment_facts *f, int64_t now,
	    struct segment_category *out);

void	 segment_classify(const struct conf_segments *rules,
	    const struct segment_facts *facts, int64_t now,
	    struct segment_result *res);

/* How many eligible customers are VIP: ceil(N * percent / 100). */
int64_t	 segment_vip_count(const struct conf_segments *rules,
	    int64_t eligible);

/*
 * Chooses the lifecycle segment from FLAGS by the configured priority,
 * adding VIP when the customer is eligible and VALUE >= THRESHOLD.
 * Returns the lifecycle and stores the final flags in *flags_out if set.
 */
enum conf_lifecycle segment_pick(const struct conf_segments *rules,
	    unsigned flags, int vip_eligible, int64_t value,
	    int64_t threshold, unsigned *flags_out);

/* The category of LINE: its own, else the SKU prefix or name maps. */
const char *segment_line_category(const struct conf_segments *rules,
	    const struct segment_line *line);

const char *segment_b2b_reason_name(enum segment_b2b_reason r);
const char *segment_event_name(enum segment_event_type t);
int	 segment_event_parse(const char *name, enum segment_event_type *out);

/* What explain needs beyond the result: the published VIP cut. */
struct segment_vip_cut {
	int64_t		 threshold;	/* INT64_MAX: nobody eligible */
	int64_t		 eligible;
};

struct buf;

/*
 * Appends to OUT one line per lifecycle rule, in priority order:
 * "  vip         yes  net spend 1234.50 >= 800.00, the top 10% of 8123"
 * and then the facets, each with the figures that decided it, and the
 * NCATS categories CATS (segment_categories) with their arithmetic.
 */
void	 segment_explain(const struct conf_segments *rules,
	    const struct segment_result *res,
	    const struct segment_category *cats, size_t ncats,
	    const struct segment_vip_cut *cut, int64_t now, struct buf *out);

/*
 * The names a customer answers to in campaigns (audiences, variants,
 * template sections): the lifecycle segment ("vip"), "cart_abandoner",
 * every category of interest ("coffee"), each category due or lapsed
 * ("due_coffee", "lapsed_coffee"), and the locale as "country_de",
 * "language_fr", "currency_eur" (lowercase slugs).  At most
 * SEGMENT_FLAGS_MAX: categories due or lapsed count among
 * SEGMENT_CATEGORY_FLAGS.
 */
#define SEGMENT_CATEGORY_FLAGS	8
#define SEGMENT_FLAGS_MAX	(SEGMENT_MAX_INTERESTS + \
	SEGMENT_CATEGORY_FLAGS + 5)
struct segment_flags {
	char		 name[SEGMENT_FLAGS_MAX][CONF_NAME_MAX];
	const char	*ptr[SEGMENT_FLAGS_MAX];	/* into name */
	size_t		 n;
};
void	 segment_flags(const struct segment_result *res,
	    struct segment_flags *out);
/* Whether F holds NAME. */
int	 segment_flags_has(const struct segment_flags *f, const char *name);

/* Formats CENTS as "1234.50" into OUT. */
void	 segment_format_money(int64_t cents, char *out, size_t outlen);

struct store;
struct conf;

#define SEGMENT_UNRATED_MAX	8	/* currencies named in a warning */

struct segment_rebuild_stats {
	int64_t		 generation;
	int64_t		 customers;
	int64_t		 vip_eligible;
	int64_t		 vip_threshold;
	int64_t		 counts[LC_COUNT];

	/* summed over everyone: what segment_result says the rules missed */
	int64_t		 order_lines;
	int64_t		 uncategorised_lines;
	int64_t		 unrated_orders;
	char		 unrated[SEGMENT_UNRATED_MAX][4];
	size_t		 nunrated;
};

/*
 * One customer classified again from what the store holds now, with the
 * published VIP cut, and written back (store_segment_put): what a change
 * that arrives (an order, a refund, a cart, a profile) does at once, in
 * the caller's transaction, so that the next message sees it.  The cut
 * itself, and time passing, wait for the next rebuild.  0, or -1 with
 * store_error(ST).
 */
int	 segment_refresh(struct store *st, const struct conf_segments *rules,
	    int64_t customer_id, int64_t now);

/*
 * Computes and atomically publishes a new generation of segments.
 * PROGRESS (may be NULL) is called from the caller's thread now and
 * then with the customers classified so far and about how many there
 * are.  0; 1 with ERR when another relay sharing the store is
 * rebuilding it (nothing done: one build a fleet); or -1 with ERR.
 */
int	 segment_rebuild(struct store *st, const struct conf *cf, int64_t now,
	    progress_fn progress, void *arg,
	    struct segment_rebuild_stats *stats, char *err, size_t errlen);

#endif
