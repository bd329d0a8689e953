/*
 * store - the only code that speaks SQL.
 *
 * One SQLite file per relay, in WAL mode with foreign keys on.  The schema
 * is built by numbered migrations (src/store/schema.c) recorded in a version
 * table: store_open() with STORE_CREATE creates (mode 0600: customers'
 * data) or upgrades; without it a
 * store that is older than this binary must first be upgraded with
 * `segctl init`, and one that is newer is refused.
 *
 * Every statement is prepared once per handle and reused.  A handle is
 * used by one thread at a time (segmilter's threads share one under a
 * lock).  Functions return 0 on success and -1 on failure, leaving a
 * message for store_error(); lookups return 1 for "not found".  Strings in
 * returned structs belong to the handle and stay valid until the next call
 * on it, unless said otherwise.
 *
 * Upserts are by natural key (email, order reference, SKU, ...) and report
 * through *changed whether anything was written, so that importing the same
 * file twice changes nothing and can say so.
 */
#ifndef SEGM_STORE_H
#define SEGM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "segment.h"

#define STORE_SCHEMA_VERSION	20

#define STORE_CREATE	0x1	/* create or upgrade the schema */
#define STORE_READONLY	0x2
#define STORE_BULK	0x4	/* big cache: imports and rebuilds */
#define STORE_DAEMON	0x8	/* a daemon's lasting handle: map capped */
#define STORE_SCAN	0x10	/* one pass over big tables: small cache */

struct store;

/*
 * PATH is a file (SQLite), or a PostgreSQL URI (postgresql://...) for a
 * store that a fleet of relays shares; store_path() shows the URI
 * without its password.
 */
int	 store_open(const char *path, int flags, int64_t timeout_ms,
	    struct store **out, char *err, size_t errlen);
/* Whether PATH names a server's store: no file to make, stat, checkpoint
 * or archive beside. */
int	 store_is_server(const char *path);
void	 store_close(struct store *st);
/*
 * Whether ST still uses the file at its path.  A store deleted, or
 * replaced by another file (a restored copy, a rename over it), under an
 * open handle would otherwise go on being read and written in a file
 * nobody else sees.  0 when the path names the handle's file and the
 * process may read and write it (read it, for a read-only handle); -1
 * with store_error() when the path has no file, one this process may not
 * use, or another file: the caller tempfails.  A replaced store is not
 * reopened: SQLite would pair the new file with the -wal and -shm that
 * open handles keep of the old one, and copy the old pages into it.  A
 * stat(2) and an access(2) when nothing changed; call it under the lock
 * that serialises the handle's uses.
 */
int	 store_check_file(struct store *st);
/*
 * Whether the store at PATH opens for writing, at this binary's schema,
 * as a file this process may read and write (SQLite alone would open a
 * file it may not write read-only, and say so at the first write): what
 * a daemon checks before it serves.  0, or -1 with ERR.
 */
int	 store_probe(const char *path, int64_t timeout_ms, char *err,
	    size_t errlen);
const char *store_error(const struct store *st);
const char *store_path(const struct store *st);
int	 store_schema_version(struct store *st, int64_t *version);

int	 store_begin(struct store *st);
/* A read transaction: one snapshot and one lock for many lookups; end it
 * with store_commit() (or store_rollback()). */
int	 store_begin_read(struct store *st);
int	 store_commit(struct store *st);
int	 store_rollback(struct store *st);

/*
 * Checkpoints off the commit path.  SQLite copies the WAL back into the
 * database inside the commit that takes it past STORE_WAL_PAGES, and the
 * committer waits for the copy and two fsyncs (segmilter: with every
 * other thread waiting for the store, and the MTA for an answer).  After
 * store_defer_checkpoints, a commit that leaves PAGES pages or more in
 * the WAL calls WAKE(ARG) instead (then again every PAGES / 16 pages
 * until the WAL starts over), and whoever it wakes runs store_checkpoint
 * on a handle of its own.  A commit that finds STORE_WAL_BOUND * PAGES
 * still checkpoints itself, so that the WAL stays bounded if nobody does.
 * WAKE runs in the committing thread: it must only signal.  WAKE NULL
 * turns SQLite's automatic checkpoint back on.
 */
#define STORE_WAL_PAGES	1000	/* SQLite's automatic checkpoint */
#define STORE_WAL_BOUND	8	/* times PAGES: commits checkpoint */
/* Bytes a WAL file is cut back to when it starts over: 16 MiB, twice
 * its usual peak of STORE_WAL_PAGES pages of 8 KiB (a new store's). */
