/*
 * lmtp.c - LMTP's server side, without a socket (lmtp.h).
 *
 * Input is cut into lines here, whatever pieces it came in.  A command
 * line is kept whole up to LMTP_LINE_MAX; a longer one is dropped to its
 * end and refused.  In DATA a line may be of any length: it is passed on
 * in pieces, and only its first piece is looked at for a leading dot.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lmtp.h"
#include "xalloc.h"

#define LMTP_ERRORS_MAX	20	/* refused commands before we hang up */

enum lmtp_phase {
	PH_GREETED,		/* waiting for LHLO */
	PH_READY,		/* waiting for MAIL */
	PH_MAIL,		/* MAIL given, RCPT next */
	PH_DATA,		/* reading the message */
	PH_ANSWER		/* the message read: replies owed */
};

struct lmtp {
	enum lmtp_phase	 phase;
	char		*name;
	char		 line[LMTP_LINE_MAX + 1];
	size_t		 linelen;
	int		 overlong;	/* dropping the rest of a line */
	int		 midline;	/* DATA: a line passed on in part */
	int		 errors;
	char		*sender;
	char		*rcpts[LMTP_RCPTS_MAX];
	size_t		 nrcpts;
	size_t		 answered;
	struct buf	 msg;
};

static void
reply(struct buf *out, const char *text)
{
	buf_puts(out, text);
	buf_puts(out, "\r\n");
}

static void
transaction_reset(struct lmtp *s)
{
	size_t i;

	for (i = 0; i < s->nrcpts; i++)
		free(s->rcpts[i]);
	s->nrcpts = 0;
	s->answered = 0;
	free(s->sender);
	s->sender = NULL;
	buf_free(&s->msg);
	buf_init(&s->msg, LMTP_MESSAGE_MAX + 1);
	s->midline = 0;
}

struct lmtp *
lmtp_new(const char *name, struct buf *out)
{
	struct lmtp *s = xcalloc(1, sizeof(*s));

	s->name = xstrdup(name);
	buf_init(&s->msg, LMTP_MESSAGE_MAX + 1);
	s->phase = PH_GREETED;
	buf_printf(out, "220 %s LMTP segfeed ready\r\n", s->name);
	return s;
}

void
lmtp_free(struct lmtp *s)
{
	if (s == NULL)
		return;
	transaction_reset(s);
	buf_free(&s->msg);
	free(s->name);
	free(s);
}

/*
 * The path of "FROM:<path> params" or "TO:<path> params" after the verb,
 * PREFIX the "FROM:" or "TO:", into a new string; NULL when malformed.
 * The path is taken as given: the reader checks what it needs (a token).
 */
static char *
path_of(const char *arg, const char *prefix)
{
	size_t n = strlen(prefix), len;
	const char *p, *end;
	char *out;

	if (strncasecmp(arg, prefix, n) != 0)
		return NULL;
	p = arg + n;
	while (*p == ' ')
		p++;
	if (*p != '<')
		return NULL;
	p++;
	if ((end = strchr(p, '>')) == NULL)
		return NULL;
	len = (size_t)(end - p);
	if (len >= LMTP_ADDR_MAX || (end[1] != '\0' && end[1] != ' '))
		return NULL;
	for (n = 0; n < len; n++)
		if ((unsigned char)p[n] <= ' ' || (unsigned char)p[n] == 0x7f)
			return NULL;
	out = xmalloc(len + 1);
	memcpy(out, p, len);
	out[len] = '\0';
	return out;
}

/* Counts a refused command; 1 when there were too many: hang up. */
static int
refused(struct lmtp *s, struct buf *out, const char *text)
{
	reply(out, text);
	if (++s->errors < LMTP_ERRORS_MAX)
		return 0;
	reply(out, "421 4.7.0 too many errors, closing");
	return 1;
}

