/*
 * feedback_sms - what the SMS gateways tell segfeed: replies from
 * customers (STOP, START, HELP, anything else) and what became of the
 * SMS sent (status callbacks, delivery reports).
 *
 * The pure half reads requests: an application/x-www-form-urlencoded
 * body or query string (feedback_sms_form_parse), Twilio's signature
 * (X-Twilio-Signature), the fields of each gateway's requests, and the
 * keywords.  It does no I/O and keeps no state: the HTTP listener hands
 * it bytes it has already read and bounded.  The other half applies what
 * was read to the store, each request in one write transaction with its
 * audit rows (feedback_sms_apply_*).
 *
 * Vocabularies are enums with a name function each; errors are values,
 * never strings to compare.  Strings in the structs read from a form
 * point into the form and live as long as it does.
 *
 * What the gateways send (feedback-facts.md):
 *   Twilio inbound  POST From, To, Body, MessageSid (+ OptOutType with
 *                   Advanced Opt-Out), signed by X-Twilio-Signature;
 *   Twilio status   POST MessageSid, MessageStatus, ErrorCode, To;
 *   Kannel MO       GET get-url, e.g. ?secret=S&sender=%q&receiver=%Q
 *                   &text=%a&id=%I;
 *   Kannel DLR      GET dlr-url, e.g. ?secret=S&type=%d&to=%p&job=ID
 *                   (the outbox job's id, which the driver puts in it).
 */
#ifndef SEGM_FEEDBACK_SMS_H
#define SEGM_FEEDBACK_SMS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* ---- forms ------------------------------------------------------------ */

/*
 * A Twilio inbound request carries some 30 fields (more with media);
 * 128 leaves room for fields Twilio adds without notice.  64 KiB holds a
 * 1,600-character body percent-encoded three times over.
 */
#define FEEDBACK_SMS_FORM_MAX		(64 * 1024)
#define FEEDBACK_SMS_PARAMS_MAX		128

enum feedback_sms_form_error {
	FEEDBACK_SMS_FORM_OK,
	FEEDBACK_SMS_FORM_TOO_LONG,	/* over FEEDBACK_SMS_FORM_MAX */
	FEEDBACK_SMS_FORM_TOO_MANY,	/* over FEEDBACK_SMS_PARAMS_MAX */
	FEEDBACK_SMS_FORM_BAD_ESCAPE,	/* '%' without two hex digits */
	FEEDBACK_SMS_FORM_NUL,		/* a NUL byte, raw or %00 */
	FEEDBACK_SMS_FORM_NO_NAME,	/* "=value" */
	FEEDBACK_SMS_FORM_NERRORS
};

struct feedback_sms_param {
	const char	*name;		/* decoded, NUL-terminated */
	const char	*value;		/* "" for "name" or "name=" */
};

struct feedback_sms_form {
	size_t		 n;
	struct feedback_sms_param p[FEEDBACK_SMS_PARAMS_MAX];
	char		*buf;		/* the decoded bytes; form_free */
};

/*
 * Parses the LEN bytes at DATA ("a=1&b=x+y%21", no leading '?') into F:
 * '+' is a space, %XX a byte; empty pairs ("a=1&&b=2") are skipped;
 * repeated names are all kept, in order.  On an error F holds nothing
 * (feedback_sms_form_free is still safe).  Always free F after.
 */
enum feedback_sms_form_error feedback_sms_form_parse(const char *data,
	    size_t len, struct feedback_sms_form *f);
void	 feedback_sms_form_free(struct feedback_sms_form *f);
const char *feedback_sms_form_error_name(enum feedback_sms_form_error e);

enum feedback_sms_lookup {
	FEEDBACK_SMS_ABSENT,
	FEEDBACK_SMS_FOUND,
	FEEDBACK_SMS_REPEATED		/* more than once: ambiguous */
};

/* NAME's value in F (*VALUE, the first one when repeated). */
enum feedback_sms_lookup feedback_sms_form_get(
	    const struct feedback_sms_form *f, const char *name,
	    const char **value);

/* ---- Twilio's signature ----------------------------------------------- */

