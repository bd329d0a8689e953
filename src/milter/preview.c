/*
 * preview.c - a campaign message judged and rendered without an MTA.
 *
 * The message file is fed to a struct milter_msg exactly as libmilter
 * would feed it (headers one by one, unfolded names, CRLF body), so what
 * preview prints is what segmilter would do, grouped by variant: with
 * splitting on, each variant is what a part (or, split by language,
 * currency or recipient, several parts) receives; without it a note says
 * that segmilter renders the default for all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expr.h"
#include "msg_int.h"
#include "parse.h"
#include "render.h"
#include "xalloc.h"

#define PREVIEW_MAX	(64 * 1024 * 1024)

/* Reads all of FD into B. */
static int
read_all(int fd, struct buf *b, char *err, size_t errlen)
{
	char chunk[65536];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s", strerror(errno));
			return -1;
		}
		if (buf_append(b, chunk, (size_t)n) == -1) {
			snprintf(err, errlen, "message over %d bytes",
			    PREVIEW_MAX);
			return -1;
		}
	}
	return 0;
}

/*
 * Feeds TEXT's header to M as libmilter would: one call per field with
 * continuation lines joined by LF; returns where the body starts.
 */
static const char *
feed_headers(struct milter_msg *m, const struct daemon_env *env,
    const char *text, char *err, size_t errlen)
{
	struct buf name, value;
	const char *p = text, *eol, *colon;
	size_t len;

	buf_init(&name, 1024);
	buf_init(&value, 1024 * 1024);
	while (*p != '\0' && *p != '\n' && !(p[0] == '\r' && p[1] == '\n')) {
		eol = strchr(p, '\n');
		len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (*p == ' ' || *p == '\t') {
			if (name.len == 0) {
				snprintf(err, errlen, "a continuation line"
				    " before any header");
				goto fail;
			}
			buf_putc(&value, '\n');
			buf_append(&value, p, len);
		} else {
			if (name.len > 0 && milter_msg_header(m, env,
			    buf_str(&name), buf_str(&value)) == -1)
				goto toobig;
			buf_reset(&name);
			buf_reset(&value);
			colon = memchr(p, ':', len);
			if (colon == NULL || colon == p) {
				snprintf(err, errlen, "not a header line:"
				    " %.*s", (int)(len > 60 ? 60 : len), p);
				goto fail;
			}
			buf_append(&name, p, (size_t)(colon - p));
			colon++;
			while (colon < p + len && (*colon == ' ' ||
			    *colon == '\t'))
				colon++;
			buf_append(&value, colon, (size_t)(p + len - colon));
		}
		p = eol ? eol + 1 : p + strlen(p);
	}
	if (name.len > 0 && milter_msg_header(m, env, buf_str(&name),
	    buf_str(&value)) == -1)
		goto toobig;
	buf_free(&name);
	buf_free(&value);
	if (*p == '\r')
		p++;
	return *p == '\n' ? p + 1 : p;
toobig:
	snprintf(err, errlen, "headers too large");
fail:
	buf_free(&name);
	buf_free(&value);
	return NULL;
}

/* The body with CRLF line ends, as the MTA hands it over. */
static int
feed_body(struct milter_msg *m, const char *p)
{
	struct buf crlf;
	int rc;

	buf_init(&crlf, PREVIEW_MAX);
	for (; *p != '\0'; p++) {
		if (*p == '\n' && (crlf.len == 0 || crlf.data[crlf.len - 1] !=
		    '\r'))
			buf_putc(&crlf, '\r');
		if (buf_putc(&crlf, *p) == -1)
			break;
	}
	rc = milter_msg_body(m, (const unsigned char *)buf_str(&crlf),
	    crlf.len);
	buf_free(&crlf);
	return rc;
}

static int
add_rcpt(const char *email, void *arg)
{
	milter_msg_rcpt(arg, email);
	return 0;
}

static void
print_indented(FILE *out, const char *text)
{
	const char *eol;

	for (; *text != '\0'; text = eol + 1) {
		eol = strchr(text, '\n');
		if (eol == NULL) {
			fprintf(out, "    %s\n", text);
			return;
		}
		fprintf(out, "    %.*s\n", (int)(eol - text), text);
	}
}

/* Renders RM for group G (TO: its one recipient, NULL: all of the
 * variant) and prints it; 0, or 1 when it would tempfail. */