/* One command line, NUL-terminated, without its line end. */
static enum lmtp_event
command(struct lmtp *s, const char *line, struct buf *out)
{
	char verb[8], *path;
	size_t n = strcspn(line, " ");

	if (n == 0 || n >= sizeof(verb))
		return refused(s, out, "500 5.5.2 command not recognised") ?
		    LMTP_CLOSE : LMTP_MORE;
	memcpy(verb, line, n);
	verb[n] = '\0';
	line += n;
	while (*line == ' ')
		line++;

	if (strcasecmp(verb, "LHLO") == 0) {
		if (*line == '\0')
			return refused(s, out, "501 5.5.4 syntax: LHLO name") ?
			    LMTP_CLOSE : LMTP_MORE;
		transaction_reset(s);
		s->phase = PH_READY;
		buf_printf(out, "250-%s\r\n250-PIPELINING\r\n"
		    "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n", s->name);
	} else if (strcasecmp(verb, "HELO") == 0 ||
	    strcasecmp(verb, "EHLO") == 0) {
		if (refused(s, out, "500 5.5.1 this is LMTP: LHLO, please"))
			return LMTP_CLOSE;
	} else if (strcasecmp(verb, "MAIL") == 0) {
		if (s->phase == PH_GREETED)
			return refused(s, out, "503 5.5.1 LHLO first") ?
			    LMTP_CLOSE : LMTP_MORE;
		if (s->phase != PH_READY)
			return refused(s, out, "503 5.5.1 nested MAIL") ?
			    LMTP_CLOSE : LMTP_MORE;
		if ((path = path_of(line, "FROM:")) == NULL)
			return refused(s, out, "501 5.5.4 syntax: MAIL"
			    " FROM:<address>") ? LMTP_CLOSE : LMTP_MORE;
		s->sender = path;
		s->phase = PH_MAIL;
		reply(out, "250 2.1.0 ok");
	} else if (strcasecmp(verb, "RCPT") == 0) {
		if (s->phase != PH_MAIL)
			return refused(s, out, "503 5.5.1 MAIL first") ?
			    LMTP_CLOSE : LMTP_MORE;
		if ((path = path_of(line, "TO:")) == NULL)
			return refused(s, out, "501 5.5.4 syntax: RCPT"
			    " TO:<address>") ? LMTP_CLOSE : LMTP_MORE;
		if (s->nrcpts == LMTP_RCPTS_MAX) {
			free(path);
			reply(out, "452 4.5.3 too many recipients");
			return LMTP_MORE;
		}
		s->rcpts[s->nrcpts++] = path;
		reply(out, "250 2.1.5 ok");
	} else if (strcasecmp(verb, "DATA") == 0) {
		if (s->phase != PH_MAIL || s->nrcpts == 0)
			return refused(s, out, "503 5.5.1 RCPT first") ?
			    LMTP_CLOSE : LMTP_MORE;
		s->phase = PH_DATA;
		reply(out, "354 end data with <CR><LF>.<CR><LF>");
	} else if (strcasecmp(verb, "RSET") == 0) {
		transaction_reset(s);
		if (s->phase != PH_GREETED)
			s->phase = PH_READY;
		reply(out, "250 2.0.0 ok");
	} else if (strcasecmp(verb, "NOOP") == 0) {
		reply(out, "250 2.0.0 ok");
	} else if (strcasecmp(verb, "QUIT") == 0) {
		reply(out, "221 2.0.0 bye");
		return LMTP_CLOSE;
	} else if (refused(s, out, "502 5.5.2 command not recognised"))
		return LMTP_CLOSE;
	return LMTP_MORE;
}

/* A piece of a DATA line (all of it when END); 1 at the final ".". */
static int
data(struct lmtp *s, const char *p, size_t n, int end)
{
	size_t room;

	if (!s->midline && n > 0 && p[0] == '.') {
		if (n == 1 && end)
			return 1;
		p++;
		n--;
	}
	/* filled to the cap, the rest dropped: the reader refuses it */
	room = s->msg.max - s->msg.len;
	buf_append(&s->msg, p, n < room ? n : room);
	if (end && s->msg.len < s->msg.max)
		buf_putc(&s->msg, '\n');
	s->midline = !end;
	return 0;
}

enum lmtp_event
lmtp_feed(struct lmtp *s, const char *p, size_t len, size_t *used,
    struct buf *out)
{
	enum lmtp_event ev = LMTP_MORE;
	size_t i = 0;
	int end;
	char c;

	while (i < len && ev == LMTP_MORE && s->phase != PH_ANSWER) {
		c = p[i++];
		end = c == '\n';
		if (!end) {
			if (s->linelen < LMTP_LINE_MAX) {
				s->line[s->linelen++] = c;
				continue;
			}
			if (s->phase != PH_DATA) {
				s->overlong = 1;
				continue;
			}
			/* a long DATA line: pass on what we have */
			data(s, s->line, s->linelen, 0);
			s->linelen = 0;
			s->line[s->linelen++] = c;
			continue;
		}
		if (s->linelen > 0 && s->line[s->linelen - 1] == '\r')
			s->linelen--;
		s->line[s->linelen] = '\0';
		if (s->phase == PH_DATA) {
			if (data(s, s->line, s->linelen, 1)) {
				s->phase = PH_ANSWER;
				ev = LMTP_MESSAGE;
			}
		} else if (s->overlong) {
			if (refused(s, out, "500 5.5.2 line too long"))
				ev = LMTP_CLOSE;
		} else if (strlen(s->line) != s->linelen) {
			if (refused(s, out, "500 5.5.2 NUL in a command"))
				ev = LMTP_CLOSE;
		} else
			ev = command(s, s->line, out);
		s->linelen = 0;
		s->overlong = 0;
	}
	if (s->phase == PH_ANSWER && ev == LMTP_MORE)
		ev = LMTP_MESSAGE;
	*used = i;
	return ev;
}

const char *
lmtp_message(const struct lmtp *s, size_t *len)
{
	*len = s->msg.len;
	return s->msg.len > 0 ? s->msg.data : "";
}

size_t
lmtp_nrcpts(const struct lmtp *s)
{
	return s->nrcpts;
}

const char *
lmtp_rcpt(const struct lmtp *s, size_t i)
{
	return i < s->nrcpts ? s->rcpts[i] : "";
}

const char *
lmtp_sender(const struct lmtp *s)
{
	return s->sender != NULL ? s->sender : "";
}

void
lmtp_answer(struct lmtp *s, int code, const char *status, const char *text,
    struct buf *out)
{
	const char *t;

	if (s->phase != PH_ANSWER)
		return;
	buf_printf(out, "%03d %s ", code, status);
	for (t = text; *t != '\0'; t++)
		buf_putc(out, (unsigned char)*t < ' ' || *t == 0x7f ? '?' :
		    *t);
	buf_puts(out, "\r\n");
	if (++s->answered == s->nrcpts) {
		transaction_reset(s);
		s->phase = PH_READY;
	}
}
