/*
 * smtp.c - re-injection of copies with libcurl's SMTP client.
 *
 * libcurl sends QUIT only when the handle is cleaned up, so keeping the
 * handle keeps the connection; after a failed transfer it reconnects by
 * itself.  Dot-stuffing is libcurl's (it needs CRLF, which copies have).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "gateway.h"
#include "gateway_int.h"
#include "xalloc.h"

#define SMTP_CONNECT_TIMEOUT	10L
#define SMTP_TIMEOUT		300L

struct gw_smtp {
	CURL		*curl;
	char		*url;
	const atomic_int *cancel;
	char		 reply[256];	/* the server's last reply line */
	char		 refusal[256];	/* a 4xx or 5xx nothing good followed */
};

struct upload {
	gw_read_fn	 read;
	void		*arg;
	size_t		 at;
	size_t		 left;
	int		 failed;
};

void
gateway_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct gw_smtp *
gw_smtp_new(const char *url, const atomic_int *cancel)
{
	struct gw_smtp *g = xcalloc(1, sizeof(*g));

	g->url = xstrdup(url);
	g->curl = curl_easy_init();
	g->cancel = cancel;
	return g;
}

void
gw_smtp_free(struct gw_smtp *g)
{
	if (g == NULL)
		return;
	if (g->curl != NULL)
		curl_easy_cleanup(g->curl);
	free(g->url);
	free(g);
}

static size_t
read_message(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nitems;

	if (n > u->left)
		n = u->left;
	if (n > 0 && u->read(u->arg, u->at, buf, n) == -1) {
		u->failed = 1;
		return CURL_READFUNC_ABORT;
	}
	u->at += n;
	u->left -= n;
	return n;
}

/*
 * libcurl hands every SMTP reply line to the header callback.  The last
 * one, after the message's dot, names the queue entry.  A refusal is
 * kept apart: after it the last line is QUIT's 221, and a refusal that
 * libcurl got past (EHLO's 502, then HELO) is forgotten at the next 2xx.
 */
/* The code of an SMTP reply line (RFC 5321 4.2: three digits, then a
 * space, a hyphen or the end), or 0 for a line that is not one. */
static int
reply_code(const char *line)
{
	if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9'
	    || line[2] < '0' || line[2] > '9' || (line[3] != ' ' &&
	    line[3] != '-' && line[3] != '\0'))
		return 0;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + line[2] - '0';
}

static size_t
keep_reply(char *buf, size_t size, size_t nitems, void *arg)
{
	struct gw_smtp *g = arg;
	size_t i, n = size * nitems;
	int code;

	for (i = 0; i < n && i + 1 < sizeof(g->reply); i++) {
		if (buf[i] == '\r' || buf[i] == '\n')
			break;
		/*
		 * The server's words end up in the log: one line of ASCII
		 * (RFC 5321's), no ESC, no byte that is not UTF-8 alone.
		 */
		g->reply[i] = (unsigned char)buf[i] < 0x20 ||
		    (unsigned char)buf[i] >= 0x7f ? '?' : buf[i];
	}
	g->reply[i] = '\0';
	code = reply_code(g->reply);
	if (code >= 400)
		memcpy(g->refusal, g->reply, sizeof(g->refusal));
	else if (code >= 200 && code < 300 && code != 221)
		g->refusal[0] = '\0';
	return n;
}

/*
 * Postfix ends with "250 2.0.0 Ok: queued as 4F1A2B3C4D", Sendmail with
 * "250 2.0.0 5B6HqA1x012345 Message accepted for delivery".
 */
void
gw_smtp_queue_id(const char *reply, char *out, size_t outlen)
{
	const char *p, *end;
	size_t n;

	out[0] = '\0';
	if (strncmp(reply, "250", 3) != 0)
		return;
	if ((p = strstr(reply, "queued as ")) != NULL)
		p += strlen("queued as ");
	else if (strstr(reply, " Message accepted for delivery") != NULL) {
		/* the word before it, after the enhanced status code */
		p = reply + 3;
		while (*p == ' ' || *p == '-')
			p++;
		if (p[0] >= '2' && p[0] <= '5' && p[1] == '.')
			p += strcspn(p, " ");
		while (*p == ' ')
			p++;
	} else
		return;
	for (end = p; (*end >= 'A' && *end <= 'Z') || (*end >= 'a' &&
	    *end <= 'z') || (*end >= '0' && *end <= '9'); end++)
		;
	n = (size_t)(end - p);
	if (n == 0 || n >= outlen)
		return;
	memcpy(out, p, n);
	out[n] = '\0';
}

