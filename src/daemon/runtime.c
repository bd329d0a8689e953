/*
 * runtime.c - configuration generations and the shared store handle.
 *
 * rt->lock guards the current generation, the reference counts and the
 * opening of the store handle; it is held only to move pointers.  Uses
 * of the handle are serialised by store_lock, which msg.c takes (see
 * struct daemon_env).
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
	pthread_mutex_t	 store_lock;	/* see struct daemon_env */
	pthread_cond_t	 idle;
	struct daemon_gen *cur;
	struct store	*st;
	char		*store_path;	/* from the first configuration */
	int64_t		 store_timeout_ms;
	int		 busy;
	int		 stopping;	/* SIGTERM: start nothing new */
	void		(*outbox_wake)(void *, int64_t);
	void		*outbox_arg;
	struct daemon_ckpt *ckpt;
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
	pthread_mutex_init(&rt->store_lock, NULL);
	pthread_cond_init(&rt->idle, NULL);
	g->refs = 1;
	g->env.store_lock = &rt->store_lock;
	rt->cur = g;
	rt->store_path = xstrdup(g->conf->store_path);
	rt->store_timeout_ms = g->conf->store_timeout_ms;
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

	g->env.store_lock = &rt->store_lock;
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

/* ST's commits wake CK; without one, they checkpoint themselves. */
static void
defer_checkpoints(struct store *st, struct daemon_ckpt *ck)
{
	if (ck != NULL)
		store_defer_checkpoints(st, STORE_WAL_PAGES, daemon_ckpt_wake,
		    ck);
	else
		store_defer_checkpoints(st, 0, NULL, NULL);
}

void
daemon_rt_set_checkpointer(struct daemon_rt *rt, struct daemon_ckpt *ck)
{
	struct store *st;

	pthread_mutex_lock(&rt->lock);
	rt->ckpt = ck;
	st = rt->st;
	pthread_mutex_unlock(&rt->lock);
	if (st == NULL)
		return;
	/* the hook is the handle's: changed only between its uses */
	pthread_mutex_lock(&rt->store_lock);
	defer_checkpoints(st, ck);
	pthread_mutex_unlock(&rt->store_lock);
}

struct store *
daemon_rt_store(struct daemon_rt *rt)
{
	struct store *st;
	char err[512];
	int opened = 0;

	pthread_mutex_lock(&rt->lock);
	if (rt->st == NULL) {
		if (store_open(rt->store_path, 0, rt->store_timeout_ms,
		    &rt->st, err, sizeof(err)) == -1) {
			rt->st = NULL;
			daemon_log(LOG_ERR, NULL, "store: %s", err);
		} else {
			opened = 1;
			if (rt->ckpt != NULL)
				defer_checkpoints(rt->st, rt->ckpt);
		}
	}
	st = rt->st;
	pthread_mutex_unlock(&rt->lock);
	if (st == NULL || opened)
		return st;
	/* a reopening replaces the handle's insides: between its uses */
	pthread_mutex_lock(&rt->store_lock);
	if (store_check_file(st) == -1) {
		daemon_log(LOG_ERR, NULL, "store: %s", store_error(st));
		st = NULL;
	}
	pthread_mutex_unlock(&rt->store_lock);
	return st;
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
