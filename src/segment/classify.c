/*
 * classify.c - deciding one customer's segments from their facts.
 *
 * Pure (see segment.h): the rules come from the configuration, the clock
 * is an argument, and every figure that decided a rule is left in the
 * result so that `segctl explain` can show it.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "segment.h"

#define DAY	86400

static const char *const b2b_reason_names[] = {
	"none", "account_type", "tag", "tax_exempt", "company_domain", "bulk"
};

static const char *const event_names[] = {
	"product_view", "category_view", "add_to_cart", "checkout_start"
};

const char *
segment_b2b_reason_name(enum segment_b2b_reason r)
{
	return b2b_reason_names[r];
}

const char *
segment_event_name(enum segment_event_type t)
{
	return event_names[t];
}

/*
 * SRC into DST of SIZE bytes, cut where snprintf(dst, size, "%s", src)
 * would cut it.  Not snprintf: its format parse, eight times a customer
 * and once an interest, was a tenth of the rebuild's reading thread.  Not
 * str_copy: it cuts an over-long value at a character, and what is
 * stored must stay as it was.
 */
static void
classify_copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

int
segment_event_parse(const char *name, enum segment_event_type *out)
{
	size_t i;

	for (i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
		if (name != NULL && strcmp(name, event_names[i]) == 0) {
			*out = (enum segment_event_type)i;
			return 0;
		}
	return -1;
}

/*
 * Paid (fully or partly), not cancelled, not refunded in full.  Pending
 * and authorized orders have not completed; voided ones never will.
 */
int
segment_order_completed(const struct segment_order *o)
{
	const char *fs = o->financial_status ? o->financial_status : "";

	if (o->cancelled)
		return 0;
	if (strcmp(fs, "paid") != 0 && strcmp(fs, "partially_refunded") != 0
	    && strcmp(fs, "partially_paid") != 0)
		return 0;
	return o->total <= 0 || o->refunded < o->total;
}

const char *
segment_line_category(const struct conf_segments *rules,
    const struct segment_line *l)
{
	const char *best = NULL;
	size_t i, bestlen = 0, n;

	if (l->category != NULL && *l->category != '\0')
		return l->category;
	for (i = 0; l->sku != NULL && i < rules->nsku_prefixes; i++) {
		n = strlen(rules->sku_prefixes[i].key);
		if (n > bestlen &&
		    strncasecmp(l->sku, rules->sku_prefixes[i].key, n) == 0) {
			best = rules->sku_prefixes[i].value;
			bestlen = n;
		}
	}
	if (best != NULL)
		return best;
	for (i = 0; l->product != NULL && i < rules->nname_keywords; i++)
		if (strcasestr(l->product, rules->name_keywords[i].key))
			return rules->name_keywords[i].value;
	return NULL;
}

static int64_t
classify_convert(const struct conf_segments *rules, const char *currency,
    int64_t cents)
{
	return llround((double)cents * conf_rate(rules, currency));
}

/* Adds CATEGORY seen at AT from SOURCE, keeping the most recent ones. */
static void
classify_interest(struct segment_result *r, const char *category,
    unsigned source, int64_t at)
{
	struct segment_interest *in;
	size_t i, oldest = 0;

	for (i = 0; i < r->ninterests; i++) {
		in = &r->interests[i];
		if (strcmp(in->category, category) == 0) {
			in->sources |= source;
			if (at > in->last_at)
				in->last_at = at;
			return;
		}
		if (in->last_at < r->interests[oldest].last_at)
			oldest = i;
	}
	if (r->ninterests < SEGMENT_MAX_INTERESTS)
		in = &r->interests[r->ninterests++];
	else if (at > r->interests[oldest].last_at)
		in = &r->interests[oldest];
	else
		return;
	classify_copy(in->category, sizeof(in->category), category);
	in->sources = source;
	in->last_at = at;
}

/* The categories due or lapsed, as interests' bits (segment_flags). */
static void
classify_categories(const struct conf_segments *rules,
    const struct segment_facts *f, int64_t now, struct segment_result *r)
{
	struct segment_category c[SEGMENT_MAX_CATEGORIES];
	size_t i, n;

	n = segment_categories(rules, f, now, c);
	for (i = 0; i < n; i++)
		if (c[i].state != CAT_CURRENT)
			classify_interest(r, c[i].category, c[i].state ==
			    CAT_DUE ? SEG_INTEREST_DUE : SEG_INTEREST_LAPSED,
			    c[i].last_at);
}

static void
classify_orders(const struct conf_segments *rules,
    const struct segment_facts *f, int64_t now, struct segment_result *r)
{
	int64_t cost, cycle, days, since = now - rules->interest.window_days *
	    DAY;
	const char *cat;
	size_t i, j;

	for (i = 0; i < f->norders; i++) {
		const struct segment_order *o = &f->orders[i];

		if (!o->cancelled && o->refunded > 0) {
			r->refunded += classify_convert(rules, o->currency,
			    o->refunded);
			r->refunded_orders++;
		}
		if (!segment_order_completed(o))
			continue;
		if (!conf_rate_known(rules, o->currency)) {
			r->unrated_orders++;
			classify_copy(r->unrated_currency,
			    sizeof(r->unrated_currency), o->currency);
		}
		if (r->orders++ == 0)
			r->first_order_at = o->at;
		r->last_order_at = o->at;
		r->net_spend += classify_convert(rules, o->currency,
		    o->total - o->refunded);
		cost = 0;
		for (j = o->first_line; j < o->first_line + o->nlines; j++) {
			const struct segment_line *l = &f->lines[j];

			if (l->cost >= 0)
				cost += l->cost * l->quantity;
			else
				r->uncosted_lines++;
			r->order_lines++;
			cat = segment_line_category(rules, l);
			if (cat == NULL) {
				r->uncategorised_lines++;
				continue;
			}
			if (o->at >= since)
				classify_interest(r, cat, SEG_INTEREST_BOUGHT,
				    o->at);
			/* The longest cycle among what they buy. */
			days = conf_lapsed_days(rules, cat);
			if (days > r->cycle_days) {
				r->cycle_days = days;
				classify_copy(r->cycle_source,
				    sizeof(r->cycle_source), cat);
			}
		}
		r->margin += classify_convert(rules, o->currency,
		    o->total - o->refunded) - cost;
	}
	if (r->cycle_days == 0) {
		r->cycle_days = rules->lapsed.default_days;
		classify_copy(r->cycle_source, sizeof(r->cycle_source),
		    "default");
	}
	if (r->orders >= 2)
		r->mean_interval_days = (r->last_order_at - r->first_order_at)
		    / (r->orders - 1) / DAY;
	if (r->orders == 0)
		return;
	if (rules->lapsed.adapt_to_interval &&
	    r->orders >= rules->lapsed.adapt_min_orders && r->orders >= 2) {
		double mean = (double)(r->last_order_at - r->first_order_at) /
		    (double)(r->orders - 1) / DAY;

		cycle = (int64_t)ceil(mean * rules->lapsed.interval_factor);
		r->cycle_days = cycle < 1 ? 1 : cycle;
		classify_copy(r->cycle_source, sizeof(r->cycle_source),
		    "own interval");
	}
	if (now - r->last_order_at > r->cycle_days * DAY)
		r->flags |= 1u << LC_LAPSED;
	r->flags |= 1u << (r->orders == 1 ? LC_FIRST_TIME : LC_REPEAT);
}

static int
classify_in_list(char *const *list, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(list[i]) == len && strncasecmp(list[i], s, len) == 0)
			return 1;
	return 0;
}

