/*
 * bounce.c - making and checking bounce tokens (bounce.h).
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "bounce.h"
#include "digest.h"

#define TOKEN_VERSION	1
#define TOKEN_BYTES	25
#define SIGNED_BYTES	15	/* what the MAC covers */
#define MAC_BYTES	(TOKEN_BYTES - SIGNED_BYTES)
/* What the bounce key is derived with: no other MAC covers this text. */
#define BOUNCE_LABEL	"segmilter bounce token key"

_Static_assert(TOKEN_BYTES * 8 == BOUNCE_TOKEN_LEN * 5,
    "a token is a whole number of base32 characters");

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

/* The first N bytes of SHA-256 of PREFIX and S (lowercased if FOLD). */
static uint64_t
bounce_hash(const char *prefix, const char *s, int fold, size_t n)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_MD_CTX *ctx;
	uint64_t v = 0;
	char chunk[256];
	size_t i, k;

	ctx = digest_sha256_begin();
	EVP_DigestUpdate(ctx, prefix, strlen(prefix));
	/* lowercased a chunk at a time, not a byte per update */
	while (*s != '\0') {
		for (k = 0; k < sizeof(chunk) && s[k] != '\0'; k++)
			chunk[k] = fold ? (char)tolower((unsigned char)s[k]) :
			    s[k];
		EVP_DigestUpdate(ctx, chunk, k);
		s += k;
	}
	EVP_DigestFinal_ex(ctx, d, &dlen);
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < n; i++)
		v = (v << 8) | d[i];
	return v;
}

static uint32_t
bounce_address(const char *email)
{
	return (uint32_t)bounce_hash("a|", email, 1, 4);
}

static uint64_t
bounce_campaign(const char *campaign)
{
	return bounce_hash("c|", campaign, 0, 5);
}

/* The MAC of the signed bytes RAW into MAC (MAC_BYTES); 0 or -1. */
static int
bounce_mac(const unsigned char *key, size_t keylen, const unsigned char *raw,
    unsigned char *mac)
{
	unsigned char d[32];

	if (digest_hmac_derived(key, keylen, BOUNCE_LABEL, raw, SIGNED_BYTES,
	    d) == -1)
		return -1;
	memcpy(mac, d, MAC_BYTES);
	return 0;
}

static void
put_be(unsigned char *p, uint64_t v, size_t n)
{
	while (n-- > 0) {
		p[n] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get_be(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int
bounce_token_make(const unsigned char *key, size_t keylen,
    int64_t customer_id, const char *email, const char *campaign,
    char *out, size_t outlen)
{
	unsigned char raw[TOKEN_BYTES];
	size_t i, bit;
	unsigned v;

	if (outlen < BOUNCE_TOKEN_MAX || customer_id < 1 ||
	    customer_id >= BOUNCE_CUSTOMER_MAX)
		return -1;
	raw[0] = TOKEN_VERSION;
	put_be(raw + 1, (uint64_t)customer_id, 5);
	put_be(raw + 6, bounce_address(email), 4);
	put_be(raw + 10, bounce_campaign(campaign), 5);
	if (bounce_mac(key, keylen, raw, raw + SIGNED_BYTES) == -1)
		return -1;
	for (i = 0; i < BOUNCE_TOKEN_LEN; i++) {
		bit = i * 5;
		v = (unsigned)raw[bit / 8] << 8;
		if (bit / 8 + 1 < TOKEN_BYTES)
			v |= raw[bit / 8 + 1];
		out[i] = b32[(v >> (11 - bit % 8)) & 31];
	}
	out[BOUNCE_TOKEN_LEN] = '\0';
	return 0;
}

int
bounce_token_parse(const unsigned char *key, size_t keylen,
    const char *token, struct bounce_token *bt)
{
	unsigned char raw[TOKEN_BYTES], mac[MAC_BYTES];
	const char *p;
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0;

	if (strlen(token) != BOUNCE_TOKEN_LEN)
		return -1;
	for (i = 0; i < BOUNCE_TOKEN_LEN; i++) {
		if ((p = strchr(b32, tolower((unsigned char)token[i]))) ==
		    NULL)
			return -1;
		acc = (acc << 5) | (uint32_t)(p - b32);
		if ((bits += 5) >= 8) {
			bits -= 8;
			raw[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (raw[0] != TOKEN_VERSION ||
	    bounce_mac(key, keylen, raw, mac) == -1 ||
	    CRYPTO_memcmp(mac, raw + SIGNED_BYTES, MAC_BYTES) != 0)
		return -1;
	memset(bt, 0, sizeof(*bt));
	bt->customer_id = (int64_t)get_be(raw + 1, 5);
	bt->address = (uint32_t)get_be(raw + 6, 4);
	bt->campaign = get_be(raw + 10, 5);
	return 0;
}

int
bounce_token_names_email(const struct bounce_token *bt, const char *email)
{
	return bt->address == bounce_address(email);
}

int
bounce_token_names_campaign(const struct bounce_token *bt,
    const char *campaign)
{
	return bt->campaign == bounce_campaign(campaign);
}

int
bounce_token_of(const char *addr, char *out, size_t outlen)
{
	size_t n = strlen(BOUNCE_LOCAL), len, i;
	const char *at;

	while (*addr == ' ' || *addr == '\t' || *addr == '<')
		addr++;
	if (strncasecmp(addr, BOUNCE_LOCAL "+", n + 1) != 0)
		return -1;
	addr += n + 1;
	if ((at = strchr(addr, '@')) == NULL)
		return -1;
	len = (size_t)(at - addr);
	if (len == 0 || len >= outlen)
		return -1;
	/* only the alphabet a token is written in: what is kept is printable */
	for (i = 0; i < len; i++)
		if (strchr(b32, tolower((unsigned char)addr[i])) == NULL)
			return -1;
	memcpy(out, addr, len);
	out[len] = '\0';
	return 0;
}
