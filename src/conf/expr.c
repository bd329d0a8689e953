/*
 * expr.c - audience expressions (expr.h): a recursive-descent parser
 * that emits a postfix program, and its evaluation.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "expr.h"
#include "xalloc.h"

enum expr_op {
	OP_NAME,
	OP_NOT,
	OP_AND,
	OP_OR
};

struct expr_step {
	enum expr_op	 op;
	size_t		 name;		/* OP_NAME: index into names */
};

struct expr {
	char		*text;
	char		**names;
	size_t		 nnames;
	struct expr_step prog[EXPR_MAX_OPS];
	size_t		 nprog;
};

enum tok {
	TOK_END,
	TOK_NAME,
	TOK_AND,
	TOK_OR,
	TOK_NOT,
	TOK_OPEN,
	TOK_CLOSE,
	TOK_BAD
};

struct parser {
	struct expr	*e;
	const char	*s;
	size_t		 pos;		/* of the current token */
	size_t		 len;		/* its length */
	enum tok	 tok;
	int		 depth;
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static int
name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("_.-:", c));
}

/* The token after the current one. */
static void
next(struct parser *p)
{
	const char *s;
	size_t n;

	p->pos += p->len;
	while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t')
		p->pos++;
	s = p->s + p->pos;
	p->len = 1;
	switch (*s) {
	case '\0':
		p->len = 0;
		p->tok = TOK_END;
		return;
	case '&':
		p->tok = TOK_AND;
		return;
	case '|':
		p->tok = TOK_OR;
		return;
	case '!':
		p->tok = TOK_NOT;
		return;
	case '(':
		p->tok = TOK_OPEN;
		return;
	case ')':
		p->tok = TOK_CLOSE;
		return;
	}
	for (n = 0; name_char((unsigned char)s[n]); n++)
		;
	if (n == 0) {
		p->tok = TOK_BAD;
		return;
	}
	p->len = n;
	if (n == 3 && strncasecmp(s, "and", 3) == 0)
		p->tok = TOK_AND;
	else if (n == 2 && strncasecmp(s, "or", 2) == 0)
		p->tok = TOK_OR;
	else if (n == 3 && strncasecmp(s, "not", 3) == 0)
		p->tok = TOK_NOT;
	else
		p->tok = TOK_NAME;
}

/* The first error wins: it is where the text went wrong. */
static void __attribute__((format(printf, 2, 3)))
fail(struct parser *p, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	if (p->failed++)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "column %zu: %s", p->pos + 1, what);
}

/* What the current token is, for an error. */
static const char *
found(const struct parser *p, char *buf, size_t len)
{
	if (p->tok == TOK_END)
		return "the end";
	snprintf(buf, len, "'%.*s'", (int)(p->len > 32 ? 32 : p->len),
	    p->s + p->pos);
	return buf;
}

static void
emit(struct parser *p, enum expr_op op, size_t name)
{
	if (p->e->nprog == EXPR_MAX_OPS) {
		fail(p, "more than %d names and operators", EXPR_MAX_OPS);
		return;
	}
	p->e->prog[p->e->nprog].op = op;
	p->e->prog[p->e->nprog++].name = name;
}

/* The current name's index in the expression's names, added if new. */
static size_t
intern(struct parser *p)
{
	struct expr *e = p->e;
	size_t i;

	for (i = 0; i < e->nnames; i++)
		if (strlen(e->names[i]) == p->len &&
		    strncmp(e->names[i], p->s + p->pos, p->len) == 0)
			return i;
	e->names = xreallocarray(e->names, e->nnames + 1, sizeof(*e->names));
	e->names[e->nnames] = xstrndup(p->s + p->pos, p->len);
	return e->nnames++;
}

static void parse_or(struct parser *);

/* name | '(' or ')' | NOT unary */
static void
parse_unary(struct parser *p)
{
	char buf[40];

	if (p->failed)
		return;
	if (p->depth >= EXPR_MAX_DEPTH) {
		fail(p, "nested more than %d deep", EXPR_MAX_DEPTH);
		return;
	}
	switch (p->tok) {
	case TOK_NAME:
		emit(p, OP_NAME, intern(p));
		next(p);
		return;
	case TOK_NOT:
		p->depth++;
		next(p);
		parse_unary(p);
		emit(p, OP_NOT, 0);
		p->depth--;
		return;
	case TOK_OPEN:
		p->depth++;
		next(p);
		parse_or(p);
		if (!p->failed && p->tok != TOK_CLOSE)
			fail(p, "expected ')', found %s",
			    found(p, buf, sizeof(buf)));
		next(p);
		p->depth--;
		return;
	default:
		fail(p, "expected a name, '(' or '!', found %s",
		    found(p, buf, sizeof(buf)));
	}
}

static void
parse_and(struct parser *p)
{
	parse_unary(p);
	while (!p->failed && p->tok == TOK_AND) {
		next(p);
		parse_unary(p);
		emit(p, OP_AND, 0);
	}
}

static void
parse_or(struct parser *p)
{
	parse_and(p);
	while (!p->failed && p->tok == TOK_OR) {
		next(p);
		parse_and(p);
		emit(p, OP_OR, 0);
	}
}

int
expr_parse(const char *text, struct expr **out, char *err, size_t errlen)
{
	struct parser p;
	char buf[40];

	*out = NULL;
	memset(&p, 0, sizeof(p));
	if (strlen(text) > EXPR_MAX_LEN) {
		snprintf(err, errlen, "longer than %d bytes", EXPR_MAX_LEN);
		return -1;
	}
	p.e = xcalloc(1, sizeof(*p.e));
	p.s = text;
	p.err = err;
	p.errlen = errlen;
	next(&p);
	if (p.tok == TOK_END)
		fail(&p, "empty");
	parse_or(&p);
	if (!p.failed && p.tok != TOK_END)
		fail(&p, "expected '&', '|' or the end, found %s",
		    found(&p, buf, sizeof(buf)));
	if (p.failed) {
		expr_free(p.e);
		return -1;
	}
	p.e->text = xstrdup(text);
	*out = p.e;
	return 0;
}

void
expr_free(struct expr *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nnames; i++)
		free(e->names[i]);
	free(e->names);
	free(e->text);
	free(e);
}

const char *
expr_text(const struct expr *e)
{
	return e->text;
}

const char *
expr_name(const struct expr *e)
{
	return e->nnames == 1 && strcmp(e->text, e->names[0]) == 0 ?
	    e->names[0] : NULL;
}

const char *const *
expr_names(const struct expr *e, size_t *n)
{
	*n = e->nnames;
	return (const char *const *)e->names;
}

int
expr_eval(const struct expr *e, int (*has)(const char *, void *), void *arg)
{
	unsigned char stack[EXPR_MAX_OPS];
	size_t i, top = 0;

	/* the parser emitted a well-formed program: every operator finds
	 * its operands, and one value is left */
	for (i = 0; i < e->nprog; i++) {
		switch (e->prog[i].op) {
		case OP_NAME:
			stack[top++] = has(e->names[e->prog[i].name], arg) != 0;
			break;
		case OP_NOT:
			stack[top - 1] = !stack[top - 1];
			break;
		case OP_AND:
			top--;
			stack[top - 1] = stack[top - 1] & stack[top];
			break;
		case OP_OR:
			top--;
			stack[top - 1] = stack[top - 1] | stack[top];
			break;
		}
	}
	return stack[0];
}
