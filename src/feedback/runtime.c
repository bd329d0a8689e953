/*
 * runtime.c - segfeed's configuration generations and its store handle.
 *
 * As segmilter's (src/daemon/runtime.c): a generation is segmilter.conf
 * and the page template, loaded and checked together, swapped in whole
 * by SIGHUP and freed when its last request gives it back.  rt->lock
 * guards the pointers and counts; the store handle is the daemons'
 * shared one (src/daemon/handle.c), used under its lock by the handlers
 * (struct feedback_env).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "buf.h"
#include "feedback.h"
#include "daemon.h"
#include "store.h"
#include "template.h"
#include "xalloc.h"

struct feedback_rt {
	pthread_mutex_t	 lock;
	struct feedback_gen *cur;
	/* the path from the first configuration, as segmilter's */
	struct daemon_handle *handle;
};

struct check_names {
	struct buf	*errs;
	const char	*where;
};

static void
check_name(void *arg, const char *name, int is_section)
{
	struct check_names *cn = arg;

	if (!feedback_page_name_known(name, is_section))
		buf_printf(cn->errs, "%s: unknown %s '%s'\n", cn->where,
		    is_section ? "section" : "placeholder", name);
}

/* The page template at PATH, read and checked; NULL with ERRS. */
static char *
load_page(const char *conf_path, const char *path, size_t *len,
    struct buf *errs)
{
	struct check_names cn;
	struct buf page;
	char chunk[8192], where[1024], err[512];
	size_t n;
	FILE *fp;

	snprintf(where, sizeof(where), "%s: feedback.page_template: %s",
	    conf_path, path);
	if ((fp = fopen(path, "r")) == NULL) {
		buf_printf(errs, "%s: %s\n", where, strerror(errno));
		return NULL;
	}
	buf_init(&page, FEEDBACK_PAGE_MAX / 2);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_append(&page, chunk, n) == -1) {
			buf_printf(errs, "%s: larger than %d bytes\n", where,
			    FEEDBACK_PAGE_MAX / 2);
			fclose(fp);
			buf_free(&page);
			return NULL;
		}
	fclose(fp);
	cn.errs = errs;
	cn.where = where;
	if (template_check(buf_str(&page), page.len, check_name, &cn, err,
	    sizeof(err)) == -1)
		buf_printf(errs, "%s: %s\n", where, err);
	if (errs->len > 0) {
		buf_free(&page);
		return NULL;
	}
	*len = page.len;
	return buf_take(&page);
}

int
feedback_gen_load(const char *path, struct feedback_gen **out, char *err,
    size_t errlen)
{
	struct feedback_gen *g;
	struct conf *c;
	struct buf errs;
	char why[1024];
	size_t len = 0;
	char *page;

	if (conf_load(path, &c, err, errlen) == -1)
		return -1;
	buf_init(&errs, errlen > 0 ? errlen - 1 : 0);
	g = xcalloc(1, sizeof(*g));
	/* without a feedback group conf_load did not check these */
	if (!c->feedback.configured && c->milter.unsubscribe_url[0] == '\0')
		buf_printf(&errs, "%s: milter.unsubscribe_url is empty:"
		    " segfeed serves the link it names\n", path);
	else if (conf_unsub_route(c->milter.unsubscribe_url, &g->env.unsub,
	    why, sizeof(why)) == -1)
		buf_printf(&errs, "%s: %s\n", path, why);
	page = load_page(path, c->feedback.page_template, &len, &errs);
	if (errs.len > 0) {
		snprintf(err, errlen, "%s", buf_str(&errs));
		buf_free(&errs);
		free(page);
		free(g);
		conf_free(c);
		return -1;
	}
	buf_free(&errs);
	g->conf = c;
	g->page = page;
	g->env.conf = c;
	g->env.page = page;
	g->env.pagelen = len;
	conf_hash_hex(c, g->env.conf_hash);
	*out = g;
	return 0;
}

void
feedback_gen_free(struct feedback_gen *g)
{
	if (g == NULL)
		return;
	conf_free(g->conf);
	free(g->page);
	free(g);
}

struct feedback_rt *
feedback_rt_new(struct feedback_gen *g)
{
	struct feedback_rt *rt = xcalloc(1, sizeof(*rt));

	pthread_mutex_init(&rt->lock, NULL);
	g->refs = 1;
	rt->cur = g;
	rt->handle = daemon_handle_new(g->conf->store_path,
	    g->conf->store_timeout_ms);
	return rt;
}

void
feedback_rt_free(struct feedback_rt *rt)
{
	if (rt == NULL)
		return;
	feedback_rt_release(rt, rt->cur);
	daemon_handle_free(rt->handle);
	pthread_mutex_destroy(&rt->lock);
	free(rt);
}

struct feedback_gen *
feedback_rt_acquire(struct feedback_rt *rt, struct feedback_env *env)
{
	struct feedback_gen *g;

	pthread_mutex_lock(&rt->lock);
	g = rt->cur;
	g->refs++;
	pthread_mutex_unlock(&rt->lock);
	/* the request's own copy: the generation is shared, read-only */
	*env = g->env;
	env->st = daemon_handle_get(rt->handle);
	env->store_lock = daemon_handle_lock(rt->handle);
	return g;
}

void
feedback_rt_release(struct feedback_rt *rt, struct feedback_gen *g)
{
	int last;

	if (g == NULL)
		return;
	pthread_mutex_lock(&rt->lock);
	last = --g->refs == 0;
	pthread_mutex_unlock(&rt->lock);
	if (last)
		feedback_gen_free(g);
}

void
feedback_rt_swap(struct feedback_rt *rt, struct feedback_gen *g)
{
	struct feedback_gen *old;

	pthread_mutex_lock(&rt->lock);
	old = rt->cur;
	g->refs = 1;
	rt->cur = g;
	pthread_mutex_unlock(&rt->lock);
	feedback_rt_release(rt, old);
}
