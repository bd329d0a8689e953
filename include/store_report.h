/*
 * store_report - what the store says of campaigns after the fact
 * (src/store/outcomes.c, delivery.c, retention.c, usage.c): decisions
 * counted by segment, bounces and complaints by variant, each
 * recipient's orders and engagement for the lift report, the summary
 * of a closed campaign, and what each table holds.  Reads only.
 *
 * Used by src/report/ (report_lift) and segctl report, demo and store.
 * Conventions: store.h.
 */
#ifndef SEGM_STORE_REPORT_H
#define SEGM_STORE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/*
 * A campaign closed by retention (store_retention.h): what its ledger
 * held, kept when its rows went.  0 and *C, 1 when CAMPAIGN is not
 * closed, or -1.
 */
struct store_closed_campaign {
	int64_t		 first_at, last_at;	/* of its decisions */
	int64_t		 decided, delivered;	/* ledger rows */
	int64_t		 closed_at;
};
int	 store_campaign_closed(struct store *st, const char *campaign,
	    struct store_closed_campaign *c);

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
 * What the store holds: FN for each table, its rows and the bytes of the
 * table with its indexes (-1 when SQLite cannot say), the biggest first.
 * A non-zero return from FN stops and is returned; 0, or -1.
 */
typedef int (*store_usage_fn)(const char *table, int64_t rows,
	    int64_t bytes, void *arg);
int	 store_usage(struct store *st, store_usage_fn fn, void *arg);

#endif
