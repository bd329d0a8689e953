/*
 * template.c - one pass over the template with a stack of open sections.
 *
 * The same walk renders and checks: when rendering, text and values are
 * appended while every open section is kept; when checking, nothing is
 * appended and each name is handed to a callback.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "template.h"
#include "utf8.h"

enum tag_kind {
	TAG_VALUE,	/* {{x}} */
	TAG_RAW,	/* {{{x}}} or {{&x}} */
	TAG_SECTION,	/* {{#x}} */
	TAG_INVERTED,	/* {{^x}} */
	TAG_CLOSE,	/* {{/x}} */
	TAG_COMMENT	/* {{! ...}} */
};

struct tag {
	enum tag_kind	 kind;
	char		 name[TEMPLATE_NAME_MAX];
	const char	*def;		/* default text, not NUL-terminated */
	size_t		 deflen;
	int		 has_def;
	size_t		 end;		/* offset just past the closing braces */
};

struct walk {
	const char	*in;
	size_t		 len;
	const struct template_vars *vars;	/* NULL: checking only */
	struct buf	*out;
	enum template_context ctx;
	void		(*name_cb)(void *, const char *, int);
	void		*cb_arg;
	char		*err;
	size_t		 errlen;
	/* template_errors: every error reported, nothing rendered */
	void		(*report)(void *, size_t, const char *);
	void		*report_arg;
	size_t		 nerrors;
	struct {
		char	 name[TEMPLATE_NAME_MAX];
		int	 kept;
		size_t	 pos;		/* its opening tag */
	}		 stack[TEMPLATE_DEPTH_MAX];
	int		 depth;
	size_t		 value_end;	/* out->len after the last value */
};

/* Sets the error for the template position POS; returns -1. */
static int
walk_fail(struct walk *w, size_t pos, const char *fmt, const char *name)
{
	unsigned long line = 1;
	char why[160];
	size_t i;

	snprintf(why, sizeof(why), fmt, name);
	if (w->report != NULL) {
		w->report(w->report_arg, pos, why);
		w->nerrors++;
		return -1;
	}
	for (i = 0; i < pos && i < w->len; i++)
		if (w->in[i] == '\n')
			line++;
	snprintf(w->err, w->errlen, "line %lu: %s", line, why);
	return -1;
}

static int
walk_kept(const struct walk *w)
{
	return w->depth == 0 || w->stack[w->depth - 1].kept;
}

/* The last byte rendered, 0 when none. */
static int
walk_last(const struct walk *w)
{
	return w->out->len > 0 ? (unsigned char)w->out->data[w->out->len - 1] :
	    0;
}

static int
walk_emit(struct walk *w, size_t pos, const char *p, size_t n)
{
	if (w->vars == NULL || w->report != NULL || !walk_kept(w) || n == 0)
		return 0;
	/* a value's "=" and the template's "?" would open an encoded word */
	if (w->ctx == TEMPLATE_HEADER && p[0] == '?' && w->out->len > 0 &&
	    w->out->len == w->value_end && walk_last(w) == '=' &&
	    buf_putc(w->out, ' ') == -1)
		return walk_fail(w, pos, "%s", "rendered text over the size"
		    " limit");
	if (buf_append(w->out, p, n) == -1)
		return walk_fail(w, pos, "%s", "rendered text over the size"
		    " limit");
	return 0;
}

static int
name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

static int
blank(int c)
{
	return c == ' ' || c == '\t';
}

/*
 * NEEDLE in the N bytes at S, or NULL: memchr() for its first byte, since
 * memmem() sets up more than a tag delimiter is worth, at every tag of
 * every message.
 */
static const char *
find(const char *s, size_t n, const char *needle, size_t nlen)
{
	const char *end = s + n, *p;

	for (p = s; (size_t)(end - p) >= nlen; p++) {
		if ((p = memchr(p, needle[0], (size_t)(end - p) - nlen + 1))
		    == NULL)
			return NULL;
		if (memcmp(p, needle, nlen) == 0)
			return p;
	}
	return NULL;
}

/*
 * Parses the tag at POS (which starts with "{{") into T.  The inside of a
 * tag is: optional blanks, a name, optionally |default:"text", blanks.
 */
