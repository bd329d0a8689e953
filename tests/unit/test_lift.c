/*
 * test_lift.c - tallying outcomes per segment, variant and arm, and the
 * verdicts: better, worse, no difference when the arms were large
 * enough, too few (with what it takes) when not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lift.h"

/* N recipients of SEGMENT in ARM, the first K of them ordering once. */
static void
add(struct lift *l, const char *segment, const char *variant,
    enum policy_arm arm, int n, int k, int64_t revenue)
{
	struct lift_outcome o;
	int i;

	for (i = 0; i < n; i++) {
		memset(&o, 0, sizeof(o));
		o.segment = segment;
		o.variant = variant;
		o.arm = arm;
		o.orders = i < k;
		o.revenue = i < k ? revenue : 0;
		o.code_orders = i < k / 2;
		o.unsubscribed = i == 0;
		lift_add(l, &o);
	}
}

static const struct lift_comparison *
find(const struct lift *l, const char *segment, enum policy_arm a,
    enum policy_arm b)
{
	size_t i;

	for (i = 0; i < l->ncmp; i++)
		if (strcmp(l->cmp[i].segment, segment) == 0 &&
		    l->cmp[i].a == a && l->cmp[i].b == b)
			return &l->cmp[i];
	return NULL;
}

static void
test_verdicts(void **state)
{
	const struct lift_comparison *c;
	struct lift_cell t;
	struct lift l;

	(void)state;
	lift_init(&l);
	/* lapsed: 10% against 5%, 3,000 each: better */
	add(&l, "lapsed", "lapsed", ARM_TAILORED, 3000, 300, 5000);
	add(&l, "lapsed", "default", ARM_BROAD, 3000, 150, 5000);
	/* vip: 5% both, 3,000 each, past the 2,210 2 points need */
	add(&l, "vip", "vip", ARM_TAILORED, 3000, 150, 9000);
	add(&l, "vip", "default", ARM_BROAD, 3000, 150, 9000);
	/* repeat: 5% both, but 300 each: too few */
	add(&l, "repeat", "default", ARM_TAILORED, 300, 15, 4000);
	add(&l, "repeat", "default", ARM_BROAD, 300, 15, 4000);
	/* b2b: the tailored did worse */
	add(&l, "b2b", "b2b", ARM_TAILORED, 3000, 60, 20000);
	add(&l, "b2b", "default", ARM_BROAD, 3000, 150, 20000);
	/* a held-out arm for lapsed, without orders */
	add(&l, "lapsed", "", ARM_NONE, 1000, 0, 0);
	lift_compare(&l, 0.02);

	assert_non_null(c = find(&l, "lapsed", ARM_TAILORED, ARM_BROAD));
	assert_int_equal(c->verdict, LIFT_BETTER);
	assert_true(c->conversion.estimate > 0.049 &&
	    c->conversion.estimate < 0.051);
	assert_true(c->conversion.low > 0 && c->conversion.high < 0.1);
	/* 10% x 5000 - 5% x 5000 cents a recipient */
	assert_true(c->revenue.estimate > 249.9 && c->revenue.estimate < 250.1);
	assert_non_null(c = find(&l, "vip", ARM_TAILORED, ARM_BROAD));
	assert_int_equal(c->verdict, LIFT_NO_DIFFERENCE);
	assert_non_null(c = find(&l, "repeat", ARM_TAILORED, ARM_BROAD));
	assert_int_equal(c->verdict, LIFT_TOO_FEW);
	assert_int_equal(c->need, 2210);
	assert_non_null(c = find(&l, "b2b", ARM_TAILORED, ARM_BROAD));
	assert_int_equal(c->verdict, LIFT_WORSE);
	assert_non_null(c = find(&l, "lapsed", ARM_TAILORED, ARM_NONE));
	assert_int_equal(c->verdict, LIFT_BETTER);
	/* no held-out arm elsewhere: nothing to compare */
	assert_null(find(&l, "vip", ARM_TAILORED, ARM_NONE));
	assert_non_null(find(&l, LIFT_ALL, ARM_TAILORED, ARM_BROAD));

	lift_total(&l, LIFT_ALL, ARM_TAILORED, &t);
	assert_int_equal(t.recipients, 9300);
	assert_int_equal(t.converters, 525);
	assert_int_equal(t.code_orders, 150 + 75 + 7 + 30);
	assert_int_equal(t.unsubscribed, 4);
	/* cells sorted by segment, variant, arm */
	assert_string_equal(l.cells[0].segment, "b2b");
	lift_free(&l);
}

/* A campaign without arms: its recipients are the tailored, alone. */
static void
test_no_arms(void **state)
{
	struct lift_cell t;
	struct lift l;

	(void)state;
	lift_init(&l);
	add(&l, "vip", "vip", ARM_UNSET, 10, 2, 100);
	lift_compare(&l, 0.02);
	assert_int_equal(l.ncmp, 0);
	lift_total(&l, "vip", ARM_TAILORED, &t);
	assert_int_equal(t.recipients, 10);
	assert_int_equal(t.converters, 2);
	assert_string_equal(lift_verdict_name(LIFT_TOO_FEW),
	    "not enough recipients yet");
	lift_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_no_arms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
