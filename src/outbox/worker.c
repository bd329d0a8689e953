/*
 * worker.c - outbox worker threads.
 *
 * A worker takes the store lock only to claim a job and to record its
 * outcome, never while it talks to the re-injection port or an SMS
 * gateway, so the milter's messages never wait on a slow or absent
 * server.  A worker claims only the kinds of job it can send now: with
 * the SMS driver off, SMS jobs wait in the outbox for it to come back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "audit.h"
#include "gateway.h"
#include "daemon.h"
#include "outbox.h"
#include "outbox_int.h"
#include "store_lookup.h"
#include "store_record.h"
#include "xalloc.h"

#define LEASE_SECONDS	600	/* longer than any one SMTP transaction */
#define IDLE_SECONDS	5	/* a look at the outbox at least this often */
#define COPY_WINDOW	(1024 * 1024)	/* a copy's bytes read at once */

struct outbox;

struct outbox_worker {
	struct outbox		*ob;
	pthread_t		 thread;
	int64_t			 deadline;	/* when it looks again while
						   it waits; 0: it does not */
};

struct outbox {
	struct daemon_rt	*rt;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	int			 stop;
	atomic_int		 cancel;	/* ends transfers in flight */
	uint64_t		 gen;		/* bumped by every job queued */
	atomic_int		 recovered;	/* set under the store lock:
						   see recover() */
	struct outbox_worker	*w;
	int			 n;
};

void
outbox_outcome_of(const struct daemon_env *env, const struct store_job *j,
    enum gw_result r, const char *why, int64_t now, struct outbox_outcome *o)
{
	const struct conf_outbox *ob = &env->conf->outbox;
	int sms = strcmp(j->kind, "sms") == 0;
	/* an SMS ages from when it was first due: quiet hours, send_after */
	int64_t age = sms ? now - j->not_before : now - j->created_at;
	int64_t max_age = (sms ? env->conf->sms.max_age_hours :
	    ob->max_age_hours) * 3600;

	memset(o, 0, sizeof(*o));
	o->why = why;
	o->mark = -1;
	o->next_at = now;
	if (r == GW_SENT) {
		o->state = JOB_SENT;
		o->why = NULL;
		o->detail = why;
		o->decision = sms ? "sms_sent" : NULL;
	} else if (r == GW_PERMFAIL) {
		o->state = JOB_FAILED;
		o->decision = sms ? "sms_failed" : "copy_failed";
	} else if (age >= max_age) {
		o->state = JOB_FAILED;
		o->decision = sms ? "sms_expired" : "copy_expired";
	} else {
		o->state = JOB_QUEUED;
		o->next_at = now + outbox_backoff(ob->retry_base_s,
		    ob->retry_max_s, j->attempts,
		    (double)random() / ((double)RAND_MAX + 1));
	}
}

int
outbox_record(struct store *st, const struct daemon_env *env,
    const struct store_job *j, const struct outbox_outcome *o, int64_t now)
{
	char anchor[AUDIT_ANCHOR_MAX] = "";
	int rc;

	pthread_mutex_lock(env->store_lock);
	rc = store_begin(st);
	if (rc == 0)
		rc = store_outbox_update(st, j->id, o->state, o->next_at,
		    o->why, now);
	if (rc == 0 && o->ref != NULL)
		rc = store_outbox_set_ref(st, j->id, o->ref);
	/* 1: the number was marked so already */
	if (rc == 0 && o->mark >= 0 && store_phone_mark(st, j->recipients,
	    (enum store_phone_status)o->mark, "gateway", o->mark_detail, now,
	    NULL) == -1)
		rc = -1;
	if (rc == 0 && o->withdrawn != NULL)
		rc = store_delivery_withdraw(st, j->campaign_id,
		    o->withdrawn_to, o->withdrawn, now);
	if (rc == 0 && o->decision != NULL)
		rc = outbox_audit_job(st, j, o->decision, o->why != NULL ?
		    o->why : o->detail, env->conf_hash, now, anchor);
	if (rc == 0)
		rc = store_commit(st);
	if (rc == 0 && anchor[0] != '\0')
		daemon_log(LOG_INFO, "outbox", "job %lld: %s",
		    (long long)j->id, anchor);
	if (rc == -1) {
		daemon_log(LOG_ERR, "outbox", "job %lld: store: %s",
		    (long long)j->id, store_error(st));
		store_rollback(st);
	}
	pthread_mutex_unlock(env->store_lock);
	return rc;
}

/*
 * Waits until woken, stopped, or SECONDS pass; not at all if a job was
 * queued since SEEN (the generation read before the worker's last look
 * at the outbox), which that look may have missed.
 */
static void
idle(struct outbox_worker *w, uint64_t seen, int64_t seconds)
{
	struct outbox *ob = w->ob;
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&ob->lock);
	w->deadline = (int64_t)until.tv_sec;
	while (!ob->stop && ob->gen == seen)
		if (pthread_cond_timedwait(&ob->wake, &ob->lock, &until) ==
		    ETIMEDOUT)
			break;
	w->deadline = 0;
	pthread_mutex_unlock(&ob->lock);
}

