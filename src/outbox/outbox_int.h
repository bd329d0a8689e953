/*
 * outbox_int.h - what the files of src/outbox/ share; not for other
 * modules.
 */
#ifndef SEGM_OUTBOX_INT_H
#define SEGM_OUTBOX_INT_H

#include <stdint.h>

struct gw_sms;
struct milter_env;
struct store;
struct store_job;

/*
 * One claimed SMS job J at NOW: held until quiet hours end, or sent
 * through GW, and the outcome recorded (sent with the gateway's id;
 * failed or expired, audited; deferred with backoff).
 */
void	 outbox_sms_attempt(struct store *st, const struct milter_env *env,
	    struct gw_sms *gw, const struct store_job *j, int64_t now);

#endif
