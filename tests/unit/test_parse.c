/*
 * test_parse.c - the value parsers on the forms exports really contain,
 * and on the near misses they must refuse rather than guess at.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "parse.h"

static void
test_email(void **state)
{
	char out[PARSE_EMAIL_MAX + 1], big[300];
	const char *err;
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "", "empty" }, { "   ", "empty" },
		{ "not-an-email", "missing @" },
		{ "a@b@example.com", "more than one @" },
		{ "@example.com", "empty local part" },
		{ "ann@localhost", "domain has no dot" },
		{ "ann@example..com", "empty label in domain" },
		{ "ann@.example.com", "empty label in domain" },
		{ "ann smith@example.com", "blank or control character inside" },
		{ "Ann <ann@example.com>", "blank or control character inside" },
		{ "<ann@example.com>", "not a bare address" },
		{ "a@example.com,b@example.com", "not a bare address" },
	};
	size_t i;

	(void)state;
	assert_int_equal(parse_email("  Ann.Smith+Tea@Example.COM\t", out,
	    sizeof(out), &err), 0);
	assert_string_equal(out, "ann.smith+tea@example.com");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(out, "untouched");
		assert_int_equal(parse_email(bad[i].in, out, sizeof(out),
		    &err), -1);
		assert_string_equal(err, bad[i].why);
		assert_string_equal(out, "untouched");
	}
	/* 254 bytes is the limit */
	memset(big, 'a', sizeof(big));
	memcpy(big + 254 - 12, "@example.com", 13);
	assert_int_equal(parse_email(big, out, sizeof(out), &err), 0);
	memset(big, 'a', sizeof(big));
	memcpy(big + 255 - 12, "@example.com", 13);
	assert_int_equal(parse_email(big, out, sizeof(out), &err), -1);
	assert_string_equal(err, "longer than 254 bytes");
}

static void
test_phone(void **state)
{
	static const struct {
		const char *in, *country, *out;
	} good[] = {
		{ "+1 (613) 555-0123", NULL, "+16135550123" },
		{ "'+16135550123", "CA", "+16135550123" },
		{ "(613) 555-0123", "CA", "+16135550123" },
		{ "1-613-555-0123", "US", "+16135550123" },
		{ "0151 12345678", "DE", "+4915112345678" },
		{ "0049 151 12345678", "FR", "+4915112345678" },
		{ "+44 (0)20 7946 0958", NULL, "+442079460958" },
		{ "020 7946 0958", "gb", "+442079460958" },
		{ "06 12 34 56 78", "FR", "+33612345678" },
		{ "02 1234 5678", "IT", "+390212345678" },	/* 0 kept */
		{ "0412 345 678", "AU", "+61412345678" },
	};
	static const struct {
		const char *in, *country, *why;
	} bad[] = {
		{ "", "US", "no digits" },
		{ "12", "US", "not ten digits" },
		{ "555-0123", "US", "not ten digits" },
		{ "0151 12345678", NULL, "national number without a known"
		    " country" },
		{ "0151 12345678", "XX", "national number without a known"
		    " country" },
		{ "151 12345678", "DE", "national number without its"
		    " leading 0" },
		{ "+49 151 1234567890123", NULL, "more than 15 digits" },
		{ "+49 151", NULL, "too short" },
		{ "+1 613 555 0123 ext 5", NULL, "not a phone number" },
		{ "+0 613 555 0123", NULL, "country code starts with 0" },
	};
	char out[PARSE_PHONE_MAX + 1];
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(parse_phone(good[i].in, good[i].country, out,
		    sizeof(out), &err), 0);
		assert_string_equal(out, good[i].out);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_phone(bad[i].in, bad[i].country, out,
		    sizeof(out), &err), -1);
		assert_string_equal(err, bad[i].why);
	}
}

