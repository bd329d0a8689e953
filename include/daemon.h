/*
 * daemon - what segmilter's threads share, below both the milter and
 * the outbox workers (and used by segfeed): the loaded configuration in
 * generations, the one store handle and its checkpoint thread, the
 * logger, where an SMS recipient lives, and what policy judges a
 * recipient by.  Nothing here knows a message or a job.
 */
#ifndef SEGM_DAEMON_H
#define SEGM_DAEMON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "campaign.h"
#include "conf.h"
#include "store.h"

struct policy_facts;
struct store_recipient;		/* store_lookup.h */
struct store_sms_facts;
/*
 * F from what the store returned for a recipient, flags aside (F's
 * pointers point into R: F lasts as long as R).
 */
void	 daemon_policy_facts(struct policy_facts *f,
	    const struct store_recipient *r);

/*
 * What a message is judged by: one generation of configuration, and the
 * lock of the process's one store handle (NULL when the handle is the
 * caller's alone: tests, preview), held while a message reads and while
 * it records, never while it renders.
 */
struct daemon_env {
	const struct conf		*conf;
	const struct campaign_set	*campaigns;
	char				 conf_hash[65];
	pthread_mutex_t			*store_lock;
	struct tzdb			*tzdb;	/* quiet hours */
	/* arms' draws (policy_arm_key); NULL without outbox.key_file */
	const struct digest_hmac	*draws;
	/* called after a commit that queued jobs, with the earliest one's
	 * due time; NULL: nobody to wake */
	void				(*outbox_wake)(void *arg, int64_t due);
	void				*outbox_arg;
};

/*
 * The running configuration: generations of (segmilter.conf, campaigns)
 * that messages hold by reference, so a reload never changes the rules
 * under a message; and the one store handle every thread shares, under
 * a lock.  One handle, not one per thread: a commit through any handle
 * empties the page cache of every other, so with a handle per thread
 * each lookup would start cold.  The store path is read at start-up; a
 * reload that changes it is told to restart.
 */
struct daemon_rt;
struct daemon_gen {
	struct daemon_env	 env;
	struct conf		*conf;
	struct campaign_set	*campaigns;
	struct tzdb		*tzdb;
	struct digest_hmac	*draws;
	char			*sms_report;	/* each SMS text's size */
	int			 refs;		/* under the runtime's lock */
};

/* Loads PATH and its campaigns.  0, or -1 with every problem in ERR. */
int	 daemon_gen_load(const char *path, struct daemon_gen **out, char *err,
	    size_t errlen);
void	 daemon_gen_free(struct daemon_gen *g);

struct daemon_ckpt;
struct daemon_rt *daemon_rt_new(struct daemon_gen *g);
/* The current generation, referenced; give it back with release. */
struct daemon_gen *daemon_rt_acquire(struct daemon_rt *rt);
void	 daemon_rt_release(struct daemon_rt *rt, struct daemon_gen *g);
/* Makes G current; messages under way finish with the one they hold. */
void	 daemon_rt_swap(struct daemon_rt *rt, struct daemon_gen *g);
/*
 * The shared store handle, opened on first use and checked on every
 * later one (store_check_file); NULL (logged) when it cannot be opened
 * or its file is gone, replaced or no longer ours to read and write,
 * and tried again for the next message.
 */
struct store *daemon_rt_store(struct daemon_rt *rt);
/* Who to wake when a message queued copies (set once, before serving). */
void	 daemon_rt_set_outbox(struct daemon_rt *rt,
	    void (*wake)(void *, int64_t), void *arg);
/* Commits of the shared handle wake CK to checkpoint (daemon_ckpt);
 * NULL: they checkpoint themselves again (before stopping CK). */
void	 daemon_rt_set_checkpointer(struct daemon_rt *rt,
	    struct daemon_ckpt *ck);
