/*
 * explain.c - the reasons behind a customer's segments, as text.
 *
 * Pure: the figures come from a segment_result and the rules, so what
 * `segctl explain` says is exactly what classify.c decided, rule by rule,
 * and a reader can check each against the configuration.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "parse.h"
#include "segment.h"

#define DAY	86400

void
segment_format_money(int64_t cents, char *out, size_t outlen)
{
	uint64_t a = cents < 0 ? (uint64_t)-(cents + 1) + 1 : (uint64_t)cents;

	snprintf(out, outlen, "%s%" PRIu64 ".%02" PRIu64, cents < 0 ? "-" : "",
	    a / 100, a % 100);
}

static void
explain_date(int64_t t, char *out, size_t outlen)
{
	char full[32];

	format_time(t, full, sizeof(full));
	snprintf(out, outlen, "%.10s", full);
}

/* V in the VIP metric's unit: "150.50 USD" or "3 orders". */
static void
explain_vip_amount(const struct conf_segments *rules, int64_t v, char *out,
    size_t outlen)
{
	char money[32];

	if (rules->vip.metric == VIP_ORDER_COUNT) {
		snprintf(out, outlen, "%lld orders", (long long)v);
		return;
	}
	segment_format_money(v, money, sizeof(money));
	snprintf(out, outlen, "%s %s", money, rules->base_currency);
}

/* V with the metric's name: "net spend 150.50 USD". */
static void
explain_vip_value(const struct conf_segments *rules, int64_t v, char *out,
    size_t outlen)
{
	char amount[48];

	explain_vip_amount(rules, v, amount, sizeof(amount));
	if (rules->vip.metric == VIP_ORDER_COUNT)
		snprintf(out, outlen, "%s", amount);
	else
		snprintf(out, outlen, "%s %s", rules->vip.metric == VIP_MARGIN ?
		    "margin" : "net spend", amount);
}

static void
explain_rule(struct buf *out, enum conf_lifecycle lc, int met,
    const char *why)
{
	buf_printf(out, "  %-11s %-4s %s\n", conf_lifecycle_name(lc),
	    met ? "yes" : "no", why);
}

static void
explain_b2b(const struct segment_result *r, struct buf *out)
{
	char why[160];

	if (r->b2b_reason == B2B_NONE)
		snprintf(why, sizeof(why), "no b2b account type, tag, tax"
		    " exemption, company domain or bulk orders");
	else
		snprintf(why, sizeof(why), "%s: %s",
		    segment_b2b_reason_name(r->b2b_reason), r->b2b_detail);
	explain_rule(out, LC_B2B, r->flags & (1u << LC_B2B), why);
}

static void
explain_vip(const struct conf_segments *rules, const struct segment_result *r,
    const struct segment_vip_cut *cut, struct buf *out)
{
	char value[64], cutv[64], min[64], why[256];

	explain_vip_value(rules, r->vip_value, value, sizeof(value));
	if (!r->vip_eligible) {
		explain_vip_amount(rules, rules->vip.min_value, min,
		    sizeof(min));
		snprintf(why, sizeof(why), "%s with %lld completed orders is"
		    " under the minimum (%s, %lld orders)", value,
		    (long long)r->orders, min,
		    (long long)rules->vip.min_orders);
	} else if (cut == NULL || cut->threshold == INT64_MAX) {
		snprintf(why, sizeof(why), "%s; no VIP threshold yet (run"
		    " segctl segments rebuild)", value);
	} else {
		explain_vip_amount(rules, cut->threshold, cutv, sizeof(cutv));
		snprintf(why, sizeof(why), "%s %s the cut %s for the top"
		    " %g%% of %lld eligible", value,
		    r->vip_value >= cut->threshold ? ">=" : "<", cutv,
		    rules->vip.top_percent, (long long)cut->eligible);
	}
	explain_rule(out, LC_VIP, r->flags & (1u << LC_VIP), why);
}

