/*
 * test_template.c - the campaign template language: values, defaults,
 * sections, escaping per context, standalone lines and every error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "render.h"
#include "template.h"

static const char *const values[][2] = {
	{ "offer", "20% off" },
	{ "first_name", "Zo\xc3\xab" },
	{ "empty", "" },
	{ "html", "<b>Tea & \"Coffee\"</b>" },
	{ "evil", "x\r\nBcc: all@example.com" },
	/* customer data as hostile as it comes */
	{ "ctl", "A\x1b[31mB\x07" "C\x7f" "D\xc2\x9b" "E\tF" },
	{ "bidi", "\xe2\x80\xae" "evil\xe2\x80\xac \xe2\x81\xa6x\xe2\x81\xa9"
	    " \xe2\x80\x8fok" },
	{ "mix", "\xe2\x80\xae<b>&\x07" },
	{ "ew", "=?utf-8?b?QWRtaW4=?=" },
	{ "ewctl", "=\x1b?utf-8?b?QQ==?=" },
	{ "ew2", "=?=?utf-8?q?A?=" },
	{ "eq", "x=" },
	{ "q", "?utf-8?q?A?=" },
	{ "lf", "a\nb" },
	{ "sms", "Ren\xc3\xa9\x1b\xe2\x80\xae" },
};
static const char *const flags[] = { "vip", "cart_abandoner", "coffee" };

static const char *
lookup(void *arg, const char *name)
{
	size_t i;

	(void)arg;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		if (strcmp(values[i][0], name) == 0)
			return values[i][1];
	return NULL;
}

static int
flag(void *arg, const char *name)
{
	size_t i;

	(void)arg;
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(flags[i], name) == 0)
			return 1;
	return 0;
}

static const struct template_vars vars = { lookup, flag, NULL, 0 };
static char err[256];
static struct buf out;

/* Renders IN; returns the output, or NULL with err set. */
static const char *
render(const char *in, enum template_context ctx, const struct template_vars *v)
{
	buf_free(&out);
	buf_init(&out, 1 << 20);
	err[0] = '\0';
	if (template_render(in, strlen(in), ctx, v, &out, err,
	    sizeof(err)) == -1)
		return NULL;
	return buf_str(&out);
}

static void
test_values(void **state)
{
	(void)state;
	assert_string_equal(render("Hi {{first_name}}, {{ offer }}!",
	    TEMPLATE_TEXT, &vars), "Hi Zo\xc3\xab, 20% off!");
	assert_string_equal(render("Hi {{name|default:\"there\"}}",
	    TEMPLATE_TEXT, &vars), "Hi there");
	assert_string_equal(render("Hi {{empty | default: 'friend' }}",
	    TEMPLATE_TEXT, &vars), "Hi friend");
	assert_string_equal(render("Hi {{first_name|default:\"there\"}}",
	    TEMPLATE_TEXT, &vars), "Hi Zo\xc3\xab");
	assert_string_equal(render("no tags at all", TEMPLATE_TEXT, &vars),
	    "no tags at all");
	assert_string_equal(render("{{! for the team }}a{{!x}}b",
	    TEMPLATE_TEXT, &vars), "ab");
	assert_string_equal(render("", TEMPLATE_TEXT, &vars), "");
	/* a lone brace is text */
	assert_string_equal(render("{ x } {", TEMPLATE_TEXT, &vars),
	    "{ x } {");
	/* delimiters found next to braces and at the very ends */
	assert_string_equal(render("{{{offer}}}{{offer}}{", TEMPLATE_TEXT,
	    &vars), "20% off20% off{");
	assert_string_equal(render("{ {{offer}}}", TEMPLATE_TEXT, &vars),
	    "{ 20% off}");
	assert_string_equal(render("}}{{offer}}", TEMPLATE_TEXT, &vars),
	    "}}20% off");
}

