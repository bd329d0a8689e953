/*
 * feedback - segfeed(8), the feedback listener: what the store learns
 * from outside as it happens (ARCHITECTURE.md, "Feedback").
 *
 * Endpoints are a table (struct feedback_endpoint, src/feedback/route.c),
 * one entry per path with its methods and handler, as OpenSMTPD's table
 * backends are: adding Twilio, Kannel or Shopify is an entry and a file.
 * The first is one-click unsubscribe (RFC 8058) on the path of
 * milter.unsubscribe_url, with a page (GET) offering unsubscribe, fewer
 * emails and stay subscribed.
 *
 * feedback_handle() is the whole of a request's handling with no socket:
 * method, target, headers and body in, status and body out, so
 * unit tests and fuzzers drive it directly.  libmicrohttpd (http.c)
 * only carries bytes to and from it.  A 2xx answer means the change is
 * committed.  Handlers never log: what happened goes into the response's
 * log line, which the caller reports once, and the audit chain's new
 * head after a commit into the response's anchor, which the caller logs
 * as "ID: audit=SEQ:HASH" (the request's id in place of a queue id).
 *
 * The gateways (gateway.c) are served only when their secret is in
 * feedback.credentials_file:
 *   /twilio/sms      POST  Twilio inbound message (TwiML answer)
 *   /twilio/status   POST  Twilio status callback
 *   /kannel/mo       GET, POST  Kannel get-url (MO), shared secret
 *   /kannel/dlr      GET, POST  Kannel dlr-url, shared secret
 *   /shopify/webhook POST  Shopify webhooks, X-Shopify-Hmac-Sha256
 */
#ifndef SEGM_FEEDBACK_H
#define SEGM_FEEDBACK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "buf.h"
#include "conf.h"

#define FEEDBACK_GET	0x1
#define FEEDBACK_HEAD	0x2
#define FEEDBACK_POST	0x4

#define FEEDBACK_PAGE_MAX	(256 * 1024)	/* a rendered page */
#define FEEDBACK_HEADERS_MAX	64	/* headers kept; the rest unread */

struct store;

/* One request header as sent; names compare case-insensitively. */
struct feedback_header {
	const char	*name;
	const char	*value;
};

struct feedback_request {
	const char	*method;	/* as sent: "GET", "POST" */
	const char	*target;	/* the raw request target, with its
					   query: "/u/TOKEN", "/u?t=TOKEN" */
	const char	*content_type;	/* NULL: none */
	const struct feedback_header *headers;	/* may be NULL */
	size_t		 nheaders;
	const char	*id;		/* letters and digits: the caller's
					   name for it in the log; may be
					   NULL */
	const char	*body;		/* LEN bytes, not NUL-terminated */
	size_t		 len;
	int64_t		 now;
};

struct feedback_response {
	int		 status;
	const char	*content_type;	/* static */
	const char	*allow;		/* 405: the methods allowed */
	struct buf	 body;
	int		 log_prio;	/* syslog priority; -1: nothing */
	char		 log[768];
	char		 anchor[AUDIT_ANCHOR_MAX];	/* committed: the
					   chain's head, "audit=SEQ:HASH",
					   to log; "" none */
};

/* The value of header NAME in RQ (the first if repeated), or NULL. */
const char *feedback_header(const struct feedback_request *rq,
	    const char *name);

/*
 * What requests are served with: one generation of the configuration,
 * its page template, and the store (NULL when it cannot be opened: 503).
 * STORE_LOCK, when not NULL, serialises the handle's uses.
 */
struct feedback_env {
	const struct conf	*conf;
	const char		*page;		/* the template, NUL-terminated */
	size_t			 pagelen;
	struct conf_unsub_route	 unsub;
	char			 conf_hash[65];
	struct store		*st;
	pthread_mutex_t		*store_lock;
};

/*
 * One endpoint.  PATH is matched exactly, or PATH_OF gives it from the
 * configuration and says whether it is a prefix (the rest of the path
 * handed to the handler as REST).
 */
struct feedback_endpoint {
	const char	*name;		/* for logs */
	unsigned	 methods;	/* FEEDBACK_GET | ... */
	const char	*path;
	const char	*(*path_of)(const struct feedback_env *env,
			    int *prefix);
	void		 (*handle)(const struct feedback_env *env,
			    const struct feedback_request *rq,
			    const char *rest, const char *query,
			    struct feedback_response *rs);
};