/*
 * Whether SIGNATURE_B64 (X-Twilio-Signature) is Base64(HMAC-SHA1(
 * AUTH_TOKEN, FULL_URL + each parameter's name and value, sorted by name,
 * no separators)).  FULL_URL is the URL Twilio requested, query string
 * included, as configured in Twilio's console; like Twilio's own SDK it
 * is also tried with its port removed, or with the scheme's default port
 * added, since Twilio is inconsistent about which it signs.  Repeated
 * names count each distinct value once, values sorted too (the SDK's
 * rule).  Compared in constant time.  1 valid, 0 not (a NULL or empty
 * token or signature, too many parameters, an overlong URL).
 */
int	 feedback_sms_twilio_valid(const char *auth_token,
	    const char *full_url, const struct feedback_sms_param *params,
	    size_t nparams, const char *signature_b64);

/* ---- replies from customers ------------------------------------------- */

enum feedback_sms_keyword {
	FEEDBACK_SMS_KW_OTHER,		/* a reply for a human: no change */
	FEEDBACK_SMS_KW_OPT_OUT,	/* STOP and its synonyms */
	FEEDBACK_SMS_KW_OPT_IN,		/* START, UNSTOP, YES */
	FEEDBACK_SMS_KW_HELP,		/* HELP, INFO */
	FEEDBACK_SMS_KW_NKEYWORDS
};

/*
 * What the LEN bytes of TEXT ask for.  Only the whole message counts,
 * one keyword in any case, with blanks and ASCII punctuation around it
 * ("Stop.", " STOP! "): "please stop" is a reply, not a keyword, as for
 * Twilio and the carriers.
 */
enum feedback_sms_keyword feedback_sms_keyword(const char *text, size_t len);
const char *feedback_sms_keyword_name(enum feedback_sms_keyword k);

/* Why a gateway's request cannot be used. */
enum feedback_sms_error {
	FEEDBACK_SMS_OK,
	FEEDBACK_SMS_E_MISSING,		/* a required field is absent */
	FEEDBACK_SMS_E_REPEATED,	/* a field given twice */
	FEEDBACK_SMS_E_PHONE,		/* the customer's number is not one */
	FEEDBACK_SMS_E_SECRET,		/* Kannel's shared secret is wrong */
	FEEDBACK_SMS_E_VALUE,		/* a status or id that is not one */
	FEEDBACK_SMS_E_STORE,		/* the store failed (apply) */
	FEEDBACK_SMS_NERRORS
};
const char *feedback_sms_error_name(enum feedback_sms_error e);

struct feedback_sms_inbound {
	char		 from[24];	/* the customer, E.164 */
	const char	*to;		/* our number or short code */
	const char	*text;
	const char	*sid;		/* MessageSid, Kannel's id, or "" */
	enum feedback_sms_keyword keyword;
};

/*
 * A Twilio inbound message (From, To, Body, MessageSid required).  With
 * Advanced Opt-Out Twilio names the keyword itself (OptOutType: STOP,
 * START, HELP), custom words included: that is followed, so that the
 * store agrees with what Twilio now blocks.  Check the signature first.
 */
enum feedback_sms_error feedback_sms_twilio_inbound(
	    const struct feedback_sms_form *f, struct feedback_sms_inbound *in);
/*
 * A Kannel MO from its get-url's query string: secret (compared with
 * SECRET in constant time; an empty SECRET refuses everything), sender,
 * receiver and text required, id optional.
 */
enum feedback_sms_error feedback_sms_kannel_inbound(
	    const struct feedback_sms_form *q, const char *secret,
	    struct feedback_sms_inbound *in);

/* ---- what became of an SMS -------------------------------------------- */

enum feedback_sms_status {
	FEEDBACK_SMS_ST_PENDING,	/* queued, sent, buffered: no change */
	FEEDBACK_SMS_ST_DELIVERED,
	FEEDBACK_SMS_ST_FAILED,		/* not delivered; nothing learnt
					   about the number */
	FEEDBACK_SMS_ST_OPTED_OUT,	/* 21610: the number sent STOP */
	FEEDBACK_SMS_ST_INVALID,	/* 30004-30006 and the outbox's
					   21211, 21612, 21614 */
	FEEDBACK_SMS_ST_NSTATUS
};
const char *feedback_sms_status_name(enum feedback_sms_status s);

/* Twilio's MessageStatus and ErrorCode ("" or NULL: none). */
enum feedback_sms_status feedback_sms_twilio_status_map(const char *status,
	    const char *error_code);