static int
walk_tag(struct walk *w, size_t pos, struct tag *t)
{
	const char *in = w->in, *close, *c;
	size_t p = pos + 2, end, n;
	char q;

	memset(t, 0, sizeof(*t));
	if (p < w->len && in[p] == '{') {
		t->kind = TAG_RAW;
		p++;
		close = "}}}";
	} else {
		close = "}}";
		t->kind = TAG_VALUE;
		if (p < w->len) {
			switch (in[p]) {
			case '&': t->kind = TAG_RAW; p++; break;
			case '#': t->kind = TAG_SECTION; p++; break;
			case '^': t->kind = TAG_INVERTED; p++; break;
			case '/': t->kind = TAG_CLOSE; p++; break;
			case '!': t->kind = TAG_COMMENT; p++; break;
			}
		}
	}
	/* a tag that runs into the next one was never closed */
	if ((c = find(in + p, w->len - p, close, strlen(close))) == NULL ||
	    (t->kind != TAG_COMMENT && find(in + p, (size_t)(c - in) - p,
	    "{{", 2) != NULL))
		return walk_fail(w, pos, "%s", "tag not closed with }}");
	end = (size_t)(c - in);
	t->end = end + strlen(close);
	if (t->kind == TAG_COMMENT)
		return 0;
	while (p < end && blank((unsigned char)in[p]))
		p++;
	for (n = 0; p < end && name_char((unsigned char)in[p]); p++) {
		if (n + 1 >= sizeof(t->name))
			return walk_fail(w, pos, "%s", "name too long");
		t->name[n++] = in[p];
	}
	t->name[n] = '\0';
	if (n == 0)
		return walk_fail(w, pos, "%s", "tag without a name");
	while (p < end && blank((unsigned char)in[p]))
		p++;
	if (p < end && in[p] == '|') {
		if (t->kind != TAG_VALUE && t->kind != TAG_RAW)
			return walk_fail(w, pos, "a default on section {{%s}}",
			    t->name);
		for (p++; p < end && blank((unsigned char)in[p]); p++)
			;
		if (end - p < 8 || strncmp(in + p, "default:", 8) != 0)
			return walk_fail(w, pos, "{{%s|...}}: only |default:"
			    "\"text\" is known", t->name);
		for (p += 8; p < end && blank((unsigned char)in[p]); p++)
			;
		if (p >= end || (in[p] != '"' && in[p] != '\''))
			return walk_fail(w, pos, "{{%s|default:...}}: the"
			    " default must be quoted", t->name);
		q = in[p++];
		t->def = in + p;
		while (p < end && in[p] != q)
			p++;
		if (p >= end)
			return walk_fail(w, pos, "{{%s|default:...}}: quote"
			    " not closed", t->name);
		t->deflen = (size_t)(in + p - t->def);
		t->has_def = 1;
		for (p++; p < end && blank((unsigned char)in[p]); p++)
			;
	}
	if (p != end)
		return walk_fail(w, pos, "{{%s ...}}: unexpected text in the"
		    " tag", t->name);
	return 0;
}

/*
 * A section, inverted, close or comment tag with only blanks around it on
 * its line is standalone: the line goes.  Returns 1 and sets *LS (start of
 * the line) and *NEXT (start of the following line).
 */
static int
walk_standalone(const struct walk *w, size_t lit, size_t pos,
    const struct tag *t, size_t *ls, size_t *next)
{
	size_t a = pos, b = t->end;

	if (t->kind == TAG_VALUE || t->kind == TAG_RAW)
		return 0;
	while (a > lit && blank((unsigned char)w->in[a - 1]))
		a--;
	if (a > 0 && w->in[a - 1] != '\n')
		return 0;
	while (b < w->len && blank((unsigned char)w->in[b]))
		b++;
	if (b < w->len && w->in[b] == '\r' && b + 1 < w->len &&
	    w->in[b + 1] == '\n')
		b += 2;
	else if (b < w->len && w->in[b] == '\n')
		b++;
	else if (b != w->len)
		return 0;
	*ls = a;
	*next = b;
	return 1;
}

static int
walk_truth(const struct walk *w, const char *name)
{
	const char *v;

	if (w->vars->flag != NULL && w->vars->flag(w->vars->arg, name))
		return 1;
	v = w->vars->value != NULL ? w->vars->value(w->vars->arg, name) :
	    NULL;
	return v != NULL && *v != '\0';
}

