/*
 * template - the Mustache subset that campaigns are written in.
 *
 *   {{offer}}                      a value, escaped for where it lands
 *   {{first_name|default:"there"}} a value, or the default when it is
 *                                  missing or empty
 *   {{{offer}}}  {{&offer}}        a value, never escaped (HTML parts)
 *   {{#vip}}...{{/vip}}            kept only when vip is true
 *   {{^vip}}...{{/vip}}            kept only when vip is false
 *   {{! a note for colleagues }}   dropped
 *
 * Sections nest.  A section, inverted section or comment tag alone on its
 * line takes the line with it, as in Mustache, so blocks in plain-text
 * mail leave no blank lines behind.
 *
 * Escaping follows the context: TEMPLATE_HTML escapes & < > " and ',
 * TEMPLATE_TEXT escapes nothing, and TEMPLATE_HEADER escapes nothing but
 * refuses a value holding CR or LF, which would let a value forge
 * headers.
 *
 * Whatever a placeholder puts in (a value or its default, raw or not)
 * is cleaned first, in every context, since values are customer data.
 * Control characters (C0, DEL, C1) are dropped but for a tab (a space
 * in a header) and, in text and HTML, CR and LF: a campaign's value may
 * span lines, and a customer's lost its line breaks at import.  The
 * bidirectional embeddings, overrides and isolates (U+202A..U+202E,
 * U+2066..U+2069), which make text read in another order than it is
 * stored, are dropped too; the marks U+200E and U+200F, which
 * right-to-left names carry, stay.  In a header, a "=?" that a value
 * makes (within it, or with the text just before or after it) becomes
 * "= ?", so that a mail reader shows a customer's look-alike of an RFC
 * 2047 encoded word instead of decoding it; "=?=" inside a value, the
 * end of a base64 word, opens none and stays.  Bytes that are not UTF-8
 * are copied as they are.  The template's own text is its author's and
 * stays as written.
 *
 * The template is checked in full whatever the values are: a syntax error
 * or an unknown placeholder inside a section that is not kept is still an
 * error, so a campaign fails the same way for every recipient and
 * `segmilter -n` and `segctl preview` see what the milter will see.
 * A name without a value is unknown unless it has a default or the
 * caller asked for unknown names to render empty.
 *
 * Pure: no I/O, no global state.
 */
#ifndef SEGM_TEMPLATE_H
#define SEGM_TEMPLATE_H

#include <stddef.h>

#include "buf.h"

#define TEMPLATE_NAME_MAX	64
#define TEMPLATE_DEPTH_MAX	16

enum template_context {
	TEMPLATE_TEXT,
	TEMPLATE_HTML,
	TEMPLATE_HEADER
};

struct template_vars {
	/* The value of NAME, or NULL when it has none. */
	const char	*(*value)(void *arg, const char *name);
	/* 1 when the section NAME is true (a segment, facet, interest). */
	int		 (*flag)(void *arg, const char *name);
	void		*arg;
	int		 unknown_empty;	/* 1: render unknown names as "" */
};

/*
 * Renders IN (LEN bytes) into OUT, appending.  Returns 0, or -1 with ERR
 * set to "line N: reason"; OUT then holds a partial result to discard.
 */
int	 template_render(const char *in, size_t len, enum template_context ctx,
	    const struct template_vars *vars, struct buf *out, char *err,
	    size_t errlen);

/*
 * Checks IN's syntax only and calls NAME_CB for every placeholder and
 * section name it uses (with is_section set), for configuration checks.
 */
int	 template_check(const char *in, size_t len,
	    void (*name_cb)(void *arg, const char *name, int is_section),
	    void *arg, char *err, size_t errlen);

/*
 * Every error template_render would meet in IN with VARS (NULL: the
 * syntax alone), each reported once, in order, to REPORT with POS, the
 * offset of the tag it is about (for a section never closed, its opening
 * tag), and WHY; the walk goes on after each.  Nothing is rendered.
 * Returns how many there were.
 */
size_t	 template_errors(const char *in, size_t len,
	    enum template_context ctx, const struct template_vars *vars,
	    void (*report)(void *arg, size_t pos, const char *why),
	    void *arg);

#endif
