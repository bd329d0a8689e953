/*
 * test_lmtp.c - LMTP's server side (lmtp.h) driven as Postfix's lmtp(8)
 * drives it: whole sessions, pipelined, cut into pieces anywhere.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lmtp.h"

/*
 * Feeds IN to S in pieces of STEP bytes, answering each message with
 * "250 2.0.0 <recipient> <message length>" per recipient; returns what
 * the server said, and the last event in *EV.
 */
static char *
session(struct lmtp *s, struct buf *out, const char *in, size_t step,
    enum lmtp_event *ev)
{
	size_t len = strlen(in), off = 0, n, used, i, mlen;
	char text[600];

	*ev = LMTP_MORE;
	while (off < len && *ev != LMTP_CLOSE) {
		n = len - off < step ? len - off : step;
		*ev = lmtp_feed(s, in + off, n, &used, out);
		off += used;
		if (*ev == LMTP_MESSAGE) {
			lmtp_message(s, &mlen);
			for (i = 0; i < lmtp_nrcpts(s); i++) {
				snprintf(text, sizeof(text), "%s %zu",
				    lmtp_rcpt(s, i), mlen);
				lmtp_answer(s, 250, "2.0.0", text, out);
			}
			*ev = LMTP_MORE;
		}
	}
	return strdup(buf_str(out));
}

static const char pipelined[] =
    "LHLO mx.shop.example\r\n"
    "MAIL FROM:<> SIZE=100\r\n"
    "RCPT TO:<bounces+abc@shop.example> NOTIFY=NEVER\r\n"
    "RCPT TO:<bounces+def@shop.example>\r\n"
    "DATA\r\n"
    "Subject: x\r\n"
    "\r\n"
    "..a stuffed line\r\n"
    ".\r\n"
    "MAIL FROM:<mailer-daemon@example.com>\r\n"
    "RCPT TO:<bounces+ghi@shop.example>\r\n"
    "DATA\r\n"
    "one\n"
    ".\n"
    "QUIT\r\n";

static const char pipelined_replies[] =
    "220 test LMTP segfeed ready\r\n"
    "250-test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n"
    "250 8BITMIME\r\n"
    "250 2.1.0 ok\r\n"
    "250 2.1.5 ok\r\n"
    "250 2.1.5 ok\r\n"
    "354 end data with <CR><LF>.<CR><LF>\r\n"
    /* "Subject: x\n\n.a stuffed line\n": 28 bytes */
    "250 2.0.0 bounces+abc@shop.example 28\r\n"
    "250 2.0.0 bounces+def@shop.example 28\r\n"
    "250 2.1.0 ok\r\n"
    "250 2.1.5 ok\r\n"
    "354 end data with <CR><LF>.<CR><LF>\r\n"
    "250 2.0.0 bounces+ghi@shop.example 4\r\n"
    "221 2.0.0 bye\r\n";

/* The same session whole, a byte at a time, and in odd pieces. */
static void
test_pipelined(void **state)
{
	static const size_t steps[] = { 100000, 1, 7, 64 };
	enum lmtp_event ev;
	struct lmtp *s;
	struct buf out;
	char *got;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		buf_init(&out, 1 << 20);
		s = lmtp_new("test", &out);
		got = session(s, &out, pipelined, steps[i], &ev);
		assert_string_equal(got, pipelined_replies);
		assert_int_equal(ev, LMTP_CLOSE);
		free(got);
		lmtp_free(s);
		buf_free(&out);
	}
}

/* The message as pipe(8) would hand it: LF line ends, dots unstuffed. */
static void
test_message(void **state)
{
	static const char session_text[] = "LHLO x\r\nMAIL FROM:<>\r\n"
	    "RCPT TO:<a@b.c>\r\nDATA\r\nA: 1\r\n\r\n..\r\n...x\r\nend\r\n"
	    ".\r\nNOOP\r\n";
	enum lmtp_event ev;
	struct lmtp *s;
	struct buf out;
	const char *m;
	size_t used, len;

	(void)state;
	buf_init(&out, 1 << 20);
	s = lmtp_new("test", &out);
	ev = lmtp_feed(s, session_text, strlen(session_text), &used, &out);
	assert_int_equal(ev, LMTP_MESSAGE);
	/* stopped right after the final dot: NOOP is still to come */
	assert_int_equal(used, strlen(session_text) - strlen("NOOP\r\n"));
	m = lmtp_message(s, &len);
	assert_int_equal(len, strlen("A: 1\n\n.\n..x\nend\n"));
	assert_memory_equal(m, "A: 1\n\n.\n..x\nend\n", len);
	assert_string_equal(lmtp_sender(s), "");
	assert_int_equal(lmtp_nrcpts(s), 1);
	assert_string_equal(lmtp_rcpt(s, 0), "a@b.c");
	/* until answered, nothing more is taken */
	ev = lmtp_feed(s, "NOOP\r\n", 6, &used, &out);
	assert_int_equal(ev, LMTP_MESSAGE);
	assert_int_equal(used, 0);
	lmtp_answer(s, 451, "4.3.0", "store\r\ndown", &out);
	assert_non_null(strstr(buf_str(&out), "451 4.3.0 store??down\r\n"));
	ev = lmtp_feed(s, "NOOP\r\n", 6, &used, &out);
	assert_int_equal(ev, LMTP_MORE);
	assert_int_equal(used, 6);
	lmtp_free(s);
	buf_free(&out);
}

