/*
 * report_out.c - a lift as text, CSV and JSON (report_out.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "csv.h"
#include "report_out.h"

double
report_pct(int64_t k, int64_t n)
{
	return n > 0 ? 100.0 * (double)k / (double)n : 0;
}

static double
major(double minor)
{
	return minor / 100;
}

static const char *
arm_label(enum policy_arm a)
{
	return a == ARM_NONE ? "held out" : policy_arm_name(a);
}

static void
cell_text(FILE *out, const struct lift_cell *c, const char *variant)
{
	fprintf(out, "%-12s %-12s %-9s %10" PRId64 " %9" PRId64 " %6.2f%%"
	    " %7" PRId64 " %9.2f %8.2f %5" PRId64 " %5.2f%% %6.2f%% %6.2f%%"
	    " %5" PRId64 " %6.2f%%\n", c->segment, variant,
	    arm_label(c->arm), c->recipients, c->converters,
	    report_pct(c->converters, c->recipients), c->orders,
	    c->recipients > 0 ? major(c->revenue) / (double)c->recipients : 0,
	    c->orders > 0 ? major(c->revenue) / (double)c->orders : 0,
	    c->code_orders, report_pct(c->unsubscribed, c->recipients),
	    report_pct(c->bounced, c->recipients),
	    report_pct(c->complained, c->recipients),
	    c->sms, report_pct(c->sms_converters, c->sms));
}

static void
interval_text(char *buf, size_t len, const struct stats_interval *iv,
    double scale)
{
	snprintf(buf, len, "%+.2f [%+.2f, %+.2f]", iv->estimate * scale,
	    iv->low * scale, iv->high * scale);
}

void
report_lift_text(FILE *out, const struct lift *l, const struct conf *cf,
    int by_variant)
{
	const struct lift_comparison *x;
	struct lift_cell t;
	char conv[64], rev[64];
	size_t i;
	int a, any;

	fprintf(out, "\nwhat the recipients did: orders completed within %"
	    PRId64 " days of the decision (the held out: of being held out),"
	    " net of refunds, in %s\n", cf->report.attribution_days,
	    cf->seg.base_currency);
	fprintf(out, "%-12s %-12s %-9s %10s %9s %7s %7s %9s %8s %5s %6s %7s"
	    " %7s %5s %7s\n", "segment", by_variant ? "variant" : "",
	    "arm", "recipients", "converted", "conv.", "orders", "rev/rcpt",
	    "AOV", "code", "unsub", "bounce", "compl.", "sms", "sms/cv");
	for (i = 0; i < l->ncells; i++)
		cell_text(out, &l->cells[i], by_variant ?
		    (*l->cells[i].variant ? l->cells[i].variant : "-") : "");
	for (a = ARM_TAILORED; a < ARM_COUNT; a++) {
		lift_total(l, LIFT_ALL, (enum policy_arm)a, &t);
		if (t.recipients > 0)
			cell_text(out, &t, "");
	}
	for (i = 0, any = 0; i < l->ncmp; i++) {
		x = &l->cmp[i];
		if (!any++)
			fprintf(out, "\nthe arms compared, 95%% intervals:"
			    " conversion in points (Newcombe's hybrid score),"
			    " revenue per recipient in %s (Welch); verdict on"
			    " conversion, %.2g points worth detecting\n%-12s"
			    " %-20s %-28s %-28s %s\n", cf->seg.base_currency,
			    cf->report.min_effect_points, "segment",
			    "comparison", "conversion", "revenue/recipient",
			    "verdict");
		interval_text(conv, sizeof(conv), &x->conversion, 100);
		interval_text(rev, sizeof(rev), &x->revenue, 0.01);
		fprintf(out, "%-12s %-9s - %-8s %-28s %-28s %s", x->segment,
		    policy_arm_name(x->a), policy_arm_name(x->b), conv, rev,
		    lift_verdict_name(x->verdict));
		if (x->verdict == LIFT_TOO_FEW)
			fprintf(out, " (need about %" PRId64 " per arm)",
			    x->need);
		fputc('\n', out);
	}
	/* each verdict is at 95%: among many, some are chance */
	if (l->ncmp >= 10)
		fprintf(out, "(%zu comparisons: about one in twenty of them can"
		    " say better or worse by chance alone)\n", l->ncmp);
}

int
report_days(const struct conf *cf)
{
	return cf->report.attribution_days < LIFT_DAYS ?
	    (int)cf->report.attribution_days : LIFT_DAYS;
}