static void
test_time(void **state)
{
	static const struct {
		const char *in;
		int64_t t;
	} good[] = {
		{ "2026-03-05 14:22:10 -0500", 1772738530 },	/* Shopify */
		{ "2026-03-05T19:22:10Z", 1772738530 },
		{ "2026-03-05T20:22:10+01:00", 1772738530 },
		{ "2026-03-05T19:22:10.123Z", 1772738530 },
		{ "2026-03-05 19:22:10", 1772738530 },
		{ "2026-03-05 19:22:10 UTC", 1772738530 },
		{ "2026-03-05", 1772668800 },
		{ "2024-02-29", 1709164800 },			/* leap day */
		{ "1970-01-01T00:00:00Z", 0 },
	};
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "yesterday", "not a date (YYYY-MM-DD)" },
		{ "05/03/2026", "not a date (YYYY-MM-DD)" },
		{ "2026-13-01", "bad month" },
		{ "2025-02-29", "bad day" },
		{ "2026-04-31", "bad day" },
		{ "2026-03-05T25:00:00Z", "time out of range" },
		{ "2026-03-05T10:00:00+25:00", "bad UTC offset" },
		{ "2026-03-05T10:00:00Z junk", "unexpected text after the"
		    " time" },
	};
	char out[32];
	const char *err;
	int64_t t = 42;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(parse_time(good[i].in, &t, &err), 0);
		assert_int_equal(t, good[i].t);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 42;
		assert_int_equal(parse_time(bad[i].in, &t, &err), -1);
		assert_string_equal(err, bad[i].why);
		assert_int_equal(t, 42);
	}
	format_time(1772738530, out, sizeof(out));
	assert_string_equal(out, "2026-03-05T19:22:10Z");
	assert_int_equal(parse_time(out, &t, &err), 0);
	assert_int_equal(t, 1772738530);
}

static void
test_money(void **state)
{
	static const struct {
		const char *in;
		int64_t cents;
	} good[] = {
		{ "12", 1200 }, { "12.5", 1250 }, { "12.50", 1250 },
		{ "-3.99", -399 }, { "0.005", 1 }, { "1234.567", 123457 },
		{ "1234.564", 123456 }, { "-0.125", -13 }, { ".5", 50 },
		{ "+7", 700 },
	};
	static const char *const bad[] = {
		"", "-", "1,234.56", "$12", "12 EUR", "1.2.3", "abc",
		"99999999999999999999",
	};
	const char *err;
	int64_t c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(parse_money(good[i].in, &c, &err), 0);
		assert_int_equal(c, good[i].cents);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = 42;
		assert_int_equal(parse_money(bad[i], &c, &err), -1);
		assert_int_equal(c, 42);
	}
}

static void
test_bool_int(void **state)
{
	const char *err;
	int64_t v;
	int b;

	(void)state;
	assert_int_equal(parse_bool("Yes", &b, &err), 0);
	assert_int_equal(b, 1);
	assert_int_equal(parse_bool("FALSE", &b, &err), 0);
	assert_int_equal(b, 0);
	assert_int_equal(parse_bool("n", &b, &err), 0);
	assert_int_equal(b, 0);
	assert_int_equal(parse_bool("maybe", &b, &err), -1);
	assert_string_equal(err, "not yes or no");
	assert_int_equal(parse_bool("", &b, &err), -1);

	assert_int_equal(parse_int("42", 0, 100, &v, &err), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_int("-1", 0, 100, &v, &err), -1);
	assert_string_equal(err, "out of range");
	assert_int_equal(parse_int("101", 0, 100, &v, &err), -1);
	assert_int_equal(parse_int("12x", 0, 100, &v, &err), -1);
	assert_string_equal(err, "not a number");
	assert_int_equal(parse_int("", 0, 100, &v, &err), -1);
	assert_int_equal(parse_int(" 5", 0, 100, &v, &err), -1);
	assert_int_equal(parse_int("99999999999999999999", 0, INT64_MAX, &v,
	    &err), -1);
}

static void
test_slug(void **state)
{
	char out[64], small[6];

	(void)state;
	assert_int_equal(parse_slug("Coffee Beans", out, sizeof(out)), 0);
	assert_string_equal(out, "coffee_beans");
	assert_int_equal(parse_slug("Food > Tea & Infusions", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "tea_infusions");
	assert_int_equal(parse_slug("  --Skin-Care!! ", out, sizeof(out)), 0);
	assert_string_equal(out, "skin_care");
	assert_int_equal(parse_slug("Caf\xc3\xa9 Cr\xc3\xa8me", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "caf_cr_me");
	assert_int_equal(parse_slug(" & > ", out, sizeof(out)), -1);
	assert_int_equal(parse_slug("Home Furniture", small, sizeof(small)),
	    0);
	assert_string_equal(small, "home");
}

static void
test_utf8(void **state)
{
	(void)state;
	assert_true(parse_utf8_valid("plain", 5));
	assert_true(parse_utf8_valid("Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80",
	    13));
	assert_false(parse_utf8_valid("\xc3", 1));		/* truncated */
	assert_false(parse_utf8_valid("\xc0\xaf", 2));		/* overlong */
	assert_false(parse_utf8_valid("\xe0\x80\xaf", 3));	/* overlong */
	assert_false(parse_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	assert_false(parse_utf8_valid("\xf4\x90\x80\x80", 4));	/* > 10FFFF */
	assert_false(parse_utf8_valid("\xff", 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_email),
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_money),
		cmocka_unit_test(test_bool_int),
		cmocka_unit_test(test_slug),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
