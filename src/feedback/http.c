/*
 * http.c - libmicrohttpd carrying requests to feedback_handle() and its
 * answers back.  Nothing is decided here but the body's size: a request
 * whose Content-Length is over feedback.max_body_kb is answered 413 at
 * once, before its body is read (MHD then closes the connection); a
 * chunked one is read and dropped past the cap, then answered 413.
 *
 * The request target is taken as sent, query and all, from MHD's URI log
 * callback: the handler parses it itself (form.c), so that what reaches
 * it from a socket is what unit tests and the fuzzer give it.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>

#include "buf.h"
#include "feedback.h"
#include "daemon.h"
#include "xalloc.h"

#define TIMEOUT_S	10	/* a client that stalls, and SIGTERM's wait */

struct feedback_http {
	struct MHD_Daemon *d;
	struct feedback_rt *rt;
	size_t		 max_body;
	int		 fd;
};

/* The request's headers, for the handler (struct feedback_header). */
struct headers {
	struct feedback_header h[FEEDBACK_HEADERS_MAX];
	size_t		 n;
};

static enum MHD_Result
header_cb(void *cls, enum MHD_ValueKind kind, const char *name,
    const char *value)
{
	struct headers *hs = cls;

	(void)kind;
	if (hs->n == FEEDBACK_HEADERS_MAX)
		return MHD_NO;	/* the rest stays unread */
	hs->h[hs->n].name = name;
	hs->h[hs->n].value = value != NULL ? value : "";
	hs->n++;
	return MHD_YES;
}

/*
 * A request's id for the anchor's log line, letters and digits as the
 * audit scanner wants: the second and a counter, unique in this process.
 */
static void
request_id(char *out, size_t len)
{
	static unsigned long seq;
	unsigned long n;

	n = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	snprintf(out, len, "F%llXN%lX", (long long)time(NULL), n);
}

/* One request: its raw target, its body so far. */
struct conn {
	char		*target;
	struct buf	 body;
	int		 started;
	int		 too_big;
};

static void *
uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct feedback_http *h = cls;
	struct conn *cn = xcalloc(1, sizeof(*cn));

	(void)c;
	cn->target = xstrdup(uri);
	buf_init(&cn->body, h->max_body);
	return cn;
}

static void
done_cb(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *req_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (cn == NULL)
		return;
	buf_free(&cn->body);
	free(cn->target);
	free(cn);
	*req_cls = NULL;
}

/* The client's address, for the log: segfeed's lines start with it. */
static void
peer(struct MHD_Connection *c, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci;

	snprintf(out, len, "local");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return;
	if (ci->client_addr->sa_family == AF_INET)
		getnameinfo(ci->client_addr, sizeof(struct sockaddr_in), out,
		    (socklen_t)len, NULL, 0, NI_NUMERICHOST);
	else if (ci->client_addr->sa_family == AF_INET6)
		getnameinfo(ci->client_addr, sizeof(struct sockaddr_in6), out,
		    (socklen_t)len, NULL, 0, NI_NUMERICHOST);
}

