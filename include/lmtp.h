/*
 * lmtp - the server side of LMTP (RFC 2033), as segfeed's bounce
 * listener speaks it to Postfix's lmtp(8) client: no socket here, bytes
 * in, replies out, so unit tests and fuzzers drive it directly.
 *
 * A session takes what the client sends, in any pieces (pipelined
 * commands included), and appends every reply to OUT.  LHLO, MAIL FROM,
 * RCPT TO (at most LMTP_RCPTS_MAX), DATA, RSET, NOOP and QUIT are
 * understood; HELO and EHLO are refused (this is LMTP), as is anything
 * else.  A command line longer than LMTP_LINE_MAX is refused whole.
 * DATA's lines are dot-unstuffed and kept with LF line ends, as pipe(8)
 * would hand the message, up to LMTP_MESSAGE_MAX + 1 bytes (what is past
 * that is read and dropped: the reader refuses such a report anyway).
 *
 * When the final "." arrives, lmtp_feed() stops and returns LMTP_MESSAGE:
 * the caller takes the message and its recipients, decides each, and
 * answers with lmtp_answer() once per recipient, in order (LMTP's reply
 * per recipient), after which lmtp_feed() goes on with what follows.
 * LMTP_CLOSE: QUIT was answered, or the client must be dropped.
 */
#ifndef SEGM_LMTP_H
#define SEGM_LMTP_H

#include <stddef.h>

#include "buf.h"
#include "dsn.h"

#define LMTP_LINE_MAX		1000	/* a command line (RFC 5321 4.5.3.1.4
					   is 512; Postfix sends less) */
#define LMTP_RCPTS_MAX		100
#define LMTP_MESSAGE_MAX	DSN_INPUT_MAX
#define LMTP_ADDR_MAX		512

enum lmtp_event {
	LMTP_MORE,		/* all input used; send OUT, read more */
	LMTP_MESSAGE,		/* a message is complete: answer it */
	LMTP_CLOSE		/* send OUT, then close */
};

struct lmtp;

/* A session; its greeting ("220 NAME LMTP ...") is appended to OUT. */
struct lmtp *lmtp_new(const char *name, struct buf *out);
void	 lmtp_free(struct lmtp *s);

/*
 * Takes up to LEN bytes of P, appending replies to OUT; *USED says how
 * many it took (all of them unless it stopped at LMTP_MESSAGE or
 * LMTP_CLOSE: feed the rest again after answering).
 */
enum lmtp_event lmtp_feed(struct lmtp *s, const char *p, size_t len,
	    size_t *used, struct buf *out);

/* The message LMTP_MESSAGE announced: LF line ends, not terminated. */
const char *lmtp_message(const struct lmtp *s, size_t *len);
size_t	 lmtp_nrcpts(const struct lmtp *s);
/* Recipient I as given in RCPT TO, without the angle brackets. */
const char *lmtp_rcpt(const struct lmtp *s, size_t i);
/* The sender as given in MAIL FROM ("" for <>). */
const char *lmtp_sender(const struct lmtp *s);

/*
 * The reply for the next recipient of the message: CODE (250, 451,
 * 554, ...), its enhanced status ("2.0.0") and TEXT (one line; CR, LF
 * and other controls are masked).  After the last, the session is ready
 * for the next transaction.
 */
void	 lmtp_answer(struct lmtp *s, int code, const char *status,
	    const char *text, struct buf *out);

#endif
