/*
 * lmtp_server.c - segfeed's LMTP listener for bounces and complaints
 * (feedback.lmtp_listen): Postfix's lmtp(8) client delivers each report
 * sent to a return path here, over connections it keeps open, and each
 * is taken as segctl bounce takes one from pipe(8) (dsn_take), without a
 * process per message.
 *
 * One thread accepts; each connection has a thread of its own, at most
 * LMTP_CONNECTIONS at once (more wait in the listen queue).  A reply per
 * recipient, after the report is committed: 250 taken (recorded, nothing
 * to record, or kept in the quarantine), 554 unreadable (kept first, if
 * there is a quarantine), 451 when the store or the quarantine could not
 * take it, so the MTA keeps it and retries.  Each is logged once, with
 * the message's id (L and a counter).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dsn.h"
#include "feedback.h"
#include "lmtp.h"
#include "daemon.h"
#include "store.h"
#include "xalloc.h"

#define LMTP_CONNECTIONS	16
#define LMTP_TIMEOUT_S		300	/* Postfix's lmtp_*_timeout are
					   300 s and less, but for data-done */

struct lmtp_conn {
	struct feedback_lmtp	*srv;
	pthread_t		 thread;
	int			 fd;
	int			 used;	/* a thread runs or must be joined */
	int			 done;	/* the thread has finished */
};

struct feedback_lmtp {
	struct feedback_rt	*rt;
	int			 fd;
	int			 wake[2];	/* stop: written to */
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 freed;		/* a connection ended */
	int			 stopping;
	unsigned long		 seq;		/* messages, for their ids */
	struct lmtp_conn	 conns[LMTP_CONNECTIONS];
};