static enum MHD_Result
send_response(struct MHD_Connection *c, const struct feedback_response *rs)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(rs->body.len,
	    (void *)buf_str(&rs->body), MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", rs->content_type);
	/* the URL holds a token: keep it out of caches and referrers */
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Content-Security-Policy", "default-src"
	    " 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
	if (rs->allow != NULL)
		MHD_add_response_header(r, "Allow", rs->allow);
	ret = MHD_queue_response(c, (unsigned int)rs->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_413(struct MHD_Connection *c, const char *who, size_t max)
{
	struct feedback_response rs;
	enum MHD_Result ret;

	feedback_response_init(&rs);
	feedback_reply(&rs, 413, "Content Too Large", -1, "%s", "");
	daemon_log(LOG_INFO, who, "request body over feedback.max_body_kb"
	    " (%zu KiB): 413", max / 1024);
	ret = send_response(c, &rs);
	feedback_response_free(&rs);
	return ret;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct feedback_http *h = cls;
	struct conn *cn = *req_cls;
	struct feedback_request rq;
	struct feedback_response rs;
	struct feedback_env env;
	struct feedback_gen *g;
	struct headers hs;
	enum MHD_Result ret;
	const char *cl;
	char who[64], id[40];
	char *end;
	unsigned long long n;

	(void)url;
	(void)version;
	if (cn == NULL)
		return MHD_NO;
	peer(c, who, sizeof(who));
	if (!cn->started) {
		cn->started = 1;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL) {
			errno = 0;
			n = strtoull(cl, &end, 10);
			if (errno != 0 || n > h->max_body)
				return reply_413(c, who, h->max_body);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!cn->too_big && buf_append(&cn->body, upload_data,
		    *upload_data_size) == -1) {
			cn->too_big = 1;
			buf_free(&cn->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (cn->too_big)
		return reply_413(c, who, h->max_body);

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.target = cn->target;
	rq.content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	hs.n = 0;
	MHD_get_connection_values(c, MHD_HEADER_KIND, header_cb, &hs);
	rq.headers = hs.h;
	rq.nheaders = hs.n;
	request_id(id, sizeof(id));
	rq.id = id;
	rq.body = cn->body.data != NULL ? cn->body.data : "";
	rq.len = cn->body.len;
	rq.now = (int64_t)time(NULL);
	feedback_response_init(&rs);
	g = feedback_rt_acquire(h->rt, &env);
	feedback_handle(&env, &rq, &rs);
	feedback_rt_release(h->rt, g);
	if (rs.log_prio >= 0)
		daemon_log(rs.log_prio, who, "%s", rs.log);
	/* after the commit, as segmilter logs its heads (audit.h) */
	if (rs.anchor[0] != '\0')
		daemon_log(LOG_INFO, id, "%s", rs.anchor);
	ret = send_response(c, &rs);
	feedback_response_free(&rs);
	return ret;
}

int
feedback_listen(const struct conf_listen *l, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_un *un = (struct sockaddr_un *)&ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	mode_t old;
	int fd, on = 1, rc;

	memset(&ss, 0, sizeof(ss));
	if (l->is_unix) {
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, l->path, strlen(l->path) + 1);
		len = sizeof(*un);
		/* a socket left by a process that died */
		unlink(l->path);
	} else if (strchr(l->host, ':') != NULL) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)l->port);
		inet_pton(AF_INET6, l->host, &in6->sin6_addr);
		len = sizeof(*in6);
	} else {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)l->port);
		inet_pton(AF_INET, l->host, &in4->sin_addr);
		len = sizeof(*in4);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (!l->is_unix)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	old = umask(0117);	/* 0660: the proxy's group may connect */
	rc = bind(fd, (struct sockaddr *)&ss, len);
	umask(old);
	if (rc == -1 || listen(fd, 128) == -1) {
		if (l->is_unix)
			snprintf(err, errlen, "unix:%s: %s", l->path,
			    strerror(errno));
		else
			snprintf(err, errlen, "%s:%d: %s", l->host, l->port,
			    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct feedback_http *
feedback_http_start(struct feedback_rt *rt, int fd,
    const struct conf_feedback *fc, char *err, size_t errlen)
{
	struct feedback_http *h = xcalloc(1, sizeof(*h));

	h->rt = rt;
	h->fd = fd;
	h->max_body = (size_t)fc->max_body_kb * 1024;
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_EPOLL | MHD_USE_ITC, 0, NULL, NULL, access_cb, h,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)fc->threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)TIMEOUT_S,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
	    MHD_OPTION_URI_LOG_CALLBACK, uri_cb, h,
	    MHD_OPTION_NOTIFY_COMPLETED, done_cb, h,
	    MHD_OPTION_END);
	if (h->d == NULL) {
		snprintf(err, errlen, "libmicrohttpd would not start");
		free(h);
		return NULL;
	}
	return h;
}

void
feedback_http_stop(struct feedback_http *h)
{
	if (h == NULL)
		return;
	/* closes every connection and joins the pool's threads */
	MHD_stop_daemon(h->d);
	close(h->fd);
	free(h);
}