int
gw_smtp_probe(const char *url, char *err, size_t errlen)
{
	CURL *curl;
	CURLcode rc;

	if ((curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "libcurl: no handle");
		return -1;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
	rc = curl_easy_perform(curl);
	curl_easy_cleanup(curl);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

enum gw_result
gw_smtp_send(struct gw_smtp *g, const char *sender, const char *recipients,
    gw_read_fn read, void *arg, size_t len, char *err, size_t errlen)
{
	struct curl_slist *rcpts = NULL, *next;
	struct upload up = { read, arg, 0, len, 0 };
	char addr[1024], from[1024];
	const char *p, *eol;
	long code = 0;
	CURLcode rc;
	size_t n;

	if (g->curl == NULL) {
		snprintf(err, errlen, "libcurl: no handle");
		return GW_TEMPFAIL;
	}
	for (p = recipients; *p != '\0'; p = *eol ? eol + 1 : eol) {
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		n = (size_t)(eol - p);
		if (n == 0 || n + 3 > sizeof(addr))
			continue;
		snprintf(addr, sizeof(addr), "<%.*s>", (int)n, p);
		if ((next = curl_slist_append(rcpts, addr)) == NULL) {
			curl_slist_free_all(rcpts);
			snprintf(err, errlen, "out of memory");
			return GW_TEMPFAIL;
		}
		rcpts = next;
	}
	if (rcpts == NULL) {
		snprintf(err, errlen, "no recipients");
		return GW_PERMFAIL;
	}
	if (sender[0] == '<')
		snprintf(from, sizeof(from), "%s", sender);
	else
		snprintf(from, sizeof(from), "<%s>", sender);

	curl_easy_setopt(g->curl, CURLOPT_URL, g->url);
	curl_easy_setopt(g->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(g->curl, CURLOPT_CONNECTTIMEOUT, SMTP_CONNECT_TIMEOUT);
	curl_easy_setopt(g->curl, CURLOPT_TIMEOUT, SMTP_TIMEOUT);
	curl_easy_setopt(g->curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(g->curl, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(g->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(g->curl, CURLOPT_READFUNCTION, read_message);
	curl_easy_setopt(g->curl, CURLOPT_READDATA, &up);
	curl_easy_setopt(g->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(g->curl, CURLOPT_HEADERFUNCTION, keep_reply);
	curl_easy_setopt(g->curl, CURLOPT_HEADERDATA, g);
	g->reply[0] = g->refusal[0] = '\0';
	gw_cancel_attach(g->curl, g->cancel);
	rc = curl_easy_perform(g->curl);
	curl_easy_getinfo(g->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(g->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpts);
	if (rc == CURLE_OK) {
		snprintf(err, errlen, "%s", g->reply[0] ? g->reply : "250");
		return GW_SENT;
	}
	if (up.failed) {
		snprintf(err, errlen, "cannot read the message");
		return GW_TEMPFAIL;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(err, errlen, "segmilter is stopping");
		return GW_CANCELLED;
	}
	/* the refusal, when the server gave one, says what kind of failure */
	if (g->refusal[0] != '\0') {
		snprintf(err, errlen, "%s: %s", curl_easy_strerror(rc),
		    g->refusal);
		return g->refusal[0] == '5' ? GW_PERMFAIL : GW_TEMPFAIL;
	}
	if (code != 0)
		snprintf(err, errlen, "%s, last reply %ld",
		    curl_easy_strerror(rc), code);
	else
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
	return code >= 500 && code < 600 ? GW_PERMFAIL : GW_TEMPFAIL;
}
