/*
 * report_out.h - how segctl report writes a lift (lift.h): as text for
 * people, CSV for spreadsheets and JSON for BI tools, the same figures
 * in each.  Money is in the base currency's major units.
 */
#ifndef SEGM_REPORT_OUT_H
#define SEGM_REPORT_OUT_H

#include <stdint.h>
#include <stdio.h>

#include <json-glib/json-glib.h>

#include "conf.h"
#include "lift.h"

/* K of N as a percentage; 0 for nobody. */
double	 report_pct(int64_t k, int64_t n);
/* The days after a decision the lift follows (its first_day). */
int	 report_days(const struct conf *cf);
void	 report_lift_text(FILE *out, const struct lift *l,
	    const struct conf *cf, int by_variant);
/* Rows "cell,..." and "comparison,..." under one header each. */
void	 report_lift_csv(FILE *out, const struct lift *l);
/* The member "lift" (cells, first orders by day, comparisons) of the
 * object B is building. */
void	 report_lift_json(JsonBuilder *b, const struct lift *l,
	    const struct conf *cf);

/* A segment's decisions: all, delivered (broad too), held out. */
struct report_funnel {
	const char	*segment;
	int64_t		 total, delivered, held_out;
};
/*
 * One self-contained HTML page (report_html.c): CAMPAIGN reported at
 * WHEN, the funnel F[0..NF-1], and L's charts and tables.
 */
void	 report_lift_html(FILE *out, const char *campaign, const char *when,
	    const struct report_funnel *f, size_t nf, const struct lift *l,
	    const struct conf *cf);

#endif