#define STORE_WAL_KEEP	16777216
void	 store_defer_checkpoints(struct store *st, int pages,
	    void (*wake)(void *), void *arg);
/* A passive checkpoint: copies what it can without waiting for readers or
 * writers.  *wal: pages in the WAL; *copied: pages now in the database
 * (either may be NULL; both -1 when another checkpoint was running). */
int	 store_checkpoint(struct store *st, int *wal, int *copied);
/*
 * A checkpoint that waits (up to the busy timeout) for readers and then
 * empties the WAL, so that what was erased is in no file any more: 0, 1
 * when a reader held on, or -1.
 */
int	 store_checkpoint_truncate(struct store *st);

/* Upsert outcome. */
enum store_change {
	STORE_UNCHANGED,
	STORE_INSERTED,
	STORE_UPDATED
};

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
/* 0 and *id when found, 1 when not. */
int	 store_customer_find(struct store *st, const char *email, int64_t *id);

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

/* Calls FN with every customer's email in id order; FN's non-zero stops. */
typedef int (*store_email_fn)(const char *email, void *arg);
int	 store_customer_emails(struct store *st, store_email_fn fn, void *arg);

/* Profile as stored; strings valid until the next call on the handle. */
int	 store_customer_get(struct store *st, int64_t id,
	    struct store_customer *c);

/*
 * Facts for segmentation.  store_facts_scan() calls FN for every customer
 * in id order inside one read transaction, so the rebuild sees one
 * snapshot; a non-zero return from FN stops the scan and is returned.
 * The facts and their strings are valid only during the call.
 */
typedef int (*store_facts_fn)(const struct segment_facts *facts, void *arg);
int	 store_facts_scan(struct store *st, store_facts_fn fn, void *arg);
/*
 * What the store holds: FN for each table, its rows and the bytes of the
 * table with its indexes (-1 when SQLite cannot say), the biggest first.
 * A non-zero return from FN stops and is returned; 0, or -1.
 */
typedef int (*store_usage_fn)(const char *table, int64_t rows,
	    int64_t bytes, void *arg);
int	 store_usage(struct store *st, store_usage_fn fn, void *arg);

/*
 * Retention: a campaign idle since before CUT (no decision, imported
 * "sent" row, or outbox job after it, and no job still to send) is
 * closed.  Its ledger rows, outbox jobs and "sent" rows go, and its
 * opens and clicks but each customer's newest open and click; a note of
 * each copy that passed before CUT goes too.  No decision changes: a
 * closed campaign suppresses everyone as a duplicate (the ledger that
 * said who had it is gone, and a campaign name reused years later is
 * a mistake better caught than half sent); what the rules count of its
 * deliveries stays in the summary of each customer's (below,
 * store_deliveries_window), which is trimmed for everyone, so that the
 * counts the milter reads stay exact as long as every rule's window ends
 * after CUT (conf.h's retention check).  Unsubscribes, bounces,
 * complaints, orders and the audit stay.
 *
 * store_retention_plan counts what store_retention_apply would remove
 * (in one read transaction: a scan of the ledger).  Apply closes the
 * campaigns in one transaction, then prunes a few customers at a time
 * in short ones, so that the milter never waits long; an interrupted
 * run is finished by the next.  PROGRESS (may be NULL) is called with
 * the customers done of the total.  0, or -1.
 */
struct store_retention {
	int64_t		 campaigns;	/* closed (or still to prune) */
	int64_t		 ledger_rows;
	int64_t		 engagement_rows;
	int64_t		 outbox_jobs;
	int64_t		 copy_notes;
	int64_t		 summary_rows;	/* trimmed (apply only) */
};
int	 store_retention_plan(struct store *st, int64_t cut,
	    struct store_retention *r);
int	 store_retention_apply(struct store *st, int64_t cut, int64_t now,
	    struct store_retention *r, progress_fn progress, void *arg);
/* A closed campaign's summary; 1 when CAMPAIGN is not closed. */
struct store_closed_campaign {
	int64_t		 first_at, last_at;	/* of its decisions */
	int64_t		 decided, delivered;	/* ledger rows */
	int64_t		 closed_at;
};
int	 store_campaign_closed(struct store *st, const char *campaign,
	    struct store_closed_campaign *c);

/* How many customers a scan would see now, for a progress bar. */
int	 store_facts_count(struct store *st, int64_t *n);
int	 store_facts_get(struct store *st, int64_t customer_id,
	    store_facts_fn fn, void *arg);

