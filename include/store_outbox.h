/*
 * store_outbox - the outbox (src/store/outbox.c, sms.c): the tailored
 * copies and SMS that segmilter queues inside a message's transaction,
 * claimed by outbox workers with a lease, held, retried and recovered
 * after a crash; and the notes of copies seen passing on the
 * re-injection port, which make a copy go once.
 *
 * Used by the milter (queueing, the SMS caps' count of jobs queued
 * meanwhile), the outbox workers (src/outbox/), segfeed's SMS reports
 * and replies, and segctl outbox.  Conventions: store.h.
 */
#ifndef SEGM_STORE_OUTBOX_H
#define SEGM_STORE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/*
 * The outbox: tailored copies (and later SMS) waiting to be sent.  A job
 * is claimed with a lease; a worker that dies leaves it to be claimed
 * again when the lease runs out, so jobs survive restarts.
 */
enum store_job_state {
	JOB_QUEUED,
	JOB_SENDING,
	JOB_SENT,
	JOB_FAILED,
	JOB_CANCELLED
};

struct store_job {
	int64_t		 id;
	const char	*kind;		/* "email" or "sms" */
	const char	*campaign_id;
	const char	*message_key;
	const char	*variant;
	const char	*sender;
	const char	*recipients;	/* one address per line */
	const void	*message;	/* the whole copy, CRLF; NULL in a
					   claimed copy (store_outbox_read) */
	size_t		 len;
	const char	*nonce;		/* its marker's, names the copy;
					   sms: the idempotency key */
	int64_t		 not_before;	/* send_after, or now */
	int64_t		 next_at;
	int64_t		 attempts;
	enum store_job_state state;
	const char	*last_error;
	int64_t		 created_at;
	int64_t		 done_at;
	/* sms: the customer, where they live (quiet hours), the reply */
	int64_t		 customer_id;
	const char	*time_zone;
	const char	*country;
	const char	*region;
	const char	*gateway_ref;	/* the gateway's message id */
};

/*
 * Queues J; 0 and *ID, 1 when J is an SMS and this campaign already has
 * one for this customer (a unique index, so that two messages of one
 * campaign racing each other cannot both queue one), or -1.
 */
int	 store_outbox_add(struct store *st, const struct store_job *j,
	    int64_t *id);
/*
 * store_outbox_add() for a message too big to hold whole (an email copy
 * of a big campaign, built from its spool as it is stored): J->message
 * is not read; FILL(ARG, PUT, W) writes J->len bytes, in order, through
 * PUT(W, p, n), which returns 0 or -1.  Within the caller's transaction,
 * like store_outbox_add().  0 and *ID, or -1 (FILL's -1 too, or fewer
 * bytes than J->len: the caller rolls back).
 */
typedef int (*store_put_fn)(void *w, const void *p, size_t n);
typedef int (*store_fill_fn)(void *arg, store_put_fn put, void *w);
int	 store_outbox_add_from(struct store *st, const struct store_job *j,
	    store_fill_fn fill, void *arg, int64_t *id);
/* Puts a claimed job back until UNTIL without counting the claim as an
 * attempt (quiet hours), saying WHY.  0, or -1. */
int	 store_outbox_hold(struct store *st, int64_t id, int64_t until,
	    const char *why);
/* The newest job's id, 0 when none; and how many SMS jobs are newer
 * than AFTER.  0, or -1. */
int	 store_outbox_last_id(struct store *st, int64_t *id);
int	 store_outbox_sms_after(struct store *st, int64_t after, int64_t *n);
/* Records the gateway's id for a sent SMS.  0, or -1. */
int	 store_outbox_set_ref(struct store *st, int64_t id, const char *ref);
#define STORE_JOB_EMAIL	0x1	/* kinds a worker can send */
#define STORE_JOB_SMS	0x2
#define STORE_RELAY_MAX	64	/* bytes of a relay's name */
/*
 * Names the relay whose workers claim jobs through ST: a fleet's relays
 * share one outbox, and a relay that starts again takes back its own
 * jobs left being sent, not another's (store_outbox_recover).  Longer
 * names are cut; "" (the default) names none.
 */
void	 store_set_relay(struct store *st, const char *name);
/*
 * Claims the job of KINDS due first at NOW (queued and due, or sending
 * with its lease run out) for LEASE seconds, counting the attempt, and
 * forgets an earlier attempt's copy_seen note; in a transaction of its
 * own, so not inside one.  0 and *J, a copy the caller frees with
 * store_job_free(); 1 when none is due (*NEXT_AT: the next due time, 0
 * when there is none); or -1.  An email job comes without its message,
 * J->len bytes that the worker reads as it sends (store_outbox_read):
 * four workers must not hold four copies of a 30 MB campaign.
 */
int	 store_outbox_claim(struct store *st, int64_t now, int64_t lease,
	    int kinds, struct store_job **j, int64_t *next_at);
/* LEN bytes of job ID's message from AT, into BUF.  0, or -1. */
int	 store_outbox_read(struct store *st, int64_t id, size_t at, void *buf,
	    size_t len);
void	 store_job_free(struct store_job *j);
/*
 * Before this process's workers claim any job: jobs left 'sending' by a
 * process of this relay that died (or claimed by no relay named, or
 * whose lease ran out) are sent if segmilter on the re-injection port
 * saw them go through (store_copy_seen), else queued again, due now.
 * Another relay's jobs under lease are its own: it is sending them.
 * *QUEUED and *SENT say how many of each.  0, or -1.
 */
int	 store_outbox_recover(struct store *st, int64_t now, int64_t *queued,
	    int64_t *sent);
/* 1 when the copy with NONCE passed before, 0 when not, or -1. */
int	 store_copy_was_seen(struct store *st, const char *nonce);
/* Notes that the copy with NONCE passed, in queue QID.  0, or -1. */
int	 store_copy_seen(struct store *st, const char *nonce, const char *qid,
	    int64_t now);
/* Sets a job's state; NEXT_AT for a retry, ERROR (may be NULL).  An
 * email job sent loses its body: the MTA has the copy. */
int	 store_outbox_update(struct store *st, int64_t id,
	    enum store_job_state state, int64_t next_at, const char *error,
	    int64_t now);
/* Calls FN for every job (message not loaded) in id order. */
typedef int (*store_job_fn)(const struct store_job *j, void *arg);
int	 store_outbox_scan(struct store *st, store_job_fn fn, void *arg);
/* 0 and *J without the message (caller frees with store_job_free()),
 * 1 when there is no job ID, or -1. */
int	 store_outbox_get(struct store *st, int64_t id, struct store_job **j);
/* As store_outbox_get(), in a write transaction about to change the job:
 * on PostgreSQL the row stays locked until the transaction ends, so a
 * claim in progress is waited for (the job is then 'sending') and none
 * starts meanwhile (claims pass over locked rows). */
int	 store_outbox_get_locked(struct store *st, int64_t id,
	    struct store_job **j);
const char *store_job_state_name(enum store_job_state s);

/*
 * The SMS jobs queued since job AFTER for the customers IDS[0..N-1]:
 * COUNT[i] how many may still be sent (not failed or cancelled), as the
 * caps count them; CAMPAIGN_JOB[i] the id of CAMPAIGN's, whatever its
 * state, 0 if none among them.  0, or -1.
 */
int	 store_sms_jobs_since(struct store *st, int64_t after,
	    const int64_t *ids, size_t n, const char *campaign,
	    int64_t *count, int64_t *campaign_job);

#endif