static int
preview_render(const struct daemon_env *env, struct render_msg *rm,
    struct milter_group *g, const char *to, FILE *out)
{
	struct render_result res;
	struct template_vars vars;
	struct spool *sink;
	const char *text;
	char err[512];
	size_t i;
	int html, rc = 0;

	if (to != NULL)
		fprintf(out, "  to %s:\n", to);
	msg_vars(g, env, &vars);
	sink = spool_new(PREVIEW_MAX, env->conf->milter.spool_dir);
	if (render_apply(rm, &vars, spool_put, sink, &res, err,
	    sizeof(err)) == -1) {
		fprintf(out, "  would tempfail: %s\n", err);
		rc = 1;
	} else {
		if (res.subject != NULL)
			fprintf(out, "  Subject: %s\n", res.subject);
		else
			fprintf(out, "  Subject: %s\n", render_subject(rm));
		for (i = 0; (text = render_text(rm, i, &html)) != NULL; i++) {
			fprintf(out, "  --- part %zu, text/%s\n", i + 1,
			    html ? "html" : "plain");
			print_indented(out, text);
		}
		render_result_free(&res);
	}
	spool_free(sink);
	return rc;
}

#define PREVIEW_NAMED	20	/* at most this many recipients: each
				   held one is named */
#define PREVIEW_SAMPLES	3	/* recipients shown per variant when each
				   gets a rendering of their own */

/*
 * Variant V's N recipients and what they get: one rendering for all of
 * them, or, when the milter renders each recipient's own (P->personal:
 * their name in the template, a personal unsubscribe link), the first
 * PREVIEW_SAMPLES recipients' own.  0, or 1.
 */
static int
preview_variant(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, struct render_msg *rm, struct msg_plan *p,
    int v, size_t n, FILE *out)
{
	struct milter_group g;
	size_t i, shown = 0;
	int mixed, rc = 0;

	fprintf(out, "\nvariant %s: %zu recipient%s\n",
	    campaign_variant_name(c, v), n, n == 1 ? "" : "s");
	if (!p->personal) {
		msg_group(m, c, v, &g, &mixed);
		g.withheld = g.single != NULL && g.single->withheld;
		rc = preview_render(env, rm, &g, NULL, out);
		free(g.flags);
		return rc;
	}
	for (i = 0; i < p->nparts && shown < PREVIEW_SAMPLES; i++) {
		if (p->parts[i].n == 0 || p->parts[i].g.variant != v ||
		    p->parts[i].g.single == NULL)
			continue;
		rc |= preview_render(env, rm, &p->parts[i].g,
		    p->parts[i].g.single->email, out);
		shown++;
	}
	if (n > shown)
		fprintf(out, "  ... and %zu more, each with their own\n",
		    n - shown);
	return rc;
}

/*
 * The SMS block: who would get one, with the first text of each variant
 * as a sample, and the refusals by reason.
 */
static void
preview_sms(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, int64_t now, FILE *out)
{
	size_t counts[POLICY_SMS_NREASONS], i, n = 0;
	const struct msg_sms *s;
	int *shown, v;

	msg_sms_decide(m, env, c, now);
	memset(counts, 0, sizeof(counts));
	for (i = 0; i < m->nrcpts; i++)
		if ((s = m->rcpts[i].sms) != NULL) {
			counts[s->d.reason]++;
			n++;
		}
	fprintf(out, "\nsms: %zu delivered recipients in its segments",
	    n);
	for (i = 0; i < c->sms.nsegments; i++)
		fprintf(out, "%s%s", i == 0 ? " (" : ", ",
		    expr_text(c->sms.segments[i]));
	fprintf(out, ")%s\n", env->conf->sms.driver == SMS_OFF ?
	    "; sms.driver is off: none would be sent" : "");
	shown = xcalloc(c->nvariants + 1, sizeof(*shown));
	for (i = 0; i < m->nrcpts; i++) {
		s = m->rcpts[i].sms;
		v = m->rcpts[i].d.variant + 1;
		if (s == NULL || s->d.reason != POLICY_SMS_QUEUE || shown[v])
			continue;
		shown[v] = 1;
		fprintf(out, "  variant %s, e.g. to %s: %s, %zu characters,"
		    " %zu part%s\n    %s\n", campaign_variant_name(c, v - 1),
		    s->f.phone, render_sms_coding_name(s->size.coding),
		    s->size.chars, s->size.parts, s->size.parts == 1 ? "" :
		    "s", s->text);
	}
	free(shown);
	for (i = 0; i < POLICY_SMS_NREASONS; i++)
		if (counts[i] > 0)
			fprintf(out, "  %-14s %zu\n",
			    policy_sms_reason_name((enum policy_sms_reason)i),
			    counts[i]);
}

