/*
 * dsn - what a bounce or a complaint says, read from the message the MTA
 * hands us (Postfix's pipe(8): the whole message on stdin, the envelope
 * recipient it was sent to as ${recipient}).
 *
 * Two kinds of report are read, both multipart/report, anywhere in the
 * message's tree (not inside a returned original):
 *
 * - report-type=delivery-status (RFC 3464): a message/delivery-status
 *   (or message/global-delivery-status, RFC 6533) part, per-message
 *   fields, then one block per recipient.  Action delivered, relayed or
 *   expanded is no bounce and is only counted (skipped).  Action delayed,
 *   or a 4.x.x status, is soft; a 5.x.x status is hard.  The status is
 *   the Status field's code, else the first enhanced code in the
 *   Diagnostic-Code, else 5.0.0 for a failure, 4.0.0 for a delay;
 * - report-type=feedback-report (ARF, RFC 5965): a message/feedback-report
 *   part whose Feedback-Type is abuse, fraud or other is a complaint, for
 *   each Original-Rcpt-To (one with no recipient when there is none).
 *   Other types (auth-failure, not-spam, virus) are counted as skipped.
 *   Microsoft's JMRP, which is not ARF (multipart/mixed with the original
 *   attached), is read as an abuse complaint when the original carries
 *   X-HmXmrOriginalRecipient.
 *
 * The token is looked for in the envelope recipient (the VERP address the
 * report was sent to) and, apart, in the returned original (message/rfc822
 * or text/rfc822-headers: its Return-Path) or the ARF Original-Mail-From;
 * neither is checked here (bounce.h).  The campaign header of the original,
 * when returned, is copied too.  Every string copied out is bounded and
 * its control characters (and bytes above 126) masked as '?', so a
 * report's text may go to a log or the audit trail as it is.
 *
 * dsn_parse is pure: bytes in, a struct out; no I/O, no state.  GMime
 * must be initialised first, once, by render_init() (render.h).
 *
 * dsn_apply() records what a report says, for the one recipient its
 * genuine token names, in one transaction with its audit row: a hard
 * bounce, a soft bounce or a complaint engagement.  Nothing else is ever
 * written: a report without a genuine token (forged, from another key,
 * or none) or about an address the customer no longer has changes
 * nothing, and says so in its outcome.
 */
#ifndef SEGM_DSN_H
#define SEGM_DSN_H

#include <stddef.h>
#include <stdint.h>

#include "bounce.h"

#define DSN_INPUT_MAX	(16u << 20)	/* larger reports are refused */
#define DSN_RCPTS_MAX	32		/* recipients kept; more skipped */
#define DSN_ADDR_MAX	320
#define DSN_STATUS_MAX	16		/* "5.1.1" */
#define DSN_DIAG_MAX	256
#define DSN_CAMPAIGN_MAX 128

enum dsn_kind {
	DSN_HARD,		/* permanent failure: 5.x.x */
	DSN_SOFT,		/* transient: 4.x.x, or delayed */
	DSN_COMPLAINT		/* an ARF abuse (or fraud, other) report */
};

enum dsn_type {
	DSN_DELIVERY,		/* report-type=delivery-status */
	DSN_FEEDBACK		/* report-type=feedback-report, or JMRP */
};

enum dsn_error {
	DSN_OK,
	DSN_ERR_TOO_BIG,	/* over DSN_INPUT_MAX */
	DSN_ERR_NOT_MIME,	/* no message GMime can read */
	DSN_ERR_NOT_REPORT,	/* no delivery-status or feedback-report */
	DSN_ERR_NO_RECIPIENT,	/* a delivery status naming nobody */
	DSN_ERR_NO_TYPE		/* a feedback report with no Feedback-Type */
};

struct dsn_rcpt {
	enum dsn_kind	 kind;
	char		 recipient[DSN_ADDR_MAX];	/* "" unknown */
	char		 status[DSN_STATUS_MAX];	/* "" for complaints */
	char		 diagnostic[DSN_DIAG_MAX];	/* Diagnostic-Code, or
							   the feedback type */
};