/*
 * What a value must not bring into CTX: control characters but the
 * whitespace the context allows, and bidirectional embeddings, overrides
 * and isolates.
 */
static int
value_dropped(enum template_context ctx, uint32_t cp)
{
	if (cp == '\t' || ((cp == '\n' || cp == '\r') &&
	    ctx != TEMPLATE_HEADER))
		return 0;
	return utf8_is_control(cp) || utf8_is_bidi_control(cp);
}

/*
 * Appends the N bytes of the value V, cleaned for the context as
 * template.h says; with ESCAPE, the HTML specials as references.  Runs
 * of bytes that need nothing are appended whole.  0, or -1 over the size
 * limit.
 */
static int
walk_put(struct walk *w, const char *v, size_t n, int escape)
{
	const char *p = v, *run = v, *end = v + n, *rep;
	size_t k;
	uint32_t cp;
	int prev;

	while (p < end) {
		rep = NULL;
		if ((unsigned char)*p < 0x80) {
			cp = (unsigned char)*p;
			k = 1;
		} else if ((k = utf8_decode(p, (size_t)(end - p), &cp)) ==
		    0) {
			p++;		/* not UTF-8: left as it came */
			continue;
		}
		if (value_dropped(w->ctx, cp))
			rep = "";
		else if (cp == '\t' && w->ctx == TEMPLATE_HEADER)
			rep = " ";
		else if (cp == '?' && w->ctx == TEMPLATE_HEADER) {
			/* "=?" opens an encoded word; "=?=", the end of one
			 * ending in base64 padding, never does */
			prev = p > run ? (unsigned char)p[-1] : walk_last(w);
			if (prev == '=' && (p + 1 == end || p[1] != '='))
				rep = " ?";
		} else if (escape) {
			switch (cp) {
			case '&': rep = "&amp;"; break;
			case '<': rep = "&lt;"; break;
			case '>': rep = "&gt;"; break;
			case '"': rep = "&quot;"; break;
			case '\'': rep = "&#39;"; break;
			}
		}
		if (rep != NULL) {
			if (buf_append(w->out, run, (size_t)(p - run)) == -1 ||
			    buf_puts(w->out, rep) == -1)
				return -1;
			run = p + k;
		}
		p += k;
	}
	return buf_append(w->out, run, (size_t)(end - run));
}

static int
walk_value(struct walk *w, size_t pos, const struct tag *t)
{
	const char *v = NULL;
	size_t n;

	if (w->vars == NULL)
		return 0;
	if (w->vars->value != NULL)
		v = w->vars->value(w->vars->arg, t->name);
	if ((v == NULL || *v == '\0') && t->has_def) {
		v = t->def;
		n = t->deflen;
	} else if (v == NULL) {
		if (!w->vars->unknown_empty)
			return walk_fail(w, pos, "unknown placeholder {{%s}}",
			    t->name);
		return 0;
	} else
		n = strlen(v);
	if (!walk_kept(w))
		return 0;
	if (w->ctx == TEMPLATE_HEADER && (memchr(v, '\r', n) != NULL ||
	    memchr(v, '\n', n) != NULL))
		return walk_fail(w, pos, "the value of {{%s}} holds a line"
		    " break, refused in a header", t->name);
	if (w->report != NULL)
		return 0;
	if (walk_put(w, v, n, w->ctx == TEMPLATE_HTML && t->kind != TAG_RAW)
	    == -1)
		return walk_fail(w, pos, "%s", "rendered text over the size"
		    " limit");
	w->value_end = w->out->len;
	return 0;
}

