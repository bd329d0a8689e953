/*
 * outbox_int.h - what the files of src/outbox/ share; not for other
 * modules.
 */
#ifndef SEGM_OUTBOX_INT_H
#define SEGM_OUTBOX_INT_H

#include <stdint.h>

#include "gateway.h"
#include "store_outbox.h"

struct gw_sms;
struct daemon_env;
struct store;
struct store_job;

/* What becomes of a claimed job, for outbox_record(). */
struct outbox_outcome {
	enum store_job_state state;
	int64_t		 next_at;	/* a retry's due time */
	const char	*why;		/* NULL: no error */
	const char	*detail;	/* the audit rows' reason when WHY is
					   NULL: what the gateway said when it
					   took an SMS (its id) */
	const char	*decision;	/* an audit row per recipient, or NULL */
	const char	*ref;		/* the gateway's message id, or NULL */
	int		 mark;		/* enum store_phone_status for the
					   number, or -1 */
	const char	*mark_detail;	/* the evidence for the mark */
	const char	*withdrawn;	/* the ledger's decision for a copy
					   that will never go, or NULL ... */
	const char	*withdrawn_to;	/* ... and its recipient */
};

/*
 * What attempt result R, with WHY, means for J at NOW: sent; failed for
 * good; expired past its kind's max_age_hours (an SMS counted from when
 * it was first due, a copy from when it was queued); else due again
 * after a backoff.  The audit decisions are copy_* or sms_* by J's kind
 * (a sent copy has none); a sent SMS's row has WHY as its detail, the
 * gateway's reply with its message id, while the job keeps no error.
 */
void	 outbox_outcome_of(const struct daemon_env *env,
	    const struct store_job *j, enum gw_result r, const char *why,
	    int64_t now, struct outbox_outcome *o);
/*
 * Records O for J in one transaction under the store lock: the job's
 * state, the gateway's id, the number's mark, the audit rows.  0, or -1
 * (logged, rolled back: the job is left to its lease).
 */
int	 outbox_record(struct store *st, const struct daemon_env *env,
	    const struct store_job *j, const struct outbox_outcome *o,
	    int64_t now);

/*
 * One claimed SMS job J at NOW: held until quiet hours end, or sent
 * through GW, and the outcome recorded (sent with the gateway's id;
 * failed or expired, audited; deferred with backoff).
 */
void	 outbox_sms_attempt(struct store *st, const struct daemon_env *env,
	    struct gw_sms *gw, const struct store_job *j, int64_t now);

#endif
