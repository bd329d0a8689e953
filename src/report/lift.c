/*
 * lift.c - tallying outcomes into cells, and comparing arms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lift.h"
#include "str.h"
#include "xalloc.h"

static const char *const verdict_names[] = {
	[LIFT_BETTER] = "better",
	[LIFT_WORSE] = "worse",
	[LIFT_NO_DIFFERENCE] = "no difference",
	[LIFT_TOO_FEW] = "not enough recipients yet",
};

const char *
lift_verdict_name(enum lift_verdict v)
{
	return v <= LIFT_TOO_FEW ? verdict_names[v] : "?";
}

void
lift_init(struct lift *l)
{
	memset(l, 0, sizeof(*l));
}

void
lift_free(struct lift *l)
{
	free(l->cells);
	free(l->cmp);
	memset(l, 0, sizeof(*l));
}

/* An outcome without arms is one of the tailored: what was sent. */
static enum policy_arm
arm_of(enum policy_arm a)
{
	return a == ARM_UNSET ? ARM_TAILORED : a;
}

static struct lift_cell *
cell_find(struct lift *l, const char *segment, const char *variant,
    enum policy_arm arm)
{
	struct lift_cell *c;
	size_t i;

	/* a campaign has few cells: segments x variants x arms */
	for (i = l->ncells; i > 0; i--) {
		c = &l->cells[i - 1];
		if (c->arm == arm && strcmp(c->segment, segment) == 0 &&
		    strcmp(c->variant, variant) == 0)
			return c;
	}
	if (l->ncells == l->capcells) {
		l->capcells = l->capcells ? l->capcells * 2 : 32;
		l->cells = xreallocarray(l->cells, l->capcells,
		    sizeof(*l->cells));
	}
	c = &l->cells[l->ncells++];
	memset(c, 0, sizeof(*c));
	str_copy(c->segment, sizeof(c->segment), segment);
	str_copy(c->variant, sizeof(c->variant), variant);
	c->arm = arm;
	return c;
}

static void
cell_add(struct lift_cell *c, const struct lift_outcome *o)
{
	double r = (double)o->revenue;

	c->recipients++;
	c->converters += o->orders > 0;
	c->orders += o->orders;
	c->code_orders += o->code_orders;
	c->unsubscribed += o->unsubscribed != 0;
	c->bounced += o->bounced != 0;
	c->complained += o->complained != 0;
	c->sms += o->sms != 0;
	c->sms_converters += o->sms && o->sms_orders > 0;
	c->revenue += r;
	c->revenue_sq += r * r;
}

void
lift_add(struct lift *l, const struct lift_outcome *o)
{
	cell_add(cell_find(l, o->segment, o->variant, arm_of(o->arm)), o);
	if (o->orders > 0 && o->first_day >= 0 && o->first_day < LIFT_DAYS)
		l->first_day[arm_of(o->arm)][o->first_day]++;
}

static void
cell_sum(struct lift_cell *to, const struct lift_cell *c)
{
	to->recipients += c->recipients;
	to->converters += c->converters;
	to->orders += c->orders;
	to->code_orders += c->code_orders;
	to->unsubscribed += c->unsubscribed;
	to->bounced += c->bounced;
	to->complained += c->complained;
	to->sms += c->sms;
	to->sms_converters += c->sms_converters;
	to->revenue += c->revenue;
	to->revenue_sq += c->revenue_sq;
}

void
lift_total(const struct lift *l, const char *segment, enum policy_arm arm,
    struct lift_cell *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	str_copy(out->segment, sizeof(out->segment), segment);
	out->arm = arm;
	for (i = 0; i < l->ncells; i++)
		if (l->cells[i].arm == arm && (strcmp(segment, LIFT_ALL) == 0 ||
		    strcmp(l->cells[i].segment, segment) == 0))
			cell_sum(out, &l->cells[i]);
}

static int
cell_cmp(const void *pa, const void *pb)
{
	const struct lift_cell *a = pa, *b = pb;
	int c;

	if ((c = strcmp(a->segment, b->segment)) != 0)
		return c;
	if ((c = strcmp(a->variant, b->variant)) != 0)
		return c;
	return (int)a->arm - (int)b->arm;
}

static void
compare(struct lift *l, const char *segment, enum policy_arm a,
    enum policy_arm b, double min_effect)
{
	struct lift_cell ca, cb;
	struct lift_comparison *x;
	const struct stats_interval *iv;

	lift_total(l, segment, a, &ca);
	lift_total(l, segment, b, &cb);
	if (ca.recipients < 2 || cb.recipients < 2)
		return;
	if (l->ncmp == l->capcmp) {
		l->capcmp = l->capcmp ? l->capcmp * 2 : 32;
		l->cmp = xreallocarray(l->cmp, l->capcmp, sizeof(*l->cmp));
	}
	x = &l->cmp[l->ncmp++];
	memset(x, 0, sizeof(*x));
	str_copy(x->segment, sizeof(x->segment), segment);
	x->a = a;
	x->b = b;
	x->na = ca.recipients;
	x->nb = cb.recipients;
	stats_newcombe(ca.converters, ca.recipients, cb.converters,
	    cb.recipients, &x->conversion);
	stats_welch(ca.recipients, ca.revenue, ca.revenue_sq, cb.recipients,
	    cb.revenue, cb.revenue_sq, &x->revenue);
	iv = &x->conversion;
	x->need = stats_needed((double)cb.converters / (double)cb.recipients,
	    min_effect);
	if (iv->low > 0)
		x->verdict = LIFT_BETTER;
	else if (iv->high < 0)
		x->verdict = LIFT_WORSE;
	else if (x->na >= x->need && x->nb >= x->need)
		x->verdict = LIFT_NO_DIFFERENCE;
	else
		x->verdict = LIFT_TOO_FEW;
}

/* The pairs compared: what was sent against less of it. */
static const enum policy_arm pairs[][2] = {
	{ ARM_TAILORED, ARM_BROAD },
	{ ARM_TAILORED, ARM_NONE },
	{ ARM_BROAD, ARM_NONE },
	{ ARM_TAILORED, ARM_GLOBAL },
	{ ARM_BROAD, ARM_GLOBAL },
};

void
lift_compare(struct lift *l, double min_effect)
{
	size_t i, p;

	if (l->ncells > 1)
		qsort(l->cells, l->ncells, sizeof(*l->cells), cell_cmp);
	l->ncmp = 0;
	for (i = 0; i < l->ncells; i++) {
		/* once per segment: the cells are sorted by it */
		if (i > 0 && strcmp(l->cells[i].segment,
		    l->cells[i - 1].segment) == 0)
			continue;
		for (p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++)
			compare(l, l->cells[i].segment, pairs[p][0],
			    pairs[p][1], min_effect);
	}
	for (p = 0; p < sizeof(pairs) / sizeof(pairs[0]); p++)
		compare(l, LIFT_ALL, pairs[p][0], pairs[p][1], min_effect);
}
