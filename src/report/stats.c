/*
 * stats.c - Wilson, Newcombe and Welch intervals, and sample sizes.
 */
#include <math.h>

#include "stats.h"

void
stats_wilson(int64_t k, int64_t n, double z, double *low, double *high)
{
	double p = (double)k / (double)n, z2 = z * z;
	double centre = 2 * (double)n * p + z2;
	double spread = z * sqrt(4 * (double)n * p * (1 - p) + z2);
	double denom = 2 * ((double)n + z2);

	*low = (centre - spread) / denom;
	*high = (centre + spread) / denom;
	/* rounding must not put a bound past the estimate at 0 or 1 */
	if (k == 0)
		*low = 0;
	if (k == n)
		*high = 1;
}

void
stats_newcombe(int64_t k1, int64_t n1, int64_t k2, int64_t n2,
    struct stats_interval *out)
{
	double p1 = (double)k1 / (double)n1, p2 = (double)k2 / (double)n2;
	double l1, u1, l2, u2, d = p1 - p2;

	stats_wilson(k1, n1, STATS_Z95, &l1, &u1);
	stats_wilson(k2, n2, STATS_Z95, &l2, &u2);
	out->estimate = d;
	out->low = d - sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2));
	out->high = d + sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2));
}

/* A sample's variance from its count, sum and sum of squares. */
static double
variance(int64_t n, double sum, double sumsq)
{
	double mean = sum / (double)n, v;

	v = (sumsq - (double)n * mean * mean) / (double)(n - 1);
	return v > 0 ? v : 0;	/* cancellation must not go negative */
}

void
stats_welch(int64_t n1, double sum1, double sumsq1, int64_t n2,
    double sum2, double sumsq2, struct stats_interval *out)
{
	double se = sqrt(variance(n1, sum1, sumsq1) / (double)n1 +
	    variance(n2, sum2, sumsq2) / (double)n2);

	out->estimate = sum1 / (double)n1 - sum2 / (double)n2;
	out->low = out->estimate - STATS_Z95 * se;
	out->high = out->estimate + STATS_Z95 * se;
}

int64_t
stats_needed(double p, double effect)
{
	double q = p + effect, z = STATS_Z95 + STATS_Z80;

	if (q > 1)
		q = 1;
	return (int64_t)ceil(z * z * (p * (1 - p) + q * (1 - q)) /
	    (effect * effect));
}
