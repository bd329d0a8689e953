/*
 * marker - the header that marks a tailored copy as segmilter's own.
 *
 *   X-Segmilter-Copy: v1; n=NONCE; c=CAMPAIGN; t=TIME; mac=HMAC
 *
 * HMAC is HMAC-SHA256, keyed by outbox.key_file, over "v1|NONCE|CAMPAIGN|
 * TIME".  A copy that comes back through segmilter (re-injection routed
 * into it by mistake) is recognised by a valid marker and passed
 * untouched, the marker stripped, so nothing is processed twice.  A
 * marker that does not verify is forged or from another key: it is
 * ignored and the message judged like any other.
 *
 * Pure apart from the random nonce; no state.
 */
#ifndef SEGM_MARKER_H
#define SEGM_MARKER_H

#include <stddef.h>
#include <stdint.h>

#define MARKER_HEADER	"X-Segmilter-Copy"
#define MARKER_MAX	512

#define MARKER_NONCE_MAX	64

/*
 * Writes a fresh marker value for CAMPAIGN at NOW into OUT, and its
 * nonce, which names this copy, into NONCE (MARKER_NONCE_MAX).  0, or -1.
 */
int	 marker_make(const unsigned char *key, size_t keylen,
	    const char *campaign, int64_t now, char *out, size_t outlen,
	    char *nonce);
/* 1 when VALUE is a marker made with KEY (its nonce into NONCE if not
 * NULL), else 0. */
int	 marker_valid(const unsigned char *key, size_t keylen,
	    const char *value, char *nonce);

#endif
