/*
 * test_report.c - attribution at its edges, on a real store: an order
 * counts for a decision when placed at or after it and before the window
 * ends, for the held out from the moment they were held out; cancelled
 * and fully refunded orders do not count; revenue is net and in the base
 * currency; the variant's code is recognised; an SMS has its own window.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "report.h"
#include "store_lookup.h"
#include "store_record.h"
#include "tstore.h"

#define NOW	((int64_t)1795000000)
#define DAY	86400

struct rx {
	char		 dir[64];
	struct store	*st;
	struct conf	*cf;
};

static int
rx_setup(void **state)
{
	struct rx *x = calloc(1, sizeof(*x));
	char path[256], err[512];

	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-report-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	tstore_name(x->dir, path, sizeof(path));
	assert_int_equal(store_open(path, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)), 0);
	x->cf = conf_defaults();
	*state = x;
	return 0;
}

static int
rx_teardown(void **state)
{
	struct rx *x = *state;
	char cmd[128];

	store_close(x->st);
	conf_free(x->cf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

/* A customer decided at NOW in ARM ("none": held out). */
static int64_t
recipient(struct rx *x, const char *email, const char *arm)
{
	struct store_customer c;
	struct store_ledger l;
	enum store_change ch;
	int64_t id;

	memset(&c, 0, sizeof(c));
	c.email = email;
	assert_int_equal(store_customer_upsert(x->st, &c, &id, &ch), 0);
	memset(&l, 0, sizeof(l));
	l.campaign_id = "fall";
	l.recipient = email;
	l.message_key = "<m1@x>";
	l.customer_id = id;
	l.queue_id = "Q1";
	l.decision = strcmp(arm, "none") == 0 ? "held_out" : "deliver";
	l.variant = strcmp(arm, "none") == 0 ? NULL : "lapsed";
	l.at = NOW;
	l.arm = arm;
	l.segment = "lapsed";
	assert_int_equal(store_ledger_put(x->st, &l, NULL), 0);
	return id;
}

static void
order(struct rx *x, int64_t customer, const char *ref, int64_t at,
    const char *status, int64_t total, int64_t refunded, const char *code,
    const char *currency)
{
	struct store_order o;
	enum store_change ch;
	int64_t id;

	memset(&o, 0, sizeof(o));
	o.ref = ref;
	o.customer_id = customer;
	o.created_at = at;
	o.financial_status = status;
	o.currency = currency;
	o.total = total;
	o.refunded = refunded;
	o.discount_code = code;
	assert_int_equal(store_order_upsert(x->st, &o, &id, &ch), 0);
}

static void
test_windows(void **state)
{
	struct rx *x = *state;
	struct report_windows w = { 5 * DAY, DAY };
	struct campaign_set *set;
	struct lift_cell t, h;
	struct lift l;
	char path[160], err[1024];
	int64_t a, b, c, d;
	FILE *fp;

	a = recipient(x, "a@example.com", "tailored");
	b = recipient(x, "b@example.com", "tailored");
	c = recipient(x, "c@example.com", "none");
	d = recipient(x, "d@example.com", "tailored");
	/* a: at the very moment, and a second order on the last second */
	order(x, a, "#1", NOW, "paid", 5000, 0, "MISS15", "USD");
	order(x, a, "#2", NOW + 5 * DAY - 1, "partially_refunded", 4000, 1000,
	    NULL, "EUR");
	/* b: a second before, and right at the window's end: neither */
	order(x, b, "#3", NOW - 1, "paid", 9000, 0, NULL, "USD");
	order(x, b, "#4", NOW + 5 * DAY, "paid", 9000, 0, NULL, "USD");
	/* c, held out at NOW: measured from then */
	order(x, c, "#5", NOW + 2 * DAY, "paid", 3000, 0, NULL, "USD");
	/* d: cancelled, refunded in full, pending: none completed */
	order(x, d, "#6", NOW + DAY, "paid", 3000, 0, NULL, "USD");
	order(x, d, "#7", NOW + DAY, "refunded", 3000, 3000, NULL, "USD");
	order(x, d, "#8", NOW + DAY, "pending", 3000, 0, NULL, "USD");
	{
		struct store_order o;
		enum store_change ch;
		int64_t id;

		memset(&o, 0, sizeof(o));
		o.ref = "#6";
		o.customer_id = d;
		o.created_at = NOW + DAY;
		o.financial_status = "paid";
		o.cancelled_at = NOW + DAY + 60;
		o.total = 3000;
		assert_int_equal(store_order_upsert(x->st, &o, &id, &ch), 0);
	}

	x->cf->seg.rates = calloc(1, sizeof(*x->cf->seg.rates));
	memcpy(x->cf->seg.rates[0].currency, "EUR", 4);
	x->cf->seg.rates[0].rate = 1.5;
	x->cf->seg.nrates = 1;
	lift_init(&l);
	assert_int_equal(report_lift(x->st, &x->cf->seg, "fall", NULL, 0, &w,
	    &l), 0);
	lift_total(&l, LIFT_ALL, ARM_TAILORED, &t);
	lift_total(&l, LIFT_ALL, ARM_NONE, &h);
	assert_int_equal(t.recipients, 3);
	assert_int_equal(t.converters, 1);		/* a alone */
	assert_int_equal(t.orders, 2);
	/* 50.00 USD and (40.00 - 10.00) EUR at 1.5 */
	assert_true(t.revenue == 5000 + 4500);
	assert_int_equal(h.recipients, 1);
	assert_int_equal(h.converters, 1);
	assert_int_equal(l.first_day[ARM_TAILORED][0], 1);
	assert_int_equal(l.first_day[ARM_NONE][2], 1);
	/* no campaign file: no code known */
	assert_int_equal(t.code_orders, 0);
	lift_free(&l);

	/* with it, the lapsed variant's code, in any case */
	snprintf(path, sizeof(path), "%s/c", x->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/c/fall.conf", x->dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("id = \"fall\";\nvariants = { lapsed = { code = \"miss15\"; };"
	    "\n default = { code = \"FALL10\"; }; };\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/c", x->dir);
	if (campaign_set_load(path, NULL, &set, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	lift_init(&l);
	assert_int_equal(report_lift(x->st, &x->cf->seg, "fall",
	    campaign_find(set, "fall"), 0, &w, &l), 0);
	lift_total(&l, LIFT_ALL, ARM_TAILORED, &t);
	assert_int_equal(t.code_orders, 1);
	lift_free(&l);
	campaign_set_free(set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_windows, rx_setup,
		    rx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