static void
test_sections(void **state)
{
	(void)state;
	assert_string_equal(render("{{#vip}}V{{/vip}}{{^vip}}N{{/vip}}",
	    TEMPLATE_TEXT, &vars), "V");
	assert_string_equal(render("{{#lapsed}}L{{/lapsed}}{{^lapsed}}A"
	    "{{/lapsed}}", TEMPLATE_TEXT, &vars), "A");
	/* nested: the inner block is kept only inside a kept outer one */
	assert_string_equal(render("{{#vip}}a{{#coffee}}b{{/coffee}}"
	    "{{#tea}}c{{/tea}}{{/vip}}{{#tea}}{{#vip}}d{{/vip}}{{/tea}}",
	    TEMPLATE_TEXT, &vars), "ab");
	/* a value that is set and not empty is true as a section */
	assert_string_equal(render("{{#offer}}o{{/offer}}{{#empty}}e"
	    "{{/empty}}", TEMPLATE_TEXT, &vars), "o");
}

static void
test_standalone_lines(void **state)
{
	(void)state;
	assert_string_equal(render("Hello\n{{#vip}}\nVIP line\n{{/vip}}\n"
	    "{{^vip}}\nOther line\n{{/vip}}\nBye\n", TEMPLATE_TEXT, &vars),
	    "Hello\nVIP line\nBye\n");
	assert_string_equal(render("a\r\n  {{#vip}}  \r\nb\r\n{{/vip}}\r\nc",
	    TEMPLATE_TEXT, &vars), "a\r\nb\r\nc");
	assert_string_equal(render("{{! note }}\nx", TEMPLATE_TEXT, &vars),
	    "x");
	/* not alone on its line: the text around it stays */
	assert_string_equal(render("a {{#vip}}b{{/vip}} c\n", TEMPLATE_TEXT,
	    &vars), "a b c\n");
	/* a value tag alone on its line keeps the line */
	assert_string_equal(render("{{offer}}\nx", TEMPLATE_TEXT, &vars),
	    "20% off\nx");
}

static void
test_escaping(void **state)
{
	(void)state;
	assert_string_equal(render("<p>{{html}}</p>", TEMPLATE_HTML, &vars),
	    "<p>&lt;b&gt;Tea &amp; &quot;Coffee&quot;&lt;/b&gt;</p>");
	assert_string_equal(render("{{{html}}}|{{&html}}", TEMPLATE_HTML,
	    &vars), "<b>Tea & \"Coffee\"</b>|<b>Tea & \"Coffee\"</b>");
	assert_string_equal(render("{{html}}", TEMPLATE_TEXT, &vars),
	    "<b>Tea & \"Coffee\"</b>");
	assert_string_equal(render("{{x|default:\"<&>\"}}", TEMPLATE_HTML,
	    &vars), "&lt;&amp;&gt;");
	assert_string_equal(render("Sale: {{offer}}", TEMPLATE_HEADER,
	    &vars), "Sale: 20% off");
	assert_null(render("Sale {{evil}}", TEMPLATE_HEADER, &vars));
	assert_string_equal(err, "line 1: the value of {{evil}} holds a line"
	    " break, refused in a header");
	/* the same value is fine where it is not emitted */
	assert_string_equal(render("{{#tea}}{{evil}}{{/tea}}ok",
	    TEMPLATE_HEADER, &vars), "ok");
}

/*
 * Values lose control characters (but a tab, and line breaks outside a
 * header) and bidirectional overrides, embeddings and isolates in every
 * context; in a header an "=?" a value makes is broken, so that a mail
 * reader shows it instead of decoding it.  The template's own text is
 * left as written.
 */