/* Kannel's DLR type (%d): 1 delivered, 2 and 16 failed, the others
 * (4 buffered, 8 at the SMSC, 32 intermediate) pending. */
enum feedback_sms_status feedback_sms_kannel_dlr_map(long type);

struct feedback_sms_report {
	enum feedback_sms_status status;
	char		 to[24];	/* the number, E.164; "" unknown */
	const char	*ref;		/* Twilio's MessageSid, or "" */
	int64_t		 job;		/* Kannel: the outbox job, 0 unknown */
	const char	*code;		/* ErrorCode, Kannel's type; or "" */
};

/*
 * A Twilio status callback: MessageSid and MessageStatus required,
 * ErrorCode optional, To required when the status says something about
 * the number.  Check the signature first.
 */
enum feedback_sms_error feedback_sms_twilio_status(
	    const struct feedback_sms_form *f, struct feedback_sms_report *r);
/* A Kannel DLR: secret and type required, to and job optional, but to
 * required when the type says something about the number. */
enum feedback_sms_error feedback_sms_kannel_dlr(
	    const struct feedback_sms_form *q, const char *secret,
	    struct feedback_sms_report *r);

/*
 * The TwiML body that answers a Twilio inbound request: MESSAGE (NULL:
 * none, the empty <Response></Response>) escaped for XML, into OUT of
 * LEN bytes.  0, or -1 if it would not fit.
 */
int	 feedback_sms_twiml(const char *message, char *out, size_t len);

/* ---- applying it to the store ----------------------------------------- */

/*
 * What an apply did, for the listener's log.  The applies run inside a
 * write transaction of their own, begun and committed here (so not
 * inside one), with the audit rows; on an error it is rolled back and
 * FEEDBACK_SMS_E_STORE returned (store_error() says why), and the
 * gateway's retry applies it again.  The caller serialises uses of ST.
 * ANCHOR (AUDIT_ANCHOR_MAX bytes, or NULL) receives the chain's new head
 * to log once committed, "" when no row was written.
 */
struct feedback_sms_applied {
	int		 changed;	/* 0: known so already, nothing new */
	int64_t		 customers;	/* opted out, or granted again */
	int64_t		 skipped;	/* START from customers who never
					   consented: not consent */
	int64_t		 withdrawn;	/* queued SMS jobs withdrawn */
	int64_t		 job;		/* the job a report is about */
	int		 repeated;	/* a reply taken before, by its
					   message id: nothing done */
};

/*
 * A STOP from IN->from at NOW: the number is opted out at once (every
 * customer with it loses SMS consent), and the SMS jobs queued for it
 * are withdrawn (sms_withdrawn, as the outbox's send-time check would).
 * Audited as sms_optout, one row per customer (customer 0 when the
 * number is nobody's).
 */
enum feedback_sms_error feedback_sms_apply_optout(struct store *st,
	    const struct feedback_sms_inbound *in, int64_t now,
	    const char *config_hash, char *anchor,
	    struct feedback_sms_applied *out);
/*
 * A START (or UNSTOP, YES) from IN->from at NOW: SMS consent granted
 * again, source "sms_reply", the reply and its MessageSid as evidence,
 * to each customer with that number whose consent was revoked after
 * having been granted.  A customer who never consented gains none from
 * the keyword (it lifts a STOP; it is no written consent to marketing):
 * counted as skipped.  Audited as sms_optin.
 */
enum feedback_sms_error feedback_sms_apply_optin(struct store *st,
	    const struct feedback_sms_inbound *in, int64_t now,
	    const char *config_hash, char *anchor,
	    struct feedback_sms_applied *out);
/*
 * A status report at NOW.  OPTED_OUT and INVALID mark the number as the
 * outbox marks a gateway's refusal (store_phone_mark, source "gateway").
 * DELIVERED, FAILED and the marks are audited as sms_delivered or
 * sms_undelivered against the job when it is found (Twilio: the number
 * and the MessageSid; Kannel: the job and the number), else against the
 * number alone.  PENDING writes nothing.
 */
enum feedback_sms_error feedback_sms_apply_report(struct store *st,
	    const struct feedback_sms_report *r, int64_t now,
	    const char *config_hash, char *anchor,
	    struct feedback_sms_applied *out);

#endif