/*
 * Messages between their end and the MTA's answer: SIGTERM waits.  A
 * message that would start (DELTA 1) after daemon_rt_stop is refused,
 * -1: the caller tempfails it; else 0.
 */
int	 daemon_rt_busy(struct daemon_rt *rt, int delta);
/* SIGTERM: no message starts from now on. */
void	 daemon_rt_stop(struct daemon_rt *rt);
/* Waits up to SECONDS for no message to be busy; 0, or -1 on timeout. */
int	 daemon_rt_drain(struct daemon_rt *rt, int seconds);

/*
 * The one store handle a daemon's threads share (handle.c), for
 * segmilter's runtime and segfeed's: opened on first use and checked on
 * every later one (store_check_file); NULL (logged) when it cannot be
 * opened or its file is gone, replaced or no longer ours, and tried
 * again next time.  Its uses are serialised by daemon_handle_lock();
 * with a checkpointer set, its commits wake it (daemon_ckpt).
 */
struct daemon_handle;
struct daemon_handle *daemon_handle_new(const char *path,
	    int64_t timeout_ms);
void	 daemon_handle_free(struct daemon_handle *h);
struct store *daemon_handle_get(struct daemon_handle *h);
pthread_mutex_t *daemon_handle_lock(struct daemon_handle *h);
void	 daemon_handle_set_checkpointer(struct daemon_handle *h,
	    struct daemon_ckpt *ck);

/*
 * The checkpoint thread (checkpoint.c): copies the store's WAL back into
 * the database when a commit of the shared handle wakes it, through a
 * handle of its own, so that commits do not wait for checkpoints.  NULL
 * if the thread cannot start (commits then checkpoint as SQLite does).
 * Stopping runs one last checkpoint, then joins the thread.
 */
struct daemon_ckpt *daemon_ckpt_start(const char *store_path,
	    int64_t timeout_ms);
/* A store_defer_checkpoints callback: only signals. */
void	 daemon_ckpt_wake(void *ck);
/* Checkpoints run so far (tests wait on it). */
unsigned long daemon_ckpt_runs(struct daemon_ckpt *ck);
void	 daemon_ckpt_stop(struct daemon_ckpt *ck);

/*
 * Logging: syslog(3) at PRIO, facility mail, the line starting with QID
 * ("NOQUEUE" if NULL).  daemon_log_open(IDENT, FOREGROUND) sets it up
 * once, before threads start; in the foreground lines also go to stderr,
 * and only there when the machine has no syslog socket (a test box),
 * rather than trying to connect to it for every line.
 */
void	 daemon_log_open(const char *ident, int foreground);
void	 daemon_log(int prio, const char *qid, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* INTRO, then each line of TEXT indented: syslog is line-based. */
void	 daemon_log_lines(int prio, const char *intro, const char *text);

/*
 * Where a recipient's local window W is kept: their TIME_ZONE, else
 * every zone of their COUNTRY (either may be "").  ONE holds the single
 * zone P may point at.  0, or -1 when no zone is known (nothing is
 * guessed).  The zones are read from the tz database on first use, so
 * this is here and not in policy.
 */
struct policy_place;
struct tz;
struct tzdb;
int	 daemon_place(struct tzdb *db, const char *time_zone,
	    const char *country, struct conf_window w, struct policy_place *p,
	    const struct tz **one);
/* The same for their SMS quiet hours: the window for COUNTRY and
 * REGION. */
int	 daemon_sms_place(struct tzdb *db, const struct conf_sms *s,
	    const char *time_zone, const char *country, const char *region,
	    struct policy_place *p, const struct tz **one);
/*
 * What policy_sms_decide() needs from F, into PF: consent and number;
 * the caps and the campaign's job as F has them, and no text or place
 * yet (the caller sets parts and has_place).
 */
struct policy_sms_facts;
void	 daemon_sms_facts(const struct store_sms_facts *f,
	    struct policy_sms_facts *pf);

#endif
