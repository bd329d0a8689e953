/*
 * test_segment.c - every lifecycle rule and facet at its boundaries,
 * through the pure classify/pick functions and the explain text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "segment.h"

#define DAY	86400
#define NOW	((int64_t)1795000000)	/* 2026-11-18T...Z */

struct fx {
	struct segment_facts	f;
	struct segment_order	orders[16];
	struct segment_line	lines[32];
	struct segment_event	events[16];
	struct segment_result	r;
	struct conf		*cf;
};

static int
fx_setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	x->cf = conf_defaults();
	x->f.cust.id = 1;
	x->f.cust.email = "ann@example.com";
	x->f.cust.account_type = "retail";
	x->f.orders = x->orders;
	x->f.lines = x->lines;
	x->f.events = x->events;
	*state = x;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *x = *state;

	conf_free(x->cf);
	free(x);
	return 0;
}

/* Adds an order DAYS_AGO with one line of CATEGORY (NULL: none). */
static struct segment_order *
fx_order(struct fx *x, int64_t days_ago, const char *status, int64_t total,
    int64_t refunded, const char *category, int64_t qty)
{
	struct segment_order *o = &x->orders[x->f.norders++];
	struct segment_line *l = &x->lines[x->f.nlines];

	memset(o, 0, sizeof(*o));
	o->id = (int64_t)x->f.norders;
	o->at = NOW - days_ago * DAY;
	o->financial_status = status;
	o->currency = "USD";
	o->total = total;
	o->refunded = refunded;
	o->first_line = x->f.nlines;
	o->nlines = 1;
	memset(l, 0, sizeof(*l));
	l->sku = "SKU-1";
	l->product = "Thing";
	l->category = category;
	l->quantity = qty;
	l->price = total;
	l->cost = -1;
	x->f.nlines++;
	return o;
}

static void
fx_event(struct fx *x, enum segment_event_type t, int64_t seconds_ago,
    const char *category, int64_t value)
{
	struct segment_event *e = &x->events[x->f.nevents++];

	e->type = t;
	e->at = NOW - seconds_ago;
	e->category = category;
	e->cart_value = value;
}

static enum conf_lifecycle
fx_classify(struct fx *x)
{
	segment_classify(&x->cf->seg, &x->f, NOW, &x->r);
	/* no VIP cut: nobody passes as VIP unless a test says so */
	return segment_pick(&x->cf->seg, x->r.flags, x->r.vip_eligible,
	    x->r.vip_value, INT64_MAX, &x->r.flags);
}

static void
test_no_orders_is_subscriber(void **state)
{
	struct fx *x = *state;

	assert_int_equal(fx_classify(x), LC_SUBSCRIBER);
	assert_int_equal(x->r.orders, 0);
	assert_false(x->r.vip_eligible);
	assert_false(x->r.flags & (1u << LC_LAPSED));
}

static void
test_one_order_first_time_two_repeat(void **state)
{
	struct fx *x = *state;

	fx_order(x, 10, "paid", 5000, 0, "coffee", 1);
	assert_int_equal(fx_classify(x), LC_FIRST_TIME);
	assert_int_equal(x->r.orders, 1);
	fx_order(x, 5, "paid", 3000, 0, "coffee", 1);
	assert_int_equal(fx_classify(x), LC_REPEAT);
	assert_int_equal(x->r.orders, 2);
	assert_int_equal(x->r.net_spend, 8000);
	assert_int_equal(x->r.mean_interval_days, 5);
}

