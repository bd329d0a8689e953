/*
 * test_str.c - bounded copies and UTF-8: a cut never splits a character,
 * whatever its length and wherever the end falls, and the decoder and
 * character classes the renderer filters values with.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "parse.h"
#include "str.h"
#include "utf8.h"

/* N copies of S into OUT (of OUTLEN bytes), terminated. */
static void
rep(char *out, size_t outlen, const char *s, size_t n)
{
	size_t i, len = strlen(s);

	assert_true(n * len < outlen);
	for (i = 0; i < n; i++)
		memcpy(out + i * len, s, len);
	out[n * len] = '\0';
}

static void
test_copy_ascii(void **state)
{
	char dst[8];

	(void)state;
	str_copy(dst, sizeof(dst), "Ann");
	assert_string_equal(dst, "Ann");
	str_copy(dst, sizeof(dst), "Annabelle");
	assert_string_equal(dst, "Annabel");
	str_copy(dst, sizeof(dst), NULL);
	assert_string_equal(dst, "");
	str_copy(dst, 1, "Ann");
	assert_string_equal(dst, "");
}

/*
 * Every length of buffer over names of two-, three- and four-byte
 * characters: the copy is the longest prefix of whole characters that
 * fits, so always valid UTF-8 and never more than three bytes short.
 */
static void
test_copy_utf8_boundary(void **state)
{
	static const char *const chars[] = {
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"
	};
	char src[400], dst[160];
	size_t c, len, n, want, clen;

	(void)state;
	for (c = 0; c < sizeof(chars) / sizeof(chars[0]); c++) {
		clen = strlen(chars[c]);
		/* "a" first, so that every alignment of the end is met */
		src[0] = 'a';
		rep(src + 1, sizeof(src) - 1, chars[c], 300 / clen);
		for (len = 1; len <= sizeof(dst); len++) {
			str_copy(dst, len, src);
			n = strlen(dst);
			want = len == 1 ? 0 : 1 + (len - 2) / clen * clen;
			if (n != want)
				fail_msg("%zu-byte characters, buffer %zu: %zu"
				    " bytes, want %zu", clen, len, n, want);
			assert_true(parse_utf8_valid(dst, n));
			assert_memory_equal(dst, src, n);
		}
	}
	/* the case of the issue: 127 bytes, a two-byte character at 126 */
	rep(src, sizeof(src), "\xc3\xa9", 100);
	str_copy(dst, 128, src);
	assert_int_equal(strlen(dst), 126);
	assert_true(parse_utf8_valid(dst, strlen(dst)));
}

/* Bytes that are not UTF-8 are cut where the buffer ends, as before. */
static void
test_copy_not_utf8(void **state)
{
	char dst[4];

	(void)state;
	str_copy(dst, sizeof(dst), "\x80\x80\x80\x80\x80");
	assert_int_equal(strlen(dst), 3);
	str_copy(dst, sizeof(dst), "ab\xff\xfe");
	assert_string_equal(dst, "ab\xff");
}

static void
test_cut(void **state)
{
	static const char s[] = "a\xe2\x82\xac" "b";

	(void)state;
	assert_int_equal(utf8_cut(s, 5, 9), 5);	/* fits */
	assert_int_equal(utf8_cut(s, 5, 5), 5);
	assert_int_equal(utf8_cut(s, 5, 4), 4);	/* ends before "b" */
	assert_int_equal(utf8_cut(s, 5, 3), 1);	/* inside the euro */
	assert_int_equal(utf8_cut(s, 5, 2), 1);
	assert_int_equal(utf8_cut(s, 5, 1), 1);
	assert_int_equal(utf8_cut(s, 5, 0), 0);
	assert_int_equal(utf8_cut("\x82\xac", 2, 1), 1);	/* no lead */
}

static void
test_decode_and_classes(void **state)
{
	uint32_t cp;

	(void)state;
	assert_int_equal(utf8_decode("A", 1, &cp), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(utf8_decode("\xc2\x9b", 2, &cp), 2);
	assert_int_equal(cp, 0x9b);
	assert_true(utf8_is_control(cp));		/* CSI, C1 */
	assert_int_equal(utf8_decode("\xe2\x80\xae", 3, &cp), 3);
	assert_true(utf8_is_bidi_control(cp));		/* RLO */
	assert_int_equal(utf8_decode("\xe2\x81\xa6", 3, &cp), 3);
	assert_true(utf8_is_bidi_control(cp));		/* LRI */
	assert_int_equal(utf8_decode("\xe2\x80\x8f", 3, &cp), 3);
	assert_false(utf8_is_bidi_control(cp));		/* RLM is kept */
	assert_int_equal(utf8_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(utf8_decode("\xe2\x82", 2, &cp), 0);
	assert_int_equal(utf8_decode("\xc0\xaf", 2, &cp), 0);
	assert_int_equal(utf8_decode("\xed\xa0\x80", 3, &cp), 0);
	assert_true(utf8_is_control(0x1b));
	assert_true(utf8_is_control(0x07));
	assert_true(utf8_is_control(0x7f));
	assert_false(utf8_is_control(' '));
	assert_false(utf8_is_control(0xa0));
	assert_false(utf8_is_bidi_control(0x202f));
	assert_false(utf8_is_bidi_control(0x2065));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_ascii),
		cmocka_unit_test(test_copy_utf8_boundary),
		cmocka_unit_test(test_copy_not_utf8),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_decode_and_classes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