/* The first configured tag among the customer's comma-separated tags. */
static int
classify_tag(const struct conf_segments *rules, const char *tags,
    struct segment_result *r)
{
	const char *p = tags, *end;
	size_t len;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		end = p + strcspn(p, ",");
		len = (size_t)(end - p);
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len > 0 && classify_in_list(rules->b2b.tags,
		    rules->b2b.ntags, p, len)) {
			snprintf(r->b2b_detail, sizeof(r->b2b_detail),
			    "%.*s", (int)len, p);
			return 1;
		}
		p = end;
	}
	return 0;
}

static void
classify_b2b(const struct conf_segments *rules,
    const struct segment_facts *f, struct segment_result *r)
{
	const struct segment_customer *c = &f->cust;
	const char *domain;
	int64_t bulk = 0;
	size_t i, j;

	if (c->account_type != NULL && classify_in_list(
	    rules->b2b.account_types, rules->b2b.naccount_types,
	    c->account_type, strlen(c->account_type))) {
		r->b2b_reason = B2B_ACCOUNT_TYPE;
		snprintf(r->b2b_detail, sizeof(r->b2b_detail), "%s",
		    c->account_type);
	} else if (classify_tag(rules, c->tags, r)) {
		r->b2b_reason = B2B_TAG;
	} else if (rules->b2b.tax_exempt && c->tax_exempt) {
		r->b2b_reason = B2B_TAX_EXEMPT;
		snprintf(r->b2b_detail, sizeof(r->b2b_detail), "tax exempt");
	} else if (c->email != NULL && (domain = strrchr(c->email, '@')) &&
	    classify_in_list(rules->b2b.company_domains,
	    rules->b2b.ncompany_domains, domain + 1, strlen(domain + 1))) {
		r->b2b_reason = B2B_DOMAIN;
		snprintf(r->b2b_detail, sizeof(r->b2b_detail), "%s",
		    domain + 1);
	} else if (rules->b2b.bulk_line_quantity > 0) {
		for (i = 0; i < f->norders; i++) {
			const struct segment_order *o = &f->orders[i];

			if (!segment_order_completed(o))
				continue;
			for (j = o->first_line; j < o->first_line + o->nlines;
			    j++)
				if (f->lines[j].quantity >=
				    rules->b2b.bulk_line_quantity) {
					bulk++;
					break;
				}
		}
		if (bulk > 0 && bulk >= rules->b2b.bulk_orders_min) {
			r->b2b_reason = B2B_BULK;
			snprintf(r->b2b_detail, sizeof(r->b2b_detail),
			    "%lld orders with a line of >= %lld units",
			    (long long)bulk,
			    (long long)rules->b2b.bulk_line_quantity);
		}
	}
	if (r->b2b_reason != B2B_NONE)
		r->flags |= 1u << LC_B2B;
}