static void
test_refunds_and_cancellations(void **state)
{
	struct fx *x = *state;

	fx_order(x, 30, "paid", 5000, 0, "coffee", 1);
	fx_order(x, 20, "refunded", 4000, 4000, "coffee", 1);
	/* paid but refunded in full through Refunded Amount */
	fx_order(x, 15, "partially_refunded", 2000, 2000, "coffee", 1);
	fx_order(x, 12, "pending", 9000, 0, "coffee", 1);
	fx_order(x, 11, "voided", 9000, 0, "coffee", 1)->cancelled = 0;
	fx_order(x, 10, "paid", 7000, 0, "coffee", 1)->cancelled = 1;
	assert_int_equal(fx_classify(x), LC_FIRST_TIME);
	assert_int_equal(x->r.net_spend, 5000);

	/* a partial refund counts the order, less the refund */
	fx_order(x, 5, "partially_refunded", 3000, 1000, "coffee", 1);
	assert_int_equal(fx_classify(x), LC_REPEAT);
	assert_int_equal(x->r.orders, 2);
	assert_int_equal(x->r.net_spend, 7000);
}

static void
test_lapsed_per_category(void **state)
{
	struct fx *x = *state;

	/* coffee's cycle is 60 days: day 60 is within, day 61 past */
	fx_order(x, 60, "paid", 1000, 0, "coffee", 1);
	fx_classify(x);
	assert_int_equal(x->r.cycle_days, 60);
	assert_string_equal(x->r.cycle_source, "coffee");
	assert_false(x->r.flags & (1u << LC_LAPSED));
	x->orders[0].at -= 1;
	assert_int_equal(fx_classify(x), LC_LAPSED);

	/* furniture bought as well: the longest cycle, 365, applies */
	x->f.norders = x->f.nlines = 0;
	fx_order(x, 200, "paid", 90000, 0, "furniture", 1);
	fx_order(x, 61, "paid", 1000, 0, "coffee", 1);
	assert_int_equal(fx_classify(x), LC_REPEAT);
	assert_int_equal(x->r.cycle_days, 365);
	assert_string_equal(x->r.cycle_source, "furniture");
}

/* The name among F's, or NULL. */
static const char *
fx_has_flag(const struct segment_flags *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->ptr[i], name) == 0)
			return f->ptr[i];
	return NULL;
}

/*
 * Each category's own cycle, over a hand-computed history: a monthly
 * coffee buyer (five orders 31 days apart, the last 126 days ago) who
 * bought a sofa 200 days ago and tea twice, 144 and 84 days ago.  From
 * the shop they are not lapsed (furniture's 365 days, the longest);
 * from coffee they are, 126 - 31 = 95 days overdue; furniture is
 * current (its cycle, after one order: due in 165 days); tea is due:
 * one interval of 60 days against the 120 of its (default) cycle,
 * weighed one to one (adapt_min_orders 3: two intervals trusted),
 * gives 90, the next order 84 - 90 = 6 days away, within due_days 7.
 */
