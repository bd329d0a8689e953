/*
 * policy.c - the suppression checks, in the order their reasons are
 * listed in policy.h, and the choice of variant.
 */
#include <stdio.h>
#include <string.h>

#include "expr.h"
#include "parse.h"
#include "policy.h"

#define HOUR	3600
#define DAY	86400

static const char *const reason_names[POLICY_NREASONS] = {
	[POLICY_DELIVER] = "deliver",
	[POLICY_UNKNOWN] = "unknown",
	[POLICY_DUPLICATE] = "duplicate",
	[POLICY_UNSUBSCRIBED] = "unsubscribed",
	[POLICY_NO_CONSENT] = "no_consent",
	[POLICY_BOUNCED] = "bounced",
	[POLICY_AUDIENCE] = "audience",
	[POLICY_FATIGUED] = "fatigued",
	[POLICY_HELD_OUT] = "held_out",
	[POLICY_BAD_RECORD] = "bad_record",
	[POLICY_GOAL_MET] = "goal_met",
	[POLICY_BY_SMS] = "by_sms",
	[POLICY_CANNOT_HOLD] = "cannot_hold",
};

const char *
policy_reason_name(enum policy_reason r)
{
	return r < POLICY_NREASONS ? reason_names[r] : "?";
}

int
policy_unsubscribed(int64_t unsubscribed_at, int64_t consent_at)
{
	/* the same second: the unsubscribe wins, never a guess for mail */
	return unsubscribed_at > 0 && unsubscribed_at >= consent_at;
}

int
policy_has_flag(const struct policy_facts *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->nflags; i++)
		if (strcmp(f->flags[i], name) == 0)
			return 1;
	return 0;
}

static int
policy_has(const char *name, void *f)
{
	return policy_has_flag(f, name);
}

/* The first of the N expressions E that F meets, or NULL. */
static const struct expr *
policy_first(const struct policy_facts *f, const struct expr *const *e,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (expr_eval(e[i], policy_has, (void *)f))
			return e[i];
	return NULL;
}

static int
policy_audience(const struct policy_campaign *c, const struct policy_facts *f,
    struct policy_decision *d)
{
	const struct expr *hit;

	if (c->ninclude > 0 && policy_first(f, c->include, c->ninclude) ==
	    NULL) {
		snprintf(d->detail, sizeof(d->detail), "in none of the %zu"
		    " included segments", c->ninclude);
		return 1;
	}
	if ((hit = policy_first(f, c->exclude, c->nexclude)) != NULL) {
		/* a plain name reads as it always has */
		snprintf(d->detail, sizeof(d->detail), "excluded %s%s",
		    expr_name(hit) != NULL ? "segment " : "by ",
		    expr_text(hit));
		return 1;
	}
	return 0;
}

static int
policy_fatigue(const struct conf_policy *r, const struct policy_facts *f,
    int64_t now, struct policy_decision *d)
{
	int64_t since;

	since = f->last_delivery_at > 0 ? now - f->last_delivery_at : -1;
	/* their own wish comes first: no threshold of ours overrides it */
	if (f->min_gap_days > 0 && since >= 0 &&
	    since < f->min_gap_days * DAY) {
		snprintf(d->detail, sizeof(d->detail), "personal cadence:"
		    " last delivered %lld d ago, asked for one every %lld d",
		    (long long)(since / DAY), (long long)f->min_gap_days);
		return 1;
	}
	if (r->cap_count > 0 && f->deliveries_in_window >= r->cap_count) {
		snprintf(d->detail, sizeof(d->detail), "frequency cap: %lld"
		    " delivered in %lld h (cap %lld)",
		    (long long)f->deliveries_in_window,
		    (long long)r->cap_window_hours, (long long)r->cap_count);
		return 1;
	}
	if (r->fatigue_unanswered == 0 ||
	    f->unanswered < r->fatigue_unanswered)
		return 0;
	/* fatigued: one campaign per cadence period, not none */
	if (since >= 0 && since < r->fatigue_cadence_days * DAY) {
		snprintf(d->detail, sizeof(d->detail), "%lld unanswered"
		    " (limit %lld); last delivered %lld d ago, cadence %lld d",
		    (long long)f->unanswered,
		    (long long)r->fatigue_unanswered, (long long)(since / DAY),
		    (long long)r->fatigue_cadence_days);
		return 1;
	}
	snprintf(d->detail, sizeof(d->detail), "%lld unanswered (limit %lld);"
	    " reduced cadence of %lld d", (long long)f->unanswered,
	    (long long)r->fatigue_unanswered,
	    (long long)r->fatigue_cadence_days);
	return 0;
}

