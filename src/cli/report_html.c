/*
 * report_html.c - segctl report --format html: one self-contained page
 * (no script, no external asset: it opens offline and can be mailed)
 * with the funnel per segment, the lift of tailored over broad per
 * segment with its interval, first orders per day per arm, and under
 * each chart the table it is drawn from.
 *
 * The charts are SVG written here: three small static charts need no
 * library, and a charting library would mean a script, which mail
 * readers strip and which a file meant to be forwarded should not run.
 * Every figure is the JSON report's, to the digits shown.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report_out.h"

static void
html_text(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '<')
			fputs("&lt;", out);
		else if (*s == '>')
			fputs("&gt;", out);
		else if (*s == '&')
			fputs("&amp;", out);
		else if (*s == '"')
			fputs("&quot;", out);
		else
			fputc(*s, out);
	}
}

static const char style[] =
    "body{font-family:'DejaVu Sans',sans-serif;margin:2em;color:#222}"
    "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}"
    "table{border-collapse:collapse;margin:.5em 0}"
    "table{font-size:.85em}"
    "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right;"
    "white-space:nowrap}td:last-child{white-space:normal;min-width:16em}"
    "th{background:#f3f3f3}td.l,th.l{text-align:left}"
    ".better{color:#1a7f37}.worse{color:#cf222e}"
    "svg text{font-family:'DejaVu Sans',sans-serif;font-size:11px}";

static const char *const arm_colours[ARM_COUNT] = {
	[ARM_TAILORED] = "#0969da", [ARM_BROAD] = "#bf8700",
	[ARM_NONE] = "#8c959f", [ARM_GLOBAL] = "#6e7781",
};

/* Bars per segment: decided, delivered, held out, ordered. */
static void
funnel(FILE *out, const struct report_funnel *f, size_t n,
    const struct lift *l)
{
	struct lift_cell t, b;
	int64_t max = 1, ordered;
	size_t i;
	double y;

	for (i = 0; i < n; i++)
		if (f[i].total > max)
			max = f[i].total;
	fputs("<h2>Funnel per segment</h2>\n", out);
	fprintf(out, "<svg id=\"funnel\" width=\"720\" height=\"%zu\" role="
	    "\"img\" aria-label=\"funnel per segment\">\n", 20 + n * 64);
	for (i = 0; i < n; i++) {
		y = 10 + (double)i * 64;
		lift_total(l, f[i].segment, ARM_TAILORED, &t);
		lift_total(l, f[i].segment, ARM_BROAD, &b);
		ordered = t.converters + b.converters;
		fprintf(out, "<text x=\"0\" y=\"%.0f\">", y + 12);
		html_text(out, f[i].segment);
		fputs("</text>\n", out);
		fprintf(out, "<rect x=\"110\" y=\"%.0f\" width=\"%.1f\""
		    " height=\"12\" fill=\"#d0d7de\"/>\n<rect x=\"110\""
		    " y=\"%.0f\" width=\"%.1f\" height=\"12\" fill=\"#0969da\"/>"
		    "\n<rect x=\"110\" y=\"%.0f\" width=\"%.1f\" height=\"12\""
		    " fill=\"#8c959f\"/>\n<rect x=\"110\" y=\"%.0f\""
		    " width=\"%.1f\" height=\"12\" fill=\"#1a7f37\"/>\n", y,
		    500.0 * (double)f[i].total / (double)max, y + 13,
		    500.0 * (double)f[i].delivered / (double)max, y + 26,
		    500.0 * (double)f[i].held_out / (double)max, y + 39,
		    500.0 * (double)ordered / (double)max);
		fprintf(out, "<text x=\"620\" y=\"%.0f\">%" PRId64 " decided"
		    "</text>\n<text x=\"620\" y=\"%.0f\">%" PRId64 " delivered"
		    "</text>\n<text x=\"620\" y=\"%.0f\">%" PRId64 " held out"
		    "</text>\n<text x=\"620\" y=\"%.0f\">%" PRId64 " ordered"
		    "</text>\n", y + 10, f[i].total, y + 23, f[i].delivered,
		    y + 36, f[i].held_out, y + 49, ordered);
	}
	fputs("</svg>\n<table id=\"funnel-table\"><tr><th class=\"l\">segment"
	    "</th><th>decided</th><th>delivered</th><th>held out</th>"
	    "<th>ordered (mailed)</th></tr>\n", out);
	for (i = 0; i < n; i++) {
		lift_total(l, f[i].segment, ARM_TAILORED, &t);
		lift_total(l, f[i].segment, ARM_BROAD, &b);
		fputs("<tr><td class=\"l\">", out);
		html_text(out, f[i].segment);
		fprintf(out, "</td><td>%" PRId64 "</td><td>%" PRId64 "</td><td>%"
		    PRId64 "</td><td>%" PRId64 "</td></tr>\n", f[i].total,
		    f[i].delivered, f[i].held_out, t.converters + b.converters);
	}
	fputs("</table>\n", out);
}