static void
test_category_cycles(void **state)
{
	struct fx *x = *state;
	struct segment_category c[SEGMENT_MAX_CATEGORIES];
	struct segment_flags f;
	struct buf out;
	size_t n;
	int d;

	fx_order(x, 250, "paid", 1000, 0, "coffee", 1);
	fx_order(x, 219, "paid", 1000, 0, "coffee", 2);
	fx_order(x, 200, "paid", 90000, 0, "furniture", 1);
	fx_order(x, 188, "paid", 1000, 0, "coffee", 1);
	fx_order(x, 157, "paid", 1000, 0, "coffee", 1);
	fx_order(x, 144, "paid", 800, 0, "tea", 1);
	fx_order(x, 126, "paid", 1000, 0, "coffee", 1);
	fx_order(x, 84, "paid", 800, 0, "tea", 1);
	fx_order(x, 30, "refunded", 1000, 1000, "coffee", 1);
	assert_int_equal(fx_classify(x), LC_REPEAT);
	assert_false(x->r.flags & (1u << LC_LAPSED));
	n = segment_categories(&x->cf->seg, &x->f, NOW, c);
	assert_int_equal(n, 3);
	assert_string_equal(c[0].category, "coffee");
	assert_int_equal(c[0].orders, 5);	/* not the refunded one */
	assert_true(c[0].own_days == 31.0);
	assert_int_equal(c[0].interval_days, 31);
	assert_int_equal(c[0].due_at, NOW - 95 * DAY);
	assert_int_equal(c[0].state, CAT_LAPSED);
	assert_string_equal(c[1].category, "furniture");
	assert_int_equal(c[1].interval_days, 365);
	assert_int_equal(c[1].state, CAT_CURRENT);
	assert_string_equal(c[2].category, "tea");
	assert_true(c[2].own_days == 60.0);
	assert_int_equal(c[2].cycle_days, 120);
	assert_int_equal(c[2].interval_days, 90);
	assert_int_equal(c[2].due_at, NOW + 6 * DAY);
	assert_int_equal(c[2].state, CAT_DUE);

	segment_flags(&x->r, &f);
	assert_non_null(fx_has_flag(&f, "lapsed_coffee"));
	assert_non_null(fx_has_flag(&f, "due_tea"));
	assert_non_null(fx_has_flag(&f, "tea"));	/* bought in 90 days */
	assert_null(fx_has_flag(&f, "lapsed_furniture"));
	assert_null(fx_has_flag(&f, "coffee"));		/* not since 126 d */
	assert_null(fx_has_flag(&f, "lapsed_tea"));

	buf_init(&out, 65536);
	segment_explain(&x->cf->seg, &x->r, c, n, NULL, NOW, &out);
	assert_non_null(strstr(buf_str(&out), "  coffee      lapsed: last"
	    " 2026-"));
	assert_non_null(strstr(buf_str(&out), "5 orders, own interval 31 d,"
	    " due "));
	assert_non_null(strstr(buf_str(&out), ", 95 d overdue\n"));
	assert_non_null(strstr(buf_str(&out), "  tea         due: last"));
	assert_non_null(strstr(buf_str(&out), "2 orders, own interval 60 d,"
	    " toward the category's 120 d: 90 d, due "));
	assert_non_null(strstr(buf_str(&out), ", in 6 d\n"));
	assert_non_null(strstr(buf_str(&out), "  furniture   current: last"));
	assert_non_null(strstr(buf_str(&out), "1 order, the category's cycle"
	    " 365 d"));
	buf_free(&out);

	/* a year on nothing is bought: every one of them lapsed */
	n = segment_categories(&x->cf->seg, &x->f, NOW + 365 * DAY, c);
	for (d = 0; d < (int)n; d++)
		assert_int_equal(c[d].state, CAT_LAPSED);
}

static void
test_lapsed_default_and_uncategorised(void **state)
{
	struct fx *x = *state;

	fx_order(x, 121, "paid", 1000, 0, NULL, 1);
	assert_int_equal(fx_classify(x), LC_LAPSED);
	assert_int_equal(x->r.cycle_days, x->cf->seg.lapsed.default_days);
	assert_string_equal(x->r.cycle_source, "default");
	x->orders[0].at = NOW - 120 * DAY;
	assert_int_equal(fx_classify(x), LC_FIRST_TIME);
}

static void
test_lapsed_adapts_to_own_interval(void **state)
{
	struct fx *x = *state;

	x->cf->seg.lapsed.adapt_to_interval = 1;
	x->cf->seg.lapsed.interval_factor = 2.0;
	x->cf->seg.lapsed.adapt_min_orders = 3;
	fx_order(x, 81, "paid", 1000, 0, "coffee", 1);
	fx_order(x, 61, "paid", 1000, 0, "coffee", 1);
	fx_order(x, 41, "paid", 1000, 0, "coffee", 1);
	/* every 20 days: the cycle is 40, and 41 days have passed */
	assert_int_equal(fx_classify(x), LC_LAPSED);
	assert_int_equal(x->r.cycle_days, 40);
	assert_string_equal(x->r.cycle_source, "own interval");
	x->orders[2].at = NOW - 40 * DAY;
	assert_int_equal(fx_classify(x), LC_REPEAT);

	/* below adapt_min_orders the category cycle stays */
	x->f.norders = 2;
	x->f.nlines = 2;
	fx_classify(x);
	assert_int_equal(x->r.cycle_days, 60);
}