static int
walk_tagged(struct walk *w, size_t pos, const struct tag *t)
{
	int kept;

	if (w->name_cb != NULL && t->kind != TAG_COMMENT &&
	    t->kind != TAG_CLOSE)
		w->name_cb(w->cb_arg, t->name, t->kind == TAG_SECTION ||
		    t->kind == TAG_INVERTED);
	switch (t->kind) {
	case TAG_COMMENT:
		return 0;
	case TAG_VALUE:
	case TAG_RAW:
		return walk_value(w, pos, t);
	case TAG_SECTION:
	case TAG_INVERTED:
		if (w->depth == TEMPLATE_DEPTH_MAX)
			return walk_fail(w, pos, "sections nested deeper than"
			    " %s", "16");
		kept = walk_kept(w);
		if (w->vars != NULL && kept)
			kept = walk_truth(w, t->name) == (t->kind ==
			    TAG_SECTION);
		snprintf(w->stack[w->depth].name, TEMPLATE_NAME_MAX, "%s",
		    t->name);
		w->stack[w->depth].pos = pos;
		w->stack[w->depth++].kept = kept;
		return 0;
	case TAG_CLOSE:
		if (w->depth == 0)
			return walk_fail(w, pos, "{{/%s}} closes no section",
			    t->name);
		if (strcmp(w->stack[w->depth - 1].name, t->name) != 0) {
			char both[2 * TEMPLATE_NAME_MAX + 16];

			snprintf(both, sizeof(both), "%s}} inside {{#%s",
			    t->name, w->stack[w->depth - 1].name);
			return walk_fail(w, pos, "{{/%s}}", both);
		}
		w->depth--;
		return 0;
	}
	return 0;
}

/*
 * After a wrong close, when every error is wanted: one that names an
 * outer section closes it and those inside it; one that names none is
 * taken for a misspelt close of the innermost, so that one slip is one
 * error.
 */
static void
walk_recover_close(struct walk *w, const struct tag *t)
{
	int i;

	if (t->kind != TAG_CLOSE || w->depth == 0)
		return;
	for (i = w->depth - 1; i >= 0; i--)
		if (strcmp(w->stack[i].name, t->name) == 0) {
			w->depth = i;
			return;
		}
	w->depth--;
}

static int
walk_run(struct walk *w)
{
	const char *p;
	size_t lit = 0, pos, ls, next;
	struct tag t;

	while (lit < w->len) {
		p = find(w->in + lit, w->len - lit, "{{", 2);
		if (p == NULL)
			break;
		pos = (size_t)(p - w->in);
		if (walk_tag(w, pos, &t) == -1) {
			if (w->report == NULL)
				return -1;
			/* an unclosed tag has no end: look on after its {{ */
			lit = t.end > pos ? t.end : pos + 2;
			continue;
		}
		if (walk_standalone(w, lit, pos, &t, &ls, &next)) {
			if (walk_emit(w, lit, w->in + lit, ls - lit) == -1)
				return -1;
			lit = next;
		} else {
			if (walk_emit(w, lit, w->in + lit, pos - lit) == -1)
				return -1;
			lit = t.end;
		}
		if (walk_tagged(w, pos, &t) == -1) {
			if (w->report == NULL)
				return -1;
			walk_recover_close(w, &t);
		}
	}
	if (walk_emit(w, lit, w->in + lit, w->len - lit) == -1)
		return -1;
	/* each section never closed, at its opening tag */
	while (w->depth > 0) {
		w->depth--;
		walk_fail(w, w->stack[w->depth].pos, "{{#%s}} is never closed",
		    w->stack[w->depth].name);
		if (w->report == NULL)
			return -1;
	}
	return w->nerrors > 0 ? -1 : 0;
}

int
template_render(const char *in, size_t len, enum template_context ctx,
    const struct template_vars *vars, struct buf *out, char *err,
    size_t errlen)
{
	struct walk w = { .in = in, .len = len, .ctx = ctx, .vars = vars,
	    .out = out, .err = err, .errlen = errlen };

	return walk_run(&w);
}

int
template_check(const char *in, size_t len,
    void (*name_cb)(void *arg, const char *name, int is_section), void *arg,
    char *err, size_t errlen)
{
	struct walk w = { .in = in, .len = len, .name_cb = name_cb,
	    .cb_arg = arg, .err = err, .errlen = errlen };

	return walk_run(&w);
}

size_t
template_errors(const char *in, size_t len, enum template_context ctx,
    const struct template_vars *vars,
    void (*report)(void *arg, size_t pos, const char *why), void *arg)
{
	struct walk w = { .in = in, .len = len, .ctx = ctx, .vars = vars,
	    .report = report, .report_arg = arg };

	walk_run(&w);
	return w.nerrors;
}
