/*
 * runtime.c - configuration generations and the store handle pool.
 *
 * One mutex guards the current generation, the reference counts and the
 * pool; it is held only to move pointers, never across I/O.  A store
 * handle belongs to one thread at a time (store.h), so a thread takes one
 * from the pool for a message and puts it back after; handles are opened
 * lazily, as many as there are messages ending at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "milter.h"
#include "xalloc.h"

#define POOL_MAX	64

struct milter_rt {
	pthread_mutex_t	 lock;
	pthread_mutex_t	 write_lock;	/* see struct milter_env */
	pthread_cond_t	 idle;
	struct milter_gen *cur;
	struct store	*pool[POOL_MAX];
	size_t		 npool;
	char		*store_path;	/* the pool's; a reload may change it */
	int		 busy;
};

int
milter_gen_load(const char *path, struct milter_gen **out, char *err,
    size_t errlen)
{
	struct milter_gen *g;
	struct conf *c;
	struct campaign_set *set;

	if (conf_load(path, &c, err, errlen) == -1)
		return -1;
	if (campaign_set_load(c->milter.campaigns_dir, &set, err, errlen) ==
	    -1) {
		conf_free(c);
		return -1;
	}
	g = xcalloc(1, sizeof(*g));
	g->conf = c;
	g->campaigns = set;
	g->env.conf = c;
	g->env.campaigns = set;
	conf_hash_hex(c, g->env.conf_hash);
	*out = g;
	return 0;
}

void
milter_gen_free(struct milter_gen *g)
{
	if (g == NULL)
		return;
	conf_free(g->conf);
	campaign_set_free(g->campaigns);
	free(g);
}

struct milter_rt *
milter_rt_new(struct milter_gen *g)
{
	struct milter_rt *rt = xcalloc(1, sizeof(*rt));

	pthread_mutex_init(&rt->lock, NULL);
	pthread_mutex_init(&rt->write_lock, NULL);
	pthread_cond_init(&rt->idle, NULL);
	g->refs = 1;
	g->env.write_lock = &rt->write_lock;
	rt->cur = g;
	rt->store_path = xstrdup(g->conf->store_path);
	return rt;
}

void
milter_rt_free(struct milter_rt *rt)
{
	size_t i;

	if (rt == NULL)
		return;
	for (i = 0; i < rt->npool; i++)
		store_close(rt->pool[i]);
	milter_rt_release(rt, rt->cur);
	free(rt->store_path);
	pthread_cond_destroy(&rt->idle);
	pthread_mutex_destroy(&rt->write_lock);
	pthread_mutex_destroy(&rt->lock);
	free(rt);
}

struct milter_gen *
milter_rt_acquire(struct milter_rt *rt)
{
	struct milter_gen *g;

	pthread_mutex_lock(&rt->lock);
	g = rt->cur;
	g->refs++;
	pthread_mutex_unlock(&rt->lock);
	return g;
}

void
milter_rt_release(struct milter_rt *rt, struct milter_gen *g)
{
	int last;

	if (g == NULL)
		return;
	pthread_mutex_lock(&rt->lock);
	last = --g->refs == 0;
	pthread_mutex_unlock(&rt->lock);
	if (last)
		milter_gen_free(g);
}

void
milter_rt_swap(struct milter_rt *rt, struct milter_gen *g)
{
	struct milter_gen *old;
	struct store *close_v[POOL_MAX];
	size_t nclose = 0, i;

	g->env.write_lock = &rt->write_lock;
	pthread_mutex_lock(&rt->lock);
	old = rt->cur;
	g->refs = 1;
	rt->cur = g;
	/* handles on a store the new configuration no longer names */
	if (strcmp(rt->store_path, g->conf->store_path) != 0) {
		memcpy(close_v, rt->pool, rt->npool * sizeof(*close_v));
		nclose = rt->npool;
		rt->npool = 0;
		free(rt->store_path);
		rt->store_path = xstrdup(g->conf->store_path);
	}
	pthread_mutex_unlock(&rt->lock);
	for (i = 0; i < nclose; i++)
		store_close(close_v[i]);
	milter_rt_release(rt, old);
}

struct store *
milter_rt_store(struct milter_rt *rt, const struct conf *c)
{
	struct store *st = NULL;
	char err[512];

	pthread_mutex_lock(&rt->lock);
	if (rt->npool > 0 && strcmp(rt->store_path, c->store_path) == 0)
		st = rt->pool[--rt->npool];
	pthread_mutex_unlock(&rt->lock);
	if (st != NULL)
		return st;
	if (store_open(c->store_path, 0, c->store_timeout_ms, &st, err,
	    sizeof(err)) == -1) {
		milter_log(LOG_ERR, NULL, "store: %s", err);
		return NULL;
	}
	return st;
}

void
milter_rt_store_put(struct milter_rt *rt, struct store *st)
{
	if (st == NULL)
		return;
	pthread_mutex_lock(&rt->lock);
	if (rt->npool < POOL_MAX &&
	    strcmp(rt->store_path, store_path(st)) == 0) {
		rt->pool[rt->npool++] = st;
		st = NULL;
	}
	pthread_mutex_unlock(&rt->lock);
	store_close(st);
}

void
milter_rt_busy(struct milter_rt *rt, int delta)
{
	pthread_mutex_lock(&rt->lock);
	rt->busy += delta;
	if (rt->busy == 0)
		pthread_cond_broadcast(&rt->idle);
	pthread_mutex_unlock(&rt->lock);
}

int
milter_rt_drain(struct milter_rt *rt, int seconds)
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
