/*
 * digest - OpenSSL's SHA-256, fetched once for the whole process.
 *
 * OpenSSL 3 looks an algorithm up under a lock on every EVP_MD_fetch()
 * and on every EVP_DigestInit_ex() given EVP_sha256(); with the milter's
 * threads hashing every message, that lookup was 4% of segmilter's user
 * time inside Postfix (perf, 1 recipient per message), though 2,400
 * instructions single-threaded.  The fetched method is immutable, shared
 * by every thread and never freed.  Without SHA-256 OpenSSL is broken:
 * like running out of memory, that aborts with one line on stderr.
 */
#ifndef SEGM_DIGEST_H
#define SEGM_DIGEST_H

#include <openssl/evp.h>

const EVP_MD	*digest_sha256(void);
/* A context ready for SHA-256; never NULL.  EVP_MD_CTX_free() it. */
EVP_MD_CTX	*digest_sha256_begin(void);
/*
 * HMAC-SHA256 of the LEN bytes at DATA under a key of its own, derived
 * from KEY for one purpose named by LABEL (the copy marker, the bounce
 * token): a MAC made for one purpose is never valid for another.  The
 * 32 bytes into OUT; 0, or -1 (an empty key among them).
 */
int	 digest_hmac_derived(const unsigned char *key, size_t keylen,
	    const char *label, const void *data, size_t len,
	    unsigned char *out);
/*
 * Whether B64 is the base64 of the HMAC (MD) of the LEN bytes at DATA
 * under KEY, compared in fixed time: how webhooks sign (Twilio SHA-1,
 * Shopify SHA-256).  1 or 0.
 */
int	 digest_hmac_b64_equal(const EVP_MD *md, const char *key,
	    const void *data, size_t len, const char *b64);

#endif
