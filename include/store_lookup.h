/*
 * store_lookup - what segmilter reads about the recipients of a message
 * and writes of its decisions (src/store/delivery.c, sms.c).
 *
 * Per message, one read transaction (store_begin_read) looks every
 * recipient up at once (store_recipients_get): profile, email consent,
 * unsubscribes, bounces and complaints, answers, the deliveries that the
 * caps and fatigue count, the published segment; and the SMS facts of
 * those the campaign texts.  Then one write transaction records each
 * decision in the ledger (store_ledger_put), which is what makes a
 * campaign reach a customer once.  Lookups copy what they return, so
 * that no statement stays open between messages (an open statement
 * would pin an old snapshot).
 *
 * Used by the milter (src/milter/), the outbox where it checks a job
 * again before sending or withdraws one (src/outbox/), segfeed's
 * unsubscribe page and bounce handling (src/feedback/), and segctl's
 * explain, preview, customer and prune commands.  Conventions: store.h.
 */
#ifndef SEGM_STORE_LOOKUP_H
#define SEGM_STORE_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "segment.h"
#include "store.h"

/* 0 and *id when found, 1 when not. */
int	 store_customer_find(struct store *st, const char *email, int64_t *id);

/* Calls FN with every customer's email in id order; FN's non-zero stops. */
typedef int (*store_email_fn)(const char *email, void *arg);
int	 store_customer_emails(struct store *st, store_email_fn fn, void *arg);

/* A recipient as the milter decides on them. */
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
 * The delivery counts of the known customers among R[0..N-1]
 * (unanswered, in_window, last_delivery_at, deliveries_kept) read
 * again, as store_recipients_get() reads them: inside the transaction
 * that records a message, what another relay or message delivered since
 * its lookup.  0, or -1.
 */
int	 store_recipients_recount(struct store *st, const char *campaign,
	    int64_t now, int64_t window_secs, int64_t min_priority, size_t n,
	    struct store_recipient *const *r);

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
/* The same for the N decisions L (a message's recipients), WRITTEN[i]
 * for L[i], up to 2^STORE_LEDGER_MANY_LOG2 a statement. */
#define STORE_LEDGER_MANY_LOG2	5
int	 store_ledger_put_many(struct store *st, const struct store_ledger *l,
	    size_t n, int *written);

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

#endif
