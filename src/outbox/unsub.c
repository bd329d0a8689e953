/*
 * unsub.c - making and checking unsubscribe tokens.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "digest.h"
#include "str.h"
#include "unsub.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
encode(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		if (o + 5 > outlen)
			return -1;
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
	return 0;
}

static int
decode(const char *in, size_t n, unsigned char *out, size_t outlen,
    size_t *len)
{
	uint32_t v = 0;
	size_t i, o = 0;
	int bits = 0;
	const char *p;

	for (i = 0; i < n; i++) {
		if ((p = strchr(b64url, in[i])) == NULL || in[i] == '\0')
			return -1;
		v = (v << 6) | (uint32_t)(p - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	out[o] = '\0';
	*len = o;
	return 0;
}

static int
mac_hex(const unsigned char *key, size_t keylen, const char *data,
    char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (HMAC(digest_sha256(), key, (int)keylen, (const unsigned char *)data,
	    strlen(data), d, &n) == NULL)
		return -1;
	str_hex(d, n, out);
	return 0;
}

int
unsub_token_make(const unsigned char *key, size_t keylen,
    const char *campaign, const char *email, int64_t now, char *out,
    size_t outlen)
{
	char data[600], mac[2 * EVP_MAX_MD_SIZE + 1], enc[820];

	if (keylen == 0 || (size_t)snprintf(data, sizeof(data),
	    "v1|%s|%s|%" PRId64, campaign, email, now) >= sizeof(data) ||
	    mac_hex(key, keylen, data, mac) == -1 ||
	    encode((const unsigned char *)data, strlen(data), enc,
	    sizeof(enc)) == -1 ||
	    (size_t)snprintf(out, outlen, "%s.%s", enc, mac) >= outlen)
		return -1;
	return 0;
}

int
unsub_token_parse(const unsigned char *key, size_t keylen, const char *token,
    char *campaign, size_t clen, char *email, size_t elen, int64_t *at)
{
	unsigned char data[700];
	char want[2 * EVP_MAX_MD_SIZE + 1], *f1, *f2, *f3, *end;
	const char *dot = strchr(token, '.');
	size_t n;

	if (keylen == 0 || dot == NULL ||
	    decode(token, (size_t)(dot - token), data, sizeof(data), &n) == -1 ||
	    strncmp((char *)data, "v1|", 3) != 0 ||
	    mac_hex(key, keylen, (char *)data, want) == -1 ||
	    strlen(dot + 1) != strlen(want) ||
	    CRYPTO_memcmp(dot + 1, want, strlen(want)) != 0)
		return -1;
	f1 = (char *)data + 3;
	if ((f2 = strchr(f1, '|')) == NULL)
		return -1;
	*f2++ = '\0';
	if ((f3 = strrchr(f2, '|')) == NULL)
		return -1;
	*f3++ = '\0';
	if (strlen(f1) >= clen || strlen(f2) >= elen)
		return -1;
	*at = strtoll(f3, &end, 10);
	if (*end != '\0')
		return -1;
	memcpy(campaign, f1, strlen(f1) + 1);
	memcpy(email, f2, strlen(f2) + 1);
	return 0;
}