/* Whether to stop; else *GEN, the jobs' generation before a look. */
static int
stopping(struct outbox *ob, uint64_t *gen)
{
	int stop;

	pthread_mutex_lock(&ob->lock);
	stop = ob->stop;
	*gen = ob->gen;
	pthread_mutex_unlock(&ob->lock);
	return stop;
}

/*
 * Jobs a process was sending when it died go back to the queue before
 * this process claims any, rather than after their lease, unless
 * segmilter on the re-injection port saw them pass (store_outbox_
 * recover).  Without segmilter there, whether the far end got one before
 * the crash cannot be known: it may get it twice.  The same holds for an
 * SMS whose request was in flight (the webhook driver's Idempotency-Key
 * lets the receiver drop the repeat).
 * Done once, by the first worker that finds the store usable: at
 * start-up it may be locked (a segctl import) or unavailable, and each
 * later look tries again.  Called under the store lock, which claims
 * take too, so no job of this process is 'sending' yet.  1 once done.
 */
static int
recover(struct outbox *ob, struct store *st, int64_t now)
{
	int64_t queued, sent;

	if (atomic_load(&ob->recovered))
		return 1;
	if (store_outbox_recover(st, now, &queued, &sent) == -1) {
		daemon_log(LOG_ERR, "outbox", "store: %s: the jobs the last"
		    " process left being sent wait for the next try",
		    store_error(st));
		return 0;
	}
	atomic_store(&ob->recovered, 1);
	if (queued + sent > 0)
		daemon_log(LOG_WARNING, "outbox", "%lld jobs were being sent"
		    " when segmilter stopped: %lld copies had gone through"
		    " segmilter on the re-injection port, %lld queued again",
		    (long long)(queued + sent), (long long)sent,
		    (long long)queued);
	return 1;
}

/*
 * A claimed copy is read from the store as libcurl sends it, a window
 * at a time, each read under the store lock (the lock is never held
 * while the far end is waited for).  A window rather than libcurl's 64
 * KB: each read finds its place by walking the blob's overflow pages
 * from the start.
 */
struct copy_reader {
	struct store		*st;
	pthread_mutex_t		*lock;
	const struct store_job	*j;
	char			*win;
	size_t			 win_at;
	size_t			 win_len;
	char			 why[256];	/* the store's, on a failure */
};

static int
read_copy(void *arg, size_t at, void *buf, size_t n)
{
	struct copy_reader *c = arg;
	char *out = buf;
	size_t take;
	int rc;

	while (n > 0) {
		if (at < c->win_at || at >= c->win_at + c->win_len) {
			c->win_at = at;
			c->win_len = c->j->len - at < COPY_WINDOW ?
			    c->j->len - at : COPY_WINDOW;
			pthread_mutex_lock(c->lock);
			if ((rc = store_outbox_read(c->st, c->j->id, at, c->win,
			    c->win_len)) == -1)
				snprintf(c->why, sizeof(c->why), "%s",
				    store_error(c->st));
			pthread_mutex_unlock(c->lock);
			if (rc == -1) {
				c->win_len = 0;
				return -1;
			}
		}
		take = c->win_at + c->win_len - at;
		if (take > n)
			take = n;
		memcpy(out, c->win + (at - c->win_at), take);
		out += take;
		at += take;
		n -= take;
	}
	return 0;
}

/* One claimed copy: re-injected, and the outcome recorded. */
static void
send_copy(struct store *st, const struct daemon_env *env,
    struct gw_smtp *smtp, const struct store_job *j)
{
	struct copy_reader c;
	struct outbox_outcome o;
	enum gw_result r;
	char why[512], queue_id[64] = "";
	int64_t now;

	/* withdrawn, or a store error that leaves it to its lease */
	if (outbox_recheck(st, env, j, (int64_t)time(NULL)) != 0)
		return;
	memset(&c, 0, sizeof(c));
	c.st = st;
	c.lock = env->store_lock;
	c.j = j;
	c.win = xmalloc(j->len < COPY_WINDOW ? j->len + 1 : COPY_WINDOW);
	r = gw_smtp_send(smtp, j->sender, j->recipients, read_copy, &c, j->len,
	    why, sizeof(why));
	free(c.win);
	if (c.why[0] != '\0')
		snprintf(why, sizeof(why), "cannot read the copy: %s", c.why);
	if (r == GW_CANCELLED) {
		daemon_log(LOG_NOTICE, "outbox", "job %lld: stopped mid-send:"
		    " left to the restart's recovery", (long long)j->id);
		return;
	}
	now = (int64_t)time(NULL);
	outbox_outcome_of(env, j, r, why, now, &o);
	/* the copy's own queue entry, for `segctl outbox` and the MTA's log */
	if (r == GW_SENT) {
		gw_smtp_queue_id(why, queue_id, sizeof(queue_id));
		o.ref = queue_id[0] != '\0' ? queue_id : NULL;
	}
	if (outbox_record(st, env, j, &o, now) == 0)
		daemon_log(r == GW_SENT ? LOG_INFO : LOG_WARNING, "outbox",
		    "job %lld: campaign=%s, variant=%s, attempt %lld: %s: %s",
		    (long long)j->id, j->campaign_id, j->variant,
		    (long long)j->attempts, r == GW_SENT ? "sent" :
		    r == GW_PERMFAIL ? "failed" : "deferred", why);
}