static void
classify_events(const struct conf_segments *rules,
    const struct segment_facts *f, int64_t now, struct segment_result *r)
{
	int64_t since = now - rules->interest.window_days * DAY;
	int64_t cart_from = now - rules->cart.window_hours * 3600;
	int64_t cart_until = now - rules->cart.min_age_minutes * 60;
	const struct segment_event *e;
	size_t i;

	for (i = 0; i < f->nevents; i++) {
		e = &f->events[i];
		if (e->category != NULL && *e->category != '\0' &&
		    e->at >= since)
			classify_interest(r, e->category,
			    e->type == SEG_EV_ADD_TO_CART ||
			    e->type == SEG_EV_CHECKOUT_START ?
			    SEG_INTEREST_CARTED : SEG_INTEREST_VIEWED, e->at);
	}

	/* The latest cart event decides; events are in ascending time. */
	for (i = f->nevents; i-- > 0;) {
		e = &f->events[i];
		if (e->type == SEG_EV_ADD_TO_CART ||
		    e->type == SEG_EV_CHECKOUT_START)
			break;
	}
	if (i == (size_t)-1)
		return;
	r->cart_at = e->at;
	if (e->at < cart_from || e->at > cart_until)
		return;
	/* Any order placed since, even one not yet paid, ends the cart. */
	if (f->norders > 0 && f->orders[f->norders - 1].at >= e->at)
		return;
	r->cart_abandoner = 1;
	for (; i != (size_t)-1 && f->events[i].at >= cart_from; i--)
		if (f->events[i].cart_value >= 0 &&
		    (f->events[i].type == SEG_EV_ADD_TO_CART ||
		    f->events[i].type == SEG_EV_CHECKOUT_START)) {
			r->cart_value = f->events[i].cart_value;
			break;
		}
}

/*
 * Defaults for a country's currency, language and, if it has only one,
 * time zone: customers who never ordered still have a country.
 */
static const struct {
	const char	*country;
	const char	*currency;
	const char	*language;
	const char	*time_zone;
} classify_countries[] = {
	{ "AT", "EUR", "de", "Europe/Vienna" }, { "AU", "AUD", "en", NULL },
	{ "BR", "BRL", "pt", NULL }, { "CA", "CAD", "en", NULL },
	{ "CH", "CHF", NULL, "Europe/Zurich" },
	{ "DE", "EUR", "de", "Europe/Berlin" },
	{ "DK", "DKK", "da", "Europe/Copenhagen" }, { "ES", "EUR", "es", NULL },
	{ "FI", "EUR", "fi", "Europe/Helsinki" },
	{ "FR", "EUR", "fr", "Europe/Paris" },
	{ "GB", "GBP", "en", "Europe/London" },
	{ "IE", "EUR", "en", "Europe/Dublin" },
	{ "IN", "INR", "en", "Asia/Kolkata" },
	{ "IT", "EUR", "it", "Europe/Rome" },
	{ "JP", "JPY", "ja", "Asia/Tokyo" }, { "MX", "MXN", "es", NULL },
	{ "NL", "EUR", "nl", "Europe/Amsterdam" },
	{ "NO", "NOK", "nb", "Europe/Oslo" }, { "NZ", "NZD", "en", NULL },
	{ "PL", "PLN", "pl", "Europe/Warsaw" }, { "PT", "EUR", "pt", NULL },
	{ "SE", "SEK", "sv", "Europe/Stockholm" },
	{ "SG", "SGD", "en", "Asia/Singapore" }, { "US", "USD", "en", NULL },
	{ "ZA", "ZAR", "en", "Africa/Johannesburg" },
};