/* Each segment's tailored - broad: the estimate and its interval. */
static void
forest(FILE *out, const struct lift *l)
{
	const struct lift_comparison *x;
	double lo = 0, hi = 0, y, scale;
	size_t i, n = 0;

	for (i = 0; i < l->ncmp; i++) {
		x = &l->cmp[i];
		if (x->a != ARM_TAILORED || x->b != ARM_BROAD)
			continue;
		n++;
		if (x->conversion.low < lo)
			lo = x->conversion.low;
		if (x->conversion.high > hi)
			hi = x->conversion.high;
	}
	fputs("<h2>Lift of tailored over broad, conversion in points, 95%"
	    " interval</h2>\n", out);
	if (n == 0) {
		fputs("<p>No campaign arms to compare.</p>\n", out);
		return;
	}
	scale = 400 / (hi - lo > 0 ? hi - lo : 1);
	fprintf(out, "<svg id=\"lift\" width=\"720\" height=\"%zu\" role="
	    "\"img\" aria-label=\"lift per segment\">\n<line x1=\"%.1f\""
	    " y1=\"0\" x2=\"%.1f\" y2=\"%zu\" stroke=\"#444\"/>\n",
	    30 + n * 24, 110 - lo * scale, 110 - lo * scale, 10 + n * 24);
	for (i = 0, y = 14; i < l->ncmp; i++) {
		x = &l->cmp[i];
		if (x->a != ARM_TAILORED || x->b != ARM_BROAD)
			continue;
		fprintf(out, "<text x=\"0\" y=\"%.0f\">", y + 4);
		html_text(out, x->segment);
		fprintf(out, "</text>\n<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\""
		    " y2=\"%.0f\" stroke=\"#0969da\" stroke-width=\"2\"/>\n"
		    "<circle cx=\"%.1f\" cy=\"%.0f\" r=\"4\" fill=\"%s\"/>\n"
		    "<text x=\"530\" y=\"%.0f\">%+.2f [%+.2f, %+.2f]</text>\n",
		    110 + (x->conversion.low - lo) * scale, y,
		    110 + (x->conversion.high - lo) * scale, y,
		    110 + (x->conversion.estimate - lo) * scale, y,
		    x->verdict == LIFT_BETTER ? "#1a7f37" :
		    x->verdict == LIFT_WORSE ? "#cf222e" : "#57606a", y + 4,
		    100 * x->conversion.estimate, 100 * x->conversion.low,
		    100 * x->conversion.high);
		y += 24;
	}
	fprintf(out, "<text x=\"%.1f\" y=\"%.0f\">0</text>\n</svg>\n",
	    106 - lo * scale, y + 8);
}

static void
comparisons(FILE *out, const struct lift *l, const struct conf *cf)
{
	const struct lift_comparison *x;
	size_t i;

	fprintf(out, "<table id=\"comparisons\"><tr><th class=\"l\">segment"
	    "</th><th class=\"l\">comparison</th><th>recipients</th>"
	    "<th>conversion, points</th><th>95%% interval</th>"
	    "<th>revenue/recipient, %s</th><th>95%% interval</th>"
	    "<th class=\"l\">verdict</th></tr>\n", cf->seg.base_currency);
	for (i = 0; i < l->ncmp; i++) {
		x = &l->cmp[i];
		fprintf(out, "<tr class=\"%s\" data-segment=\"",
		    x->verdict == LIFT_BETTER ? "better" :
		    x->verdict == LIFT_WORSE ? "worse" : "same");
		html_text(out, x->segment);
		fprintf(out, "\" data-a=\"%s\" data-b=\"%s\"><td class=\"l\">",
		    policy_arm_name(x->a), policy_arm_name(x->b));
		html_text(out, x->segment);
		fprintf(out, "</td><td class=\"l\">%s &minus; %s</td>"
		    "<td>%" PRId64 " / %" PRId64 "</td><td>%+.2f</td>"
		    "<td>%+.2f to %+.2f</td><td>%+.2f</td><td>%+.2f to %+.2f"
		    "</td><td class=\"l\">%s", policy_arm_name(x->a),
		    policy_arm_name(x->b), x->na, x->nb,
		    100 * x->conversion.estimate, 100 * x->conversion.low,
		    100 * x->conversion.high, x->revenue.estimate / 100,
		    x->revenue.low / 100, x->revenue.high / 100,
		    lift_verdict_name(x->verdict));
		if (x->verdict == LIFT_TOO_FEW)
			fprintf(out, " (need about %" PRId64 " per arm)",
			    x->need);
		fputs("</td></tr>\n", out);
	}
	fputs("</table>\n", out);
	fprintf(out, "<p>Conversion: the share of recipients who completed"
	    " an order within %" PRId64 " days; its difference with"
	    " Newcombe's hybrid score interval. Revenue per recipient: Welch's"
	    " interval. A verdict of no difference needs both arms large"
	    " enough to detect %.2g points; with many comparisons, about one"
	    " in twenty says better or worse by chance.</p>\n",
	    cf->report.attribution_days, cf->report.min_effect_points);
}

