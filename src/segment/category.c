/*
 * category.c - each category's own buying cycle (segment.h,
 * segment_categories): a coffee buyer who once bought a sofa is lapsed
 * from coffee long before they are lapsed from the shop.
 */
#include <string.h>

#include "segment.h"

#define DAY	86400

/* The entry for CAT, made (evicting the least recent) if new. */
static struct segment_category *
category_find(struct segment_category *out, size_t *n, const char *cat)
{
	size_t i, oldest = 0;

	for (i = 0; i < *n; i++) {
		if (strcmp(out[i].category, cat) == 0)
			return &out[i];
		if (out[i].last_at < out[oldest].last_at)
			oldest = i;
	}
	i = *n < SEGMENT_MAX_CATEGORIES ? (*n)++ : oldest;
	memset(&out[i], 0, sizeof(out[i]));
	strncpy(out[i].category, cat, sizeof(out[i].category) - 1);
	return &out[i];
}

/*
 * The interval expected of C: the customer's own once they have MIN
 * orders of it; before, their intervals weigh by how many there are
 * against MIN - 1 parts of the category's cycle.
 */
static void
category_expect(const struct conf_segments *rules, struct segment_category *c,
    int64_t now)
{
	int64_t gaps = c->orders - 1, want = rules->lapsed.adapt_min_orders - 1;
	double days;

	c->cycle_days = conf_lapsed_days(rules, c->category);
	c->own_days = gaps > 0 ? (double)(c->last_at - c->first_at) /
	    (double)gaps / DAY : 0;
	if (gaps >= want)
		days = c->own_days;
	else
		days = ((double)gaps * c->own_days + (double)(want - gaps) *
		    (double)c->cycle_days) / (double)want;
	c->interval_days = (int64_t)(days + 0.5);
	if (c->interval_days < 1)
		c->interval_days = 1;
	c->due_at = c->last_at + c->interval_days * DAY;
	if (now > c->due_at)
		c->state = CAT_LAPSED;
	else if (now >= c->due_at - rules->lapsed.due_days * DAY)
		c->state = CAT_DUE;
	else
		c->state = CAT_CURRENT;
}

size_t
segment_categories(const struct conf_segments *rules,
    const struct segment_facts *f, int64_t now, struct segment_category *out)
{
	size_t stamp[SEGMENT_MAX_CATEGORIES], i, j, n = 0;
	const struct segment_order *o;
	struct segment_category *c;
	const char *cat;

	for (i = 0; i < f->norders; i++) {
		o = &f->orders[i];
		if (!segment_order_completed(o))
			continue;
		for (j = o->first_line; j < o->first_line + o->nlines; j++) {
			if ((cat = segment_line_category(rules,
			    &f->lines[j])) == NULL)
				continue;
			c = category_find(out, &n, cat);
			/* an order counts once, however many lines */
			if (c->orders > 0 && stamp[c - out] == i + 1)
				continue;
			stamp[c - out] = i + 1;
			if (c->orders++ == 0)
				c->first_at = o->at;
			c->last_at = o->at;
		}
	}
	for (i = 0; i < n; i++)
		category_expect(rules, &out[i], now);
	return n;
}
