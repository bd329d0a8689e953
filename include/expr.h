/*
 * expr - audience expressions of the campaign files: segment and facet
 * names joined by AND, OR, NOT and parentheses.
 *
 *   lapsed_coffee & language_de & !b2b
 *   (vip | repeat) and not country_us
 *
 * "&" or "and" binds tighter than "|" or "or"; "!" or "not" tighter
 * still; the words in any case.  A name is what a segment, facet or
 * category is called (letters, digits, "_", ".", "-", ":").  A plain
 * name is an expression of one term, so a list of names reads as it
 * always has.
 *
 * Parsing compiles to a postfix program, so that evaluating one for a
 * recipient is a loop over a few operations and a lookup per name,
 * with no recursion and no allocation.  Pure: no I/O.
 */
#ifndef SEGM_EXPR_H
#define SEGM_EXPR_H

#include <stddef.h>

/* Bounds that keep a hostile file from costing more than it says. */
#define EXPR_MAX_LEN	1024	/* bytes of text */
#define EXPR_MAX_OPS	128	/* names and operators */
#define EXPR_MAX_DEPTH	32	/* nested parentheses and nots */

struct expr;

/*
 * Compiles TEXT into *OUT, which the caller frees with expr_free().
 * 0, or -1 with ERR saying what and at which column ("column 9:
 * expected a name after '&'").
 */
int	 expr_parse(const char *text, struct expr **out, char *err,
	    size_t errlen);
void	 expr_free(struct expr *e);

/* The text as written. */
const char *expr_text(const struct expr *e);
/* The name E is when its text is that name alone ("vip"), else NULL:
 * what reads as a plain segment name where one was shown before. */
const char *expr_name(const struct expr *e);
/* Its names, each once, in order of appearance: *N of them. */
const char *const *expr_names(const struct expr *e, size_t *n);

/* Whether E holds for someone who carries exactly the names HAS says. */
int	 expr_eval(const struct expr *e, int (*has)(const char *name,
	    void *arg), void *arg);

#endif
