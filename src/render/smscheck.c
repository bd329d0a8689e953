/*
 * smscheck.c - every campaign's SMS text rendered once per variant at
 * load: a text that cannot render, or that needs more parts than
 * sms.max_parts, is a configuration error before any message meets it.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "campaign.h"
#include "conf.h"
#include "render.h"
#include "template.h"

/* Template callbacks for the check: a variant's values; a customer's
 * fields empty, so that their defaults count. */
struct check_arg {
	const struct campaign	*c;
	int			 variant;
	int			 nameless;	/* the customer has no names */
};

static const char *
check_value(void *arg, const char *name)
{
	const struct check_arg *ca = arg;
	const char *v = campaign_value(ca->c, ca->variant, name);

	if (v != NULL)
		return v;
	if (!ca->nameless && (strcmp(name, "first_name") == 0 ||
	    strcmp(name, "last_name") == 0 || strcmp(name, "company") == 0 ||
	    strcmp(name, "email") == 0))
		return "";
	return NULL;
}

static int
check_flag(void *arg, const char *name)
{
	(void)arg;
	(void)name;
	return 0;
}

int
render_sms_check(const struct conf *conf, const struct campaign_set *set,
    struct buf *report, struct buf *errs)
{
	struct render_sms_size size;
	struct template_vars vars;
	struct check_arg ca;
	struct buf out;
	const struct campaign *c;
	char err[256];
	size_t i;
	int v, bad, rendered, rc = 0;

	for (i = 0; i < set->n; i++) {
		c = &set->v[i];
		if (c->sms.text == NULL)
			continue;
		if (conf->sms.driver == SMS_OFF)
			buf_printf(report, "campaign %s: has an sms block but"
			    " sms.driver is off: no SMS will be sent\n", c->id);
		for (v = -1; v < (int)c->nvariants; v++) {
			ca.c = c;
			ca.variant = v;
			ca.nameless = 0;
			vars.value = check_value;
			vars.flag = check_flag;
			vars.arg = &ca;
			vars.unknown_empty = conf->milter.unknown_empty;
			buf_init(&out, RENDER_SMS_TEXT_MAX);
			bad = 1;
			rendered = template_render(c->sms.text,
			    strlen(c->sms.text), TEMPLATE_TEXT, &vars, &out,
			    err, sizeof(err)) == 0;
			if (rendered && render_sms_size(buf_str(&out),
			    out.len, &size) == -1) {
				snprintf(err, sizeof(err), "not UTF-8");
				rendered = 0;
			}
			if (!rendered) {
				buf_printf(errs, "%s: sms.text, variant %s:"
				    " %s\n", c->file, campaign_variant_name(c,
				    v), err);
				rc = -1;
			} else if (size.parts > (size_t)conf->sms.max_parts) {
				buf_printf(errs, "%s: sms.text, variant %s:"
				    " %zu parts (%s, %zu characters), over"
				    " sms.max_parts %lld\n", c->file,
				    campaign_variant_name(c, v), size.parts,
				    render_sms_coding_name(size.coding),
				    size.chars, (long long)conf->sms.max_parts);
				rc = -1;
			} else {
				bad = 0;
				buf_printf(report, "campaign %s: sms variant"
				    " %s: %s, %zu characters, %zu part%s\n",
				    c->id, campaign_variant_name(c, v),
				    render_sms_coding_name(size.coding),
				    size.chars, size.parts,
				    size.parts == 1 ? "" : "s");
			}
			/* a customer without a first name, say */
			ca.nameless = 1;
			buf_reset(&out);
			if (!bad && !conf->milter.unknown_empty &&
			    template_render(c->sms.text, strlen(c->sms.text),
			    TEMPLATE_TEXT, &vars, &out, err, sizeof(err)) ==
			    -1)
				buf_printf(report, "campaign %s: sms variant"
				    " %s: warning: %s: customers without it get"
				    " no SMS (no_text); give it a |default\n",
				    c->id, campaign_variant_name(c, v), err);
			buf_free(&out);
		}
	}
	return rc;
}
