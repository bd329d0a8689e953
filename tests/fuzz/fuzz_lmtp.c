/*
 * fuzz_lmtp.c - LMTP's server side (lmtp.h) on whatever a client sends,
 * fed in pieces whose sizes the input's first byte sets, each message
 * answered with a code the recipient count picks.  Beyond crashes: every
 * reply is a whole line (three digits, a space or a hyphen, text, CRLF,
 * no other control character), a message is announced only with at
 * least one recipient and its length within the reader's limit, and a
 * closed session takes nothing more.
 *
 * libFuzzer entry point; see fuzz_render.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lmtp.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless OUT is nothing but well-formed reply lines. */
static void
check_replies(const struct buf *out)
{
	const char *p = out->data, *end = out->data + out->len, *nl;

	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    nl - p < 5 || nl[-1] != '\r')
			abort();
		if (p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
		    p[2] < '0' || p[2] > '9' || (p[3] != ' ' && p[3] != '-'))
			abort();
		for (; p < nl - 1; p++)
			if ((unsigned char)*p < ' ' || *p == 0x7f)
				abort();
		p = nl + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int codes[] = { 250, 451, 554 };
	enum lmtp_event ev = LMTP_MORE;
	const char *p = (const char *)data;
	size_t step, used, n, i, len;
	struct lmtp *s;
	struct buf out;

	if (size == 0)
		return 0;
	step = (size_t)data[0] % 16 + 1;
	p++;
	size--;
	buf_init(&out, 64u << 20);
	s = lmtp_new("fuzz", &out);
	while (size > 0 && ev != LMTP_CLOSE) {
		n = size < step ? size : step;
		ev = lmtp_feed(s, p, n, &used, &out);
		if (used > n)
			abort();
		p += used;
		size -= used;
		if (ev == LMTP_MESSAGE) {
			if (lmtp_nrcpts(s) == 0 || lmtp_nrcpts(s) >
			    LMTP_RCPTS_MAX)
				abort();
			lmtp_message(s, &len);
			if (len > LMTP_MESSAGE_MAX + 1)
				abort();
			for (i = 0; i < lmtp_nrcpts(s); i++)
				lmtp_answer(s, codes[i % 3], "2.0.0",
				    lmtp_rcpt(s, i), &out);
			ev = LMTP_MORE;
		} else if (ev == LMTP_MORE && used != n)
			abort();
	}
	check_replies(&out);
	lmtp_free(s);
	buf_free(&out);
	return 0;
}
