/*
 * gateway - talking to the outside over libcurl: SMTP re-injection of
 * tailored copies (and, later, the SMS gateways).
 *
 * One handle per worker thread (libcurl handles are not shared), reused
 * from one copy to the next so that the connection to the re-injection
 * port stays open between messages.  curl_global_init() is called once
 * by gateway_init() before any thread starts.
 */
#ifndef SEGM_GATEWAY_H
#define SEGM_GATEWAY_H

#include <stddef.h>

enum gw_result {
	GW_SENT,
	GW_TEMPFAIL,		/* 4xx, no answer, a timeout: try again */
	GW_PERMFAIL		/* 5xx: trying again will not help */
};

void	 gateway_init(void);

struct gw_smtp;

/* URL: smtp://HOST:PORT.  Caller frees with gw_smtp_free(). */
struct gw_smtp *gw_smtp_new(const char *url);
void	 gw_smtp_free(struct gw_smtp *g);
/*
 * Sends MESSAGE (LEN bytes, CRLF) from SENDER ("<a@b>" or "<>") to
 * RECIPIENTS (one bare address per line).  ERR says what the server
 * said, or why nothing was said.
 */
enum gw_result gw_smtp_send(struct gw_smtp *g, const char *sender,
	    const char *recipients, const void *message, size_t len,
	    char *err, size_t errlen);

#endif
