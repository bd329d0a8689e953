/*
 * fuzz_values.c - the value parsers behind every import (addresses,
 * phone numbers, times, money, flags, category names) and the
 * unsubscribe token a recipient's link carries back.  Beyond crashes,
 * what a parser accepts it must accept again unchanged (normal forms are
 * stable), a time must survive format_time, a slug must be a slug, a
 * token segmilter made must read back as what it named, and a bounded
 * copy of UTF-8 (a customer's name into a recipient's field) must stay
 * UTF-8.
 *
 * The input is one field value, as a CSV field arrives (a C string).
 * libFuzzer entry point; see fuzz_render.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "str.h"
#include "unsub.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[32] = "fuzz key, not a secret........";

static void
check_email(const char *in)
{
	char out[PARSE_EMAIL_MAX + 1], again[PARSE_EMAIL_MAX + 1];
	char tok[UNSUB_TOKEN_MAX], c[64], e[PARSE_EMAIL_MAX + 1];
	const char *err;
	int64_t at;

	if (parse_email(in, out, sizeof(out), &err) == -1)
		return;
	if (parse_email(out, again, sizeof(again), &err) == -1 ||
	    strcmp(out, again) != 0)
		abort();
	if (unsub_token_make(key, sizeof(key), "spring", out, 1795000000,
	    tok, sizeof(tok)) == -1)
		return;
	if (unsub_token_parse(key, sizeof(key), tok, c, sizeof(c), e,
	    sizeof(e), &at) == -1 || strcmp(c, "spring") != 0 ||
	    strcmp(e, out) != 0 || at != 1795000000)
		abort();
}

static void
check_phone(const char *in)
{
	static const char *const countries[] = { NULL, "US", "DE", "GB" };
	char out[PARSE_PHONE_MAX + 1], again[PARSE_PHONE_MAX + 1];
	const char *err, *p;
	size_t i;

	for (i = 0; i < sizeof(countries) / sizeof(countries[0]); i++) {
		if (parse_phone(in, countries[i], out, sizeof(out), &err) == -1)
			continue;
		if (out[0] != '+' || strlen(out) > PARSE_PHONE_MAX)
			abort();
		for (p = out + 1; *p != '\0'; p++)
			if (*p < '0' || *p > '9')
				abort();
		if (parse_phone(out, NULL, again, sizeof(again), &err) == -1 ||
		    strcmp(out, again) != 0)
			abort();
	}
}

static void
check_time(const char *in)
{
	char out[32];
	const char *err;
	int64_t t, again;

	if (parse_time(in, &t, &err) == -1)
		return;
	format_time(t, out, sizeof(out));
	if (parse_time(out, &again, &err) == -1 || again != t)
		abort();
}

static void
check_slug(const char *in)
{
	char out[64];
	const char *p;

	if (parse_slug(in, out, sizeof(out)) == -1)
		return;
	if (out[0] == '\0' || out[0] == '_')
		abort();
	for (p = out; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    (*p == '_' && p[1] != '_')))
			abort();
}

/*
 * IN copied into every buffer size up to a name field's and then some:
 * a prefix of IN, at most three bytes short of the buffer, and UTF-8
 * when IN is.
 */
static void
check_copy(const char *in, size_t size)
{
	char dst[160];
	size_t len, n, max;
	int utf8 = parse_utf8_valid(in, size);

	for (len = 1; len <= sizeof(dst); len++) {
		str_copy(dst, len, in);
		n = strlen(dst);
		max = size < len - 1 ? size : len - 1;
		if (n > max || n + 3 < max || memcmp(dst, in, n) != 0 ||
		    (utf8 && !parse_utf8_valid(dst, n)))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, c[64], e[PARSE_EMAIL_MAX + 1];
	const char *err;
	int64_t n, at;
	int b;

	if ((in = malloc(size + 1)) == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	check_email(in);
	check_phone(in);
	check_time(in);
	check_slug(in);
	check_copy(in, strlen(in));
	(void)parse_money(in, &n, &err);
	(void)parse_bool(in, &b, &err);
	(void)parse_int(in, -1000000, 1000000, &n, &err);
	(void)parse_utf8_valid(in, size);
	(void)unsub_token_parse(key, sizeof(key), in, c, sizeof(c), e,
	    sizeof(e), &at);
	free(in);
	return 0;
}
