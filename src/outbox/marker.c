/*
 * marker.c - making and checking the copy marker.
 *
 * The comparison of MACs is constant-time (CRYPTO_memcmp): a forger
 * learns nothing from how long a rejection takes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "digest.h"
#include "marker.h"
#include "str.h"
#include "xalloc.h"

#define NONCE_BYTES	12
#define RCPTS_BYTES	16
/* What the marker key is derived with: no other MAC covers this text. */
#define MARKER_LABEL	"segmilter copy marker key"

struct marker_body {
	EVP_MD_CTX	*ctx;
};

struct marker_body *
marker_body_new(void)
{
	struct marker_body *b = xcalloc(1, sizeof(*b));

	b->ctx = digest_sha256_begin();
	return b;
}

void
marker_body_add(struct marker_body *b, const void *p, size_t n)
{
	const char *s = p, *end = s + n, *run;

	/* runs between line-end bytes */
	while (s < end) {
		for (run = s; s < end && *s != '\r' && *s != '\n'; s++)
			;
		if (s > run)
			EVP_DigestUpdate(b->ctx, run, (size_t)(s - run));
		while (s < end && (*s == '\r' || *s == '\n'))
			s++;
	}
}

void
marker_body_end(struct marker_body *b, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(b->ctx, d, &n);
	str_hex(d, n, out);
	marker_body_free(b);
}

void
marker_body_free(struct marker_body *b)
{
	if (b == NULL)
		return;
	EVP_MD_CTX_free(b->ctx);
	free(b);
}

static int
by_string(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
marker_rcpts(const char *const *emails, size_t n, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	const char **sorted;
	unsigned int dlen = 0;
	EVP_MD_CTX *ctx;
	size_t i;

	sorted = xreallocarray(NULL, n > 0 ? n : 1, sizeof(*sorted));
	memcpy(sorted, emails, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), by_string);
	ctx = digest_sha256_begin();
	for (i = 0; i < n; i++) {
		EVP_DigestUpdate(ctx, sorted[i], strlen(sorted[i]));
		EVP_DigestUpdate(ctx, "\n", 1);
	}
	EVP_DigestFinal_ex(ctx, d, &dlen);
	EVP_MD_CTX_free(ctx);
	free(sorted);
	str_hex(d, RCPTS_BYTES, out);
}

/* The hex HMAC of MK's fields and BODY into MAC (MARKER_DIGEST_MAX). */
static int
marker_mac(const unsigned char *key, size_t keylen, const struct marker *mk,
    const char *body, char *mac)
{
	unsigned char d[32];
	char data[MARKER_MAX + 2 * MARKER_DIGEST_MAX];

	if ((size_t)snprintf(data, sizeof(data), "v2|%s|%s|%s|%s|%s",
	    mk->nonce, mk->campaign, mk->time, mk->rcpts, body) >=
	    sizeof(data) ||
	    digest_hmac_derived(key, keylen, MARKER_LABEL, data, strlen(data),
	    d) == -1)
		return -1;
	str_hex(d, sizeof(d), mac);
	return 0;
}

int
marker_make(const unsigned char *key, size_t keylen, const char *campaign,
    int64_t now, const char *rcpts, const char *body, char *out,
    size_t outlen, char *nonce)
{
	unsigned char raw[NONCE_BYTES];
	struct marker mk;

	memset(&mk, 0, sizeof(mk));
	if (keylen == 0 || RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	str_hex(raw, sizeof(raw), mk.nonce);
	snprintf(mk.time, sizeof(mk.time), "%" PRId64, now);
	if (strlen(campaign) >= sizeof(mk.campaign) ||
	    strlen(rcpts) >= sizeof(mk.rcpts))
		return -1;
	str_copy(mk.campaign, sizeof(mk.campaign), campaign);
	str_copy(mk.rcpts, sizeof(mk.rcpts), rcpts);
	if (marker_mac(key, keylen, &mk, body, mk.mac) == -1)
		return -1;
	if ((size_t)snprintf(out, outlen, "v2; n=%s; c=%s; t=%s; r=%s;"
	    " mac=%s", mk.nonce, mk.campaign, mk.time, mk.rcpts, mk.mac) >=
	    outlen)
		return -1;
	memcpy(nonce, mk.nonce, sizeof(mk.nonce));
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

/* Exactly LEN lowercase hex digits. */
static int
is_hex(const char *s, size_t len)
{
	return strlen(s) == len &&
	    strspn(s, "0123456789abcdef") == len;
}

int
marker_parse(const char *value, struct marker *mk)
{
	memset(mk, 0, sizeof(*mk));
	while (*value == ' ' || *value == '\t')
		value++;
	if (strncmp(value, "v2;", 3) != 0 ||
	    field(value, "n", mk->nonce, sizeof(mk->nonce)) == -1 ||
	    field(value, "c", mk->campaign, sizeof(mk->campaign)) == -1 ||
	    field(value, "t", mk->time, sizeof(mk->time)) == -1 ||
	    field(value, "r", mk->rcpts, sizeof(mk->rcpts)) == -1 ||
	    field(value, "mac", mk->mac, sizeof(mk->mac)) == -1)
		return -1;
	if (!is_hex(mk->nonce, 2 * NONCE_BYTES) ||
	    !is_hex(mk->rcpts, 2 * RCPTS_BYTES) ||
	    !is_hex(mk->mac, 2 * 32) ||
	    strspn(mk->time, "0123456789") != strlen(mk->time))
		return -1;
	return 0;
}

int
marker_verify(const unsigned char *key, size_t keylen,
    const struct marker *mk, const char *rcpts, const char *body)
{
	char want[MARKER_DIGEST_MAX];

	if (keylen == 0 || strcmp(mk->rcpts, rcpts) != 0 ||
	    marker_mac(key, keylen, mk, body, want) == -1)
		return 0;
	return strlen(mk->mac) == strlen(want) &&
	    CRYPTO_memcmp(mk->mac, want, strlen(want)) == 0;
}