static int
preview_has(const char *name, void *flags)
{
	return flags != NULL && segment_flags_has(flags, name);
}

/* How many of M's recipients meet E, and each of its names. */
static void
preview_term(const struct milter_msg *m, const char *what,
    const struct expr *e, FILE *out)
{
	const char *const *names;
	size_t i, k, n, met = 0, has;

	for (i = 0; i < m->nrcpts; i++)
		met += expr_eval(e, preview_has, m->rcpts[i].flags) != 0;
	fprintf(out, "  %s \"%s\": %zu\n", what, expr_text(e), met);
	if (expr_name(e) != NULL)
		return;
	names = expr_names(e, &n);
	for (k = 0; k < n; k++) {
		for (i = has = 0; i < m->nrcpts; i++)
			has += preview_has(names[k], m->rcpts[i].flags);
		fprintf(out, "%s%s %zu", k == 0 ? "    " : ", ", names[k],
		    has);
	}
	fprintf(out, "\n");
}

/*
 * Who meets each term of the audience and each variant, whatever else
 * decides for them: what a marketer checks an expression by.
 */
static void
preview_audience(const struct milter_msg *m, const struct campaign *c,
    FILE *out)
{
	char what[CONF_NAME_MAX + 16];
	size_t i;

	if (c->ninclude + c->nexclude + c->nvariants == 0)
		return;
	fprintf(out, "\nwho meets the audience and the variants, of %zu"
	    " recipients:\n", m->nrcpts);
	for (i = 0; i < c->ninclude; i++)
		preview_term(m, "include", c->include[i], out);
	for (i = 0; i < c->nexclude; i++)
		preview_term(m, "exclude", c->exclude[i], out);
	for (i = 0; i < c->nvariants; i++) {
		snprintf(what, sizeof(what), "variant %s", c->variants[i].name);
		preview_term(m, what, c->variant_match[i], out);
	}
}

/*
 * How many of each segment fall in each arm, when the campaign has arms
 * or a global control group holds anyone out.
 */
static void
preview_arms(const struct milter_msg *m, FILE *out)
{
	size_t n[LC_COUNT + 1][ARM_COUNT], all[ARM_COUNT], i;
	const struct milter_rcpt *r;
	int a, seg, any = 0;

	memset(n, 0, sizeof(n));
	memset(all, 0, sizeof(all));
	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		if (r->d.arm == ARM_UNSET)
			continue;
		seg = r->r->has_segment ? (int)r->r->seg.lifecycle : LC_COUNT;
		n[seg][r->d.arm]++;
		all[r->d.arm]++;
		any = 1;
	}
	if (!any)
		return;
	fprintf(out, "\narms, of those every rule lets through:\n%-12s",
	    "segment");
	for (a = ARM_TAILORED; a < ARM_COUNT; a++)
		fprintf(out, " %9s", policy_arm_name(a));
	fputc('\n', out);
	for (seg = 0; seg <= LC_COUNT; seg++) {
		for (a = ARM_TAILORED; a < ARM_COUNT && n[seg][a] == 0; a++)
			;
		if (a == ARM_COUNT)
			continue;
		fprintf(out, "%-12s", seg < LC_COUNT ?
		    conf_lifecycle_name(seg) : "(none)");
		for (a = ARM_TAILORED; a < ARM_COUNT; a++)
			fprintf(out, " %9zu", n[seg][a]);
		fputc('\n', out);
	}
	fprintf(out, "%-12s", "all");
	for (a = ARM_TAILORED; a < ARM_COUNT; a++)
		fprintf(out, " %9zu", all[a]);
	fputc('\n', out);
}

/*
 * The copies that would wait for their time (send_after, send_local):
 * how many, from when to when, each to-be recipient's named.
 */
