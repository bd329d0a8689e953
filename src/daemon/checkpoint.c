/*
 * checkpoint.c - copies the store's WAL back into the database from a
 * thread of its own.
 *
 * The milter's threads and the outbox workers share one store handle and
 * commit one at a time.  SQLite's automatic checkpoint runs inside the
 * commit that takes the WAL past its threshold: a copy of the changed
 * pages and two fsyncs, milliseconds during which every other thread
 * waits for the store, and which fall after the commit is durable but
 * before the milter answers the MTA.  A crash in that gap finds a copy
 * noted as passed that the MTA never accepted (msg.c, pass_copy), so the
 * gap is kept to the commit itself: commits only wake this thread
 * (store_defer_checkpoints), which checkpoints through its own handle.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "daemon.h"
#include "store.h"
#include "xalloc.h"

struct daemon_ckpt {
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 due;		/* a commit asked since the last run */
	int		 stop;
	unsigned long	 runs;		/* checkpoints done */
	char		*path;
	int64_t		 timeout_ms;
};

/*
 * One checkpoint through *ST, opened on first use and again after a
 * failure (the file replaced, an I/O error).  Errors are logged once until
 * the next success: every commit wakes this thread again.
 */
static void
ckpt_once(struct daemon_ckpt *ck, struct store **st, int *failing)
{
	char err[512];

	err[0] = '\0';
	if (*st == NULL && store_open(ck->path, STORE_DAEMON, ck->timeout_ms,
	    st, err, sizeof(err)) == -1)
		*st = NULL;
	else if (store_check_file(*st) == -1 ||
	    store_checkpoint(*st, NULL, NULL) == -1) {
		snprintf(err, sizeof(err), "%s", store_error(*st));
		store_close(*st);
		*st = NULL;
	}
	if (err[0] != '\0' && !*failing)
		daemon_log(LOG_WARNING, NULL, "store: checkpoint: %s (commits"
		    " checkpoint themselves once the WAL holds %d pages)",
		    err, STORE_WAL_BOUND * STORE_WAL_PAGES);
	*failing = err[0] != '\0';
}

static void *
ckpt_run(void *arg)
{
	struct daemon_ckpt *ck = arg;
	struct store *st = NULL;
	int failing = 0, stop;

	pthread_mutex_lock(&ck->lock);
	for (;;) {
		while (!ck->due && !ck->stop)
			pthread_cond_wait(&ck->cond, &ck->lock);
		stop = ck->stop;
		ck->due = 0;
		pthread_mutex_unlock(&ck->lock);
		ckpt_once(ck, &st, &failing);
		pthread_mutex_lock(&ck->lock);
		ck->runs++;
		if (stop)
			break;
	}
	pthread_mutex_unlock(&ck->lock);
	store_close(st);
	return NULL;
}

struct daemon_ckpt *
daemon_ckpt_start(const char *path, int64_t timeout_ms)
{
	struct daemon_ckpt *ck = xcalloc(1, sizeof(*ck));

	pthread_mutex_init(&ck->lock, NULL);
	pthread_cond_init(&ck->cond, NULL);
	ck->path = xstrdup(path);
	ck->timeout_ms = timeout_ms;
	if (pthread_create(&ck->thread, NULL, ckpt_run, ck) != 0) {
		pthread_mutex_destroy(&ck->lock);
		pthread_cond_destroy(&ck->cond);
		free(ck->path);
		free(ck);
		return NULL;
	}
	return ck;
}

void
daemon_ckpt_wake(void *arg)
{
	struct daemon_ckpt *ck = arg;

	pthread_mutex_lock(&ck->lock);
	if (!ck->due) {
		ck->due = 1;
		pthread_cond_broadcast(&ck->cond);
	}
	pthread_mutex_unlock(&ck->lock);
}

unsigned long
daemon_ckpt_runs(struct daemon_ckpt *ck)
{
	unsigned long n;

	pthread_mutex_lock(&ck->lock);
	n = ck->runs;
	pthread_mutex_unlock(&ck->lock);
	return n;
}

void
daemon_ckpt_stop(struct daemon_ckpt *ck)
{
	if (ck == NULL)
		return;
	pthread_mutex_lock(&ck->lock);
	ck->stop = 1;
	pthread_cond_broadcast(&ck->cond);
	pthread_mutex_unlock(&ck->lock);
	pthread_join(ck->thread, NULL);
	pthread_mutex_destroy(&ck->lock);
	pthread_cond_destroy(&ck->cond);
	free(ck->path);
	free(ck);
}
