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
 * asks for it to work for the life of the message).  The token functions
 * are pure.
 *
 * unsub_apply() is what a genuine token's holder may ask for, recorded
 * once for every way in (segctl unsubscribe, segfeed's one-click POST and
 * its page): unsubscribe, fewer emails, or stay subscribed.  Each change
 * writes its audit row in the same transaction; asking again for what
 * holds already writes nothing (a mail client retrying its one-click POST,
 * a page submitted twice), so every way in is idempotent.
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

struct store;

enum unsub_choice {
	UNSUB_UNSUBSCRIBE,	/* an unsubscribe engagement */
	UNSUB_FEWER,		/* a personal cadence of FEWER_DAYS */
	UNSUB_STAY		/* after an unsubscribe: email consent
				   granted again, with the page as evidence */
};

enum unsub_outcome {
	UNSUB_DONE,		/* recorded, with its audit row */
	UNSUB_ALREADY,		/* it holds already: nothing written */
	UNSUB_NO_CUSTOMER	/* the token's address is not (any more) a
				   customer: nothing written */
};

struct unsub_request {
	enum unsub_choice choice;
	const char	*campaign;	/* the token's */
	const char	*email;		/* the token's */
	int64_t		 token_at;	/* when the token was made */
	int64_t		 fewer_days;	/* UNSUB_FEWER */
	const char	*via;		/* the audit row's queue id: "segctl",
					   "segfeed" */
	const char	*source;	/* how it was asked, for the detail and
					   the evidence: "one-click", "page" */
	const char	*config_hash;
	int64_t		 now;
};

/*
 * Records RQ in its own transaction (ST must not be in one).  0 and
 * *OUT, or -1 with store_error(ST), nothing written.
 */
int	 unsub_apply(struct store *st, const struct unsub_request *rq,
	    enum unsub_outcome *out);
const char *unsub_choice_name(enum unsub_choice c);

#endif
