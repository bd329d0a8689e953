/*
 * msg_int.h - what src/milter/msg.c shares with preview.c, which runs
 * the same decisions and rendering without an MTA.  Not for other modules.
 */
#ifndef SEGM_MSG_INT_H
#define SEGM_MSG_INT_H

#include "buf.h"
#include "milter.h"
#include "policy.h"
#include "segment.h"
#include "spool.h"
#include "template.h"

struct milter_rcpt {
	char			*addr;		/* as the MTA gave it */
	char			 email[320];	/* normalised, "" if bad */
	struct store_recipient	 r;
	struct segment_flags	 flags;
	struct policy_decision	 d;
};

struct milter_msg {
	char			 qid[64];
	char			*sender;
	struct milter_rcpt	*rcpts;
	size_t			 nrcpts, cap;

	struct buf		 headers;	/* "Name: value" CRLF, in order */
	int			 campaign_headers; /* occurrences */
	char			 campaign[CAMPAIGN_ID_MAX];
	int			 bad_campaign;	/* unusable header value */
	char			 message_id[STORE_NAME_MAX];
	int			 header_error;
	struct spool		*spool;
	int			 spool_error;
};

/* The values and sections one rendering sees. */
struct milter_group {
	const struct campaign	*c;
	int			 variant;
	const char		**flags;	/* common to every recipient */
	size_t			 nflags;
	const struct milter_rcpt *single;	/* the only recipient */
};

#define MSG_ALL_KEPT	(-2)	/* msg_group: every kept recipient */

/* Looks every recipient up and decides.  0, or -1 (logged) on a store
 * error. */
int	 msg_decide(struct milter_msg *m, const struct milter_env *env,
	    const struct campaign *c, struct store *st, int64_t now);
/*
 * The kept recipients of variant ONLY (MSG_ALL_KEPT: all of them): their
 * variant when they share one, else the default (*MIXED set); the
 * sections every one of them answers to.  Caller frees g->flags.
 * Returns how many recipients the group holds.
 */
size_t	 msg_group(struct milter_msg *m, const struct campaign *c, int only,
	    struct milter_group *g, int *mixed);
/* Template variables over G. */
void	 msg_vars(struct milter_group *g, const struct milter_env *env,
	    struct template_vars *vars);

#endif