static void
test_b2b_reasons(void **state)
{
	struct fx *x = *state;
	char *domains[] = { "acme-wholesale.example" }, **saved;

	x->f.cust.account_type = "Wholesale";
	assert_int_equal(fx_classify(x), LC_B2B);
	assert_int_equal(x->r.b2b_reason, B2B_ACCOUNT_TYPE);

	x->f.cust.account_type = "retail";
	x->f.cust.tags = "newsletter,  Wholesale ,vip-list";
	assert_int_equal(fx_classify(x), LC_B2B);
	assert_int_equal(x->r.b2b_reason, B2B_TAG);
	assert_string_equal(x->r.b2b_detail, "Wholesale");

	x->f.cust.tags = "wholesaler";	/* a tag is a whole word */
	assert_int_equal(fx_classify(x), LC_SUBSCRIBER);

	x->f.cust.tax_exempt = 1;
	assert_int_equal(fx_classify(x), LC_B2B);
	assert_int_equal(x->r.b2b_reason, B2B_TAX_EXEMPT);
	x->cf->seg.b2b.tax_exempt = 0;
	assert_int_equal(fx_classify(x), LC_SUBSCRIBER);

	saved = x->cf->seg.b2b.company_domains;
	x->cf->seg.b2b.company_domains = domains;
	x->cf->seg.b2b.ncompany_domains = 1;
	x->f.cust.email = "buyer@acme-wholesale.example";
	assert_int_equal(fx_classify(x), LC_B2B);
	assert_int_equal(x->r.b2b_reason, B2B_DOMAIN);
	x->cf->seg.b2b.company_domains = saved;	/* conf_free frees it */
	x->cf->seg.b2b.ncompany_domains = 0;

	/* bulk: two orders with a line of 24 or more units */
	x->cf->seg.b2b.bulk_line_quantity = 24;
	x->cf->seg.b2b.bulk_orders_min = 2;
	fx_order(x, 30, "paid", 50000, 0, "coffee", 24);
	fx_order(x, 20, "paid", 50000, 0, "coffee", 23);
	assert_int_equal(fx_classify(x), LC_REPEAT);
	x->lines[1].quantity = 60;
	assert_int_equal(fx_classify(x), LC_B2B);
	assert_int_equal(x->r.b2b_reason, B2B_BULK);
}

static void
test_cart_abandoner_window(void **state)
{
	struct fx *x = *state;

	fx_order(x, 10, "paid", 1000, 0, "coffee", 1);
	fx_event(x, SEG_EV_ADD_TO_CART, 3 * 3600, "tea", 4200);
	fx_event(x, SEG_EV_CHECKOUT_START, 2 * 3600, "tea", -1);
	fx_classify(x);
	assert_true(x->r.cart_abandoner);
	/* the latest event has no value: the one before it does */
	assert_int_equal(x->r.cart_value, 4200);

	/* younger than min_age_minutes (60): not yet abandoned */
	x->events[1].at = NOW - 59 * 60;
	fx_classify(x);
	assert_false(x->r.cart_abandoner);
	x->events[1].at = NOW - 60 * 60;
	fx_classify(x);
	assert_true(x->r.cart_abandoner);

	/* older than window_hours (72): too old */
	x->events[0].at = NOW - 73 * 3600;
	x->events[1].at = NOW - 72 * 3600 - 1;
	fx_classify(x);
	assert_false(x->r.cart_abandoner);

	/* an order after the cart ends it */
	x->events[0].at = NOW - 5 * 3600;
	x->events[1].at = NOW - 4 * 3600;
	x->orders[0].at = NOW - 3 * 3600;
	fx_classify(x);
	assert_false(x->r.cart_abandoner);
}

