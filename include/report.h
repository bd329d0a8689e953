/*
 * report - a campaign's lift (lift.h) as the store records it: every
 * recipient segmilter delivered to or held out, and the orders they
 * completed within the attribution window after that decision (the
 * held out measured from the moment they were held out, so that the
 * arms are compared over the same span), in the base currency of
 * segments.rates.  An SMS of the campaign has a window of its own,
 * from when it was sent.  The variant's "code" placeholder, when the
 * campaign file is at hand, counts the orders that used it.
 */
#ifndef SEGM_REPORT_H
#define SEGM_REPORT_H

#include <stdint.h>

#include "campaign.h"
#include "lift.h"
#include "store.h"

struct report_windows {
	int64_t	 email_s;	/* after the decision */
	int64_t	 sms_s;		/* after the SMS was sent */
};

/*
 * Adds CAMPAIGN's recipients to L.  C: its file (NULL when gone: no
 * code orders).  RULES: the base currency's rates.  POOLED: variants
 * left out, for a summary over campaigns whose variants differ.  0, or
 * -1 with store_error().
 */
int	 report_lift(struct store *st, const struct conf_segments *rules,
	    const char *campaign, const struct campaign *c, int pooled,
	    const struct report_windows *w, struct lift *l);

#endif
