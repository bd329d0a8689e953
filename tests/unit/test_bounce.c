/*
 * test_bounce.c - bounce tokens: made and read back, in any case, and
 * refused when forged, tampered with, made with another key, or made as
 * another kind of token (an unsubscribe token's MAC under the file's key
 * itself); the address and campaign they name; the token of a return
 * path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bounce.h"
#include "digest.h"

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
static const unsigned char other[] = "fedcba9876543210fedcba9876543210";

static void
test_token_roundtrip(void **state)
{
	char tok[BOUNCE_TOKEN_MAX], upper[BOUNCE_TOKEN_MAX], local[80];
	struct bounce_token bt;
	size_t i;

	(void)state;
	assert_int_equal(bounce_token_make(key, 32, 42, "Ann@Example.com",
	    "spring-launch", tok, sizeof(tok)), 0);
	assert_int_equal(strlen(tok), BOUNCE_TOKEN_LEN);
	assert_int_equal(strspn(tok, "abcdefghijklmnopqrstuvwxyz234567"),
	    BOUNCE_TOKEN_LEN);
	/* a local part of 64 bytes at most */
	snprintf(local, sizeof(local), "%s+%s", BOUNCE_LOCAL, tok);
	assert_true(strlen(local) < 64);
	assert_int_equal(bounce_token_parse(key, 32, tok, &bt), 0);
	assert_int_equal(bt.customer_id, 42);
	assert_true(bounce_token_names_email(&bt, "ann@example.com"));
	assert_true(bounce_token_names_email(&bt, "ANN@EXAMPLE.COM"));
	assert_false(bounce_token_names_email(&bt, "bob@example.com"));
	assert_true(bounce_token_names_campaign(&bt, "spring-launch"));
	assert_false(bounce_token_names_campaign(&bt, "spring-launch2"));
	/* an MTA that folds the local part to upper case */
	for (i = 0; tok[i] != '\0'; i++)
		upper[i] = (char)(tok[i] >= 'a' && tok[i] <= 'z' ?
		    tok[i] - 32 : tok[i]);
	upper[i] = '\0';
	assert_int_equal(bounce_token_parse(key, 32, upper, &bt), 0);
	assert_int_equal(bt.customer_id, 42);
	/* the largest id, and ids out of range */
	assert_int_equal(bounce_token_make(key, 32, BOUNCE_CUSTOMER_MAX - 1,
	    "a@b", "c", tok, sizeof(tok)), 0);
	assert_int_equal(bounce_token_parse(key, 32, tok, &bt), 0);
	assert_true(bt.customer_id == BOUNCE_CUSTOMER_MAX - 1);
	assert_int_equal(bounce_token_make(key, 32, BOUNCE_CUSTOMER_MAX,
	    "a@b", "c", tok, sizeof(tok)), -1);
	assert_int_equal(bounce_token_make(key, 32, 0, "a@b", "c", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_make(key, 0, 1, "a@b", "c", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_make(key, 32, 1, "a@b", "c", tok,
	    BOUNCE_TOKEN_LEN), -1);
}

static void
test_token_forged(void **state)
{
	char tok[BOUNCE_TOKEN_MAX], bad[BOUNCE_TOKEN_MAX];
	struct bounce_token bt;
	size_t i;

	(void)state;
	assert_int_equal(bounce_token_make(key, 32, 7, "ann@example.com",
	    "spring", tok, sizeof(tok)), 0);
	assert_int_equal(bounce_token_parse(other, 32, tok, &bt), -1);
	assert_int_equal(bounce_token_parse(key, 0, tok, &bt), -1);
	/* every character changed in turn breaks it */
	for (i = 0; i < BOUNCE_TOKEN_LEN; i++) {
		memcpy(bad, tok, sizeof(bad));
		bad[i] = bad[i] == 'a' ? 'b' : 'a';
		assert_int_equal(bounce_token_parse(key, 32, bad, &bt), -1);
	}
	/* cut, lengthened, outside the alphabet */
	memcpy(bad, tok, sizeof(bad));
	bad[BOUNCE_TOKEN_LEN - 1] = '\0';
	assert_int_equal(bounce_token_parse(key, 32, bad, &bt), -1);
	assert_int_equal(bounce_token_parse(key, 32, "", &bt), -1);
	memcpy(bad, tok, sizeof(bad));
	bad[3] = '1';
	assert_int_equal(bounce_token_parse(key, 32, bad, &bt), -1);
	memcpy(bad, tok, sizeof(bad));
	bad[3] = '=';
	assert_int_equal(bounce_token_parse(key, 32, bad, &bt), -1);
}

/*
 * A token whose MAC is taken under the file's key itself (what an
 * unsubscribe token uses) is not a bounce token: the key is derived.
 */
static void
test_token_not_other_kind(void **state)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char raw[25], d[EVP_MAX_MD_SIZE];
	char tok[BOUNCE_TOKEN_MAX];
	struct bounce_token bt;
	unsigned int n = 0;
	unsigned v;
	size_t i, bit;

	(void)state;
	memset(raw, 0, sizeof(raw));
	raw[0] = 1;
	raw[5] = 42;
	assert_non_null(HMAC(digest_sha256(), key, 32, raw, 15, d, &n));
	memcpy(raw + 15, d, 10);
	for (i = 0; i < BOUNCE_TOKEN_LEN; i++) {
		bit = i * 5;
		v = (unsigned)raw[bit / 8] << 8;
		if (bit / 8 + 1 < sizeof(raw))
			v |= raw[bit / 8 + 1];
		tok[i] = b32[(v >> (11 - bit % 8)) & 31];
	}
	tok[BOUNCE_TOKEN_LEN] = '\0';
	assert_int_equal(bounce_token_parse(key, 32, tok, &bt), -1);
}

static void
test_token_of(void **state)
{
	char tok[BOUNCE_TOKEN_MAX];

	(void)state;
	assert_int_equal(bounce_token_of("bounces+abc@example.com", tok,
	    sizeof(tok)), 0);
	assert_string_equal(tok, "abc");
	assert_int_equal(bounce_token_of("<BOUNCES+xyz@example.com>", tok,
	    sizeof(tok)), 0);
	assert_string_equal(tok, "xyz");
	assert_int_equal(bounce_token_of("bounces@example.com", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_of("bounces+@example.com", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_of("bouncesx+abc@example.com", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_of("bounces+abc", tok, sizeof(tok)), -1);
	assert_int_equal(bounce_token_of("bounces+"
	    "0123456789012345678901234567890123456789012@example.com", tok,
	    sizeof(tok)), -1);
	assert_int_equal(bounce_token_of("", tok, sizeof(tok)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_roundtrip),
		cmocka_unit_test(test_token_forged),
		cmocka_unit_test(test_token_not_other_kind),
		cmocka_unit_test(test_token_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