static void
test_interests_window_and_sources(void **state)
{
	struct fx *x = *state;
	size_t i;
	int coffee = 0, tea = 0;

	fx_order(x, 10, "paid", 1000, 0, "coffee", 1);
	fx_event(x, SEG_EV_PRODUCT_VIEW, 100 * DAY, "furniture", -1);
	fx_event(x, SEG_EV_CATEGORY_VIEW, 5 * DAY, "tea", -1);
	fx_event(x, SEG_EV_PRODUCT_VIEW, 4 * DAY, "coffee", -1);
	fx_classify(x);
	assert_int_equal(x->r.ninterests, 2);
	for (i = 0; i < x->r.ninterests; i++) {
		if (strcmp(x->r.interests[i].category, "coffee") == 0) {
			coffee = 1;
			assert_int_equal(x->r.interests[i].sources,
			    SEG_INTEREST_BOUGHT | SEG_INTEREST_VIEWED);
			assert_int_equal(x->r.interests[i].last_at,
			    NOW - 4 * DAY);
		}
		if (strcmp(x->r.interests[i].category, "tea") == 0)
			tea = 1;
	}
	assert_true(coffee && tea);
}

static void
test_vip_count_and_pick(void **state)
{
	struct fx *x = *state;
	struct conf_segments *s = &x->cf->seg;
	unsigned flags;

	assert_int_equal(segment_vip_count(s, 0), 0);
	assert_int_equal(segment_vip_count(s, 5), 1);
	assert_int_equal(segment_vip_count(s, 1000), 100);
	assert_int_equal(segment_vip_count(s, 1001), 101);

	flags = 1u << LC_REPEAT;
	assert_int_equal(segment_pick(s, flags, 1, 5000, 5000, NULL), LC_VIP);
	assert_int_equal(segment_pick(s, flags, 1, 4999, 5000, NULL),
	    LC_REPEAT);
	assert_int_equal(segment_pick(s, flags, 0, 9999, 5000, NULL),
	    LC_REPEAT);
	/* b2b outranks vip by default ... */
	flags |= 1u << LC_B2B;
	assert_int_equal(segment_pick(s, flags, 1, 5000, 5000, NULL), LC_B2B);
	/* ... and a configured priority is followed */
	s->priority[0] = LC_LAPSED;
	s->priority[2] = LC_B2B;
	flags |= 1u << LC_LAPSED;
	assert_int_equal(segment_pick(s, flags, 1, 5000, 5000, &flags),
	    LC_LAPSED);
	assert_true(flags & (1u << LC_VIP));
}

static void
test_vip_minimums_and_metric(void **state)
{
	struct fx *x = *state;

	fx_order(x, 10, "paid", 2000, 0, "coffee", 1);
	x->cf->seg.vip.min_value = 2001;
	fx_classify(x);
	assert_false(x->r.vip_eligible);
	x->cf->seg.vip.min_value = 2000;
	fx_classify(x);
	assert_true(x->r.vip_eligible);

	x->cf->seg.vip.metric = VIP_ORDER_COUNT;
	x->cf->seg.vip.min_value = 0;
	x->cf->seg.vip.min_orders = 2;
	fx_classify(x);
	assert_int_equal(x->r.vip_value, 1);
	assert_false(x->r.vip_eligible);

	x->cf->seg.vip.metric = VIP_MARGIN;
	x->cf->seg.vip.min_orders = 1;
	x->lines[0].cost = 1500;
	fx_classify(x);
	assert_int_equal(x->r.vip_value, 500);
	assert_int_equal(x->r.uncosted_lines, 0);
}

static void
test_currency_rates(void **state)
{
	struct fx *x = *state;
	struct conf_rate rates[] = { { "EUR", 1.10 } };

	x->cf->seg.rates = rates;
	x->cf->seg.nrates = 1;
	fx_order(x, 10, "paid", 1000, 0, "coffee", 1)->currency = "EUR";
	fx_order(x, 5, "paid", 1000, 0, "coffee", 1);
	fx_classify(x);
	assert_int_equal(x->r.net_spend, 2100);
	x->cf->seg.rates = NULL;
	x->cf->seg.nrates = 0;
}