/*
 * A new generation of segments, written beside the current one in short
 * batches (the milter's writes never wait long) and published by one small
 * transaction: readers see the old generation or the new, never a mix.
 */
struct store_rebuild;

int	 store_rebuild_begin(struct store *st, struct store_rebuild **out);
int	 store_rebuild_add(struct store_rebuild *rb, int64_t customer_id,
	    const struct segment_result *res);
/*
 * The K-th highest VIP value among eligible rows, and how many are eligible;
 * with K = 0 only the count.
 */
int	 store_rebuild_kth_value(struct store_rebuild *rb, int64_t k,
	    int64_t *value, int64_t *eligible);
/*
 * Rows are added with a provisional lifecycle that assumes nobody is VIP.
 * store_rebuild_assign calls PICK for every eligible row whose VIP value
 * is at least THRESHOLD, with its provisional lifecycle OLD, and stores
 * the lifecycle and flags PICK decides.
 */
typedef enum conf_lifecycle (*store_pick_fn)(unsigned flags, int eligible,
	    int64_t value, enum conf_lifecycle old, unsigned *flags_out,
	    void *arg);
int	 store_rebuild_assign(struct store_rebuild *rb, int64_t threshold,
	    store_pick_fn pick, void *arg);

struct store_segment_meta {
	int64_t		 generation;
	int64_t		 built_at;
	int64_t		 customers;
	int64_t		 vip_threshold;
	int64_t		 vip_eligible;
	char		 vip_metric[16];
	double		 vip_top_percent;
	char		 config_hash[65];	/* hex SHA-256 */
};

/* Publishes the generation and removes the previous one; frees RB. */
int	 store_rebuild_commit(struct store_rebuild *rb,
	    const struct store_segment_meta *meta);
/* Drops what was written; frees RB.  Safe on NULL. */
void	 store_rebuild_abort(struct store_rebuild *rb);

/* The current generation's metadata; 1 if segments were never built. */
int	 store_segment_meta(struct store *st, struct store_segment_meta *m);
/* A customer's materialised segment; 1 if none in this generation. */
int	 store_segment_get(struct store *st, int64_t customer_id,
	    struct segment_result *res);
/*
 * Replaces a customer's row (and interests) with RES in the published
 * generation, and with BUILDING (the same, its lifecycle picked as if
 * nobody were VIP, as a rebuild's first pass writes it: its second pass
 * decides VIP) in a newer one a rebuild is writing, whose own row for
 * them, from an older snapshot, then yields to it (segment_refresh).
 * Nothing when no generation was ever published.  In the caller's
 * transaction.
 */
int	 store_segment_put(struct store *st, int64_t customer_id,
	    const struct segment_result *res,
	    const struct segment_result *building);

/* Counts per lifecycle segment and facet value, for `segctl segments`. */
typedef int (*store_count_fn)(const char *facet, const char *value,
	    int64_t count, void *arg);
int	 store_segment_counts(struct store *st, store_count_fn fn, void *arg);

/*
 * Delivery: what the milter reads about a recipient and writes about its
 * decisions.  Lookups copy what they return, so that no statement stays
 * open between messages (an open statement would pin an old snapshot).
 */
#define STORE_NAME_MAX	128
#define STORE_SOFT_BOUNCES_MAX	8	/* policy.soft_bounce_limit's max */

struct store_recipient {
	int64_t		 customer_id;		/* 0: unknown address */
	char		 first_name[STORE_NAME_MAX];
	char		 last_name[STORE_NAME_MAX];
	char		 company[STORE_NAME_MAX];
	char		 phone[24];

	int		 has_consent;		/* an email statement exists */
	int		 consent_granted;
	int64_t		 consent_at;
	char		 consent_evidence[256];	/* "source: evidence" */

	int64_t		 unsubscribed_at;	/* latest, 0: never */
	int64_t		 min_gap_days;		/* their own cadence, 0:
						   none (store_cadence_set) */
	int64_t		 bounces_since_consent;
	int64_t		 complained_at;		/* latest, 0: never */
	/* the latest soft bounces since consent, newest first */
	int64_t		 soft_bounce_at[STORE_SOFT_BOUNCES_MAX];
	size_t		 nsoft_bounces;
	int64_t		 last_answer_at;	/* open, click or order */
	int64_t		 first_order_at;	/* 0: none */
	int64_t		 last_order_at;
	int64_t		 unanswered;		/* campaigns delivered since */
	int64_t		 in_window;		/* ... since window start */
	int64_t		 last_delivery_at;
	int64_t		 deliveries_kept;	/* their summary's rows (for
						   store_ledger_put) */
	int64_t		 campaign_at;		/* this campaign already
						   delivered at, 0: not */
	char		 campaign_message[STORE_NAME_MAX]; /* ... in */
	char		 campaign_route[8];	/* ... "inplace" or "copy" */
	int64_t		 campaign_closed_at;	/* closed by retention, 0:
						   not (store_retention_apply) */

