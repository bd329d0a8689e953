/*
 * feedback.c - segmilter.conf's feedback group (segfeed(8)): its
 * defaults, the listen address, and the route of the unsubscribe link
 * segmilter writes, which segfeed must serve exactly.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_int.h"
#include "xalloc.h"

void
conf_feedback_defaults(struct conf_feedback *f)
{
	f->listen = xstrdup("127.0.0.1:12580");
	f->public_url = xstrdup("");
	f->page_template = xstrdup(SEGM_SYSCONFDIR
	    "/segmilter/unsubscribe.html");
	f->max_body_kb = 64;
	f->fewer_days = 30;
	f->threads = 4;
	f->configured = 0;
}

void
conf_feedback_free(struct conf_feedback *f)
{
	free(f->listen);
	free(f->public_url);
	free(f->page_template);
}

/* "1..65535" in full into *PORT; 0, or -1. */
static int
parse_port(const char *s, int *port)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int
conf_listen_parse(const char *s, struct conf_listen *l)
{
	unsigned char addr[16];
	const char *colon;
	size_t n;

	memset(l, 0, sizeof(*l));
	if (strncmp(s, "unix:", 5) == 0) {
		s += 5;
		if (*s != '/' || strlen(s) >= sizeof(l->path))
			return -1;
		l->is_unix = 1;
		memcpy(l->path, s, strlen(s) + 1);
		return 0;
	}
	if (*s == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return -1;
		n = (size_t)(colon - s - 1);
		if (n >= sizeof(l->host))
			return -1;
		memcpy(l->host, s + 1, n);
		l->host[n] = '\0';
		if (inet_pton(AF_INET6, l->host, addr) != 1)
			return -1;
		return parse_port(colon + 2, &l->port);
	}
	if ((colon = strrchr(s, ':')) == NULL ||
	    (n = (size_t)(colon - s)) >= sizeof(l->host))
		return -1;
	memcpy(l->host, s, n);
	l->host[n] = '\0';
	if (inet_pton(AF_INET, l->host, addr) != 1)
		return -1;
	return parse_port(colon + 1, &l->port);
}

int
conf_unsub_route(const char *url, struct conf_unsub_route *r, char *err,
    size_t errlen)
{
	const char *p, *q;
	size_t n;

	memset(r, 0, sizeof(*r));
	if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else {
		snprintf(err, errlen, "milter.unsubscribe_url: '%s' is not an"
		    " https:// URL", url);
		return -1;
	}
	if ((p = strchr(p, '/')) == NULL) {
		snprintf(err, errlen, "milter.unsubscribe_url: '%s' has no"
		    " path for the token (e.g. https://shop.example/u/)", url);
		return -1;
	}
	if (strchr(p, '#') != NULL || strchr(p, '%') != NULL) {
		snprintf(err, errlen, "milter.unsubscribe_url: '%s': no"
		    " fragment or escapes, please", url);
		return -1;
	}
	q = strchr(p, '?');
	n = q != NULL ? (size_t)(q - p) : strlen(p);
	if (n >= sizeof(r->path)) {
		snprintf(err, errlen, "milter.unsubscribe_url: path too long");
		return -1;
	}
	memcpy(r->path, p, n);
	r->path[n] = '\0';
	if (q == NULL)
		return 0;
	/* the token is the value of the query's last name: "?t=" */
	q++;
	n = strlen(q);
	if (n < 2 || n - 1 >= sizeof(r->query) || q[n - 1] != '=' ||
	    strcspn(q, "=&;") != n - 1) {
		snprintf(err, errlen, "milter.unsubscribe_url: '%s' must end"
		    " in the path, or in ?NAME= alone", url);
		return -1;
	}
	memcpy(r->query, q, n - 1);
	r->query[n - 1] = '\0';
	return 0;
}

int
conf_feedback_check(const struct conf *c, char *err, size_t errlen)
{
	struct conf_unsub_route r;
	size_t n;

	if (c->milter.unsubscribe_url[0] == '\0') {
		snprintf(err, errlen, "milter.unsubscribe_url is empty:"
		    " segfeed serves the link it names\n");
		return -1;
	}
	if (conf_unsub_route(c->milter.unsubscribe_url, &r, err,
	    errlen) == -1) {
		if ((n = strlen(err)) + 1 < errlen) {
			err[n] = '\n';
			err[n + 1] = '\0';
		}
		return -1;
	}
	return 0;
}