/*
 * 1 (the detail written) when soft_bounce_limit soft bounces fall within
 * the last soft_bounce_days: a mailbox full or a server down for days.
 */
static int
policy_soft_bounced(const struct conf_policy *r, const struct policy_facts *f,
    int64_t now, struct policy_decision *d)
{
	int64_t n = 0;
	size_t i;

	if (r->soft_bounce_limit == 0)
		return 0;
	for (i = 0; i < f->nsoft_bounces; i++)
		if (f->soft_bounce_at[i] >= now - r->soft_bounce_days * DAY)
			n++;
	if (n < r->soft_bounce_limit)
		return 0;
	snprintf(d->detail, sizeof(d->detail), "%lld soft bounces in %lld d"
	    " (limit %lld)", (long long)n, (long long)r->soft_bounce_days,
	    (long long)r->soft_bounce_limit);
	return 1;
}

/*
 * The arm of a recipient every rule lets through: 1 when that settles
 * the decision (held out, or the default variant), the draw in the
 * detail for an auditor to check.
 */
static int
policy_arms(const struct conf_policy *r, const struct policy_campaign *c,
    const struct policy_facts *f, struct policy_decision *d)
{
	double u;

	if (c->draws == NULL)
		return 0;
	if (r->global_holdout_percent > 0) {
		u = policy_arm_draw(c->draws, NULL, f->customer_id);
		if (u * 100 < r->global_holdout_percent) {
			d->reason = POLICY_HELD_OUT;
			d->arm = ARM_GLOBAL;
			snprintf(d->detail, sizeof(d->detail), "global control"
			    " group: draw %.6f < %g%%", u,
			    r->global_holdout_percent);
			return 1;
		}
	}
	if (c->tailored + c->broad + c->none == 0)
		return 0;
	u = policy_arm_draw(c->draws, c->experiment, f->customer_id);
	if (u * 10000 < c->tailored)
		d->arm = ARM_TAILORED;
	else if (u * 10000 < c->tailored + c->broad)
		d->arm = ARM_BROAD;
	else
		d->arm = ARM_NONE;
	snprintf(d->detail, sizeof(d->detail), "arm %s of %s: draw %.6f"
	    " (tailored %d.%02d%%, broad %d.%02d%%, none %d.%02d%%)",
	    policy_arm_name(d->arm), c->experiment, u, c->tailored / 100,
	    c->tailored % 100, c->broad / 100, c->broad % 100,
	    c->none / 100, c->none % 100);
	if (d->arm == ARM_NONE)
		d->reason = POLICY_HELD_OUT;
	return d->arm != ARM_TAILORED;
}

/*
 * What every delivery needs, whenever it is asked: no complaint or
 * unsubscribe since consent, consent, no bounces since it.  1 with D's
 * reason when one fails.
 */
static int
policy_standing(const struct conf_policy *r, const struct policy_facts *f,
    int64_t now, struct policy_decision *d)
{
	if (policy_unsubscribed(f->complained_at, f->consent_at)) {
		d->reason = POLICY_UNSUBSCRIBED;
		snprintf(d->detail, sizeof(d->detail), "complaint (feedback"
		    " report) %lld d ago", (long long)((now - f->complained_at) /
		    DAY));
		return 1;
	}
	if (policy_unsubscribed(f->unsubscribed_at, f->consent_at)) {
		d->reason = POLICY_UNSUBSCRIBED;
		return 1;
	}
	if (!f->email_consent) {
		d->reason = POLICY_NO_CONSENT;
		return 1;
	}
	if (r->bounce_limit > 0 && f->bounces >= r->bounce_limit) {
		d->reason = POLICY_BOUNCED;
		snprintf(d->detail, sizeof(d->detail), "%lld bounces since"
		    " consent (limit %lld)", (long long)f->bounces,
		    (long long)r->bounce_limit);
		return 1;
	}
	if (policy_soft_bounced(r, f, now, d)) {
		d->reason = POLICY_BOUNCED;
		return 1;
	}
	return 0;
}

/* F's fact that DUE counts from; 0: none. */
static int64_t
policy_due_base(const struct conf_due *due, const struct policy_facts *f)
{
	switch (due->from) {
	case DUE_CART:
		return f->cart_at;
	case DUE_FIRST_ORDER:
		return f->first_order_at;
	case DUE_LAST_ORDER:
		return f->last_order_at;
	default:
		return 0;
	}
}

