/*
 * bounce - signed return paths: bounces+TOKEN@DOMAIN.
 *
 * A campaign's message leaves with a return path whose local part names
 * the campaign and the recipient, so that a delivery status notification
 * (or a complaint) sent back to it says whom it is about without trusting
 * anything the remote MTA writes.  The token must fit a local part (at
 * most 64 bytes, RFC 5321 4.5.3.1.1) beside "bounces+", survive MTAs that
 * fold the case of local parts, and be cheap to check:
 *
 *   BASE32(VERSION CUSTOMER ADDRESS CAMPAIGN MAC), 25 bytes, 40 characters
 *
 * - VERSION, one byte (1);
 * - CUSTOMER, the customer id, 40 bits big-endian: the address itself
 *   (up to 254 bytes) does not fit, and the id is what the store keys on;
 * - ADDRESS, the first 32 bits of SHA-256 of "a|" and the lowercased
 *   address: a token made for an address the customer has since changed
 *   no longer names them (bounce_token_names_email), so the new address
 *   is not blamed for the old one's bounce;
 * - CAMPAIGN, the first 40 bits of SHA-256 of "c|" and the campaign id
 *   (ids run to 127 bytes): the reader resolves it against the campaign
 *   header of the original returned in the report, or the campaigns the
 *   customer was sent; a collision between one customer's campaigns is a
 *   2^-40 chance and would only file a bounce under the wrong campaign;
 * - MAC, the first 80 bits of HMAC-SHA256 over the 15 bytes before it,
 *   keyed not by outbox.key_file itself but by a key derived from it for
 *   bounce tokens alone, so no unsubscribe token or copy marker is a
 *   bounce token and the other way round.  80 bits: each guess at a
 *   forgery costs the forger a message we receive, and 2^80 of them is
 *   out of reach; a full 256-bit MAC would not fit.
 *
 * Base32 (RFC 4648, lowercase, no padding) rather than base64url: six
 * bits a character would be denser, but some MTAs lowercase local parts
 * and base32 reads back the same whatever the case.  "bounces+" and 40
 * characters are 48 bytes.  Tokens do not expire: a bounce may come back
 * days after the message left.
 *
 * Pure; no state.  Comparisons of MACs are constant-time.
 */
#ifndef SEGM_BOUNCE_H
#define SEGM_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

#define BOUNCE_LOCAL		"bounces"	/* the local part before '+' */
#define BOUNCE_TOKEN_LEN	40
#define BOUNCE_TOKEN_MAX	(BOUNCE_TOKEN_LEN + 1)
#define BOUNCE_CUSTOMER_MAX	((int64_t)1 << 40)	/* ids below this */

/* What a genuine token says. */
struct bounce_token {
	int64_t		 customer_id;
	uint32_t	 address;	/* hash, see above */
	uint64_t	 campaign;	/* hash, 40 bits */
};

/*
 * The token for CUSTOMER_ID (1 to BOUNCE_CUSTOMER_MAX - 1) at EMAIL, for
 * CAMPAIGN, into OUT (BOUNCE_TOKEN_MAX).  0, or -1 (no key, an id out
 * of range, OUT too small).
 */
int	 bounce_token_make(const unsigned char *key, size_t keylen,
	    int64_t customer_id, const char *email, const char *campaign,
	    char *out, size_t outlen);
/* 0 and *BT when TOKEN was made with KEY; -1 when not genuine. */
int	 bounce_token_parse(const unsigned char *key, size_t keylen,
	    const char *token, struct bounce_token *bt);
/* 1 when BT was made for EMAIL (any case), 0 when not. */
int	 bounce_token_names_email(const struct bounce_token *bt,
	    const char *email);
/* 1 when BT was made for CAMPAIGN, 0 when not. */
int	 bounce_token_names_campaign(const struct bounce_token *bt,
	    const char *campaign);
/*
 * The token of an address "bounces+TOKEN@DOMAIN" (the local part's case
 * ignored, angle brackets allowed) into OUT (BOUNCE_TOKEN_MAX), its MAC
 * unchecked but its characters those of a token.
 * 0, or -1 when ADDR is no such address.
 */
int	 bounce_token_of(const char *addr, char *out, size_t outlen);

#endif