static void
preview_held(const struct milter_msg *m, int64_t now, FILE *out)
{
	const struct milter_rcpt *r;
	char first[32], last[32];
	int64_t lo = 0, hi = 0;
	size_t i, n = 0;

	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		if (r->d.reason != POLICY_DELIVER || r->d.due_at <= now)
			continue;
		n++;
		if (lo == 0 || r->d.due_at < lo)
			lo = r->d.due_at;
		if (r->d.due_at > hi)
			hi = r->d.due_at;
	}
	if (n == 0)
		return;
	format_time(lo, first, sizeof(first));
	format_time(hi, last, sizeof(last));
	fprintf(out, "\nheld: %zu, each copy until its recipient's time, from"
	    " %s to %s\n", n, first, last);
	for (i = 0; m->nrcpts <= PREVIEW_NAMED && i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		if (r->d.reason == POLICY_DELIVER && r->d.due_at > now) {
			format_time(r->d.due_at, first, sizeof(first));
			fprintf(out, "  to %s: until %s\n", r->email, first);
		}
	}
}

/* Each recipient's judgement to FN: milter_preview_rows. */
static void
preview_rows(const struct milter_msg *m, const struct campaign *c,
    milter_preview_fn fn, void *arg)
{
	struct milter_preview_row row;
	const struct milter_rcpt *r;
	size_t i;

	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		row.recipient = r->email[0] != '\0' ? r->email : r->addr;
		row.decision = r->d.reason == POLICY_DELIVER &&
		    r->d.arm == ARM_BROAD ? "broad" :
		    policy_reason_name(r->d.reason);
		row.variant = r->d.reason == POLICY_DELIVER ?
		    campaign_variant_name(c, r->d.variant) : "";
		row.arm = policy_arm_name(r->d.arm);
		row.segment = r->r->has_segment ?
		    conf_lifecycle_name(r->r->seg.lifecycle) : "";
		row.detail = r->d.detail;
		fn(&row, arg);
	}
}

/* Errors seen so far, so that each is printed once. */
struct preview_errors {
	const char	*path;
	FILE		*out;
	char		**seen;
	size_t		 n;
};

static void
preview_error(void *arg, unsigned long line, const char *what)
{
	struct preview_errors *pe = arg;
	char text[640];
	size_t i;

	snprintf(text, sizeof(text), "%s:%lu: %s", pe->path, line, what);
	for (i = 0; i < pe->n; i++)
		if (strcmp(pe->seen[i], text) == 0)
			return;
	pe->seen = xreallocarray(pe->seen, pe->n + 1, sizeof(*pe->seen));
	pe->seen[pe->n++] = xstrdup(text);
	fprintf(pe->out, "%s\n", text);
}

/*
 * The message RM would tempfail on a template error: every one of them,
 * as PATH:LINE at the tag it is about, for each variant someone gets,
 * each once, so that one round of edits can fix them all.
 */
static void
preview_errors(struct milter_msg *m, const struct daemon_env *env,
    const struct campaign *c, const struct render_msg *rm, const char *path,
    FILE *out)
{
	struct preview_errors pe = { path, out, NULL, 0 };
	struct template_vars vars;
	struct milter_group g;
	size_t i;
	int v, mixed;

	for (v = -1; v < (int)c->nvariants; v++) {
		if (msg_group(m, c, v, &g, &mixed) > 0) {
			msg_vars(&g, env, &vars);
			render_errors(rm, &vars, preview_error, &pe);
		}
		free(g.flags);
	}
	for (i = 0; i < pe.n; i++)
		free(pe.seen[i]);
	free(pe.seen);
}

int
milter_preview(const struct daemon_env *env, struct store *st,
    const char *path, int fd, const char *const *rcpts, size_t nrcpts,
    int64_t now, FILE *out, char *err, size_t errlen)
{
	return milter_preview_rows(env, st, path, fd, rcpts, nrcpts, now,
	    NULL, NULL, out, err, errlen);
}

