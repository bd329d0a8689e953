/*
 * stats - the interval arithmetic behind the lift report: pure
 * functions of counts and sums, checked against published worked
 * examples (tests/unit/test_stats.c).
 *
 * Proportions (conversion rates) get Wilson's score interval, and their
 * difference Newcombe's hybrid score interval (Newcombe 1998, method
 * 10), which keeps near nominal coverage with small counts and rates
 * near 0, where the textbook Wald interval fails.  Means (revenue per
 * recipient) get Welch's interval for a difference of means with the
 * normal quantile: revenue is skewed and mostly zero, but a campaign's
 * arms hold hundreds of recipients and more, where the mean's sampling
 * distribution is close to normal; below that the verdict is "too few"
 * anyway.
 */
#ifndef SEGM_STATS_H
#define SEGM_STATS_H

#include <stdint.h>

#define STATS_Z95	1.959963984540054	/* two-sided 95% */
#define STATS_Z80	0.8416212335729143	/* one-sided 80% power */

struct stats_interval {
	double	 estimate;
	double	 low, high;
};

/* Wilson's score interval for K of N (N > 0) at quantile Z. */
void	 stats_wilson(int64_t k, int64_t n, double z, double *low,
	    double *high);
/* K1/N1 - K2/N2 and its 95% interval (Newcombe's method 10); both N > 0. */
void	 stats_newcombe(int64_t k1, int64_t n1, int64_t k2, int64_t n2,
	    struct stats_interval *out);
/*
 * MEAN1 - MEAN2 of two samples given by their counts, sums and sums of
 * squares, and its 95% interval (Welch's standard error, the normal
 * quantile); both N > 1.
 */
void	 stats_welch(int64_t n1, double sum1, double sumsq1, int64_t n2,
	    double sum2, double sumsq2, struct stats_interval *out);
/*
 * Recipients each of two arms needs to detect a difference of EFFECT
 * (a proportion, > 0) from a rate P with 80% power at the 5% level
 * (two-sided): the usual normal approximation.
 */
int64_t	 stats_needed(double p, double effect);

#endif
