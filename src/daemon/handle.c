/*
 * handle.c - the one store handle a daemon's threads share.
 *
 * One handle, not one per thread: a commit through any handle empties
 * the page cache of every other, so with a handle per thread each
 * lookup would start cold.  h->open_lock guards the pointer and its
 * opening; h->lock serialises the handle's uses (the callers take it),
 * and a check of the file, which may reopen the handle's insides, runs
 * under it, between uses.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "daemon.h"
#include "xalloc.h"

struct daemon_handle {
	pthread_mutex_t	 open_lock;
	pthread_mutex_t	 lock;
	struct store	*st;
	char		*path;
	int64_t		 timeout_ms;
	struct daemon_ckpt *ckpt;
};

struct daemon_handle *
daemon_handle_new(const char *path, int64_t timeout_ms)
{
	struct daemon_handle *h = xcalloc(1, sizeof(*h));

	pthread_mutex_init(&h->open_lock, NULL);
	pthread_mutex_init(&h->lock, NULL);
	h->path = xstrdup(path);
	h->timeout_ms = timeout_ms;
	return h;
}

void
daemon_handle_free(struct daemon_handle *h)
{
	if (h == NULL)
		return;
	store_close(h->st);
	free(h->path);
	pthread_mutex_destroy(&h->open_lock);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

pthread_mutex_t *
daemon_handle_lock(struct daemon_handle *h)
{
	return &h->lock;
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
daemon_handle_set_checkpointer(struct daemon_handle *h,
    struct daemon_ckpt *ck)
{
	struct store *st;

	pthread_mutex_lock(&h->open_lock);
	h->ckpt = ck;
	st = h->st;
	pthread_mutex_unlock(&h->open_lock);
	if (st == NULL)
		return;
	/* the hook is the handle's: changed only between its uses */
	pthread_mutex_lock(&h->lock);
	defer_checkpoints(st, ck);
	pthread_mutex_unlock(&h->lock);
}

struct store *
daemon_handle_get(struct daemon_handle *h)
{
	struct store *st;
	char err[512];
	int opened = 0;

	pthread_mutex_lock(&h->open_lock);
	if (h->st == NULL) {
		if (store_open(h->path, STORE_DAEMON, h->timeout_ms, &h->st,
		    err, sizeof(err)) == -1) {
			h->st = NULL;
			daemon_log(LOG_ERR, NULL, "store: %s", err);
		} else {
			opened = 1;
			if (h->ckpt != NULL)
				defer_checkpoints(h->st, h->ckpt);
		}
	}
	st = h->st;
	pthread_mutex_unlock(&h->open_lock);
	if (st == NULL || opened)
		return st;
	/* a reopening replaces the handle's insides: between its uses */
	pthread_mutex_lock(&h->lock);
	if (store_check_file(st) == -1) {
		daemon_log(LOG_ERR, NULL, "store: %s", store_error(st));
		st = NULL;
	}
	pthread_mutex_unlock(&h->lock);
	return st;
}