/* First orders per day after the decision, as a share of each arm. */
static void
per_day(FILE *out, const struct lift *l, const struct conf *cf)
{
	struct lift_cell t[ARM_COUNT];
	int a, d, days = report_days(cf);
	double max = 0.1, v;

	for (a = ARM_TAILORED; a < ARM_COUNT; a++) {
		lift_total(l, LIFT_ALL, (enum policy_arm)a, &t[a]);
		for (d = 0; d < days; d++)
			if ((v = report_pct(l->first_day[a][d],
			    t[a].recipients)) > max)
				max = v;
	}
	fputs("<h2>First orders per day after the decision, % of each arm"
	    "</h2>\n<svg id=\"days\" width=\"720\" height=\"220\" role=\"img\""
	    " aria-label=\"first orders per day per arm\">\n", out);
	fputs("<line x1=\"40\" y1=\"190\" x2=\"700\" y2=\"190\""
	    " stroke=\"#444\"/>\n", out);
	for (a = ARM_TAILORED; a < ARM_COUNT; a++) {
		if (t[a].recipients == 0)
			continue;
		fprintf(out, "<polyline fill=\"none\" stroke=\"%s\""
		    " stroke-width=\"2\" points=\"", arm_colours[a]);
		for (d = 0; d < days; d++)
			fprintf(out, "%.1f,%.1f ", 40 + 660.0 * (d + 0.5) /
			    days, 190 - 170 * report_pct(l->first_day[a][d],
			    t[a].recipients) / max);
		fprintf(out, "\"/>\n<text x=\"600\" y=\"%d\" fill=\"%s\">%s"
		    "</text>\n", 20 + 14 * a, arm_colours[a],
		    policy_arm_name(a));
	}
	for (d = 0; d < days; d++)
		fprintf(out, "<text x=\"%.1f\" y=\"205\">%d</text>\n",
		    36 + 660.0 * (d + 0.5) / days, d);
	fprintf(out, "<text x=\"0\" y=\"24\">%.1f%%</text>\n</svg>\n", max);
	fputs("<table id=\"days-table\"><tr><th class=\"l\">arm</th>", out);
	for (d = 0; d < days; d++)
		fprintf(out, "<th>day %d</th>", d);
	fputs("</tr>\n", out);
	for (a = ARM_TAILORED; a < ARM_COUNT; a++) {
		if (t[a].recipients == 0)
			continue;
		fprintf(out, "<tr data-arm=\"%s\"><td class=\"l\">%s</td>",
		    policy_arm_name(a), policy_arm_name(a));
		for (d = 0; d < days; d++)
			fprintf(out, "<td>%" PRId64 "</td>", l->first_day[a][d]);
		fputs("</tr>\n", out);
	}
	fputs("</table>\n", out);
}

/* Every cell, as the text and JSON reports have them. */
static void
cells(FILE *out, const struct lift *l, const struct conf *cf)
{
	const struct lift_cell *c;
	size_t i;

	fprintf(out, "<h2>Recipients and orders per segment, variant and"
	    " arm</h2>\n<table id=\"cells\"><tr><th class=\"l\">segment</th>"
	    "<th class=\"l\">variant</th><th class=\"l\">arm</th>"
	    "<th>recipients</th><th>converted</th><th>conversion</th>"
	    "<th>orders</th><th>revenue, %s</th><th>code orders</th>"
	    "<th>unsubscribed</th><th>bounced</th><th>complained</th></tr>\n",
	    cf->seg.base_currency);
	for (i = 0; i < l->ncells; i++) {
		c = &l->cells[i];
		fputs("<tr><td class=\"l\">", out);
		html_text(out, c->segment);
		fputs("</td><td class=\"l\">", out);
		html_text(out, c->variant);
		fprintf(out, "</td><td class=\"l\">%s</td><td>%" PRId64 "</td>"
		    "<td>%" PRId64 "</td><td>%.2f%%</td><td>%" PRId64 "</td>"
		    "<td>%.2f</td><td>%" PRId64 "</td><td>%" PRId64 "</td><td>%"
		    PRId64 "</td><td>%" PRId64 "</td></tr>\n",
		    policy_arm_name(c->arm), c->recipients, c->converters,
		    report_pct(c->converters, c->recipients), c->orders,
		    c->revenue / 100, c->code_orders, c->unsubscribed,
		    c->bounced, c->complained);
	}
	fputs("</table>\n", out);
}

void
report_lift_html(FILE *out, const char *campaign, const char *when,
    const struct report_funnel *f, size_t nf, const struct lift *l,
    const struct conf *cf)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8"
	    "\">\n<title>Campaign ", out);
	html_text(out, campaign);
	fprintf(out, "</title>\n<style>%s</style></head>\n<body>\n<h1>"
	    "Campaign ", style);
	html_text(out, campaign);
	fprintf(out, "</h1>\n<p>Report of %s. Orders completed within %"
	    PRId64 " days of each decision (the held out: of being held"
	    " out), net of refunds, in %s.</p>\n", when,
	    cf->report.attribution_days, cf->seg.base_currency);
	funnel(out, f, nf, l);
	forest(out, l);
	comparisons(out, l, cf);
	per_day(out, l, cf);
	cells(out, l, cf);
	fputs("</body></html>\n", out);
}
