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
#include "daemon.h"
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

struct milter_msg;

struct milter_msg *milter_msg_new(void);
void	 milter_msg_free(struct milter_msg *m);
/* Forgets the message, keeping the connection's allocations. */
void	 milter_msg_reset(struct milter_msg *m);

void	 milter_msg_set_queue_id(struct milter_msg *m, const char *qid);
void	 milter_msg_sender(struct milter_msg *m, const char *addr);
void	 milter_msg_rcpt(struct milter_msg *m, const char *addr);

/* 0, or -1 when the header cannot be held (reported; tempfail). */
int	 milter_msg_header(struct milter_msg *m, const struct daemon_env *env,
	    const char *name, const char *value);
/*
 * 1 when the message is a campaign and its body is wanted; 0 when it is
 * not (accept it untouched); 2 when it is a copy of segmilter's own (a
 * valid marker: its body is not wanted, but the marker is stripped at
 * the end of the message); -1 when it cannot be spooled (tempfail).
 */
int	 milter_msg_eoh(struct milter_msg *m, const struct daemon_env *env);
int	 milter_msg_body(struct milter_msg *m, const unsigned char *p,
	    size_t len);

enum milter_verdict milter_msg_eom(struct milter_msg *m,
	    const struct daemon_env *env, struct store *st, int64_t now,
	    const struct milter_ops *ops);

/*
 * segctl preview: the message in FD (an .eml file, LF or CRLF, called
 * PATH) judged as if sent to RCPTS (NRCPTS 0: every customer in the
 * store), with the same policy and renderer, nothing recorded.  Prints
 * to OUT, per variant, how many recipients get it with its rendered
 * Subject and text parts, then the suppressions by reason.  0; 1 when
 * the message would be tempfailed (the reason printed, and every
 * template error as PATH:LINE: what, each once); -1 with ERR.
 */
int	 milter_preview(const struct daemon_env *env, struct store *st,
	    const char *path, int fd, const char *const *rcpts,
	    size_t nrcpts, int64_t now, FILE *out, char *err, size_t errlen);
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
int	 milter_preview_rows(const struct daemon_env *env, struct store *st,
	    const char *path, int fd, const char *const *rcpts,
	    size_t nrcpts, int64_t now, milter_preview_fn fn, void *arg,
	    FILE *out, char *err, size_t errlen);

/* TCP_NODELAY on every listening TCP socket; returns how many. */
int	 milter_nodelay_listeners(void);

#endif
