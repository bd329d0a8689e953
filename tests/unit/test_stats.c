/*
 * test_stats.c - the report's interval arithmetic against published
 * worked examples: Newcombe (1998), "Two-sided confidence intervals for
 * the single proportion" (Wilson for 81/263) and "Interval estimation
 * for the difference between independent proportions" (Table II,
 * method 10, eight examples), both Statistics in Medicine 17; Welch's
 * interval and the sample size against hand arithmetic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "stats.h"

#define near(a, b)	assert_true((a) > (b) - 0.00005 && (a) < (b) + 0.00005)

static void
test_wilson(void **state)
{
	double lo, hi;

	(void)state;
	stats_wilson(81, 263, STATS_Z95, &lo, &hi);
	near(lo, 0.2553);
	near(hi, 0.3662);
	stats_wilson(0, 20, STATS_Z95, &lo, &hi);
	near(lo, 0.0);
	near(hi, 0.1611);
	stats_wilson(20, 20, STATS_Z95, &lo, &hi);
	near(hi, 1.0);
}

static void
test_newcombe(void **state)
{
	static const struct {
		int64_t	 k1, n1, k2, n2;
		double	 d, lo, hi;
	} ex[] = {
		{ 56, 70, 48, 80, 0.2000, 0.0524, 0.3339 },
		{ 9, 10, 3, 10, 0.6000, 0.1705, 0.8090 },
		{ 6, 7, 2, 7, 0.5714, 0.0582, 0.8062 },
		{ 5, 56, 0, 29, 0.0893, -0.0381, 0.1926 },
		{ 0, 10, 0, 20, 0.0000, -0.1611, 0.2775 },
		{ 0, 10, 0, 10, 0.0000, -0.2775, 0.2775 },
		{ 10, 10, 0, 20, 1.0000, 0.6791, 1.0000 },
		{ 10, 10, 0, 10, 1.0000, 0.6075, 1.0000 },
	};
	struct stats_interval iv;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		stats_newcombe(ex[i].k1, ex[i].n1, ex[i].k2, ex[i].n2, &iv);
		near(iv.estimate, ex[i].d);
		near(iv.low, ex[i].lo);
		near(iv.high, ex[i].hi);
	}
	/* the other way round: the interval mirrored */
	stats_newcombe(48, 80, 56, 70, &iv);
	near(iv.low, -0.3339);
	near(iv.high, -0.0524);
}

static void
test_welch(void **state)
{
	struct stats_interval iv;

	(void)state;
	/*
	 * 1, 2, 3, 4 (mean 2.5, variance 5/3) against 2, 2, 2 (mean 2,
	 * variance 0): 0.5 +- 1.96 * sqrt(5/3 / 4) = 0.5 +- 1.26517
	 */
	stats_welch(4, 10, 30, 3, 6, 12, &iv);
	near(iv.estimate, 0.5);
	near(iv.low, 0.5 - 1.26517);
	near(iv.high, 0.5 + 1.26517);
}

static void
test_needed(void **state)
{
	(void)state;
	/* 5% to 7%: 7.8489 * (0.0475 + 0.0651) / 0.0004 = 2209.5 */
	assert_int_equal(stats_needed(0.05, 0.02), 2210);
	/* a bigger effect needs fewer; a rate past 1 is capped */
	assert_true(stats_needed(0.05, 0.05) < stats_needed(0.05, 0.02));
	assert_true(stats_needed(0.99, 0.05) > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wilson),
		cmocka_unit_test(test_newcombe),
		cmocka_unit_test(test_welch),
		cmocka_unit_test(test_needed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