static void
test_values_neutralised(void **state)
{
	struct render_sms_size z;
	const char *s;

	(void)state;
	assert_string_equal(render("{{ctl}}", TEMPLATE_TEXT, &vars),
	    "A[31mBCDE\tF");
	assert_string_equal(render("{{ctl}}|{{{ctl}}}", TEMPLATE_HTML, &vars),
	    "A[31mBCDE\tF|A[31mBCDE\tF");
	assert_string_equal(render("{{ctl}}", TEMPLATE_HEADER, &vars),
	    "A[31mBCDE F");
	/* the right-to-left mark is a letter's, not an override: kept */
	assert_string_equal(render("{{bidi}}", TEMPLATE_TEXT, &vars),
	    "evil x \xe2\x80\x8fok");
	assert_string_equal(render("{{bidi}}", TEMPLATE_HEADER, &vars),
	    "evil x \xe2\x80\x8fok");
	assert_string_equal(render("{{mix}}|{{{mix}}}", TEMPLATE_HTML, &vars),
	    "&lt;b&gt;&amp;|<b>&");
	assert_string_equal(render("{{x|default:\"\x1bHi\xe2\x80\xae\"}}",
	    TEMPLATE_TEXT, &vars), "Hi");
	/* line breaks are text in a body, refused in a header as before */
	assert_string_equal(render("{{lf}}", TEMPLATE_TEXT, &vars), "a\nb");
	assert_null(render("{{lf}}", TEMPLATE_HEADER, &vars));

	/* encoded-word look-alikes */
	assert_string_equal(render("Hi {{ew}}", TEMPLATE_HEADER, &vars),
	    "Hi = ?utf-8?b?QWRtaW4=?=");
	assert_string_equal(render("{{ewctl}}", TEMPLATE_HEADER, &vars),
	    "= ?utf-8?b?QQ==?=");
	assert_string_equal(render("{{ew2}}", TEMPLATE_HEADER, &vars),
	    "=?= ?utf-8?q?A?=");
	assert_string_equal(render("={{q}}", TEMPLATE_HEADER, &vars),
	    "= ?utf-8?q?A?=");
	assert_string_equal(render("{{eq}}{{q}}", TEMPLATE_HEADER, &vars),
	    "x= ?utf-8?q?A?=");
	assert_string_equal(render("{{eq}}?utf-8?q?A?=", TEMPLATE_HEADER,
	    &vars), "x= ?utf-8?q?A?=");
	assert_string_equal(render("{{ew}}", TEMPLATE_TEXT, &vars),
	    "=?utf-8?b?QWRtaW4=?=");
	/* the template's own text is the author's */
	assert_string_equal(render("=?{{offer}}\x1b", TEMPLATE_HEADER, &vars),
	    "=?20% off\x1b");
	assert_string_equal(render("1+1=2? {{offer}}", TEMPLATE_HEADER,
	    &vars), "1+1=2? 20% off");

	/* ESC and an override no longer turn an SMS into UCS-2 */
	s = render("{{sms}}: {{offer}}", TEMPLATE_TEXT, &vars);
	assert_string_equal(s, "Ren\xc3\xa9: 20% off");
	assert_int_equal(render_sms_size(s, strlen(s), &z), 0);
	assert_int_equal(z.coding, RENDER_SMS_GSM7);
}

static void
test_errors(void **state)
{
	static const struct {
		const char *in, *err;
	} bad[] = {
		{ "a\nb {{offer", "line 2: tag not closed with }}" },
		{ "{{nope}}", "line 1: unknown placeholder {{nope}}" },
		{ "{{#tea}}{{nope}}{{/tea}}",
		    "line 1: unknown placeholder {{nope}}" },
		{ "{{#vip}}x", "line 1: {{#vip}} is never closed" },
		{ "{{#vip}}{{/tea}}", "line 1: {{/tea}} inside {{#vip}}" },
		{ "x\n{{/vip}}", "line 2: {{/vip}} closes no section" },
		{ "{{}}", "line 1: tag without a name" },
		{ "{{a b}}", "line 1: {{a ...}}: unexpected text in the tag" },
		{ "{{a|upper}}", "line 1: {{a|...}}: only |default:\"text\" is"
		    " known" },
		{ "{{a|default:x}}", "line 1: {{a|default:...}}: the default"
		    " must be quoted" },
		{ "{{a|default:\"x}}", "line 1: {{a|default:...}}: quote not"
		    " closed" },
		{ "{{#a|default:\"x\"}}{{/a}}", "line 1: a default on section"
		    " {{a}}" },
	};
	char deep[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(render(bad[i].in, TEMPLATE_TEXT, &vars));
		assert_string_equal(err, bad[i].err);
	}
	for (i = 0; i < TEMPLATE_DEPTH_MAX + 1; i++)
		memcpy(deep + 8 * i, "{{#vip}}", 8);
	deep[8 * i] = '\0';
	assert_null(render(deep, TEMPLATE_TEXT, &vars));
	assert_string_equal(err, "line 1: sections nested deeper than 16");
}

