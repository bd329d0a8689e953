/*
 * marker - the header that marks a tailored copy as segmilter's own.
 *
 *   X-Segmilter-Copy: v2; n=NONCE; c=CAMPAIGN; t=TIME; r=RCPTS; mac=HMAC
 *
 * A copy that comes back through segmilter (on the re-injection port,
 * or routed into it by mistake) is recognised by a valid marker and
 * passed untouched, the marker stripped, so nothing is processed twice.
 * Whoever holds a marker can make a message skip suppression, so a
 * marker is good only for the copy it was made for:
 *
 * - NONCE is 24 lowercase hex digits, fresh for each copy;
 * - RCPTS is the first 128 bits, in hex, of the SHA-256 of the copy's
 *   envelope recipients (normalised, sorted, one per line);
 * - HMAC is HMAC-SHA256 over "v2|NONCE|CAMPAIGN|TIME|RCPTS|BODY", where
 *   BODY is the hex SHA-256 of the copy's body less its CR and LF bytes
 *   (what the MTA may change, folding a long line or its line ends,
 *   changes no other byte), keyed not by outbox.key_file itself but by a
 *   key derived from it for markers alone.  Unsubscribe tokens (unsub.h)
 *   are MACs under the file's key itself, so no token is a marker.
 *
 * A marker that does not verify is forged, replayed onto another message
 * or other recipients, or from another key: it is ignored and the
 * message judged like any other.  Version 1 markers (the same key as
 * unsubscribe links, bound to nothing) are no longer honoured.
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
#define MARKER_DIGEST_MAX	65	/* hex SHA-256 and its NUL */

/* A marker's fields as written; marker_parse fills it. */
struct marker {
	char	 nonce[MARKER_NONCE_MAX];
	char	 campaign[256];
	char	 time[24];
	char	 rcpts[MARKER_DIGEST_MAX];
	char	 mac[MARKER_DIGEST_MAX];
};

/* The digest of the body of a copy, fed in pieces. */
struct marker_body;

struct marker_body *marker_body_new(void);
void	 marker_body_add(struct marker_body *b, const void *p, size_t n);
/* The hex digest into OUT (MARKER_DIGEST_MAX); frees B. */
void	 marker_body_end(struct marker_body *b, char *out);
/* Frees B unfinished (NULL is fine). */
void	 marker_body_free(struct marker_body *b);

/* The RCPTS field for the N addresses EMAILS, in any order, into OUT. */
void	 marker_rcpts(const char *const *emails, size_t n, char *out);

/*
 * Writes a fresh marker for CAMPAIGN at NOW, bound to RCPTS and BODY
 * (digests as above), into OUT, and its nonce, which names this copy,
 * into NONCE (MARKER_NONCE_MAX).  0, or -1.
 */
int	 marker_make(const unsigned char *key, size_t keylen,
	    const char *campaign, int64_t now, const char *rcpts,
	    const char *body, char *out, size_t outlen, char *nonce);
/* 0 when VALUE has a marker's form (into MK), -1 when not. */
int	 marker_parse(const char *value, struct marker *mk);
/* 1 when MK was made with KEY for recipients RCPTS and body BODY. */
int	 marker_verify(const unsigned char *key, size_t keylen,
	    const struct marker *mk, const char *rcpts, const char *body);

#endif
