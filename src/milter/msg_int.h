/*
 * msg_int.h - what src/milter/msg.c shares with preview.c, which runs
 * the same decisions and rendering without an MTA.  Not for other modules.
 */
#ifndef SEGM_MSG_INT_H
#define SEGM_MSG_INT_H

#include "audit.h"
#include "buf.h"
#include "marker.h"
#include "milter.h"
#include "render.h"
#include "policy.h"
#include "segment.h"
#include "spool.h"
#include "store_lookup.h"
#include "template.h"

/* A recipient in one of the campaign's SMS segments. */
struct msg_sms {
	struct store_sms_facts	 f;
	struct policy_sms_decision d;
	char			*text;		/* rendered; NULL: none */
	struct render_sms_size	 size;
	int64_t			 due;		/* after quiet hours */
	int64_t			 job;		/* outbox id once queued */
};

/*
 * What the store knows of a recipient, looked up at the end of the
 * message: 6.5 KB, so kept apart from the recipient list that grows
 * with each RCPT (msg_decide).
 */
struct milter_facts {
	struct store_recipient	 r;
	struct segment_flags	 flags;
};

struct milter_rcpt {
	char			*addr;		/* as the MTA gave it */
	int			 part;		/* its msg_part, -1: none */
	char			 email[320];	/* normalised, "" if bad */
	struct store_recipient	*r;		/* in milter_msg.facts; */
	struct segment_flags	*flags;		/* NULL before msg_decide */
	struct policy_decision	 d;
	struct msg_sms		*sms;		/* NULL: no SMS for them */
	int			 withheld;	/* rendered without their own
						   values (split.c) */
};

struct milter_msg {
	char			 qid[64];
	char			*sender;
	struct milter_rcpt	*rcpts;
	size_t			 nrcpts, cap;
	struct milter_facts	*facts;		/* one per recipient */
	size_t			 facts_cap;

	struct buf		 headers;	/* "Name: value" CRLF, in order */
	int			 campaign_headers; /* occurrences */
	int			 dkim_headers;	/* DKIM-Signature fields */
	char			 campaign[CAMPAIGN_ID_MAX];
	int			 bad_campaign;	/* unusable header value */
	char			 message_id[STORE_NAME_MAX];
	int			 header_error;
	struct spool		*spool;
	int			 spool_error;
	char			 marker[MARKER_MAX];	/* "": none */
	struct marker		 mk;		/* its fields, if well formed */
	struct marker_body	*marker_body;	/* then the body's digest */
	int			 own_copy;	/* a marker that verified */
	/* a passed copy's audit head, logged once libmilter has answered
	 * (milter_msg_reset): nothing between the note and the answer */
	char			 copy_anchor[AUDIT_ANCHOR_MAX];
	int64_t			 sms_seen;	/* the newest job at the
						   lookups (SMS caps) */
};

/* The values and sections one rendering sees. */
struct milter_group {
	const struct campaign	*c;
	int			 variant;
	const char		**flags;	/* common to every recipient */
	size_t			 nflags;
	const struct milter_rcpt *single;	/* the only recipient */
	int			 withheld;	/* single's own values left
						   out: they cannot render */
};

#define MSG_ALL_KEPT	(-2)	/* msg_group: every kept recipient */
#define MSG_HEAD_MAX	(4 * 1024 * 1024)	/* a copy's header block */

/*
 * The kept recipients in parts: one rendering each.  Without splitting
 * there is one part, rewritten in place.  With it, a part per variant
 * (and language or currency, per configuration; per recipient when the
 * message uses their own name); the largest part that may go now stays
 * in the original message, every other becomes a copy in the outbox.
 */
struct msg_part {
	struct milter_group	 g;
	size_t			 n;		/* recipients */
	char			 language[8];
	char			 currency[4];
	int64_t			 send_after;	/* 0: now */
	struct spool		*body;		/* NULL: the body untouched, or
						   a copy's (in plan.bodies) */
	struct render_result	 res;
	struct buf		 copy;		/* a copy's header block */
	size_t			 body_at;	/* a copy's body, in */
	size_t			 body_len;	/* plan.bodies */
	char			 nonce[MARKER_NONCE_MAX]; /* its marker's */
	size_t			 marker_at;	/* the marker's value in copy */
	size_t			 marker_len;
	int64_t			 marker_made;
	char			 rcpts_digest[MARKER_DIGEST_MAX]; /* bound to */
	char			 body_digest[MARKER_DIGEST_MAX];
	int64_t			 job;		/* outbox id; 0: in place */
};