	int		 has_segment;
	struct segment_result seg;	/* only what campaigns use: the
					   lifecycle, cart, interests and
					   locale (segment_flags()) */
};

/*
 * Looks EMAIL up for CAMPAIGN at NOW; deliveries counted from the ledger
 * and imported "sent" engagement, once per campaign.  campaign_at is set
 * only for a known customer (an unknown address is suppressed as such).
 * 0, or -1.
 */
int	 store_recipient_get(struct store *st, const char *email,
	    const char *campaign, int64_t now, int64_t window_secs,
	    struct store_recipient *r);
/*
 * Calls FN with every campaign delivered to customer ID (by this relay,
 * or imported as "sent"), once each; FN's non-zero stops and is returned.
 * 0, or -1.  What a bounce token's campaign hash is resolved against.
 */
typedef int (*store_campaign_fn)(const char *campaign, void *arg);
int	 store_customer_campaigns(struct store *st, int64_t id,
	    store_campaign_fn fn, void *arg);
/*
 * The same for N recipients at once, EMAILS[i] into *R[i] (an empty
 * email is an unknown address); cheaper per recipient than one call each.
 * The deliveries since the last answer and within the window count only
 * campaigns whose class's priority is MIN_PRIORITY or more (conf.h: a
 * triggered class's cap is not spent by newsletters); store_recipient_get
 * counts all.
 */
int	 store_recipients_get(struct store *st, const char *const *emails,
	    size_t n, const char *campaign, int64_t now, int64_t window_secs,
	    int64_t min_priority, struct store_recipient *const *r);

/*
 * A customer's own cadence ("fewer emails"): at least DAYS between two
 * campaigns, from SOURCE at AT; DAYS 0 removes it.  *CHANGED says
 * whether anything was written (the same wish again writes nothing).
 * 0, or -1.
 */
int	 store_cadence_set(struct store *st, int64_t customer_id, int64_t days,
	    const char *source, int64_t at, enum store_change *changed);

struct store_ledger {
	const char	*route;		/* "inplace", "copy", NULL: none */
	const char	*campaign_id;
	const char	*recipient;
	const char	*message_key;	/* Message-ID, or the queue id */
	int64_t		 customer_id;	/* 0: unknown */
	const char	*queue_id;
	const char	*decision;	/* "deliver" or a suppression reason */
	const char	*variant;	/* NULL: none */
	int64_t		 at;
	const char	*arm;		/* "tailored", "broad", "none",
					   "global"; NULL: no arms */
	const char	*segment;	/* the lifecycle segment then, NULL */
	int64_t		 answered_at;	/* the customer's last open, click
					   or order as looked up (0: none) */
	int64_t		 deliveries_kept; /* ... their summary's rows */
	int64_t		 priority;	/* the campaign's class's (conf.h) */
};

/*
 * Records a decision.  An earlier decision for the same customer,
 * campaign and recipient is replaced, unless it was a delivery: that one
 * stands, and *WRITTEN (if not NULL) is then 0.  The one exception is the MTA
 * retrying the same message (same message_key) whose recipient was to be
 * delivered in place: the first attempt never reached them, so the new
 * delivery replaces it.  An address recorded while unknown (customer 0)
 * keeps that row beside its rows as a customer, which never hold a
 * delivery from before.  Customer ids are never reused (nothing deletes
 * customers): the duplicate rule relies on them.
 */
int	 store_ledger_put(struct store *st, const struct store_ledger *l,
	    int *written);

/*
 * A delivery of CAMPAIGN to EMAIL (as the ledger has it) that never went
 * (its held copy withdrawn when it came due): the ledger row takes
 * DECISION at AT, and the customer's summary counts the campaign only
 * from what else stands (an imported send of it), so that caps and
 * fatigue no longer count the copy.  In the caller's transaction; 0
 * (nothing when no delivery stands), or -1.
 */
int	 store_delivery_withdraw(struct store *st, const char *campaign,
	    const char *email, const char *decision, int64_t at);