static void
explain_lapsed(const struct segment_result *r, int64_t now, struct buf *out)
{
	char last[16], why[256];
	int64_t days;

	if (r->orders == 0) {
		explain_rule(out, LC_LAPSED, 0, "no completed order");
		return;
	}
	explain_date(r->last_order_at, last, sizeof(last));
	days = (now - r->last_order_at) / DAY;
	snprintf(why, sizeof(why), "last order %s, %lld days ago, %s the"
	    " %lld-day cycle (%s%s)", last, (long long)days,
	    r->flags & (1u << LC_LAPSED) ? "past" : "within",
	    (long long)r->cycle_days, strcmp(r->cycle_source, "default") == 0
	    || strcmp(r->cycle_source, "own interval") == 0 ? "" : "category ",
	    r->cycle_source);
	explain_rule(out, LC_LAPSED, r->flags & (1u << LC_LAPSED), why);
}

/* "bought, viewed": where an interest came from. */
static void
explain_sources(unsigned sources, char *out, size_t outlen)
{
	static const struct {
		unsigned	 bit;
		const char	*name;
	} words[] = {
		{ SEG_INTEREST_BOUGHT, "bought" },
		{ SEG_INTEREST_VIEWED, "viewed" },
		{ SEG_INTEREST_CARTED, "carted" },
	};
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (sources & words[i].bit)
			n += (size_t)snprintf(out + n, n < outlen ? outlen - n :
			    0, "%s%s", n ? ", " : "", words[i].name);
}

static void
explain_facets(const struct conf_segments *rules,
    const struct segment_result *r, struct buf *out)
{
	char when[32], money[32], how[32];
	size_t i, n;

	buf_puts(out, "facets\n");
	if (r->cart_abandoner) {
		format_time(r->cart_at, when, sizeof(when));
		if (r->cart_value >= 0)
			segment_format_money(r->cart_value, money,
			    sizeof(money));
		buf_printf(out, "  cart        abandoned %s, value %s (no order"
		    " since; window %lld h, after %lld min)\n", when,
		    r->cart_value >= 0 ? money : "unknown",
		    (long long)rules->cart.window_hours,
		    (long long)rules->cart.min_age_minutes);
	} else if (r->cart_at > 0) {
		format_time(r->cart_at, when, sizeof(when));
		buf_printf(out, "  cart        not abandoned: last cart %s is"
		    " outside the window or an order followed\n", when);
	} else {
		buf_puts(out, "  cart        no cart activity\n");
	}
	buf_printf(out, "  interests  ");
	for (i = n = 0; i < r->ninterests; i++)
		n += (r->interests[i].sources & SEG_INTEREST_SEEN) != 0;
	if (n == 0)
		buf_printf(out, " none in the last %lld days",
		    (long long)rules->interest.window_days);
	for (i = n = 0; i < r->ninterests; i++) {
		const struct segment_interest *in = &r->interests[i];

		if (!(in->sources & SEG_INTEREST_SEEN))
			continue;	/* a buying cycle's, below */
		explain_date(in->last_at, when, sizeof(when));
		explain_sources(in->sources, how, sizeof(how));
		buf_printf(out, "%s %s (%s, last %s)", n++ ? "," : "",
		    in->category, how, when);
	}
	buf_putc(out, '\n');
	/* what the profile did not say, and where it came from instead */
	buf_printf(out, "  locale      country %s, currency %s%s, language"
	    " %s%s, time zone %s%s\n", *r->country ? r->country : "unknown",
	    *r->currency ? r->currency : "unknown",
	    r->locale_derived & SEG_LOCALE_CURRENCY_ORDER ?
	    " (the latest order's)" : r->locale_derived &
	    SEG_LOCALE_CURRENCY_COUNTRY ? " (the country's)" : "",
	    *r->language ? r->language : "unknown",
	    r->locale_derived & SEG_LOCALE_LANGUAGE_COUNTRY ?
	    " (the country's)" : "",
	    *r->time_zone ? r->time_zone : "unknown",
	    r->locale_derived & SEG_LOCALE_TZ_COUNTRY ?
	    " (the country's)" : "");
	if (r->refunded_orders > 0) {
		segment_format_money(r->refunded, money, sizeof(money));
		buf_printf(out, "  refunds     %lld order%s, %s %s refunded"
		    " (net spend counts what was kept)\n",
		    (long long)r->refunded_orders,
		    r->refunded_orders == 1 ? "" : "s", money,
		    rules->base_currency);
	}
}