struct dsn_report {
	enum dsn_error	 error;
	enum dsn_type	 type;
	struct dsn_rcpt	 rcpts[DSN_RCPTS_MAX];
	size_t		 nrcpts;
	size_t		 skipped;	/* no bounce: delivered, relayed, ...,
					   not a complaint, or past the max */
	char		 env_token[BOUNCE_TOKEN_MAX];	/* "" none */
	char		 orig_token[BOUNCE_TOKEN_MAX];	/* "" none */
	char		 campaign[DSN_CAMPAIGN_MAX];	/* "" none */
	char		 reason[160];	/* the error, in words */
};

/*
 * Reads the LEN bytes of MSG, sent to ENV_RCPT (NULL: unknown), looking
 * for CAMPAIGN_HEADER (NULL: none) in the original.  0 and *R; -1 with
 * R->error and R->reason when there is no report to read.
 */
int	 dsn_parse(const void *msg, size_t len, const char *env_rcpt,
	    const char *campaign_header, struct dsn_report *r);
const char *dsn_kind_name(enum dsn_kind k);

struct store;

enum dsn_outcome {
	DSN_RECORDED,		/* the engagement and its audit row */
	DSN_ALREADY,		/* the same report recorded this second */
	DSN_NOTHING,		/* a report of no failure (delivered, ...) */
	DSN_NOT_OURS,		/* no genuine token: nothing written */
	DSN_NOT_CUSTOMER	/* the token's customer is gone, has another
				   address, or the report is about others */
};

struct dsn_result {
	enum dsn_outcome outcome;
	enum dsn_kind	 kind;
	int64_t		 customer_id;
	char		 email[DSN_ADDR_MAX];
	char		 campaign[DSN_CAMPAIGN_MAX];	/* resolved, or
							   "#" and its hash */
	char		 status[DSN_STATUS_MAX];
	const char	*token_from;	/* "envelope", "original" */
};

/*
 * Records report R, checking its tokens with KEY (outbox.key_file's), in
 * its own transaction (ST must not be in one).  0 and *OUT, or -1 with
 * store_error(ST), nothing written.
 */
int	 dsn_apply(struct store *st, const unsigned char *key, size_t keylen,
	    const struct dsn_report *r, const char *config_hash, int64_t now,
	    struct dsn_result *out);
const char *dsn_outcome_name(enum dsn_outcome o);
const char *dsn_error_name(enum dsn_error e);

/*
 * Taking one message handed to us as a report (dsn_take.c), the whole of
 * what segctl bounce and segfeed's LMTP listener do with it: read it,
 * record it, and keep in quarantine directory QDIR (NULL: none) what is
 * not ours to record, so that nothing is dropped silently:
 *
 * - DSN_TAKEN: recorded, or nothing to record (a report of no failure,
 *   a token forged, from another key or missing, an address the customer
 *   no longer has: kept in QDIR, never answered with a bounce of our
 *   own, which would tell a forger which tokens pass);
 * - DSN_UNREADABLE: no report in it, kept in QDIR first; the MTA may
 *   return it to its sender;
 * - DSN_RETRY: the store (NULL: could not be opened) or QDIR could not
 *   take it; the MTA keeps it and tries again.
 *
 * SAY is one line for the log or the reply ("sue@example.com: hard
 * bounce 5.1.1 recorded (campaign launch)", "kept in PATH: not ours").
 */
enum dsn_verdict {
	DSN_TAKEN,
	DSN_UNREADABLE,
	DSN_RETRY
};

struct conf;
struct dsn_take {
	enum dsn_verdict verdict;
	struct dsn_result res;		/* when read and applied */
	int		 applied;
	char		 say[4608];
};

/*
 * MSG, LEN bytes, sent to RCPT (NULL: unknown), taken as above with
 * configuration CF (outbox.key_file's key, the campaign header) at NOW.
 * ST must not be in a transaction; the caller serialises its uses.
 * Fills *OUT; returns its verdict.
 */
enum dsn_verdict dsn_take(struct store *st, const struct conf *cf,
	    const void *msg, size_t len, const char *rcpt, const char *qdir,
	    int64_t now, struct dsn_take *out);

#endif