int
milter_preview_rows(const struct daemon_env *env, struct store *st,
    const char *path, int fd, const char *const *rcpts, size_t nrcpts,
    int64_t now,
    milter_preview_fn fn, void *arg, FILE *out, char *err, size_t errlen)
{
	size_t counts[POLICY_NREASONS], *per_variant = NULL, i, kept = 0;
	const struct milter_rcpt *r;
	const struct campaign *c;
	struct msg_plan plan;
	char why[512];
	struct milter_msg *m;
	struct render_msg *rm = NULL;
	const char *body, *data;
	struct buf text;
	size_t len;
	int rc = -1, used = 0;

	memset(&plan, 0, sizeof(plan));
	buf_init(&text, PREVIEW_MAX);
	m = milter_msg_new();
	milter_msg_set_queue_id(m, "PREVIEW");
	if (read_all(fd, &text, err, errlen) == -1 ||
	    (body = feed_headers(m, env, buf_str(&text), err, errlen)) ==
	    NULL)
		goto out;
	switch (milter_msg_eoh(m, env)) {
	case 0:
		fprintf(out, "not a campaign (no %s header): segmilter passes"
		    " it untouched to every recipient\n",
		    env->conf->milter.campaign_header);
		rc = 0;
		goto out;
	case -1:
		snprintf(err, errlen, "cannot spool the message");
		goto out;
	}
	if (feed_body(m, body) == -1) {
		snprintf(err, errlen, "cannot spool the message");
		goto out;
	}
	if (m->bad_campaign ||
	    (c = campaign_find(env->campaigns, m->campaign)) == NULL) {
		fprintf(out, "would tempfail: unknown campaign '%s' (not in"
		    " %s)\n", m->campaign, env->conf->milter.campaigns_dir);
		rc = 1;
		goto out;
	}
	if (nrcpts == 0) {
		if (store_customer_emails(st, add_rcpt, m) == -1) {
			snprintf(err, errlen, "%s", store_error(st));
			goto out;
		}
	} else {
		for (i = 0; i < nrcpts; i++)
			milter_msg_rcpt(m, rcpts[i]);
	}
	if (msg_decide(m, env, c, st, now) == -1) {
		snprintf(err, errlen, "%s", store_error(st));
		goto out;
	}
	/* the milter's own parting and rendering, for its per-recipient
	 * findings (render_alone) and its refusals */
	if (msg_plan_build(m, env, c, now, 0, &plan, why, sizeof(why)) == -1) {
		fprintf(out, "campaign %s: would tempfail: %s\n", c->id, why);
		/* a template error: the plan has the message parsed */
		if (plan.rm != NULL)
			preview_errors(m, env, c, plan.rm, path, out);
		rc = 1;
		goto out;
	}
	if (fn != NULL) {
		preview_rows(m, c, fn, arg);
		rc = 0;
		goto out;
	}
	memset(counts, 0, sizeof(counts));
	per_variant = xcalloc(c->nvariants + 1, sizeof(*per_variant));
	for (i = 0; i < m->nrcpts; i++) {
		counts[m->rcpts[i].d.reason]++;
		if (m->rcpts[i].d.reason == POLICY_DELIVER) {
			per_variant[m->rcpts[i].d.variant + 1]++;
			kept++;
		}
	}
	fprintf(out, "campaign %s: %zu recipients, %zu delivered, %zu"
	    " suppressed\n", c->id, m->nrcpts, kept, m->nrcpts - kept);
	rc = 0;
	if (kept > 0) {
		if ((data = spool_data(m->spool, &len)) == NULL) {
			snprintf(err, errlen, "spool: %s",
			    spool_error(m->spool));
			rc = -1;
			goto out;
		}
		if ((rm = render_parse(data, len, err, errlen)) == NULL) {
			fprintf(out, "\nthe body would pass untouched: %s\n",
			    err);
		} else {
			for (i = 0; i <= c->nvariants; i++) {
				if (per_variant[i] == 0)
					continue;
				used++;
				rc |= preview_variant(m, env, c, rm, &plan,
				    (int)i - 1, per_variant[i], out);
			}
		}
	}
	if (used > 1 && env->conf->outbox.reinject_url[0] == '\0')
		fprintf(out, "\nnote: sent as one message, these recipients"
		    " span %d variants; segmilter renders the default variant"
		    " for all of them until splitting is enabled\n", used);
	if (kept < m->nrcpts) {
		fprintf(out, "\nsuppressed: %zu\n", m->nrcpts - kept);
		for (i = 1; i < POLICY_NREASONS; i++)
			if (counts[i] > 0)
				fprintf(out, "  %-14s %zu\n",
				    policy_reason_name(i), counts[i]);
	}
	for (i = 0; i < m->nrcpts; i++) {
		r = &m->rcpts[i];
		if (r->withheld || r->d.reason == POLICY_BAD_RECORD)
			fprintf(out, "  to %s: %s%s\n", r->email,
			    r->d.reason == POLICY_BAD_RECORD ?
			    "bad_record: " : "", r->d.detail);
	}
	preview_held(m, now, out);
	preview_audience(m, c, out);
	preview_arms(m, out);
	if (c->sms.text != NULL)
		preview_sms(m, env, c, now, out);
out:
	msg_plan_free(&plan);
	render_free(rm);
	free(per_variant);
	milter_msg_free(m);
	buf_free(&text);
	return rc;
}