/*
 * Each category's buying cycle with its arithmetic: "coffee  lapsed:
 * last 2026-08-01, 5 orders, own interval 31 d, due 2026-09-01, 96 d
 * overdue".
 */
static void
explain_categories(const struct conf_segments *rules,
    const struct segment_category *c, size_t n, int64_t now,
    struct buf *out)
{
	static const char *const states[] = { "current", "due", "lapsed" };
	char last[16], due[16], how[96], tail[48];
	size_t i;

	if (n == 0)
		return;
	buf_printf(out, "categories  (each one's buying cycle: due %lld days"
	    " before the next order expected, lapsed after it)\n",
	    (long long)rules->lapsed.due_days);
	for (i = 0; i < n; i++) {
		explain_date(c[i].last_at, last, sizeof(last));
		explain_date(c[i].due_at, due, sizeof(due));
		if (c[i].orders == 1)
			snprintf(how, sizeof(how), "the category's cycle"
			    " %lld d", (long long)c[i].cycle_days);
		else if (c[i].orders >= rules->lapsed.adapt_min_orders)
			snprintf(how, sizeof(how), "own interval %.0f d",
			    c[i].own_days);
		else
			snprintf(how, sizeof(how), "own interval %.0f d,"
			    " toward the category's %lld d: %lld d",
			    c[i].own_days, (long long)c[i].cycle_days,
			    (long long)c[i].interval_days);
		tail[0] = '\0';
		if (c[i].state == CAT_LAPSED)
			snprintf(tail, sizeof(tail), ", %lld d overdue",
			    (long long)((now - c[i].due_at) / DAY));
		else if (c[i].state == CAT_DUE)
			snprintf(tail, sizeof(tail), ", in %lld d",
			    (long long)((c[i].due_at - now) / DAY));
		buf_printf(out, "  %-11s %s: last %s, %lld order%s, %s, due"
		    " %s%s\n", c[i].category, states[c[i].state], last,
		    (long long)c[i].orders, c[i].orders == 1 ? "" : "s", how,
		    due, tail);
	}
}

void
segment_explain(const struct conf_segments *rules,
    const struct segment_result *r, const struct segment_category *cats,
    size_t ncats, const struct segment_vip_cut *cut, int64_t now,
    struct buf *out)
{
	char why[128];
	size_t i;

	buf_puts(out, "rules       (in priority order; the first met"
	    " decides)\n");
	for (i = 0; i < LC_COUNT; i++) {
		switch (rules->priority[i]) {
		case LC_B2B:
			explain_b2b(r, out);
			break;
		case LC_VIP:
			explain_vip(rules, r, cut, out);
			break;
		case LC_LAPSED:
			explain_lapsed(r, now, out);
			break;
		case LC_REPEAT:
			snprintf(why, sizeof(why), "%lld completed orders"
			    " (needs 2 or more)", (long long)r->orders);
			explain_rule(out, LC_REPEAT,
			    r->flags & (1u << LC_REPEAT), why);
			break;
		case LC_FIRST_TIME:
			snprintf(why, sizeof(why), "%lld completed orders"
			    " (needs exactly 1)", (long long)r->orders);
			explain_rule(out, LC_FIRST_TIME,
			    r->flags & (1u << LC_FIRST_TIME), why);
			break;
		default:
			explain_rule(out, LC_SUBSCRIBER,
			    r->flags & (1u << LC_SUBSCRIBER), r->orders == 0 ?
			    "no completed order" : "has completed orders");
			break;
		}
	}
	explain_facets(rules, r, out);
	explain_categories(rules, cats, ncats, now, out);
}
