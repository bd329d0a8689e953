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
};

struct upload {
	const char	*p;
	size_t		 left;
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
	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

enum gw_result
gw_smtp_send(struct gw_smtp *g, const char *sender, const char *recipients,
    const void *message, size_t len, char *err, size_t errlen)
{
	struct curl_slist *rcpts = NULL, *next;
	struct upload up = { message, len };
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
	gw_cancel_attach(g->curl, g->cancel);
	rc = curl_easy_perform(g->curl);
	curl_easy_getinfo(g->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(g->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpts);
	if (rc == CURLE_OK) {
		snprintf(err, errlen, "%ld", code);
		return GW_SENT;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(err, errlen, "segmilter is stopping");
		return GW_CANCELLED;
	}
	if (code != 0)
		snprintf(err, errlen, "%s, last reply %ld",
		    curl_easy_strerror(rc), code);
	else
		snprintf(err, errlen, "%s", curl_easy_strerror(rc));
	return code >= 500 && code < 600 ? GW_PERMFAIL : GW_TEMPFAIL;
}