/*
 * What the fatigue, cadence and cap rules count is a summary of each
 * customer's deliveries, one per campaign at its last delivery (schema
 * 19): a delivery the ledger records, or an imported "sent" row, adds
 * to it, and a customer's rows are trimmed (by store_ledger_put, given
 * answered_at, once they are more than STORE_DELIVERIES_KEPT; and by
 * store_retention_apply for everyone) to those after their last answer
 * or within the window, and their two newest.  The counts are exact for
 * any cap window up to the store's, as long as a last answer only moves
 * later (answers are never removed but an older one of a kind; an order
 * imported again with an earlier date, or moved to another customer,
 * leaves its old customer's deliveries trimmed before it uncounted by
 * fatigue).
 *
 * store_deliveries_window sets the store's window to SECS (the longest
 * cap window, conf_cap_window_longest) at NOW: a wider one than before
 * is filled again from the ledger first (a scan of it, once), a
 * narrower one trims from then on.  Called by segmilter as it loads its
 * configuration and by `segctl prune`.  0, or -1.
 */
int	 store_deliveries_window(struct store *st, int64_t secs, int64_t now);
#define STORE_DELIVERIES_KEPT	8

struct store_audit {
	int64_t		 seq;		/* 1, 2, 3... in append order */
	int64_t		 at;
	const char	*channel;	/* "email", "sms" */
	const char	*queue_id;
	const char	*message_id;
	const char	*campaign_id;
	const char	*recipient;
	int64_t		 customer_id;	/* 0: unknown */
	const char	*decision;
	const char	*detail;
	const char	*segment;
	const char	*variant;
	const char	*consent;
	const char	*config_hash;
	const char	*prev_hash;	/* hex SHA-256 */
	const char	*hash;
	/*
	 * FORM 2: hashed with SEAL in place of the recipient, detail and
	 * consent (audit.h); 1: with them, as rows written before schema
	 * version 12.  KEY: the customer's audit key, read by
	 * store_audit_scan only.
	 */
	int		 form;
	const char	*seal;
	const struct store_audit_key *key;
};

/*
 * A customer's audit key: 32 random bytes that seal their personal data
 * in the audit chain, made with the customer.  ERASED once they were
 * redacted: the key is gone for good and their later rows carry no
 * personal data.
 */
#define STORE_AUDIT_KEY_LEN	32
enum store_audit_key_state {
	AUDIT_KEY_NONE,			/* never needed yet */
	AUDIT_KEY_LIVE,
	AUDIT_KEY_ERASED
};
struct store_audit_key {
	enum store_audit_key_state state;
	unsigned char	 bytes[STORE_AUDIT_KEY_LEN];
};
/* CUSTOMER_ID's key into *K (state NONE for customer 0, or for one
 * without a key).  0, or -1. */
int	 store_audit_key_get(struct store *st, int64_t customer_id,
	    struct store_audit_key *k);
/* Gives CUSTOMER_ID the key K unless they have one or were erased,
 * inside the caller's transaction. */
int	 store_audit_key_put(struct store *st, int64_t customer_id,
	    const unsigned char *key);

/*
 * Everything the store holds about customer ID, in one read transaction
 * (so not inside one): FN is called with each row of each table
 * ("customer", "consent", "orders", ..., "audit"), its N columns' NAMES
 * and VALUES as text (NULL for SQL NULL), valid during the call.  The
 * audit key and copies' bodies are left out.  0, FN's non-zero, or -1.
 */
typedef int (*store_row_fn)(const char *table, int n,
	    const char *const *names, const char *const *values, void *arg);
int	 store_customer_rows(struct store *st, int64_t id, store_row_fn fn,
	    void *arg);

/*
 * Erases customer ID's personal data at AT, inside the caller's write
 * transaction, with SQLite's secure_delete on so that the bytes are
 * overwritten rather than left in free pages (they leave the WAL at the
 * next complete checkpoint).  The profile becomes a tombstone (email
 * "redacted:ID", every other personal field empty); consent, consent
 * history, behaviour, cadence, segments and the shop's id for it go;
 * ledger rows keep their counts under a random address; the recipient,
 * detail and consent of its sealed audit rows are blanked and its audit
 * key erased; queued SMS jobs are cancelled, and its address or number
 * leaves every outbox job (a copy for it alone loses its body too).
 * Orders, engagement counts and a number's opt-out stay: they name
 * nobody once the profile is gone, and an opt-out must outlive it.
 * *R says what changed.  0, or -1.
 */