static void
test_locale_defaults(void **state)
{
	struct fx *x = *state;

	x->f.cust.country = "de";
	fx_order(x, 10, "paid", 1000, 0, "coffee", 1)->currency = "EUR";
	fx_classify(x);
	assert_string_equal(x->r.country, "DE");
	assert_string_equal(x->r.currency, "EUR");
	assert_string_equal(x->r.language, "de");
	assert_string_equal(x->r.time_zone, "Europe/Berlin");
	/* derived, and said so: the currency from the order, the rest
	 * from the country */
	assert_int_equal(x->r.locale_derived, SEG_LOCALE_CURRENCY_ORDER |
	    SEG_LOCALE_LANGUAGE_COUNTRY | SEG_LOCALE_TZ_COUNTRY);

	/* a country with several zones is not guessed */
	x->f.cust.country = "US";
	x->f.cust.language = "es";
	fx_classify(x);
	assert_string_equal(x->r.language, "es");
	assert_string_equal(x->r.time_zone, "");
	assert_int_equal(x->r.locale_derived, SEG_LOCALE_CURRENCY_ORDER);
}

static void
test_line_category_maps(void **state)
{
	struct fx *x = *state;
	struct conf_kv_str prefixes[] = {
		{ "COF-", "coffee" }, { "COF-DEC-", "decaf" }
	};
	struct conf_kv_str words[] = { { "espresso", "coffee" } };
	struct segment_line l;

	x->cf->seg.sku_prefixes = prefixes;
	x->cf->seg.nsku_prefixes = 2;
	x->cf->seg.name_keywords = words;
	x->cf->seg.nname_keywords = 1;
	memset(&l, 0, sizeof(l));
	l.sku = "cof-dec-250";
	assert_string_equal(segment_line_category(&x->cf->seg, &l), "decaf");
	l.sku = "COF-250";
	assert_string_equal(segment_line_category(&x->cf->seg, &l), "coffee");
	l.sku = "TEA-1";
	l.product = "Double Espresso Cups";
	assert_string_equal(segment_line_category(&x->cf->seg, &l), "coffee");
	l.product = "Teapot";
	assert_null(segment_line_category(&x->cf->seg, &l));
	l.category = "kitchen";
	assert_string_equal(segment_line_category(&x->cf->seg, &l),
	    "kitchen");
	x->cf->seg.sku_prefixes = NULL;
	x->cf->seg.nsku_prefixes = 0;
	x->cf->seg.name_keywords = NULL;
	x->cf->seg.nname_keywords = 0;
}

static void
test_explain_names_the_figures(void **state)
{
	struct fx *x = *state;
	struct segment_vip_cut cut = { 10000, 40 };
	struct buf out;

	fx_order(x, 70, "paid", 12000, 0, "coffee", 1);
	fx_order(x, 61, "paid", 3050, 0, "coffee", 1);
	segment_classify(&x->cf->seg, &x->f, NOW, &x->r);
	x->r.lifecycle = segment_pick(&x->cf->seg, x->r.flags,
	    x->r.vip_eligible, x->r.vip_value, cut.threshold, &x->r.flags);
	assert_int_equal(x->r.lifecycle, LC_VIP);
	buf_init(&out, 65536);
	segment_explain(&x->cf->seg, &x->r, NULL, 0, &cut, NOW, &out);
	assert_non_null(strstr(buf_str(&out), "vip         yes  net spend"
	    " 150.50 USD >= the cut 100.00 USD for the top 10% of 40"));
	assert_non_null(strstr(buf_str(&out), "lapsed      yes  last order"));
	assert_non_null(strstr(buf_str(&out), "61 days ago, past the 60-day"
	    " cycle (category coffee)"));
	assert_non_null(strstr(buf_str(&out), "repeat      yes  2 completed"));
	assert_non_null(strstr(buf_str(&out), "first_time  no   2 completed"));
	assert_null(strstr(buf_str(&out), "refunds"));
	buf_free(&out);

	/* a refund is shown, in the base currency, over every order */
	fx_order(x, 30, "partially_refunded", 5000, 1250, "coffee", 1);
	segment_classify(&x->cf->seg, &x->f, NOW, &x->r);
	buf_init(&out, 65536);
	segment_explain(&x->cf->seg, &x->r, NULL, 0, &cut, NOW, &out);
	assert_non_null(strstr(buf_str(&out), "refunds     1 order, 12.50 USD"
	    " refunded"));
	buf_free(&out);
}