static void
classify_locale(const struct segment_facts *f, struct segment_result *r)
{
	const struct segment_customer *c = &f->cust;
	const char *currency = c->currency, *language = c->language;
	const char *tz = c->time_zone;
	size_t i;

	if ((currency == NULL || *currency == '\0') && f->norders > 0 &&
	    f->orders[f->norders - 1].currency != NULL) {
		currency = f->orders[f->norders - 1].currency;
		r->locale_derived |= SEG_LOCALE_CURRENCY_ORDER;
	}
	for (i = 0; c->country != NULL && i < sizeof(classify_countries) /
	    sizeof(classify_countries[0]); i++) {
		if (strcasecmp(c->country, classify_countries[i].country) != 0)
			continue;
		if (currency == NULL || *currency == '\0') {
			currency = classify_countries[i].currency;
			r->locale_derived |= SEG_LOCALE_CURRENCY_COUNTRY;
		}
		if ((language == NULL || *language == '\0') &&
		    classify_countries[i].language != NULL) {
			language = classify_countries[i].language;
			r->locale_derived |= SEG_LOCALE_LANGUAGE_COUNTRY;
		}
		if ((tz == NULL || *tz == '\0') &&
		    classify_countries[i].time_zone != NULL) {
			tz = classify_countries[i].time_zone;
			r->locale_derived |= SEG_LOCALE_TZ_COUNTRY;
		}
		break;
	}
	classify_copy(r->country, sizeof(r->country),
	    c->country ? c->country : "");
	for (i = 0; r->country[i] != '\0'; i++)
		r->country[i] = (char)toupper((unsigned char)r->country[i]);
	classify_copy(r->currency, sizeof(r->currency),
	    currency ? currency : "");
	classify_copy(r->language, sizeof(r->language),
	    language ? language : "");
	classify_copy(r->time_zone, sizeof(r->time_zone), tz ? tz : "");
}

void
segment_classify(const struct conf_segments *rules,
    const struct segment_facts *f, int64_t now, struct segment_result *r)
{
	/* Scalars only: the interest array is filled as far as ninterests. */
	memset(r, 0, offsetof(struct segment_result, interests));
	r->ninterests = 0;
	r->cart_value = -1;

	classify_orders(rules, f, now, r);
	classify_categories(rules, f, now, r);
	if (r->orders == 0)
		r->flags |= 1u << LC_SUBSCRIBER;
	classify_b2b(rules, f, r);
	classify_events(rules, f, now, r);
	classify_locale(f, r);

	switch (rules->vip.metric) {
	case VIP_ORDER_COUNT:
		r->vip_value = r->orders;
		break;
	case VIP_MARGIN:
		r->vip_value = r->margin;
		break;
	default:
		r->vip_value = r->net_spend;
		break;
	}
	r->vip_eligible = r->orders >= rules->vip.min_orders &&
	    r->orders > 0 && r->vip_value >= rules->vip.min_value;
}

int64_t
segment_vip_count(const struct conf_segments *rules, int64_t eligible)
{
	int64_t k;

	if (eligible <= 0)
		return 0;
	/* The epsilon keeps 1000 * 10% at 100 despite binary fractions. */
	k = (int64_t)ceil((double)eligible * rules->vip.top_percent / 100.0 -
	    1e-9);
	return k < 1 ? 1 : k > eligible ? eligible : k;
}

enum conf_lifecycle
segment_pick(const struct conf_segments *rules, unsigned flags,
    int vip_eligible, int64_t value, int64_t threshold, unsigned *flags_out)
{
	size_t i;

	if (vip_eligible && value >= threshold)
		flags |= 1u << LC_VIP;
	else
		flags &= ~(1u << LC_VIP);
	if (flags_out != NULL)
		*flags_out = flags;
	for (i = 0; i < LC_COUNT; i++)
		if (flags & (1u << rules->priority[i]))
			return rules->priority[i];
	return LC_SUBSCRIBER;
}