struct store_redaction {
	int64_t		 audit_rows;	/* blanked */
	int64_t		 audit_unsealed; /* form 1: cannot be blanked */
	int64_t		 ledger_rows;
	int64_t		 jobs;
	int64_t		 consent_rows;
	int64_t		 events;
};
int	 store_customer_redact(struct store *st, int64_t id, int64_t at,
	    struct store_redaction *r);

/*
 * A campaign's recipients as the lift report counts them: every ledger
 * row of CAMPAIGN that delivered or held out a customer, with the
 * customer's orders placed at or after its time and before WINDOW
 * seconds later (oldest first), the kinds of engagement recorded for
 * the campaign ("unsubscribe,bounce", NULL: none) and when its SMS to
 * them was sent (0: none).  FN is called once per row, in the ledger's
 * order; its pointers last for the call.  0, FN's non-zero, or -1.
 */
struct store_outcome_order {
	int64_t		 at;
	const char	*financial_status;
	int		 cancelled;
	const char	*currency;
	int64_t		 total, refunded;	/* minor units */
	const char	*discount_code;		/* NULL: none */
};
struct store_outcome {
	int64_t		 customer_id;
	const char	*recipient;
	const char	*arm;			/* NULL: no arms */
	const char	*segment, *variant;	/* "" unknown, none */
	const char	*decision;		/* "deliver", "held_out" */
	int64_t		 at;
	const char	*engagement;
	int64_t		 sms_at;
	const struct store_outcome_order *orders;
	size_t		 norders;
};
typedef int (*store_outcome_fn)(const struct store_outcome *o, void *arg);
int	 store_campaign_outcomes(struct store *st, const char *campaign,
	    int64_t window, store_outcome_fn fn, void *arg);
/* The N campaigns decided on last, the latest first.  0, FN's, -1. */
typedef int (*store_name_fn)(const char *name, void *arg);
int	 store_recent_campaigns(struct store *st, int64_t n, store_name_fn fn,
	    void *arg);

/*
 * A campaign's decisions on CHANNEL ("email" or "sms") counted by
 * segment and decision, each recipient once: the latest of their
 * delivery (email) or queued SMS and what became of it in the outbox
 * (copy_failed, ... for email; sms_sent, sms_failed, ... for SMS) if
 * there was one, else their latest decision.  The segment is the one
 * recorded when segmilter decided (outbox outcomes record none).
 */
typedef int (*store_report_fn)(const char *segment, const char *decision,
	    int64_t count, void *arg);
int	 store_campaign_report(struct store *st, const char *campaign,
	    const char *channel, store_report_fn fn, void *arg);

/*
 * What came back from a campaign's email deliveries, by the segment and
 * variant each recipient was delivered in: how many were delivered, and
 * of those how many hard-bounced, soft-bounced and complained (segctl
 * bounce), each recipient counted once per kind.
 */
struct store_bounce_row {
	const char	*segment;
	const char	*variant;
	int64_t		 delivered;
	int64_t		 hard;
	int64_t		 soft;
	int64_t		 complaints;
};
typedef int (*store_bounce_fn)(const struct store_bounce_row *row,
	    void *arg);
int	 store_campaign_bounces(struct store *st, const char *campaign,
	    store_bounce_fn fn, void *arg);

/*
 * The outbox: tailored copies (and later SMS) waiting to be sent.  A job
 * is claimed with a lease; a worker that dies leaves it to be claimed
 * again when the lease runs out, so jobs survive restarts.
 */
enum store_job_state {
	JOB_QUEUED,
	JOB_SENDING,
	JOB_SENT,
	JOB_FAILED,
	JOB_CANCELLED
};

struct store_job {
	int64_t		 id;
	const char	*kind;		/* "email" or "sms" */
	const char	*campaign_id;
	const char	*message_key;
	const char	*variant;
	const char	*sender;
	const char	*recipients;	/* one address per line */
	const void	*message;	/* the whole copy, CRLF; NULL in a
					   claimed copy (store_outbox_read) */
	size_t		 len;
	const char	*nonce;		/* its marker's, names the copy;
					   sms: the idempotency key */
	int64_t		 not_before;	/* send_after, or now */
	int64_t		 next_at;
	int64_t		 attempts;
	enum store_job_state state;
	const char	*last_error;
	int64_t		 created_at;
	int64_t		 done_at;
	/* sms: the customer, where they live (quiet hours), the reply */
	int64_t		 customer_id;
	const char	*time_zone;
	const char	*country;
	const char	*region;
	const char	*gateway_ref;	/* the gateway's message id */
};

/*
 * Queues J; 0 and *ID, 1 when J is an SMS and this campaign already has
 * one for this customer (a unique index, so that two messages of one
 * campaign racing each other cannot both queue one), or -1.
 */
