/*
 * outcomes.c - a campaign's recipients and what followed (store.h,
 * store_campaign_outcomes): the lift report's one read.
 *
 * One statement: the campaign's ledger rows in key order, each joined
 * with its customer's orders inside the window (the covering index by
 * customer and time), its engagement for the campaign and its SMS.  A
 * ledger row comes once per order, so the rows of one recipient are
 * gathered before the callback.
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "xalloc.h"

struct outcome_buf {
	struct store_outcome		 o;
	struct store_outcome_order	*orders;
	size_t				 cap;
	/* the strings of the row being gathered */
	char				*recipient, *arm, *segment, *variant;
	char				*decision, *engagement;
	char				**texts;	/* orders' strings */
	size_t				 ntexts, captexts;
};

static char *
keep(struct outcome_buf *b, const char *s)
{
	if (s == NULL)
		return NULL;
	if (b->ntexts == b->captexts) {
		b->captexts = b->captexts ? b->captexts * 2 : 16;
		b->texts = xreallocarray(b->texts, b->captexts,
		    sizeof(*b->texts));
	}
	return b->texts[b->ntexts++] = xstrdup(s);
}

static void
outcome_reset(struct outcome_buf *b)
{
	size_t i;

	for (i = 0; i < b->ntexts; i++)
		free(b->texts[i]);
	b->ntexts = 0;
	b->o.norders = 0;
}

static void
outcome_start(struct outcome_buf *b, struct db_stmt *s)
{
	outcome_reset(b);
	b->o.customer_id = db_col_int(s, 0);
	b->o.recipient = keep(b, db_col_text(s, 1));
	b->o.arm = keep(b, db_col_text(s, 2));
	b->o.segment = keep(b, db_col_text(s, 3));
	b->o.variant = keep(b, db_col_text(s, 4));
	b->o.decision = keep(b, db_col_text(s, 5));
	b->o.at = db_col_int(s, 6);
	b->o.engagement = keep(b, db_col_text(s, 7));
	b->o.sms_at = db_col_int(s, 8);
}

static void
outcome_order(struct outcome_buf *b, struct db_stmt *s)
{
	struct store_outcome_order *o;

	if (db_col_null(s, 9))
		return;		/* no order in the window */
	if (b->o.norders == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 8;
		b->orders = xreallocarray(b->orders, b->cap,
		    sizeof(*b->orders));
	}
	o = &b->orders[b->o.norders++];
	o->at = db_col_int(s, 9);
	o->financial_status = keep(b, db_col_text(s, 10));
	o->cancelled = db_col_int(s, 11);
	o->currency = keep(b, db_col_text(s, 12));
	o->total = db_col_int(s, 13);
	o->refunded = db_col_int(s, 14);
	o->discount_code = keep(b, db_col_text(s, 15));
	b->o.orders = b->orders;
}

int
store_campaign_outcomes(struct store *st, const char *campaign,
    int64_t window, store_outcome_fn fn, void *arg)
{
	struct outcome_buf b;
	struct db_stmt *s;
	int64_t cust = -1;
	int rc, stop = 0, open = 0;

	s = store_stmt(st, SQ_OUTCOMES, "SELECT l.customer_id, l.recipient,"
	    " l.arm, coalesce(l.segment, ''), coalesce(l.variant, ''),"
	    " l.decision, l.at,"
	    " (SELECT group_concat(DISTINCT e.type) FROM engagement e"
	    "  WHERE e.customer_id = l.customer_id"
	    "  AND e.campaign_id = l.campaign_id),"
	    " coalesce((SELECT max(j.done_at) FROM outbox j WHERE j.kind = 'sms'"
	    "  AND j.customer_id = l.customer_id"
	    "  AND j.campaign_id = l.campaign_id AND j.state = 'sent'), 0),"
	    " o.created_at, o.financial_status, o.cancelled_at IS NOT NULL,"
	    " o.currency, o.total, o.refunded, o.discount_code"
	    " FROM ledger l LEFT JOIN orders o ON o.customer_id = l.customer_id"
	    "  AND o.created_at >= l.at AND o.created_at < l.at + ?2"
	    " WHERE l.campaign_id = ?1 AND l.customer_id <> 0"
	    "  AND (l.decision = 'deliver' OR l.decision = 'held_out')"
	    " ORDER BY l.customer_id, l.recipient, o.created_at");
	if (s == NULL)
		return -1;
	db_bind_text(s, 1, campaign);
	db_bind_int(s, 2, window);
	memset(&b, 0, sizeof(b));
	while (!stop && (rc = db_step(s)) == DB_ROW) {
		/* a new ledger row: the last one is whole */
		if (!open || db_col_int(s, 0) != cust ||
		    strcmp(db_col_text(s, 1), b.o.recipient) != 0) {
			if (open && (stop = fn(&b.o, arg)) != 0)
				break;
			outcome_start(&b, s);
			cust = b.o.customer_id;
			open = 1;
		}
		outcome_order(&b, s);
	}
	if (!stop && open && rc == DB_DONE)
		stop = fn(&b.o, arg);
	store_done(s);
	outcome_reset(&b);
	free(b.texts);
	free(b.orders);
	if (stop)
		return stop;
	return rc == DB_DONE ? 0 : store_fail(st, "outcomes");
}

int
store_recent_campaigns(struct store *st, int64_t n, store_name_fn fn,
    void *arg)
{
	struct db_stmt *s;
	int rc, stop = 0;

	s = store_stmt(st, SQ_RECENT_CAMPAIGNS, "SELECT campaign_id"
	    " FROM ledger WHERE customer_id <> 0"
	    " GROUP BY campaign_id ORDER BY max(at) DESC, campaign_id LIMIT ?1");
	if (s == NULL)
		return -1;
	db_bind_int(s, 1, n);
	while (!stop && (rc = db_step(s)) == DB_ROW)
		stop = fn(db_col_text(s, 0), arg);
	store_done(s);
	if (stop)
		return stop;
	return rc == DB_DONE ? 0 : store_fail(st, "campaigns");
}
