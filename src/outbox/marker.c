/*
 * marker.c - making and checking the copy marker.
 *
 * The comparison of MACs is constant-time (CRYPTO_memcmp): a forger
 * learns nothing from how long a rejection takes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "digest.h"
#include "marker.h"
#include "str.h"

#define NONCE_BYTES	12

/* The hex HMAC of the signed fields into MAC (65 bytes). */
static int
marker_mac(const unsigned char *key, size_t keylen, const char *nonce,
    const char *campaign, const char *t, char *mac)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char data[MARKER_MAX];

	if ((size_t)snprintf(data, sizeof(data), "v1|%s|%s|%s", nonce,
	    campaign, t) >= sizeof(data))
		return -1;
	if (HMAC(digest_sha256(), key, (int)keylen, (unsigned char *)data,
	    strlen(data), d, &n) == NULL)
		return -1;
	str_hex(d, n, mac);
	return 0;
}

int
marker_make(const unsigned char *key, size_t keylen, const char *campaign,
    int64_t now, char *out, size_t outlen, char *nonce)
{
	unsigned char raw[NONCE_BYTES];
	char t[24], mac[2 * EVP_MAX_MD_SIZE + 1];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	str_hex(raw, sizeof(raw), nonce);
	snprintf(t, sizeof(t), "%" PRId64, now);
	if (marker_mac(key, keylen, nonce, campaign, t, mac) == -1)
		return -1;
	if ((size_t)snprintf(out, outlen, "v1; n=%s; c=%s; t=%s; mac=%s",
	    nonce, campaign, t, mac) >= outlen)
		return -1;
	return 0;
}

/* Copies the value of "NAME=" up to ';' from V into OUT; 0 or -1. */
static int
field(const char *v, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name), n;
	const char *p;

	for (p = v; (p = strstr(p, name)) != NULL; p++)
		if ((p == v || p[-1] == ' ' || p[-1] == ';') && p[nlen] == '=')
			break;
	if (p == NULL)
		return -1;
	p += nlen + 1;
	n = strcspn(p, "; \t\r\n");
	if (n == 0 || n >= outlen)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
marker_valid(const unsigned char *key, size_t keylen, const char *value,
    char *nonce_out)
{
	char nonce[MARKER_NONCE_MAX], campaign[256], t[32], mac[160];
	char want[160];

	while (*value == ' ' || *value == '\t')
		value++;
	if (keylen == 0 || strncmp(value, "v1;", 3) != 0 ||
	    field(value, "n", nonce, sizeof(nonce)) == -1 ||
	    field(value, "c", campaign, sizeof(campaign)) == -1 ||
	    field(value, "t", t, sizeof(t)) == -1 ||
	    field(value, "mac", mac, sizeof(mac)) == -1 ||
	    marker_mac(key, keylen, nonce, campaign, t, want) == -1)
		return 0;
	if (strlen(mac) != strlen(want) ||
	    CRYPTO_memcmp(mac, want, strlen(want)) != 0)
		return 0;
	if (nonce_out != NULL)
		memcpy(nonce_out, nonce, strlen(nonce) + 1);
	return 1;
}