int	 store_outbox_add(struct store *st, const struct store_job *j,
	    int64_t *id);
/*
 * store_outbox_add() for a message too big to hold whole (an email copy
 * of a big campaign, built from its spool as it is stored): J->message
 * is not read; FILL(ARG, PUT, W) writes J->len bytes, in order, through
 * PUT(W, p, n), which returns 0 or -1.  Within the caller's transaction,
 * like store_outbox_add().  0 and *ID, or -1 (FILL's -1 too, or fewer
 * bytes than J->len: the caller rolls back).
 */
typedef int (*store_put_fn)(void *w, const void *p, size_t n);
typedef int (*store_fill_fn)(void *arg, store_put_fn put, void *w);
int	 store_outbox_add_from(struct store *st, const struct store_job *j,
	    store_fill_fn fill, void *arg, int64_t *id);
/* Puts a claimed job back until UNTIL without counting the claim as an
 * attempt (quiet hours), saying WHY.  0, or -1. */
int	 store_outbox_hold(struct store *st, int64_t id, int64_t until,
	    const char *why);
/* The newest job's id, 0 when none; and how many SMS jobs are newer
 * than AFTER.  0, or -1. */
int	 store_outbox_last_id(struct store *st, int64_t *id);
int	 store_outbox_sms_after(struct store *st, int64_t after, int64_t *n);
/* Records the gateway's id for a sent SMS.  0, or -1. */
int	 store_outbox_set_ref(struct store *st, int64_t id, const char *ref);
#define STORE_JOB_EMAIL	0x1	/* kinds a worker can send */
#define STORE_JOB_SMS	0x2
/*
 * Claims the job of KINDS due first at NOW (queued and due, or sending
 * with its lease run out) for LEASE seconds, counting the attempt, and
 * forgets an earlier attempt's copy_seen note; in a transaction of its
 * own, so not inside one.  0 and *J, a copy the caller frees with
 * store_job_free(); 1 when none is due (*NEXT_AT: the next due time, 0
 * when there is none); or -1.  An email job comes without its message,
 * J->len bytes that the worker reads as it sends (store_outbox_read):
 * four workers must not hold four copies of a 30 MB campaign.
 */
int	 store_outbox_claim(struct store *st, int64_t now, int64_t lease,
	    int kinds, struct store_job **j, int64_t *next_at);
/* LEN bytes of job ID's message from AT, into BUF.  0, or -1. */
int	 store_outbox_read(struct store *st, int64_t id, size_t at, void *buf,
	    size_t len);
void	 store_job_free(struct store_job *j);
/*
 * Before this process's workers claim any job: jobs left 'sending' by a
 * process that died are sent if segmilter on the re-injection port saw
 * them go through (store_copy_seen), else queued again, due now.
 * *QUEUED and *SENT say how many of each.  0, or -1.
 */
int	 store_outbox_recover(struct store *st, int64_t now, int64_t *queued,
	    int64_t *sent);
/* 1 when the copy with NONCE passed before, 0 when not, or -1. */
int	 store_copy_was_seen(struct store *st, const char *nonce);
/* Notes that the copy with NONCE passed, in queue QID.  0, or -1. */
int	 store_copy_seen(struct store *st, const char *nonce, const char *qid,
	    int64_t now);
/* Sets a job's state; NEXT_AT for a retry, ERROR (may be NULL).  An
 * email job sent loses its body: the MTA has the copy. */
int	 store_outbox_update(struct store *st, int64_t id,
	    enum store_job_state state, int64_t next_at, const char *error,
	    int64_t now);
/* Calls FN for every job (message not loaded) in id order. */
typedef int (*store_job_fn)(const struct store_job *j, void *arg);
int	 store_outbox_scan(struct store *st, store_job_fn fn, void *arg);
/* 0 and *J without the message (caller frees with store_job_free()),
 * 1 when there is no job ID, or -1. */
int	 store_outbox_get(struct store *st, int64_t id, struct store_job **j);
const char *store_job_state_name(enum store_job_state s);

/*
 * What SMS eligibility needs about a customer, beyond the email facts:
 * the SMS consent, the number and what the gateways or STOP replies
 * said about it, and the SMS already queued or sent.  Strings are copies.
 */
