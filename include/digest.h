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
 * HMAC-SHA256 under a key derived from KEY for LABEL (as
 * digest_hmac_derived), with the key's pads hashed once: what a MAC per
 * recipient costs drops from two HMAC() calls (OpenSSL looks the method
 * up, and hashes both pads, every time) to a context copy and three
 * compressions.  Immutable once made: threads may share it.
 * digest_hmac_new: NULL for an empty key.
 */
struct digest_hmac;
struct digest_hmac *digest_hmac_new(const unsigned char *key, size_t keylen,
	    const char *label);
void	 digest_hmac_free(struct digest_hmac *h);
/* The 32-byte MAC of the LEN bytes at DATA into OUT. */
void	 digest_hmac_run(const struct digest_hmac *h, const void *data,
	    size_t len, unsigned char *out);

/*
 * The base64 of the HMAC (MD) of the LEN bytes at DATA under KEY, as
 * webhooks are signed (Twilio SHA-1, Shopify SHA-256), into OUT
 * (DIGEST_HMAC_B64_MAX).  0, or -1 (an empty key).
 */
#define DIGEST_HMAC_B64_MAX	(4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1)
int	 digest_hmac_b64(const EVP_MD *md, const char *key, const void *data,
	    size_t len, char *out);
/* Whether B64 is that signature, compared in fixed time.  1 or 0. */
int	 digest_hmac_b64_equal(const EVP_MD *md, const char *key,
	    const void *data, size_t len, const char *b64);

#endif