void	 feedback_response_init(struct feedback_response *rs);
void	 feedback_response_free(struct feedback_response *rs);
void	 feedback_handle(const struct feedback_env *env,
	    const struct feedback_request *rq, struct feedback_response *rs);
/* Sets STATUS and a short text body; the log line if PRIO >= 0. */
void	 feedback_reply(struct feedback_response *rs, int status,
	    const char *text, int prio, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));

/* The one-click unsubscribe endpoint (unsubscribe.c). */
extern const struct feedback_endpoint feedback_unsubscribe;
/* The gateways' endpoints (gateway.c); each off without its secret. */
extern const struct feedback_endpoint feedback_twilio_sms;
extern const struct feedback_endpoint feedback_twilio_status;
extern const struct feedback_endpoint feedback_kannel_mo;
extern const struct feedback_endpoint feedback_kannel_dlr;
extern const struct feedback_endpoint feedback_shopify_webhook;
/* The gateways C serves, for the log: "twilio, kannel", or "none". */
void	 feedback_gateways(const struct conf *c, char *out, size_t len);
/* The names the page template may use (for checking it). */
int	 feedback_page_name_known(const char *name, int is_section);

/*
 * Forms (form.c), pure.  The value of field NAME of a form body, as
 * application/x-www-form-urlencoded or multipart/form-data (RFC 7578)
 * per CTYPE, decoded into OUT: 1 when found, 0 when the form has no such
 * field, -1 when CTYPE is neither (*UNSUPPORTED set) or the body is
 * malformed, or the value does not fit.  The first field of that name
 * counts.
 */
int	 feedback_form_value(const char *ctype, const char *body, size_t len,
	    const char *name, char *out, size_t outlen, int *unsupported);
/* The value of NAME in a query string ("a=1&t=X"), decoded: as above. */
int	 feedback_query_value(const char *query, const char *name, char *out,
	    size_t outlen);

/*
 * Generations (runtime.c): segmilter.conf and the page template, loaded
 * and checked together; requests hold one by reference, so a SIGHUP
 * never changes the rules under a request.  The store handle is the
 * process's one, opened on first use under its lock.
 */
struct feedback_gen {
	struct feedback_env	 env;
	struct conf		*conf;
	char			*page;
	int			 refs;
};

/* 0, or -1 with every problem in ERR (FILE:LINE where known). */
int	 feedback_gen_load(const char *path, struct feedback_gen **out,
	    char *err, size_t errlen);
void	 feedback_gen_free(struct feedback_gen *g);

struct feedback_rt;
struct feedback_rt *feedback_rt_new(struct feedback_gen *g);
void	 feedback_rt_free(struct feedback_rt *rt);
/* The current generation, referenced (give it back with
 * feedback_rt_release), and in *ENV the request's copy of its env with
 * the store handle (NULL when it cannot be opened, logged) and lock. */
struct feedback_gen *feedback_rt_acquire(struct feedback_rt *rt,
	    struct feedback_env *env);
void	 feedback_rt_release(struct feedback_rt *rt, struct feedback_gen *g);
void	 feedback_rt_swap(struct feedback_rt *rt, struct feedback_gen *g);

/*
 * The socket (http.c): bound and listening per L (a unix socket's file
 * replaced, mode 0660), or -1 with ERR.  feedback_http_start serves it
 * with libmicrohttpd's thread pool; stop closes every connection.
 */
int	 feedback_listen(const struct conf_listen *l, char *err,
	    size_t errlen);
struct feedback_http;
struct feedback_http *feedback_http_start(struct feedback_rt *rt, int fd,
	    const struct conf_feedback *fc, char *err, size_t errlen);
void	 feedback_http_stop(struct feedback_http *h);

/*
 * The LMTP listener for bounces and complaints (lmtp_server.c), on a
 * socket from feedback_listen per feedback.lmtp_listen: each report is
 * taken as segctl bounce takes one (dsn_take, dsn.h) and answered per
 * recipient.  Stopping drops open connections (a report not yet
 * answered is retried by the MTA) and joins every thread.
 */
struct feedback_lmtp;
struct feedback_lmtp *feedback_lmtp_start(struct feedback_rt *rt, int fd,
	    char *err, size_t errlen);
void	 feedback_lmtp_stop(struct feedback_lmtp *l);

#endif