struct msg_plan {
	struct msg_part		*parts;
	size_t			 nparts;
	int			 inplace;	/* a part index, or -1 */
	int			 split;		/* copies are made */
	int			 mixed;		/* one part, several variants */
	int			 personal;	/* a part per recipient */
	struct render_msg	*rm;		/* NULL: malformed, untouched */
	struct spool		*bodies;	/* the copies' rendered bodies,
						   one after another */
};

/*
 * Parts the kept recipients of M, renders each part and builds every
 * copy (unless COPIES is 0: segctl preview), all before the store is
 * locked; -1 with ERR on a template error.  A copy is its header block
 * in memory and its body in the plan's bodies, a spool (on disk past
 * spool_memory_kb) that msg_record reads into the store copy by copy:
 * a big message split ten ways is never held ten times.  A recipient
 * whose own values break their part's rendering is judged alone
 * (render_alone in split.c): rendered without them, or suppressed as
 * bad_record.  Malformed MIME is not an error: the plan then has one
 * part and no rendering.
 */
int	 msg_plan_build(struct milter_msg *m, const struct daemon_env *env,
	    const struct campaign *c, int64_t now, int copies,
	    struct msg_plan *p, char *err, size_t errlen);
void	 msg_plan_free(struct msg_plan *p);
/*
 * The header block of part P's copy (number INDEX), into P->copy: the
 * original headers without the control header, the Subject and MIME
 * headers rendered, a fresh copy marker bound to the part's recipients
 * and to its rendered body (P->body_digest, taken as it was rendered:
 * P->body_len bytes at P->body_at in the plan's bodies, which follow
 * the block).  0, or -1 with ERR.
 */
int	 msg_copy_build(struct milter_msg *m, const struct daemon_env *env,
	    struct msg_part *p, int index, int64_t now, char *err,
	    size_t errlen);
/*
 * The RCPTS field of a copy marker (marker.h) for the delivered
 * recipients of part PART, or for every recipient (MSG_ALL_RCPTS: a
 * message with a marker, as the re-injection port sees it), into RCPTS
 * (MARKER_DIGEST_MAX).
 */
#define MSG_ALL_RCPTS	(-3)
void	 msg_rcpts_digest(const struct milter_msg *m, int part, char *rcpts);
/*
 * P's marker bound again to the recipients part INDEX has now, in place
 * (same length), if the ledger took one out since msg_copy_build: the
 * envelope that carries the copy must be the one its marker names.  0,
 * or -1 when no marker can be made.
 */
int	 msg_copy_rebind(const struct milter_msg *m,
	    const struct daemon_env *env, struct msg_part *p, int index);
/*
 * The List-Unsubscribe value for part P's only recipient, into OUT; 0,
 * or -1 when unsubscribe links are off or the part has several people.
 */
int	 msg_unsub_header(const struct milter_msg *m,
	    const struct daemon_env *env, const struct msg_part *p,
	    int64_t now, char *out, size_t outlen);
/*
 * The return path for part P's only recipient, <bounces+TOKEN@DOMAIN>
 * (bounce.h), into OUT; 0, or -1 when milter.bounce_domain is unset or
 * the part has several people: one envelope has one sender.
 */
int	 msg_return_path(const struct milter_msg *m,
	    const struct daemon_env *env, const struct msg_part *p,
	    char *out, size_t outlen);
/* The recipients of part P, one bare address per line, into OUT. */
void	 msg_part_recipients(const struct milter_msg *m, int p,
	    struct buf *out);

/*
 * Appends "NAME: VALUE" CRLF to OUT; VALUE may be folded with bare LF
 * (as libmilter and the renderer fold), which becomes CRLF.  0, or -1
 * when OUT is full.
 */
