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

#endif
