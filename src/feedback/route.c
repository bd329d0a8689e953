/*
 * route.c - the endpoint table and the dispatch every request goes
 * through: the target split into path and query, the endpoint found by
 * its path, the method checked against its list (405 with Allow), then
 * its handler.  Adding an endpoint is adding a row to endpoints[].
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "feedback.h"

static const struct feedback_endpoint *const endpoints[] = {
	&feedback_unsubscribe,
	&feedback_twilio_sms,
	&feedback_twilio_status,
	&feedback_kannel_mo,
	&feedback_kannel_dlr,
	&feedback_shopify_webhook,
	NULL
};

void
feedback_response_init(struct feedback_response *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->status = 500;
	rs->content_type = "text/plain; charset=utf-8";
	rs->log_prio = -1;
	buf_init(&rs->body, FEEDBACK_PAGE_MAX);
}

void
feedback_response_free(struct feedback_response *rs)
{
	buf_free(&rs->body);
}

void
feedback_reply(struct feedback_response *rs, int status, const char *text,
    int prio, const char *fmt, ...)
{
	va_list ap;

	rs->status = status;
	rs->content_type = "text/plain; charset=utf-8";
	buf_reset(&rs->body);
	/* a short fixed text always fits FEEDBACK_PAGE_MAX */
	(void)buf_puts(&rs->body, text);
	(void)buf_putc(&rs->body, '\n');
	rs->log_prio = prio;
	if (prio >= 0) {
		va_start(ap, fmt);
		vsnprintf(rs->log, sizeof(rs->log), fmt, ap);
		va_end(ap);
	}
}

const char *
feedback_header(const struct feedback_request *rq, const char *name)
{
	size_t i;

	for (i = 0; rq->headers != NULL && i < rq->nheaders; i++)
		if (strcasecmp(rq->headers[i].name, name) == 0)
			return rq->headers[i].value;
	return NULL;
}

static unsigned
method_bit(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return FEEDBACK_GET;
	if (strcmp(m, "HEAD") == 0)
		return FEEDBACK_HEAD;
	if (strcmp(m, "POST") == 0)
		return FEEDBACK_POST;
	return 0;
}

static const char *
allow_list(unsigned methods)
{
	static const char *const lists[8] = {
		"", "GET", "HEAD", "GET, HEAD", "POST", "GET, POST",
		"HEAD, POST", "GET, HEAD, POST"
	};

	return lists[methods & 7];
}

/* The rest of PATH after endpoint E's path, or NULL when E is not it. */
static const char *
route_match(const struct feedback_env *env, const struct feedback_endpoint *e,
    const char *path)
{
	const char *p = e->path;
	int prefix = 0;
	size_t n;

	if (e->path_of != NULL)
		p = e->path_of(env, &prefix);
	if (p == NULL || *p == '\0')
		return NULL;
	n = strlen(p);
	if (prefix)
		return strncmp(path, p, n) == 0 ? path + n : NULL;
	return strcmp(path, p) == 0 ? path + n : NULL;
}

void
feedback_handle(const struct feedback_env *env,
    const struct feedback_request *rq, struct feedback_response *rs)
{
	const struct feedback_endpoint *const *e;
	char path[1024];
	const char *q, *query, *rest;
	size_t n;

	q = strchr(rq->target, '?');
	n = q != NULL ? (size_t)(q - rq->target) : strlen(rq->target);
	query = q != NULL ? q + 1 : "";
	if (n == 0 || n >= sizeof(path) || rq->target[0] != '/') {
		feedback_reply(rs, 404, "Not Found", LOG_INFO, "%s: no such"
		    " path", rq->method);
		return;
	}
	memcpy(path, rq->target, n);
	path[n] = '\0';
	for (e = endpoints; *e != NULL; e++) {
		if ((rest = route_match(env, *e, path)) == NULL)
			continue;
		if ((method_bit(rq->method) & (*e)->methods) == 0) {
			feedback_reply(rs, 405, "Method Not Allowed",
			    LOG_INFO, "%s: %s not allowed", (*e)->name,
			    rq->method);
			rs->allow = allow_list((*e)->methods);
			return;
		}
		(*e)->handle(env, rq, rest, query, rs);
		return;
	}
	/* the path itself may carry a token: never logged */
	feedback_reply(rs, 404, "Not Found", LOG_INFO, "%s: no such path",
	    rq->method);
}
