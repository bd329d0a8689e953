/*
 * milter - one message on its way through segmilter, independent of
 * libmilter so that unit tests drive it directly.
 *
 * The libmilter callbacks (src/milter/mlfi.c) feed a struct milter_msg:
 * sender and recipients as the MTA gave them, headers, then the body.  At
 * the end of the headers a message without the campaign header is done
 * with (accepted untouched, never buffered: transactional mail); a
 * campaign's header and body go to a spool.  At the end of the message
 * milter_msg_eom():
 *   1. looks every recipient up in the store and lets policy decide;
 *   2. parts the kept recipients (msg_int.h, struct msg_plan) and renders
 *      each part: with outbox.reinject_url set, a part per variant, the
 *      largest one rewritten in place and the others tailored copies;
 *      without it, one part, in the default variant when recipients are
 *      in several (logged);
 *   3. records a ledger row and an audit row per recipient, and every
 *      copy in the outbox, in one transaction, committed before anything
 *      is said to the MTA;
 *   4. asks the MTA, through OPS, to remove suppressed recipients, change
 *      the Subject and MIME headers, drop the control headers and replace
 *      the body; or discards the message when nobody is left.
 * Failures are reported once, here, to syslog with the queue id first;
 * the verdict says what the MTA is told.
 */
#ifndef SEGM_MILTER_H
#define SEGM_MILTER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "campaign.h"
#include "conf.h"
#include "store.h"

/* The smfi_* calls a verdict needs, wrapped so tests can record them. */
struct milter_ops {
	void	*ctx;
	int	 (*delrcpt)(void *ctx, const char *rcpt);
	/* VALUE NULL deletes the INDEX-th (1-based) header called NAME */
	int	 (*chgheader)(void *ctx, const char *name, int index,
		    const char *value);
	int	 (*replacebody)(void *ctx, const unsigned char *p, size_t len);
	int	 (*setreply)(void *ctx, const char *rcode, const char *xcode,
		    const char *text);
	int	 (*addheader)(void *ctx, const char *name, const char *value);
	/* the envelope sender; NULL when the MTA does not offer it */
	int	 (*chgfrom)(void *ctx, const char *sender);
};

enum milter_verdict {
	MILTER_CONTINUE,	/* accepted, with any changes made */
	MILTER_DISCARD,		/* nobody left to deliver to */
	MILTER_TEMPFAIL		/* the MTA keeps it and retries */
};

/*
 * What a message is judged by: one generation of configuration, and the
 * lock of the process's one store handle (NULL when the handle is the
 * caller's alone: tests, preview), held while a message reads and while
 * it records, never while it renders.
 */
