/*
 * outbox - the worker threads that send what the milter queued.
 *
 * Workers claim due jobs from the store's outbox (store_outbox.h), send each
 * copy to outbox.reinject_url, and record the outcome: sent; a temporary
 * failure retried with exponential backoff and jitter until the copy is
 * older than outbox.max_age_hours; a permanent failure (5xx) or expiry
 * recorded as failed, with an audit row per recipient, and listed by
 * `segctl outbox`.  A job claimed by a worker that dies is claimed again
 * when its lease runs out, so nothing queued is lost to a crash.  A copy
 * held for later is asked again when it is due (outbox_recheck).
 *
 * outbox_backoff() is the pure part, for tests.
 */
#ifndef SEGM_OUTBOX_H
#define SEGM_OUTBOX_H

#include <stdint.h>

struct daemon_rt;
struct outbox;
struct store;
struct store_job;

/*
 * An audit row per recipient of job J: DECISION (copy_failed,
 * copy_expired, copy_cancelled, copy_retried, or sms_* for an SMS job)
 * and WHY, or NULL for none.  Inside the caller's write transaction.
 * The new head goes into ANCHOR (AUDIT_ANCHOR_MAX, unless NULL), for the
 * caller to log once it commits.  0, or -1.
 */
int	 outbox_audit_job(struct store *st, const struct store_job *j,
	    const char *decision, const char *why, const char *config_hash,
	    int64_t now, char *anchor);

/*
 * Whether J, an email copy held for later (a send_after), may still go
 * at NOW: its recipient looked up again and judged by policy_recheck
 * against its campaign's send_after and goals.  0 when it may (a copy
 * not held is not asked); 1 when not, the job cancelled, its delivery
 * withdrawn and audited (copy_goal_met, copy_withdrawn); -1 on a store
 * error (logged: the job is left to its lease).  The workers ask it of
 * every copy they claim.
 */
struct daemon_env;
int	 outbox_recheck(struct store *st, const struct daemon_env *env,
	    const struct store_job *j, int64_t now);

/*
 * Seconds before attempt ATTEMPTS + 1: BASE * 2^(ATTEMPTS - 1), at most
 * MAX, times a jitter factor in [0.5, 1.5) drawn from U in [0, 1) so
 * that copies that failed together do not retry together.
 */
int64_t	 outbox_backoff(int64_t base, int64_t max, int64_t attempts,
	    double u);

/* Starts N workers over RT's store and configuration. */
struct outbox *outbox_start(struct daemon_rt *rt, int n);
/*
 * A job was queued, due at DUE: wakes a worker, unless one already looks
 * again by then (SMS held for quiet hours wake nobody).  ARG is the
 * struct outbox.
 */
void	 outbox_wake(void *arg, int64_t due);
/*
 * Ends each worker's transfer in flight (its job stays claimed) and joins
 * them.  outbox_wake may still be called after: outbox_free only once
 * nothing can.
 */
void	 outbox_stop(struct outbox *ob);
void	 outbox_free(struct outbox *ob);

#endif