static void *
work(void *arg)
{
	struct outbox_worker *w = arg;
	struct outbox *ob = w->ob;
	struct gw_smtp *smtp = NULL;
	struct gw_sms *sms = gw_sms_new(&ob->cancel);
	struct daemon_gen *g;
	struct store_job *j;
	struct store *st;
	char url[512] = "";
	int64_t now, next;
	uint64_t seen;
	int rc, kinds;

	while (!stopping(ob, &seen)) {
		g = daemon_rt_acquire(ob->rt);
		kinds = (g->conf->outbox.reinject_url[0] != '\0' ?
		    STORE_JOB_EMAIL : 0) | (g->conf->sms.driver != SMS_OFF ?
		    STORE_JOB_SMS : 0);
		/* nothing to send, but maybe jobs to recover */
		if ((kinds == 0 && atomic_load(&ob->recovered)) ||
		    (st = daemon_rt_store(ob->rt)) == NULL) {
			daemon_rt_release(ob->rt, g);
			idle(w, seen, IDLE_SECONDS);
			continue;
		}
		if (strcmp(url, g->conf->outbox.reinject_url) != 0) {
			gw_smtp_free(smtp);
			snprintf(url, sizeof(url), "%s",
			    g->conf->outbox.reinject_url);
			smtp = gw_smtp_new(url, &ob->cancel);
		}
		now = (int64_t)time(NULL);
		next = 0;
		pthread_mutex_lock(g->env.store_lock);
		/* the handle is shared: name the relay for each claim */
		store_set_relay(st, g->conf->outbox.relay_name);
		if (!recover(ob, st, now))
			rc = -1;
		else if (kinds == 0)
			rc = 1;
		else if ((rc = store_outbox_claim(st, now, LEASE_SECONDS,
		    kinds, &j, &next)) == -1)
			daemon_log(LOG_ERR, "outbox", "store: %s",
			    store_error(st));
		pthread_mutex_unlock(g->env.store_lock);
		if (rc != 0) {
			daemon_rt_release(ob->rt, g);
			next = next > now && next - now < IDLE_SECONDS ?
			    next - now : IDLE_SECONDS;
			idle(w, seen, rc == 1 ? next : IDLE_SECONDS);
			continue;
		}
		if (strcmp(j->kind, "sms") == 0)
			outbox_sms_attempt(st, &g->env, sms, j, now);
		else
			send_copy(st, &g->env, smtp, j);
		store_job_free(j);
		daemon_rt_release(ob->rt, g);
	}
	gw_smtp_free(smtp);
	gw_sms_free(sms);
	return NULL;
}

struct outbox *
outbox_start(struct daemon_rt *rt, int n)
{
	struct outbox *ob = xcalloc(1, sizeof(*ob));
	int i;

	ob->rt = rt;
	pthread_mutex_init(&ob->lock, NULL);
	pthread_cond_init(&ob->wake, NULL);
	ob->w = xcalloc((size_t)n, sizeof(*ob->w));
	for (i = 0; i < n; i++) {
		ob->w[i].ob = ob;
		if (pthread_create(&ob->w[i].thread, NULL, work,
		    &ob->w[i]) != 0) {
			daemon_log(LOG_ERR, "outbox", "cannot start worker"
			    " %d", i + 1);
			break;
		}
		ob->n++;
	}
	return ob;
}

void
outbox_wake(void *arg, int64_t due)
{
	struct outbox *ob = arg;
	int64_t soonest = INT64_MAX;
	int i;

	pthread_mutex_lock(&ob->lock);
	ob->gen++;
	for (i = 0; i < ob->n; i++)
		if (ob->w[i].deadline != 0 && ob->w[i].deadline < soonest)
			soonest = ob->w[i].deadline;
	/* a worker that looks again by DUE finds the job then: a context
	 * switch per message saved when SMS are held for quiet hours */
	if (due < soonest)
		pthread_cond_signal(&ob->wake);
	pthread_mutex_unlock(&ob->lock);
}

void
outbox_stop(struct outbox *ob)
{
	int i;

	if (ob == NULL)
		return;
	/*
	 * A transfer in flight is ended rather than waited for: a copy's
	 * waits on segmilter itself, which is stopping.  Its job stays
	 * claimed, and the restart queues it again or, if segmilter on the
	 * re-injection port saw it pass, marks it sent.
	 */
	pthread_mutex_lock(&ob->lock);
	ob->stop = 1;
	atomic_store(&ob->cancel, 1);
	pthread_cond_broadcast(&ob->wake);
	pthread_mutex_unlock(&ob->lock);
	for (i = 0; i < ob->n; i++)
		pthread_join(ob->w[i].thread, NULL);
	ob->n = 0;
}

void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	pthread_cond_destroy(&ob->wake);
	pthread_mutex_destroy(&ob->lock);
	free(ob->w);
	free(ob);
}