/* The names campaigns use: lifecycle, cart, interests, locale slugs. */
static void
test_flags_are_campaign_names(void **state)
{
	struct segment_result res;
	struct segment_flags f;
	size_t i;

	(void)state;
	memset(&res, 0, sizeof(res));
	res.lifecycle = LC_VIP;
	res.cart_abandoner = 1;
	snprintf(res.interests[0].category, CONF_NAME_MAX, "coffee");
	res.interests[0].sources = SEG_INTEREST_BOUGHT | SEG_INTEREST_DUE;
	snprintf(res.interests[1].category, CONF_NAME_MAX, "furniture");
	res.interests[1].sources = SEG_INTEREST_LAPSED;	/* bought long ago */
	res.ninterests = 2;
	snprintf(res.country, sizeof(res.country), "DE");
	snprintf(res.language, sizeof(res.language), "en-US");
	snprintf(res.currency, sizeof(res.currency), "EUR");
	segment_flags(&res, &f);
	assert_int_equal(f.n, 8);
	assert_string_equal(f.ptr[0], "vip");
	assert_string_equal(f.ptr[1], "cart_abandoner");
	assert_string_equal(f.ptr[2], "coffee");
	assert_string_equal(f.ptr[3], "due_coffee");
	assert_string_equal(f.ptr[4], "lapsed_furniture");
	assert_string_equal(f.ptr[5], "country_de");
	assert_string_equal(f.ptr[6], "language_en_us");
	assert_string_equal(f.ptr[7], "currency_eur");
	/* no locale known: no locale names, never "country_" */
	memset(&res, 0, sizeof(res));
	res.lifecycle = LC_SUBSCRIBER;
	segment_flags(&res, &f);
	assert_int_equal(f.n, 1);
	for (i = 0; i < f.n; i++)
		assert_ptr_equal(f.ptr[i], f.name[i]);
	/* the longest category name stays whole and terminated */
	memset(res.interests[0].category, 'A', CONF_NAME_MAX - 1);
	res.interests[0].category[CONF_NAME_MAX - 1] = '\0';
	res.interests[0].sources = SEG_INTEREST_VIEWED;
	res.ninterests = 1;
	segment_flags(&res, &f);
	assert_int_equal(f.n, 2);
	assert_int_equal(strlen(f.ptr[1]), CONF_NAME_MAX - 1);
	assert_int_equal(f.ptr[1][0], 'a');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
		T(test_no_orders_is_subscriber),
		T(test_one_order_first_time_two_repeat),
		T(test_refunds_and_cancellations),
		T(test_lapsed_per_category),
		T(test_category_cycles),
		T(test_lapsed_default_and_uncategorised),
		T(test_lapsed_adapts_to_own_interval),
		T(test_b2b_reasons),
		T(test_cart_abandoner_window),
		T(test_interests_window_and_sources),
		T(test_vip_count_and_pick),
		T(test_vip_minimums_and_metric),
		T(test_currency_rates),
		T(test_locale_defaults),
		T(test_line_category_maps),
		T(test_explain_names_the_figures),
		T(test_flags_are_campaign_names),
#undef T
	};

	return cmocka_run_group_tests_name("segment", tests, NULL, NULL);
}