int	 msg_put_header(struct buf *out, const char *name, const char *value);

/* The group of the kept recipients whose part is P. */
void	 msg_part_group(struct milter_msg *m, const struct campaign *c,
	    int p, struct milter_group *g);

/* Step 1 (decide.c): looks every recipient up and decides.  0, or -1
 * (logged) on a store error. */
int	 msg_decide(struct milter_msg *m, const struct daemon_env *env,
	    const struct campaign *c, struct store *st, int64_t now);
/*
 * Step 3 (record.c), in one transaction: the ledger rows (which may turn
 * a delivery into a duplicate), then the copies, then the audit rows
 * that name them, then the SMS jobs and their audit rows; the audit head
 * logged once committed.  0, or -1 (logged, rolled back).
 */
int	 msg_record(struct milter_msg *m, const struct daemon_env *env,
	    const struct campaign *c, struct store *st, struct msg_plan *p,
	    int64_t now);
/* When the first of the jobs the message queued is due; INT64_MAX: none. */
int64_t	 msg_earliest_job(const struct milter_msg *m,
	    const struct msg_plan *p, int64_t now);
/* A copy of ours passed: the note and an audit row per recipient, in one
 * transaction; the head into m->copy_anchor.  0, or -1. */
int	 msg_note_copy(struct milter_msg *m, const struct daemon_env *env,
	    struct store *st, int64_t now);
/*
 * Step 4 (apply.c): the requests to the MTA for plan P's part in place,
 * after the commit.  0, or -1 when the MTA refused one (logged where
 * the reason is ours to say).
 */
int	 msg_apply(struct milter_msg *m, const struct daemon_env *env,
	    const struct msg_plan *p, int64_t now, const struct milter_ops *ops);
/* The SMTP reply RCODE XCODE TEXT (TEXT made safe for it). */
void	 msg_reply(const struct milter_ops *ops, const char *rcode,
	    const char *xcode, const char *text);
/* The store failed: tempfail, or accept untouched per on_store_error. */
enum milter_verdict msg_store_failed(struct milter_msg *m,
	    const struct daemon_env *env, const struct milter_ops *ops);
/* A line per suppressed recipient; then the summary, per variant, of
 * KEPT delivered, with the copies held past NOW. */
void	 msg_log_decisions(struct milter_msg *m, const struct campaign *c);
void	 msg_log_summary(struct milter_msg *m, const struct campaign *c,
	    const struct msg_plan *p, size_t kept, int64_t now);
/*
 * The kept recipients of variant ONLY (MSG_ALL_KEPT: all of them): their
 * variant when they share one, else the default (*MIXED set); the
 * sections every one of them answers to.  Caller frees g->flags.
 * Returns how many recipients the group holds.
 */
size_t	 msg_group(struct milter_msg *m, const struct campaign *c, int only,
	    struct milter_group *g, int *mixed);
/* Template variables over G. */
void	 msg_vars(struct milter_group *g, const struct daemon_env *env,
	    struct template_vars *vars);

/*
 * SMS (sms.c), in three steps around the email's: the facts, read in
 * msg_decide's snapshot for recipients the email goes to who are in an
 * SMS segment; the decision and text, outside the store lock; the jobs
 * and audit rows, in msg_record's transaction after the ledger (a
 * recipient the ledger turns into a duplicate gets no SMS either).
 */
int	 msg_sms_lookup(struct milter_msg *m, const struct daemon_env *env,
	    const struct campaign *c, struct store *st, int64_t now);
void	 msg_sms_decide(struct milter_msg *m, const struct daemon_env *env,
	    const struct campaign *c, int64_t now);
/* 0, or -1 on a store error. */
int	 msg_sms_record(struct milter_msg *m, const struct daemon_env *env,
	    const struct campaign *c, struct store *st,
	    struct audit_chain *ch, int64_t now);
void	 msg_sms_free(struct milter_rcpt *r);
/* 1 when R is in one of the segments C's SMS is for. */
int	 msg_sms_segment(const struct milter_rcpt *r, const struct campaign *c);

#endif
