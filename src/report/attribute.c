/*
 * attribute.c - which orders a campaign's recipients placed because of
 * it, as far as a window can tell (report.h).
 */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "report.h"
#include "segment.h"
#include "store_report.h"

struct attribute {
	const struct conf_segments	*rules;
	const struct campaign		*c;
	const struct report_windows	*w;
	struct lift			*l;
	int				 pooled;	/* no variants */
};

/* Whether ENGAGEMENT ("unsubscribe,bounce") holds TYPE. */
static int
has_type(const char *engagement, const char *type)
{
	size_t n = strlen(type);
	const char *p;

	for (p = engagement; p != NULL && (p = strstr(p, type)) != NULL;
	    p += n)
		if ((p == engagement || p[-1] == ',') &&
		    (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

static int
attribute_one(const struct store_outcome *so, void *arg)
{
	struct attribute *x = arg;
	const struct store_outcome_order *so_o;
	struct segment_order o;
	struct lift_outcome out;
	const char *code = x->c != NULL && *so->variant != '\0' ?
	    campaign_variant_value(x->c, so->variant, "code") : NULL;
	size_t i;

	memset(&out, 0, sizeof(out));
	out.first_day = -1;
	out.segment = so->segment;
	out.variant = x->pooled || strcmp(so->decision, "held_out") == 0 ?
	    "" : so->variant;
	out.arm = policy_arm_parse(so->arm);
	out.unsubscribed = has_type(so->engagement, "unsubscribe");
	out.bounced = has_type(so->engagement, "bounce");
	out.complained = has_type(so->engagement, "complaint");
	out.sms = so->sms_at > 0;
	for (i = 0; i < so->norders; i++) {
		so_o = &so->orders[i];
		memset(&o, 0, sizeof(o));
		o.at = so_o->at;
		o.financial_status = so_o->financial_status;
		o.cancelled = so_o->cancelled;
		o.currency = so_o->currency;
		o.total = so_o->total;
		o.refunded = so_o->refunded;
		if (!segment_order_completed(&o))
			continue;
		if (out.sms && o.at >= so->sms_at &&
		    o.at < so->sms_at + x->w->sms_s)
			out.sms_orders++;
		if (o.at >= so->at + x->w->email_s)
			continue;
		/* the orders come oldest first */
		if (out.orders++ == 0)
			out.first_day = (int)((o.at - so->at) / 86400);
		out.revenue += llround((double)(o.total - o.refunded) *
		    conf_rate(x->rules, o.currency));
		if (code != NULL && so_o->discount_code != NULL &&
		    strcasecmp(code, so_o->discount_code) == 0)
			out.code_orders++;
	}
	lift_add(x->l, &out);
	return 0;
}

int
report_lift(struct store *st, const struct conf_segments *rules,
    const char *campaign, const struct campaign *c, int pooled,
    const struct report_windows *w, struct lift *l)
{
	struct attribute x = { rules, c, w, l, pooled };

	/* one join covers both: an SMS goes within the email's window */
	return store_campaign_outcomes(st, campaign, w->email_s + w->sms_s,
	    attribute_one, &x) == -1 ? -1 : 0;
}