/* Out of order, malformed, too many: refused, and the session goes on. */
static void
test_refusals(void **state)
{
	static const struct {
		const char	*in;
		const char	*want;
		size_t		 len;	/* 0: strlen's */
	} cases[] = {
		{ "MAIL FROM:<>\r\n", "503 5.5.1 LHLO first\r\n", 0 },
		{ "EHLO x\r\n", "500 5.5.1 this is LMTP: LHLO, please\r\n", 0 },
		{ "LHLO\r\n", "501 5.5.4 syntax: LHLO name\r\n", 0 },
		{ "LHLO x\r\nRCPT TO:<a@b.c>\r\n", "503 5.5.1 MAIL first\r\n", 0 },
		{ "LHLO x\r\nMAIL FROM:a@b.c\r\n",
		    "501 5.5.4 syntax: MAIL FROM:<address>\r\n", 0 },
		{ "LHLO x\r\nMAIL FROM:<>\r\nMAIL FROM:<>\r\n",
		    "503 5.5.1 nested MAIL\r\n", 0 },
		{ "LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<a b@c.d>\r\n",
		    "501 5.5.4 syntax: RCPT TO:<address>\r\n", 0 },
		{ "LHLO x\r\nMAIL FROM:<>\r\nDATA\r\n",
		    "503 5.5.1 RCPT first\r\n", 0 },
		{ "LHLO x\r\nVRFY a\r\n", "502 5.5.2 command not recognised\r\n", 0 },
		{ "LHLO x\r\nMAIL\0FROM:<>\r\n", "500 5.5.2 NUL in a command\r\n",
		    sizeof("LHLO x\r\nMAIL\0FROM:<>\r\n") - 1 },
	};
	enum lmtp_event ev;
	struct lmtp *s;
	struct buf out;
	char *got, line[1200];
	size_t i, used, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_init(&out, 1 << 20);
		s = lmtp_new("test", &out);
		k = cases[i].len ? cases[i].len : strlen(cases[i].in);
		ev = lmtp_feed(s, cases[i].in, k, &used, &out);
		assert_int_equal(ev, LMTP_MORE);
		got = strdup(buf_str(&out));
		if (strlen(got) < strlen(cases[i].want) ||
		    strcmp(got + strlen(got) - strlen(cases[i].want),
		    cases[i].want) != 0)
			fail_msg("case %zu: said %s", i, got);
		free(got);
		lmtp_free(s);
		buf_free(&out);
	}

	/* a line past the limit, then a good one */
	buf_init(&out, 1 << 20);
	s = lmtp_new("test", &out);
	memset(line, 'x', sizeof(line));
	memcpy(line, "LHLO ", 5);
	line[sizeof(line) - 2] = '\r';
	line[sizeof(line) - 1] = '\n';
	ev = lmtp_feed(s, line, sizeof(line), &used, &out);
	assert_non_null(strstr(buf_str(&out), "500 5.5.2 line too long\r\n"));
	ev = lmtp_feed(s, "NOOP\r\n", 6, &used, &out);
	assert_int_equal(ev, LMTP_MORE);
	assert_non_null(strstr(buf_str(&out), "too long\r\n250 2.0.0 ok\r\n"));
	lmtp_free(s);
	buf_free(&out);

	/* recipients past the limit are refused, the others kept */
	buf_init(&out, 1 << 20);
	s = lmtp_new("test", &out);
	lmtp_feed(s, "LHLO x\r\nMAIL FROM:<>\r\n", 22, &used, &out);
	for (i = 0; i < LMTP_RCPTS_MAX + 1; i++)
		lmtp_feed(s, "RCPT TO:<a@b.c>\r\n", 17, &used, &out);
	assert_int_equal(lmtp_nrcpts(s), LMTP_RCPTS_MAX);
	assert_non_null(strstr(buf_str(&out), "452 4.5.3 too many"
	    " recipients\r\n"));
	lmtp_free(s);
	buf_free(&out);

	/* a client that only errs is hung up on */
	buf_init(&out, 1 << 20);
	s = lmtp_new("test", &out);
	for (i = 0, ev = LMTP_MORE; i < 100 && ev == LMTP_MORE; i++)
		ev = lmtp_feed(s, "BOGUS\r\n", 7, &used, &out);
	assert_int_equal(ev, LMTP_CLOSE);
	assert_true(i <= 20);
	assert_non_null(strstr(buf_str(&out), "421 4.7.0 too many errors"));
	lmtp_free(s);
	buf_free(&out);
}

/* A message past the reader's limit is kept to one byte over it. */
static void
test_too_big(void **state)
{
	enum lmtp_event ev = LMTP_MORE;
	struct lmtp *s;
	struct buf out;
	char *chunk;
	size_t used, len, sent = 0;

	(void)state;
	chunk = malloc(1 << 20);
	memset(chunk, 'a', 1 << 20);
	chunk[(1 << 20) - 1] = '\n';
	buf_init(&out, 1 << 20);
	s = lmtp_new("test", &out);
	lmtp_feed(s, "LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<a@b.c>\r\nDATA\r\n",
	    45, &used, &out);
	while (sent < LMTP_MESSAGE_MAX + (2u << 20)) {
		ev = lmtp_feed(s, chunk, 1 << 20, &used, &out);
		assert_int_equal(ev, LMTP_MORE);
		sent += 1 << 20;
	}
	ev = lmtp_feed(s, ".\r\n", 3, &used, &out);
	assert_int_equal(ev, LMTP_MESSAGE);
	lmtp_message(s, &len);
	assert_int_equal(len, LMTP_MESSAGE_MAX + 1);
	lmtp_free(s);
	buf_free(&out);
	free(chunk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_too_big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
