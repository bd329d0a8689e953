/*
 * unsub - one-click unsubscribe tokens (RFC 8058).
 *
 * A token names a campaign and a recipient and carries an HMAC-SHA256
 * keyed like the copy marker (outbox.key_file), so the link in a
 * List-Unsubscribe header cannot be forged for someone else:
 *
 *   BASE64URL("v1|CAMPAIGN|EMAIL|TIME") "." HEX(HMAC)
 *
 * Tokens do not expire: an unsubscribe link must keep working (RFC 8058
 * asks for it to work for the life of the message).  Pure.
 */
#ifndef SEGM_UNSUB_H
#define SEGM_UNSUB_H

#include <stddef.h>
#include <stdint.h>

#define UNSUB_TOKEN_MAX	1024

int	 unsub_token_make(const unsigned char *key, size_t keylen,
	    const char *campaign, const char *email, int64_t now, char *out,
	    size_t outlen);
/* 0 with the campaign, email and time it names, -1 when not genuine. */
int	 unsub_token_parse(const unsigned char *key, size_t keylen,
	    const char *token, char *campaign, size_t clen, char *email,
	    size_t elen, int64_t *at);

#endif
