/*
 * digest.c - OpenSSL's SHA-256, fetched once (see digest.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include "digest.h"

static EVP_MD *sha256;

static void
digest_fetch(void)
{
	if ((sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL)) == NULL) {
		fprintf(stderr, "digest: no SHA-256 from OpenSSL\n");
		abort();
	}
}

const EVP_MD *
digest_sha256(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, digest_fetch);
	return sha256;
}

EVP_MD_CTX *
digest_sha256_begin(void)
{
	EVP_MD_CTX *ctx;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex2(ctx, digest_sha256(), NULL) != 1) {
		fprintf(stderr, "digest: no SHA-256 context from OpenSSL\n");
		abort();
	}
	return ctx;
}

int
digest_hmac_derived(const unsigned char *key, size_t keylen,
    const char *label, const void *data, size_t len, unsigned char *out)
{
	unsigned char k[EVP_MAX_MD_SIZE];
	unsigned int klen = 0, n = 0;
	int rc = 0;

	if (keylen == 0 ||
	    HMAC(digest_sha256(), key, (int)keylen,
	    (const unsigned char *)label, strlen(label), k, &klen) == NULL ||
	    HMAC(digest_sha256(), k, (int)klen, data, len, out, &n) == NULL)
		rc = -1;
	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}

int
digest_hmac_b64(const EVP_MD *md, const char *key, const void *data,
    size_t len, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (key == NULL || *key == '\0' ||
	    HMAC(md, key, (int)strlen(key), data != NULL ? data : "", len,
	    mac, &maclen) == NULL)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
	return 0;
}

int
digest_hmac_b64_equal(const EVP_MD *md, const char *key, const void *data,
    size_t len, const char *b64)
{
	char want[DIGEST_HMAC_B64_MAX];
	size_t n;

	if (b64 == NULL || digest_hmac_b64(md, key, data, len, want) == -1)
		return 0;
	n = strlen(want);
	/* the length is no secret; the bytes are compared in fixed time */
	return strlen(b64) == n && CRYPTO_memcmp(want, b64, n) == 0;
}

struct digest_hmac {
	EVP_MD_CTX	*inner;		/* after the key XOR ipad block */
	EVP_MD_CTX	*outer;		/* after the key XOR opad block */
};

/* A context that has hashed KEY XOR PAD (RFC 2104), the key 32 bytes. */
static EVP_MD_CTX *
hmac_pad(const unsigned char *key, size_t keylen, unsigned char pad)
{
	unsigned char block[64];
	EVP_MD_CTX *ctx = digest_sha256_begin();
	size_t i;

	memset(block, pad, sizeof(block));
	for (i = 0; i < keylen; i++)
		block[i] ^= key[i];
	EVP_DigestUpdate(ctx, block, sizeof(block));
	OPENSSL_cleanse(block, sizeof(block));
	return ctx;
}

struct digest_hmac *
digest_hmac_new(const unsigned char *key, size_t keylen, const char *label)
{
	unsigned char k[EVP_MAX_MD_SIZE];
	unsigned int klen = 0;
	struct digest_hmac *h;

	if (keylen == 0 || HMAC(digest_sha256(), key, (int)keylen,
	    (const unsigned char *)label, strlen(label), k, &klen) == NULL)
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		fprintf(stderr, "digest: out of memory\n");
		abort();
	}
	h->inner = hmac_pad(k, klen, 0x36);
	h->outer = hmac_pad(k, klen, 0x5c);
	OPENSSL_cleanse(k, sizeof(k));
	return h;
}

void
digest_hmac_free(struct digest_hmac *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->inner);
	EVP_MD_CTX_free(h->outer);
	free(h);
}

void
digest_hmac_run(const struct digest_hmac *h, const void *data, size_t len,
    unsigned char *out)
{
	unsigned char inner[EVP_MAX_MD_SIZE];
	unsigned int n;
	EVP_MD_CTX *ctx;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_MD_CTX_copy_ex(ctx, h->inner) != 1) {
		fprintf(stderr, "digest: no SHA-256 context from OpenSSL\n");
		abort();
	}
	EVP_DigestUpdate(ctx, data, len);
	EVP_DigestFinal_ex(ctx, inner, &n);
	EVP_MD_CTX_copy_ex(ctx, h->outer);
	EVP_DigestUpdate(ctx, inner, n);
	EVP_DigestFinal_ex(ctx, out, &n);
	EVP_MD_CTX_free(ctx);
}