/* Writes all of OUT to FD and empties it; 0, or -1. */
static int
flush(int fd, struct buf *out)
{
	size_t off = 0;
	ssize_t w;

	while (off < out->len) {
		if ((w = send(fd, out->data + off, out->len - off,
		    MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)w;
	}
	buf_reset(out);
	return 0;
}

/* Each recipient of the message S holds, taken and answered. */
static void
take_message(struct feedback_lmtp *srv, struct lmtp *s, struct buf *out)
{
	struct feedback_env env;
	struct feedback_gen *g;
	struct dsn_take t;
	const char *msg, *qdir;
	char id[32];
	size_t len, i;
	int prio;

	pthread_mutex_lock(&srv->lock);
	snprintf(id, sizeof(id), "L%lu", ++srv->seq);
	pthread_mutex_unlock(&srv->lock);
	msg = lmtp_message(s, &len);
	g = feedback_rt_acquire(srv->rt, &env);
	qdir = env.conf->feedback.quarantine_dir[0] != '\0' ?
	    env.conf->feedback.quarantine_dir : NULL;
	for (i = 0; i < lmtp_nrcpts(s); i++) {
		pthread_mutex_lock(env.store_lock);
		dsn_take(env.st, env.conf, msg, len, lmtp_rcpt(s, i), qdir,
		    (int64_t)time(NULL), &t);
		pthread_mutex_unlock(env.store_lock);
		prio = LOG_INFO;
		if (t.verdict == DSN_UNREADABLE || (t.applied &&
		    (t.res.outcome == DSN_NOT_OURS ||
		    t.res.outcome == DSN_NOT_CUSTOMER)))
			prio = LOG_WARNING;
		else if (t.verdict == DSN_RETRY)
			prio = LOG_ERR;
		/* before the answer: the last one ends the transaction */
		daemon_log(prio, id, "from=<%s>, to=<%s>: %s", lmtp_sender(s),
		    lmtp_rcpt(s, i), t.say);
		switch (t.verdict) {
		case DSN_TAKEN:
			lmtp_answer(s, 250, "2.0.0", t.say, out);
			break;
		case DSN_UNREADABLE:
			lmtp_answer(s, 554, "5.6.0", t.say, out);
			break;
		case DSN_RETRY:
			lmtp_answer(s, 451, "4.3.0", t.say, out);
			break;
		}
	}
	feedback_rt_release(srv->rt, g);
}

static void *
conn_main(void *arg)
{
	struct lmtp_conn *c = arg;
	struct feedback_lmtp *srv = c->srv;
	struct timeval tv = { LMTP_TIMEOUT_S, 0 };
	enum lmtp_event ev = LMTP_MORE;
	char chunk[65536], name[] = "segfeed";
	struct lmtp *s;
	struct buf out;
	size_t off, used;
	ssize_t r;

	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	buf_init(&out, 1 << 20);
	s = lmtp_new(name, &out);
	while (ev != LMTP_CLOSE && flush(c->fd, &out) == 0) {
		if ((r = recv(c->fd, chunk, sizeof(chunk), 0)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			break;	/* gone, timed out, or stopping */
		}
		for (off = 0; off < (size_t)r && ev != LMTP_CLOSE;
		    off += used) {
			ev = lmtp_feed(s, chunk + off, (size_t)r - off, &used,
			    &out);
			if (ev == LMTP_MESSAGE) {
				take_message(srv, s, &out);
				ev = LMTP_MORE;
			}
		}
	}
	flush(c->fd, &out);
	lmtp_free(s);
	buf_free(&out);
	pthread_mutex_lock(&srv->lock);
	close(c->fd);
	c->fd = -1;
	c->done = 1;
	pthread_cond_signal(&srv->freed);
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

/* A free slot, its finished thread joined; NULL while all are busy. */
static struct lmtp_conn *
slot_get(struct feedback_lmtp *srv)
{
	struct lmtp_conn *c;
	size_t i;

	for (i = 0; i < LMTP_CONNECTIONS; i++) {
		c = &srv->conns[i];
		if (c->used && c->done) {
			pthread_join(c->thread, NULL);
			c->used = 0;
		}
		if (!c->used)
			return c;
	}
	return NULL;
}

static void *
accept_main(void *arg)
{
	struct feedback_lmtp *srv = arg;
	struct lmtp_conn *c = NULL;
	struct pollfd pfd[2];
	int fd;

	pfd[0].fd = srv->fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = srv->wake[0];
	pfd[1].events = POLLIN;
	for (;;) {
		/* a slot first: past LMTP_CONNECTIONS, clients wait queued */
		pthread_mutex_lock(&srv->lock);
		while (!srv->stopping && (c = slot_get(srv)) == NULL)
			pthread_cond_wait(&srv->freed, &srv->lock);
		pthread_mutex_unlock(&srv->lock);
		if (srv->stopping || c == NULL)
			break;
		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			break;
		if (pfd[1].revents != 0)
			break;
		if ((pfd[0].revents & POLLIN) == 0)
			continue;
		if ((fd = accept4(srv->fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		pthread_mutex_lock(&srv->lock);
		if (srv->stopping) {
			/* stop has shut down the others: not this one */
			pthread_mutex_unlock(&srv->lock);
			close(fd);
			break;
		}
		c->srv = srv;
		c->fd = fd;
		c->done = 0;
		c->used = 1;
		if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
			daemon_log(LOG_ERR, NULL, "lmtp: cannot start a"
			    " connection's thread");
			close(fd);
			c->used = 0;
			c->fd = -1;
		}
		pthread_mutex_unlock(&srv->lock);
	}
	return NULL;
}

struct feedback_lmtp *
feedback_lmtp_start(struct feedback_rt *rt, int fd, char *err,
    size_t errlen)
{
	struct feedback_lmtp *srv = xcalloc(1, sizeof(*srv));
	size_t i;
	int rc;

	srv->rt = rt;
	srv->fd = fd;
	for (i = 0; i < LMTP_CONNECTIONS; i++)
		srv->conns[i].fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->freed, NULL);
	if (pipe2(srv->wake, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "lmtp: cannot start: %s",
		    strerror(errno));
		goto fail;
	}
	if ((rc = pthread_create(&srv->thread, NULL, accept_main, srv)) !=
	    0) {
		snprintf(err, errlen, "lmtp: cannot start: %s", strerror(rc));
		close(srv->wake[0]);
		close(srv->wake[1]);
		goto fail;
	}
	return srv;
fail:
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->freed);
	free(srv);
	return NULL;
}

void
feedback_lmtp_stop(struct feedback_lmtp *srv)
{
	size_t i;

	if (srv == NULL)
		return;
	pthread_mutex_lock(&srv->lock);
	srv->stopping = 1;
	pthread_cond_signal(&srv->freed);
	/* a connection's recv returns at once: its report is not taken */
	for (i = 0; i < LMTP_CONNECTIONS; i++)
		if (srv->conns[i].used && srv->conns[i].fd != -1)
			shutdown(srv->conns[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&srv->lock);
	if (write(srv->wake[1], "x", 1) == -1)
		daemon_log(LOG_ERR, NULL, "lmtp: cannot wake the listener:"
		    " %s", strerror(errno));
	pthread_join(srv->thread, NULL);
	for (i = 0; i < LMTP_CONNECTIONS; i++)
		if (srv->conns[i].used)
			pthread_join(srv->conns[i].thread, NULL);
	close(srv->wake[0]);
	close(srv->wake[1]);
	close(srv->fd);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->freed);
	free(srv);
}
