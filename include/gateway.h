/*
 * gateway - talking to the outside over libcurl: SMTP re-injection of
 * tailored copies, and the SMS gateways.
 *
 * One handle per worker thread (libcurl handles are not shared), reused
 * from one copy to the next so that the connection to the re-injection
 * port stays open between messages.  curl_global_init() is called once
 * by gateway_init() before any thread starts.
 */
#ifndef SEGM_GATEWAY_H
#define SEGM_GATEWAY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"

enum gw_result {
	GW_SENT,
	GW_TEMPFAIL,		/* 4xx, no answer, a timeout: try again */
	GW_PERMFAIL,		/* 5xx: trying again will not help */
	GW_CANCELLED		/* stopped by the shutdown before an answer:
				   nothing to record, the lease recovers it */
};

void	 gateway_init(void);

struct gw_smtp;

/*
 * URL: smtp://HOST:PORT.  A transfer in flight ends, GW_CANCELLED, once
 * *CANCEL (may be NULL) is set.  Caller frees with gw_smtp_free().
 */
struct gw_smtp *gw_smtp_new(const char *url, const atomic_int *cancel);
void	 gw_smtp_free(struct gw_smtp *g);
/*
 * Sends a message of LEN bytes (CRLF) from SENDER ("<a@b>" or "<>") to
 * RECIPIENTS (one bare address per line), read as it goes: READ(ARG,
 * AT, BUF, N) puts N bytes from AT into BUF, 0, or -1 (the transfer is
 * abandoned, GW_TEMPFAIL, ERR "cannot read the message").  ERR says
 * what the server said last (sent: its reply to the message, which
 * names its queue entry), or why nothing was said.
 */
typedef int (*gw_read_fn)(void *arg, size_t at, void *buf, size_t n);
enum gw_result gw_smtp_send(struct gw_smtp *g, const char *sender,
	    const char *recipients, gw_read_fn read, void *arg, size_t len,
	    char *err, size_t errlen);
/* 0 when something takes a connection at URL, else -1 with ERR. */
int	 gw_smtp_probe(const char *url, char *err, size_t errlen);
/* The queue id that REPLY, a 250 to a message, names; "" when none. */
void	 gw_smtp_queue_id(const char *reply, char *out, size_t outlen);

/*
 * SMS, one driver per gateway API (segmilter.conf's sms.driver):
 *
 *   twilio   POST URL/2010-04-01/Accounts/SID/Messages.json, form-encoded
 *            To, From or MessagingServiceSid, Body, StatusCallback; HTTP
 *            basic auth with the account SID and auth token.
 *   kannel   GET URL/cgi-bin/sendsms?username&password&from&to&text, with
 *            coding=2 and charset=UTF-8 for a UCS-2 text.
 *   webhook  POST URL, JSON {"id", "to", "text", "campaign"}, signed:
 *            X-Segmilter-Timestamp: T and X-Segmilter-Signature:
 *            sha256=HEX(HMAC-SHA256(secret, T "." body)), and an
 *            Idempotency-Key header a receiver can use to drop repeats.
 *
 * Replies: 2xx sent (with the gateway's message id, if it gives one),
 * even when the body then stalls or the connection drops: the gateway
 * took the SMS, and asking again would send it twice (the id is then
 * unknown); 408, 429 and 5xx, a timeout or no connection before the
 * status line: try again; 401, 403 and 404 are the gateway refusing
 * us, not the number, so also try again (and the log says so) until
 * the job expires; any other 4xx is permanent, and says why when the
 * gateway does: the number opted out (Twilio 21610, webhook
 * "opted_out") or is invalid (Twilio 21211, 21612, 21614, webhook
 * "invalid_number").  Kannel's 400s name no reason a number can be
 * marked by (a bad password in smsbox's configuration looks the same),
 * so they mark nothing.
 *
 * Encoding and classifying are pure (gw_sms_encode, gw_sms_classify) so
 * that tests check each driver's bytes without a network.  Credentials
 * travel in the request only: nothing here logs a URL or a header.
 */
enum gw_sms_refusal {
	GW_SMS_OTHER,		/* no particular reason given */
	GW_SMS_OPTED_OUT,	/* the number unsubscribed */
	GW_SMS_INVALID		/* not a number that can take an SMS */
};

struct gw_sms_msg {
	const char	*to;		/* E.164 */
	const char	*text;		/* UTF-8 */
	const char	*key;		/* idempotency key */
	const char	*campaign;
	int64_t		 job;		/* the outbox job, for reports */
	int		 ucs2;		/* not GSM-7 */
};

#define GW_SMS_HEADERS	4

struct gw_sms_request {
	int		 post;		/* 0: GET */
	struct buf	 url;
	struct buf	 body;
	const char	*content_type;
	char		 headers[GW_SMS_HEADERS][256];  /* key <= 180 */
	size_t		 nheaders;
	char		 userpwd[2 * CONF_SECRET_MAX + 2];  /* "" none */
};

struct gw_sms_reply {
	enum gw_result	 result;
	enum gw_sms_refusal refusal;	/* with GW_PERMFAIL */
	char		 ref[128];	/* the gateway's message id */
	char		 why[256];	/* for the log and the audit row */
};

/* The request for M under S at NOW (the webhook's timestamp); caller
 * frees with gw_sms_request_free().  0, or -1 if it would not fit. */
int	 gw_sms_encode(const struct conf_sms *s, const struct gw_sms_msg *m,
	    int64_t now, struct gw_sms_request *rq);
void	 gw_sms_request_free(struct gw_sms_request *rq);
/*
 * What HTTP STATUS with BODY (LEN bytes) means for DRIVER.  CUT is NULL
 * when the reply came whole, else why it stopped after the status line
 * (a stall past sms.timeout, a dropped connection): BODY is then what
 * arrived of it.
 */
void	 gw_sms_classify(enum conf_sms_driver driver, long status,
	    const char *body, size_t len, const char *cut,
	    struct gw_sms_reply *out);

struct gw_sms;

/* Caller frees with gw_sms_free(); one per thread.  CANCEL: as above. */
struct gw_sms *gw_sms_new(const atomic_int *cancel);
void	 gw_sms_free(struct gw_sms *g);
/* Sends M through S's gateway; the outcome in *OUT, also returned. */
enum gw_result gw_sms_send(struct gw_sms *g, const struct conf_sms *s,
	    const struct gw_sms_msg *m, int64_t now, struct gw_sms_reply *out);

#endif