/* 1 with D's reason when GOALS were met since BASE, which is SINCE. */
static int
policy_goal_met(unsigned goals, const struct policy_facts *f, int64_t base,
    const char *since, struct policy_decision *d)
{
	char when[32];

	if (!(goals & CONF_GOAL_ORDERED) || f->last_order_at <= base)
		return 0;
	format_time(f->last_order_at, when, sizeof(when));
	d->reason = POLICY_GOAL_MET;
	snprintf(d->detail, sizeof(d->detail), "ordered %s, after %s", when,
	    since);
	return 1;
}

void
policy_due(const struct conf_due *due, unsigned goals,
    const struct policy_facts *f, struct policy_decision *d)
{
	const char *fact = conf_due_from_name(due->from);
	int64_t base;

	if (d->reason != POLICY_DELIVER)
		return;
	if (due->from == DUE_FIXED) {
		d->due_at = due->at;
		return;
	}
	if ((base = policy_due_base(due, f)) == 0) {
		d->reason = POLICY_AUDIENCE;
		snprintf(d->detail, sizeof(d->detail), "no %s to count"
		    " send_after from", fact);
		return;
	}
	if (policy_goal_met(goals, f, base, fact, d))
		return;
	d->due_at = base + due->at;
}

void
policy_recheck(const struct conf_policy *r, const struct conf_due *due,
    unsigned goals, const struct policy_facts *f, int64_t decided_at,
    int64_t now, struct policy_decision *d)
{
	int64_t base;

	memset(d, 0, sizeof(*d));
	d->variant = -1;
	if (!f->found) {
		d->reason = POLICY_UNKNOWN;
		return;
	}
	if (policy_standing(r, f, now, d))
		return;
	/*
	 * Since the fact, or since the decision when the fact is gone (an
	 * order clears the cart) or newer than it (last_order_at is the
	 * order that would meet the goal: counted from itself, never).
	 */
	base = policy_due_base(due, f);
	if (base != 0 && base <= decided_at) {
		if (policy_goal_met(goals, f, base,
		    conf_due_from_name(due->from), d))
			return;
	} else if (policy_goal_met(goals, f, decided_at, "the decision", d))
		return;
	if (due->from != DUE_FIXED && base == 0) {
		d->reason = POLICY_AUDIENCE;
		snprintf(d->detail, sizeof(d->detail), "no %s any more",
		    conf_due_from_name(due->from));
		return;
	}
	d->reason = POLICY_DELIVER;
}

int
policy_fatigued(const struct conf_policy *r, const char *class_name,
    const struct policy_facts *f, int64_t now, struct policy_decision *d)
{
	char why[sizeof(d->detail)];

	if (!policy_fatigue(r, f, now, d))
		return 0;
	d->reason = POLICY_FATIGUED;
	/* which class's thresholds said so */
	if (class_name != NULL && *class_name != '\0') {
		snprintf(why, sizeof(why), "%s", d->detail);
		snprintf(d->detail, sizeof(d->detail), "class %.32s: %.119s",
		    class_name, why);
	}
	return 1;
}

void
policy_decide(const struct conf_policy *r, const struct policy_campaign *c,
    const struct policy_facts *f, int64_t now, struct policy_decision *d)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->variant = -1;
	if (!f->found) {
		d->reason = POLICY_UNKNOWN;
		return;
	}
	if (f->campaign_closed_at > 0) {
		d->reason = POLICY_DUPLICATE;
		snprintf(d->detail, sizeof(d->detail), "campaign closed by"
		    " retention %lld d ago", (long long)((now -
		    f->campaign_closed_at) / DAY));
		return;
	}
	if (f->campaign_delivered_at > 0) {
		d->reason = POLICY_DUPLICATE;
		snprintf(d->detail, sizeof(d->detail), "delivered %lld s"
		    " earlier", (long long)(now - f->campaign_delivered_at));
		return;
	}
	if (policy_standing(r, f, now, d))
		return;
	if (policy_audience(c, f, d)) {
		d->reason = POLICY_AUDIENCE;
		return;
	}
	if (policy_fatigued(r, c->class_name, f, now, d))
		return;
	d->reason = POLICY_DELIVER;
	if (policy_arms(r, c, f, d))
		return;
	for (i = 0; i < c->nvariants; i++)
		if (expr_eval(c->variants[i], policy_has, (void *)f)) {
			d->variant = (int)i;
			break;
		}
}
