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

#endif
