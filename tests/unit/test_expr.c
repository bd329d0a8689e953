/*
 * test_expr.c - audience expressions: precedence and the words for the
 * operators, every error at its column, the bounds, and evaluation
 * checked against a truth table for every combination of its names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "expr.h"

/* The names a recipient carries, as one space-separated string. */
static int
has(const char *name, void *arg)
{
	const char *set = arg, *p;
	size_t n = strlen(name);

	for (p = set; (p = strstr(p, name)) != NULL; p += n)
		if ((p == set || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

static int
eval(const char *text, const char *carried)
{
	struct expr *e;
	char err[160];
	int v;

	if (expr_parse(text, &e, err, sizeof(err)) != 0)
		fail_msg("%s: %s", text, err);
	v = expr_eval(e, has, (void *)carried);
	expr_free(e);
	return v;
}

static void
test_precedence(void **state)
{
	(void)state;
	/* & before |: a | (b & c) */
	assert_true(eval("a | b & c", "a"));
	assert_false(eval("a | b & c", "b"));
	assert_true(eval("a | b & c", "b c"));
	/* parentheses change it */
	assert_false(eval("(a | b) & c", "a"));
	assert_true(eval("(a | b) & c", "a c"));
	/* ! before &: (!a) & b */
	assert_true(eval("!a & b", "b"));
	assert_false(eval("!a & b", "a b"));
	assert_true(eval("!(a & b)", "a"));
	assert_true(eval("!!a", "a"));
	/* the words, in any case */
	assert_true(eval("lapsed AND coffee and NOT b2b",
	    "lapsed coffee"));
	assert_false(eval("lapsed and coffee and not b2b",
	    "lapsed coffee b2b"));
	assert_true(eval("vip Or repeat", "repeat"));
	/* the issue's own example */
	assert_true(eval("lapsed_coffee & language_de & !b2b",
	    "lapsed_coffee language_de vip"));
	assert_false(eval("lapsed_coffee & language_de & !b2b",
	    "lapsed_coffee language_fr"));
	/* nobody, everybody */
	assert_false(eval("a & !a", "a"));
	assert_true(eval("a | !a", ""));
}

/* Every assignment of A..D: the program equals the C expression. */
static void
test_truth_table(void **state)
{
	static const char *const names[] = { "a", "b", "c", "d" };
	char carried[16];
	int m, i, a, b, c, d;

	(void)state;
	for (m = 0; m < 16; m++) {
		carried[0] = '\0';
		for (i = 0; i < 4; i++)
			if (m & (1 << i)) {
				strcat(carried, names[i]);
				strcat(carried, " ");
			}
		a = m & 1, b = (m >> 1) & 1, c = (m >> 2) & 1, d = (m >> 3) & 1;
		assert_int_equal(eval("a & b | c & !d", carried),
		    (a && b) || (c && !d));
		assert_int_equal(eval("a & (b | c) & !(d | a & b)", carried),
		    a && (b || c) && !(d || (a && b)));
		assert_int_equal(eval("not (a or b) or c and d", carried),
		    !(a || b) || (c && d));
	}
}

static void
test_errors(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;
	} bad[] = {
		{ "", "column 1: empty" },
		{ "   ", "column 4: empty" },
		{ "vip &", "column 6: expected a name, '(' or '!', found the"
		    " end" },
		{ "vip & | b2b", "column 7: expected a name, '(' or '!', found"
		    " '|'" },
		{ "(vip | repeat", "column 14: expected ')', found the end" },
		{ "vip)", "column 4: expected '&', '|' or the end, found ')'" },
		{ "VIP Club", "column 5: expected '&', '|' or the end, found"
		    " 'Club'" },
		{ "vip # x", "column 5: expected '&', '|' or the end, found"
		    " '#'" },
		{ "!", "column 2: expected a name, '(' or '!', found the end" },
		{ "and", "column 1: expected a name, '(' or '!', found 'and'" },
	};
	struct expr *e;
	char err[160], text[EXPR_MAX_LEN + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (expr_parse(bad[i].text, &e, err, sizeof(err)) != -1)
			fail_msg("'%s' parsed", bad[i].text);
		assert_null(e);
		assert_string_equal(err, bad[i].err);
	}
	/* the bounds: length, terms, depth */
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(expr_parse(text, &e, err, sizeof(err)), -1);
	assert_string_equal(err, "longer than 1024 bytes");
	text[0] = '\0';
	for (i = 0; i < 70; i++)
		strcat(text, i ? "|a" : "a");
	assert_int_equal(expr_parse(text, &e, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 128 names and operators"));
	memset(text, '(', 40);
	strcpy(text + 40, "a");
	assert_int_equal(expr_parse(text, &e, err, sizeof(err)), -1);
	assert_string_equal(err, "column 33: nested more than 32 deep");
	memset(text, '!', 40);
	assert_int_equal(expr_parse(text, &e, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nested more than 32 deep"));
}

/* The names, once each, in order; the text as written. */
static void
test_names(void **state)
{
	const char *const *v;
	struct expr *e;
	char err[160];
	size_t n;

	(void)state;
	assert_int_equal(expr_parse(" (vip | lapsed_coffee) & !vip &"
	    " country_de", &e, err, sizeof(err)), 0);
	v = expr_names(e, &n);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "vip");
	assert_string_equal(v[1], "lapsed_coffee");
	assert_string_equal(v[2], "country_de");
	assert_string_equal(expr_text(e), " (vip | lapsed_coffee) & !vip &"
	    " country_de");
	expr_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_truth_table),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