static void
test_unknown_empty(void **state)
{
	struct template_vars lax = vars;

	(void)state;
	lax.unknown_empty = 1;
	assert_string_equal(render("[{{nope}}]", TEMPLATE_TEXT, &lax), "[]");
}

static void
test_size_cap(void **state)
{
	(void)state;
	buf_free(&out);
	buf_init(&out, 8);
	assert_int_equal(template_render("{{offer}}{{offer}}", 18,
	    TEMPLATE_TEXT, &vars, &out, err, sizeof(err)), -1);
	assert_string_equal(err, "line 1: rendered text over the size limit");
}

struct names {
	char	seen[256];
};

static void
collect(void *arg, const char *name, int is_section)
{
	struct names *n = arg;
	size_t len = strlen(n->seen);

	snprintf(n->seen + len, sizeof(n->seen) - len, "%s%s ",
	    is_section ? "#" : "", name);
}

static void
test_check(void **state)
{
	struct names n;
	static const char tpl[] = "{{#vip}}{{offer}}{{/vip}}"
	    "{{^tea}}{{{x}}}{{/tea}}{{! c }}";

	(void)state;
	memset(&n, 0, sizeof(n));
	assert_int_equal(template_check(tpl, sizeof(tpl) - 1, collect, &n,
	    err, sizeof(err)), 0);
	assert_string_equal(n.seen, "#vip offer #tea x ");
	assert_int_equal(template_check("{{#vip}}", 8, collect, &n, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "line 1: {{#vip}} is never closed");
}

static int
teardown(void **state)
{
	(void)state;
	buf_free(&out);
	return 0;
}

/* Collects template_errors' reports as "POS: WHY" lines. */
static void
collect_error(void *arg, size_t pos, const char *why)
{
	char line[256];

	snprintf(line, sizeof(line), "%zu: %s\n", pos, why);
	strcat(arg, line);
}

/*
 * Every error of a template at once, each at the tag it is about and
 * once, the walk going on after each: a tag that runs into the next, an
 * unknown placeholder (at each place it is used), a misspelt close (one
 * slip, one error), and a section never closed, at its opening tag.
 */
static void
test_all_errors(void **state)
{
	static const char in[] =
	    "Hi {{first_name\n"		/* 3: not closed */
	    "{{frist_name}} and {{offer}}\n"	/* 16: unknown */
	    "{{#vip}}VIP{{/fi}}\n"		/* 56: closes vip */
	    "{{#coffee}}x\n"			/* 64: never closed */
	    "{{frist_name}}\n";		/* 77: unknown again */
	char got[2048] = "";

	(void)state;
	assert_int_equal(template_errors(in, strlen(in), TEMPLATE_TEXT,
	    &vars, collect_error, got), 5);
	assert_string_equal(got,
	    "3: tag not closed with }}\n"
	    "16: unknown placeholder {{frist_name}}\n"
	    "56: {{/fi}} inside {{#vip}}\n"
	    "77: unknown placeholder {{frist_name}}\n"
	    "64: {{#coffee}} is never closed\n");
	/* the syntax alone: no values, so no unknown placeholder */
	got[0] = '\0';
	assert_int_equal(template_errors(in, strlen(in), TEMPLATE_TEXT, NULL,
	    collect_error, got), 3);
	/* a good template: none, and nothing reported */
	got[0] = '\0';
	assert_int_equal(template_errors("{{offer}}", 9, TEMPLATE_TEXT, &vars,
	    collect_error, got), 0);
	assert_string_equal(got, "");
	/* template_render stops at the first, with its line */
	assert_null(render(in, TEMPLATE_TEXT, &vars));
	assert_string_equal(err, "line 1: tag not closed with }}");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_standalone_lines),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_values_neutralised),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_unknown_empty),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_all_errors),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
