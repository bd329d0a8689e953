/*
 * lift - what a campaign's arms did (policy.h): per segment, variant and
 * arm, the recipients and what they did within the attribution window,
 * and per segment the comparison of each pair of arms, with 95%
 * intervals (stats.h) and a plain verdict.  Pure: the caller feeds one
 * outcome per recipient (report.h gathers them from the store).
 *
 * The verdict is on conversion (the share of recipients who ordered):
 * better or worse when the interval of the difference excludes 0; "no
 * difference" when it includes 0 and both arms are as large as it takes
 * to detect MIN_EFFECT (80% power, 5% level, from the second arm's
 * rate); else "too few", with the number of recipients each arm needs.
 */
#ifndef SEGM_LIFT_H
#define SEGM_LIFT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "policy.h"
#include "stats.h"

#define LIFT_ALL	"all"		/* the segment of the totals */

/* One recipient's decision and what followed it. */
struct lift_outcome {
	const char	*segment;	/* "" unknown */
	const char	*variant;	/* "" held out */
	enum policy_arm	 arm;		/* ARM_UNSET: no arms (tailored) */
	int64_t		 orders;	/* completed, within the window */
	int64_t		 revenue;	/* their net total, base currency,
					   minor units */
	int64_t		 code_orders;	/* with the variant's code */
	int		 unsubscribed, bounced, complained;
	int		 sms;		/* sent an SMS of the campaign */
	int64_t		 sms_orders;	/* within the SMS window */
	int		 first_day;	/* of the first order, from the
					   decision; -1: none */
};

#define LIFT_DAYS	90		/* report.attribution_days, at most */

struct lift_cell {
	char		 segment[CONF_NAME_MAX];
	char		 variant[CONF_NAME_MAX];
	enum policy_arm	 arm;
	int64_t		 recipients, converters, orders, code_orders;
	int64_t		 unsubscribed, bounced, complained;
	int64_t		 sms, sms_converters;
	double		 revenue, revenue_sq;	/* minor units */
};

enum lift_verdict {
	LIFT_BETTER,
	LIFT_WORSE,
	LIFT_NO_DIFFERENCE,
	LIFT_TOO_FEW
};

struct lift_comparison {
	char		 segment[CONF_NAME_MAX];
	enum policy_arm	 a, b;		/* a - b */
	int64_t		 na, nb;
	struct stats_interval conversion;	/* proportions */
	struct stats_interval revenue;	/* per recipient, minor units */
	enum lift_verdict verdict;
	int64_t		 need;		/* per arm, for LIFT_TOO_FEW */
};

struct lift {
	struct lift_cell	*cells;		/* in order of appearance */
	size_t			 ncells, capcells;
	/* who first ordered on day D after the decision, per arm */
	int64_t			 first_day[ARM_COUNT][LIFT_DAYS];
	struct lift_comparison	*cmp;		/* lift_compare's */
	size_t			 ncmp, capcmp;
};

void	 lift_init(struct lift *l);
void	 lift_free(struct lift *l);
void	 lift_add(struct lift *l, const struct lift_outcome *o);
/*
 * Sorts the cells (segment, variant, arm) and compares every pair of
 * arms with at least two recipients each, per segment and over all of
 * them (LIFT_ALL); MIN_EFFECT is a proportion (0.02: 2 points).
 */
void	 lift_compare(struct lift *l, double min_effect);
/* The totals of SEGMENT (LIFT_ALL: every one) in ARM, over variants. */
void	 lift_total(const struct lift *l, const char *segment,
	    enum policy_arm arm, struct lift_cell *out);
const char *lift_verdict_name(enum lift_verdict v);

#endif
