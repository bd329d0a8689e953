/*
 * store_retention - how long a campaign's records stay (src/store/
 * retention.c): campaigns idle since a cut are closed and what they left
 * in the ledger, the outbox and the engagement is removed, a few
 * customers at a time.  conf.h's retention section says when; the
 * summary of a closed campaign is read through store_report.h, and the
 * window of deliveries the caps count is set through store_lookup.h
 * (store_deliveries_window).
 *
 * Used by segctl prune (src/cli/cmd_store.c).  Conventions: store.h.
 */
#ifndef SEGM_STORE_RETENTION_H
#define SEGM_STORE_RETENTION_H

#include <stdint.h>

#include "progress.h"
#include "store.h"

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

#endif