struct milter_env {
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

struct milter_msg;

struct milter_msg *milter_msg_new(void);
void	 milter_msg_free(struct milter_msg *m);
/* Forgets the message, keeping the connection's allocations. */
void	 milter_msg_reset(struct milter_msg *m);

void	 milter_msg_set_queue_id(struct milter_msg *m, const char *qid);
void	 milter_msg_sender(struct milter_msg *m, const char *addr);
void	 milter_msg_rcpt(struct milter_msg *m, const char *addr);

/* 0, or -1 when the header cannot be held (reported; tempfail). */
int	 milter_msg_header(struct milter_msg *m, const struct milter_env *env,
	    const char *name, const char *value);
/*
 * 1 when the message is a campaign and its body is wanted; 0 when it is
 * not (accept it untouched); 2 when it is a copy of segmilter's own (a
 * valid marker: its body is not wanted, but the marker is stripped at
 * the end of the message); -1 when it cannot be spooled (tempfail).
 */
int	 milter_msg_eoh(struct milter_msg *m, const struct milter_env *env);
int	 milter_msg_body(struct milter_msg *m, const unsigned char *p,
	    size_t len);

enum milter_verdict milter_msg_eom(struct milter_msg *m,
	    const struct milter_env *env, struct store *st, int64_t now,
	    const struct milter_ops *ops);

/*
 * The running configuration: generations of (segmilter.conf, campaigns)
 * that messages hold by reference, so a reload never changes the rules
 * under a message; and the one store handle every thread shares, under
 * a lock.  One handle, not one per thread: a commit through any handle
 * empties the page cache of every other, so with a handle per thread
 * each lookup would start cold.  The store path is read at start-up; a
 * reload that changes it is told to restart.
 */
struct milter_rt;
struct milter_gen {
	struct milter_env	 env;
	struct conf		*conf;
	struct campaign_set	*campaigns;
	struct tzdb		*tzdb;
	struct digest_hmac	*draws;
	char			*sms_report;	/* each SMS text's size */
	int			 refs;		/* under the runtime's lock */
};

/* Loads PATH and its campaigns.  0, or -1 with every problem in ERR. */
int	 milter_gen_load(const char *path, struct milter_gen **out, char *err,
	    size_t errlen);
void	 milter_gen_free(struct milter_gen *g);

struct milter_ckpt;
struct milter_rt *milter_rt_new(struct milter_gen *g);
/* The current generation, referenced; give it back with release. */
struct milter_gen *milter_rt_acquire(struct milter_rt *rt);
void	 milter_rt_release(struct milter_rt *rt, struct milter_gen *g);
/* Makes G current; messages under way finish with the one they hold. */
void	 milter_rt_swap(struct milter_rt *rt, struct milter_gen *g);
/*
 * The shared store handle, opened on first use and checked on every
 * later one (store_check_file); NULL (logged) when it cannot be opened
 * or its file is gone, replaced or no longer ours to read and write,
 * and tried again for the next message.
 */
struct store *milter_rt_store(struct milter_rt *rt);
/* Who to wake when a message queued copies (set once, before serving). */
void	 milter_rt_set_outbox(struct milter_rt *rt,
	    void (*wake)(void *, int64_t), void *arg);
/* Commits of the shared handle wake CK to checkpoint (milter_ckpt);
 * NULL: they checkpoint themselves again (before stopping CK). */
void	 milter_rt_set_checkpointer(struct milter_rt *rt,
	    struct milter_ckpt *ck);
/*
 * Messages between their end and the MTA's answer: SIGTERM waits.  A
 * message that would start (DELTA 1) after milter_rt_stop is refused,
 * -1: the caller tempfails it; else 0.
 */
int	 milter_rt_busy(struct milter_rt *rt, int delta);
/* SIGTERM: no message starts from now on. */
void	 milter_rt_stop(struct milter_rt *rt);
/* Waits up to SECONDS for no message to be busy; 0, or -1 on timeout. */
int	 milter_rt_drain(struct milter_rt *rt, int seconds);

/*
 * The checkpoint thread (checkpoint.c): copies the store's WAL back into
 * the database when a commit of the shared handle wakes it, through a
 * handle of its own, so that commits do not wait for checkpoints.  NULL
 * if the thread cannot start (commits then checkpoint as SQLite does).
 * Stopping runs one last checkpoint, then joins the thread.
 */
struct milter_ckpt *milter_ckpt_start(const char *store_path,
	    int64_t timeout_ms);
/* A store_defer_checkpoints callback: only signals. */
void	 milter_ckpt_wake(void *ck);
/* Checkpoints run so far (tests wait on it). */
unsigned long milter_ckpt_runs(struct milter_ckpt *ck);
void	 milter_ckpt_stop(struct milter_ckpt *ck);

/*
 * segctl preview: the message in FD (an .eml file, LF or CRLF) judged as
 * if sent to RCPTS (NRCPTS 0: every customer in the store), with the
 * same policy and renderer, nothing recorded.  Prints to OUT, per
 * variant, how many recipients get it with its rendered Subject and text
 * parts, then the suppressions by reason.  0; 1 when the message would
 * be tempfailed (the reason printed); -1 with ERR.
 */
int	 milter_preview(const struct milter_env *env, struct store *st,
	    int fd, const char *const *rcpts, size_t nrcpts, int64_t now,
	    FILE *out, char *err, size_t errlen);
/*
 * The same judgement, a row per recipient instead of the text: FN with
 * each one's address, decision ("deliver", "broad", a suppression),
 * variant ("" when none), arm ("" without arms), segment ("" unknown)
 * and detail.  0; 1 (the reason printed to OUT) or -1 as
 * milter_preview.
 */
struct milter_preview_row {
	const char	*recipient, *decision, *variant, *arm, *segment;
	const char	*detail;
};
typedef void (*milter_preview_fn)(const struct milter_preview_row *r,
	    void *arg);
int	 milter_preview_rows(const struct milter_env *env, struct store *st,
	    int fd, const char *const *rcpts, size_t nrcpts, int64_t now,
	    milter_preview_fn fn, void *arg, FILE *out, char *err,
	    size_t errlen);

/*
 * Renders every campaign's SMS text for each of its variants (customer
 * names empty, so defaults count) and reports its coding and parts into
 * REPORT; a text that fails or is over sms.max_parts goes into ERRS as
 * FILE: problem.  0, or -1 when ERRS got anything.
 */
struct buf;
int	 milter_sms_check(const struct conf *conf,
	    const struct campaign_set *set, struct buf *report,
	    struct buf *errs);

/* TCP_NODELAY on every listening TCP socket; returns how many. */
int	 milter_nodelay_listeners(void);

/*
 * Logging: syslog(3) at PRIO, facility mail, the line starting with QID
 * ("NOQUEUE" if NULL).  milter_log_open(IDENT, FOREGROUND) sets it up
 * once, before threads start; in the foreground lines also go to stderr,
 * and only there when the machine has no syslog socket (a test box),
 * rather than trying to connect to it for every line.
 */
void	 milter_log_open(const char *ident, int foreground);
void	 milter_log(int prio, const char *qid, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* INTRO, then each line of TEXT indented: syslog is line-based. */
void	 milter_log_lines(int prio, const char *intro, const char *text);

#endif