void
report_lift_csv(FILE *out, const struct lift *l)
{
	const struct lift_comparison *x;
	const struct lift_cell *c;
	size_t i;

	fputs("table,segment,variant,arm,recipients,converters,orders,"
	    "revenue_minor,code_orders,unsubscribed,bounced,complained,sms,"
	    "sms_converters\n", out);
	for (i = 0; i < l->ncells; i++) {
		c = &l->cells[i];
		fputs("cell,", out);
		csv_write_field(out, c->segment);
		fputc(',', out);
		csv_write_field(out, c->variant);
		fprintf(out, ",%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%.0f,%"
		    PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%"
		    PRId64 "\n", policy_arm_name(c->arm), c->recipients,
		    c->converters, c->orders, c->revenue, c->code_orders,
		    c->unsubscribed, c->bounced, c->complained, c->sms,
		    c->sms_converters);
	}
	fputs("table,segment,arm_a,arm_b,recipients_a,recipients_b,"
	    "conversion_diff,conversion_low,conversion_high,revenue_diff_minor,"
	    "revenue_low_minor,revenue_high_minor,verdict,need_per_arm\n", out);
	for (i = 0; i < l->ncmp; i++) {
		x = &l->cmp[i];
		fputs("comparison,", out);
		csv_write_field(out, x->segment);
		fprintf(out, ",%s,%s,%" PRId64 ",%" PRId64 ",%.6f,%.6f,%.6f,"
		    "%.2f,%.2f,%.2f,%s,%" PRId64 "\n", policy_arm_name(x->a),
		    policy_arm_name(x->b), x->na, x->nb,
		    x->conversion.estimate, x->conversion.low,
		    x->conversion.high, x->revenue.estimate, x->revenue.low,
		    x->revenue.high, lift_verdict_name(x->verdict),
		    x->verdict == LIFT_TOO_FEW ? x->need : 0);
	}
}

static void
member_int(JsonBuilder *b, const char *name, int64_t v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, v);
}

static void
member_double(JsonBuilder *b, const char *name, double v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_double_value(b, v);
}

static void
member_string(JsonBuilder *b, const char *name, const char *v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, v);
}

static void
interval_json(JsonBuilder *b, const char *name, const struct stats_interval *iv,
    double scale)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	member_double(b, "estimate", iv->estimate * scale);
	member_double(b, "low", iv->low * scale);
	member_double(b, "high", iv->high * scale);
	json_builder_end_object(b);
}

void
report_lift_json(JsonBuilder *b, const struct lift *l, const struct conf *cf)
{
	const struct lift_comparison *x;
	const struct lift_cell *c;
	struct lift_cell t;
	int a, d, days = report_days(cf);
	size_t i;

	json_builder_set_member_name(b, "lift");
	json_builder_begin_object(b);
	member_int(b, "attribution_days", cf->report.attribution_days);
	member_int(b, "sms_attribution_days", cf->report.sms_attribution_days);
	member_double(b, "min_effect_points", cf->report.min_effect_points);
	member_string(b, "currency", cf->seg.base_currency);
	json_builder_set_member_name(b, "cells");
	json_builder_begin_array(b);
	for (i = 0; i < l->ncells; i++) {
		c = &l->cells[i];
		json_builder_begin_object(b);
		member_string(b, "segment", c->segment);
		member_string(b, "variant", c->variant);
		member_string(b, "arm", policy_arm_name(c->arm));
		member_int(b, "recipients", c->recipients);
		member_int(b, "converters", c->converters);
		member_int(b, "orders", c->orders);
		member_double(b, "revenue", major(c->revenue));
		member_int(b, "code_orders", c->code_orders);
		member_int(b, "unsubscribed", c->unsubscribed);
		member_int(b, "bounced", c->bounced);
		member_int(b, "complained", c->complained);
		member_int(b, "sms", c->sms);
		member_int(b, "sms_converters", c->sms_converters);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_set_member_name(b, "first_orders_by_day");
	json_builder_begin_object(b);
	for (a = ARM_TAILORED; a < ARM_COUNT; a++) {
		lift_total(l, LIFT_ALL, (enum policy_arm)a, &t);
		if (t.recipients == 0)
			continue;
		json_builder_set_member_name(b, policy_arm_name(a));
		json_builder_begin_array(b);
		for (d = 0; d < days; d++)
			json_builder_add_int_value(b, l->first_day[a][d]);
		json_builder_end_array(b);
	}
	json_builder_end_object(b);
	json_builder_set_member_name(b, "comparisons");
	json_builder_begin_array(b);
	for (i = 0; i < l->ncmp; i++) {
		x = &l->cmp[i];
		json_builder_begin_object(b);
		member_string(b, "segment", x->segment);
		member_string(b, "a", policy_arm_name(x->a));
		member_string(b, "b", policy_arm_name(x->b));
		member_int(b, "recipients_a", x->na);
		member_int(b, "recipients_b", x->nb);
		interval_json(b, "conversion_points", &x->conversion, 100);
		interval_json(b, "revenue_per_recipient", &x->revenue, 0.01);
		member_string(b, "verdict", lift_verdict_name(x->verdict));
		if (x->verdict == LIFT_TOO_FEW)
			member_int(b, "need_per_arm", x->need);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
}