struct store_sms_facts {
	int		 has_consent;
	int		 consent_granted;
	int64_t		 consent_at;
	char		 consent_evidence[256];	/* "source: evidence" */
	int		 has_evidence;		/* evidence was recorded */
	char		 phone[24];		/* as stored, "" none */
	char		 phone_status[16];	/* opted_out, invalid, "" */
	int64_t		 phone_status_at;
	char		 time_zone[64];
	char		 country[3];
	char		 region[8];
	int64_t		 sent_day;		/* SMS in the last 24 h */
	int64_t		 sent_month;		/* ... 30 days */
	int64_t		 campaign_job;		/* this campaign's, 0 none */
};

/* 0 and *F for CUSTOMER_ID at NOW and CAMPAIGN; 1 if no such customer. */
int	 store_sms_facts_get(struct store *st, int64_t customer_id,
	    const char *campaign, int64_t now, struct store_sms_facts *f);
/* The same for N customers at once: IDS[i] into *F[i], FOUND[i] 0 or 1. */
int	 store_sms_facts_get_many(struct store *st, const int64_t *ids,
	    size_t n, const char *campaign, int64_t now,
	    struct store_sms_facts *const *f, int *found);

/*
 * The SMS jobs queued since job AFTER for the customers IDS[0..N-1]:
 * COUNT[i] how many may still be sent (not failed or cancelled), as the
 * caps count them; CAMPAIGN_JOB[i] the id of CAMPAIGN's, whatever its
 * state, 0 if none among them.  0, or -1.
 */
int	 store_sms_jobs_since(struct store *st, int64_t after,
	    const int64_t *ids, size_t n, const char *campaign,
	    int64_t *count, int64_t *campaign_job);

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

/*
 * The last audit row's sequence number, hash and time; 0, "" and 0 when
 * none.
 */
int	 store_audit_last(struct store *st, int64_t *seq, char *hash,
	    size_t len, int64_t *at);
int	 store_audit_append(struct store *st, const struct store_audit *a);
/*
 * The audit rows' time index, which `audit export --since` starts from:
 * for every hour that has rows (store_audit_hour: a time's hour, rounded
 * down), a sequence number no later than the hour's first row.  It
 * stands in for an index on the time, which cost every audit row a
 * B-tree insert.  Times need not rise with the sequence (a clock can
 * step back), so a row at or after T may come before the first row of
 * T's own hour, but never before that of its own: the rows since T all
 * come at or after the least mark of T's hour and the hours after it.
 * (A row dated far ahead by a clock glitch thus makes exports since any
 * earlier time read from that row on.)
 *
 * store_audit_mark records SEQ for HOUR unless the hour has a mark;
 * audit_append calls it only when a row's hour differs from the row
 * before's, so that most rows cost nothing.  store_audit_reindex
 * rebuilds the index from the rows, in its own transaction.
 */
int64_t	 store_audit_hour(int64_t at);
int	 store_audit_mark(struct store *st, int64_t hour, int64_t seq);
/* HOUR's mark; 0 when it has none. */
int	 store_audit_mark_get(struct store *st, int64_t hour, int64_t *seq);
int	 store_audit_reindex(struct store *st);
/* Calls FN for every row with at >= SINCE in sequence order. */
typedef int (*store_audit_fn)(const struct store_audit *a, void *arg);
int	 store_audit_scan(struct store *st, int64_t since, store_audit_fn fn,
	    void *arg);

/*
 * The audit archives (audit.h, audit_archive; src/store/archive.c): one
 * record per sealed file the rows FIRST_SEQ..LAST_SEQ went into, in
 * chain order.  PREV_HASH is the hash of the row before FIRST_SEQ ("" for
 * the first row of all), LAST_HASH that of LAST_SEQ, SHA256 the file's
 * own digest, MIN_AT and MAX_AT its rows' earliest and latest times.
 */
#define STORE_ARCHIVE_NAME_MAX	64
struct store_audit_archive {
	char		 name[STORE_ARCHIVE_NAME_MAX];
	int64_t		 first_seq, last_seq, rows;
	char		 prev_hash[65], last_hash[65], sha256[65];
	int64_t		 min_at, max_at;
	int64_t		 made_at;
};
/* Every record, in chain order, into *OUT (the caller frees it), *N of
 * them.  0, or -1. */
int	 store_audit_archives(struct store *st, struct store_audit_archive **out,
	    size_t *n);
/*
 * Records the N archives V, just written, and deletes their rows from
 * the store, in one transaction of its own: the rows must still be there
 * as archived (LAST_SEQ with LAST_HASH, none missing), else nothing
 * changes.  The time index loses the hours no row is left in.  0, or -1.
 */
int	 store_audit_prune(struct store *st, const struct store_audit_archive *v,
	    size_t n);

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
