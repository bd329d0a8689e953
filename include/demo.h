/*
 * demo - a synthetic store in the formats real stores export.
 *
 * demo_write() writes, into DIR, what `segctl import` reads:
 *   products.csv, customers.csv, orders.csv   Shopify's export formats
 *   events.csv, consent.csv, engagement.csv   segctl's own columns
 * for CUSTOMERS customers with about five orders each on average, skewed
 * the way shops are: many one-time buyers, a tail of frequent big spenders,
 * wholesale accounts buying in bulk, customers who stopped buying,
 * abandoned carts, several countries, currencies and languages, consent
 * that is missing, refused or later revoked, and readers who stopped
 * opening campaigns.
 *
 * The output depends only on the parameters: the same (customers, seed,
 * now) gives the same bytes.  Customers are generated one at a time and
 * written at once, so memory does not grow with CUSTOMERS.  Nothing is
 * dated after NOW.
 */
#ifndef SEGM_DEMO_H
#define SEGM_DEMO_H

#include <stddef.h>
#include <stdint.h>

struct demo_params {
	uint64_t	 customers;
	uint64_t	 seed;
	int64_t		 now;		/* epoch seconds: "today" of the data */
};

/* Creates DIR if needed and writes the six files.  0, or -1 with ERR. */
int	 demo_write(const struct demo_params *p, const char *dir, char *err,
	    size_t errlen);

/*
 * What a campaign's recipients do afterwards, with a known true effect:
 * the chance each orders within the window depends on their segment and
 * arm alone (demo_truth), drawn per customer from SEED, so the lift
 * report can be checked against the truth.  Orders go to an orders.csv
 * in Shopify's format, at a random time inside the window after the
 * decision, some of them with the variant's code.
 */
struct demo_recipient {
	int64_t		 customer_id;
	const char	*email;
	const char	*segment;	/* "" unknown */
	const char	*arm;		/* NULL: no arms (tailored) */
	int64_t		 at;		/* the decision */
	const char	*code;		/* the variant's, NULL */
};

/* The chance of an order in the window, for SEGMENT in ARM (NULL: the
 * campaign has no arms). */
double	 demo_truth(const char *segment, const char *arm);

struct demo_outcomes;
/* Opens PATH for CAMPAIGN's simulated orders.  NULL with ERR. */
struct demo_outcomes *demo_outcomes_open(const char *path,
	    const char *campaign, uint64_t seed, int64_t window_s, char *err,
	    size_t errlen);
/* Draws R's orders; 1 when they ordered, 0 when not. */
int	 demo_outcomes_add(struct demo_outcomes *o,
	    const struct demo_recipient *r);
/* Closes the file: 0, or -1 with ERR (a write failed). */
int	 demo_outcomes_close(struct demo_outcomes *o, char *err,
	    size_t errlen);

#endif
