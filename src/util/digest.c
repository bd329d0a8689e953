/*
 * digest.c - OpenSSL's SHA-256, fetched once (see digest.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

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
