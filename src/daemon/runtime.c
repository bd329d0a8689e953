/*
 * runtime.c - configuration generations and the shared store handle.
 *
 * rt->lock guards the current generation and the reference counts; it
 * is held only to move pointers.  The store handle is handle.c's; its
 * lock, which the milter and the outbox take (struct daemon_env), is
 * each generation's env.store_lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "buf.h"
#include "digest.h"
#include "daemon.h"
#include "policy.h"
#include "render.h"
#include "tz.h"
#include "xalloc.h"

struct daemon_rt {
	pthread_mutex_t	 lock;
	pthread_cond_t	 idle;
	struct daemon_gen *cur;
	/* the path from the first configuration: see daemon_rt_store */
	struct daemon_handle *handle;
	int		 busy;
	int		 stopping;	/* SIGTERM: start nothing new */
	void		(*outbox_wake)(void *, int64_t);
	void		*outbox_arg;
};

int
daemon_gen_load(const char *path, struct daemon_gen **out, char *err,
    size_t errlen)
{
	struct daemon_gen *g;
	struct conf *c;
	struct campaign_set *set;
	struct buf report, errs;

	if (conf_load(path, &c, err, errlen) == -1)
		return -1;
	if (campaign_set_load(c->milter.campaigns_dir, c, &set, err,
	    errlen) == -1) {
		conf_free(c);
		return -1;
	}
	buf_init(&report, 1024 * 1024);
	buf_init(&errs, errlen > 0 ? errlen - 1 : 0);
	if (render_sms_check(c, set, &report, &errs) == -1) {
		snprintf(err, errlen, "%s", buf_str(&errs));
		buf_free(&report);
		buf_free(&errs);
		campaign_set_free(set);
		conf_free(c);
		return -1;
	}
	buf_free(&errs);
	g = xcalloc(1, sizeof(*g));
	g->conf = c;
	g->campaigns = set;
	g->sms_report = buf_take(&report);
	g->tzdb = tzdb_new(c->sms.zoneinfo);
	g->draws = policy_arm_key(c->outbox.key, c->outbox.keylen);
	g->env.draws = g->draws;
	g->env.conf = c;
	g->env.campaigns = set;
	g->env.tzdb = g->tzdb;
	conf_hash_hex(c, g->env.conf_hash);
	*out = g;
	return 0;
}

void
daemon_gen_free(struct daemon_gen *g)
{
	if (g == NULL)
		return;
	conf_free(g->conf);
	campaign_set_free(g->campaigns);
	tzdb_free(g->tzdb);
	digest_hmac_free(g->draws);
	free(g->sms_report);
	free(g);
}

struct daemon_rt *
daemon_rt_new(struct daemon_gen *g)
{
	struct daemon_rt *rt = xcalloc(1, sizeof(*rt));

	pthread_mutex_init(&rt->lock, NULL);
	pthread_cond_init(&rt->idle, NULL);
	rt->handle = daemon_handle_new(g->conf->store_path,
	    g->conf->store_timeout_ms);
	g->refs = 1;
	g->env.store_lock = daemon_handle_lock(rt->handle);
	rt->cur = g;
	return rt;
}

struct daemon_gen *
daemon_rt_acquire(struct daemon_rt *rt)
{
	struct daemon_gen *g;

	pthread_mutex_lock(&rt->lock);
	g = rt->cur;
	g->refs++;
	pthread_mutex_unlock(&rt->lock);
	return g;
}

void
daemon_rt_release(struct daemon_rt *rt, struct daemon_gen *g)
{
	int last;

	if (g == NULL)
		return;
	pthread_mutex_lock(&rt->lock);
	last = --g->refs == 0;
	pthread_mutex_unlock(&rt->lock);
	if (last)
		daemon_gen_free(g);
}

void
daemon_rt_swap(struct daemon_rt *rt, struct daemon_gen *g)
{
	struct daemon_gen *old;

	g->env.store_lock = daemon_handle_lock(rt->handle);
	pthread_mutex_lock(&rt->lock);
	g->env.outbox_wake = rt->outbox_wake;
	g->env.outbox_arg = rt->outbox_arg;
	old = rt->cur;
	g->refs = 1;
	rt->cur = g;
	pthread_mutex_unlock(&rt->lock);
	daemon_rt_release(rt, old);
}

void
daemon_rt_set_outbox(struct daemon_rt *rt, void (*wake)(void *, int64_t),
    void *arg)
{
	pthread_mutex_lock(&rt->lock);
	rt->outbox_wake = wake;
	rt->outbox_arg = arg;
	rt->cur->env.outbox_wake = wake;
	rt->cur->env.outbox_arg = arg;
	pthread_mutex_unlock(&rt->lock);
}

void
daemon_rt_set_checkpointer(struct daemon_rt *rt, struct daemon_ckpt *ck)
{
	daemon_handle_set_checkpointer(rt->handle, ck);
}

struct store *
daemon_rt_store(struct daemon_rt *rt)
{
	return daemon_handle_get(rt->handle);
}

void
daemon_rt_stop(struct daemon_rt *rt)
{
	pthread_mutex_lock(&rt->lock);
	rt->stopping = 1;
	pthread_mutex_unlock(&rt->lock);
}

int
daemon_rt_busy(struct daemon_rt *rt, int delta)
{
	int stopping;

	pthread_mutex_lock(&rt->lock);
	stopping = rt->stopping && delta > 0;
	if (!stopping)
		rt->busy += delta;
	if (rt->busy == 0)
		pthread_cond_broadcast(&rt->idle);
	pthread_mutex_unlock(&rt->lock);
	return stopping ? -1 : 0;
}

int
daemon_rt_drain(struct daemon_rt *rt, int seconds)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&rt->lock);
	while (rt->busy > 0 && rc == 0)
		rc = pthread_cond_timedwait(&rt->idle, &rt->lock, &until);
	pthread_mutex_unlock(&rt->lock);
	return rc == 0 ? 0 : -1;
}
