/*
 * policy - who gets a campaign, who does not and why, and in which
 * variant.  Pure: the milter (and segctl preview) gather the facts from
 * the store, policy decides, and nothing here does I/O, so every branch
 * is reached by unit tests.
 *
 * Only campaign mail reaches policy: a message without the campaign header
 * (transactional mail) is never looked at.  The order of the checks is
 * the order of the reasons below, and the first that applies is the one
 * recorded, so an unknown address is "unknown", never also "no consent".
 * Nobody is delivered one campaign twice, whatever the MTA retries.
 * Consent is never guessed: no record, a revoked one, or a grant older
 * than a later unsubscribe all suppress, and so do bounces since the
 * grant: bounce_limit hard ones, or soft_bounce_limit soft ones within
 * soft_bounce_days.  A complaint (an ARF feedback report) counts as an
 * unsubscribe, recorded as "unsubscribed" with the detail saying so: for
 * the mailbox providers it is one (Gmail and Yahoo ask that both stop
 * mail), a later grant of consent lifts it the same way, and the
 * report's columns stay what operators' scripts read.
 *
 * Fatigue has two parts.  Someone who has been delivered many campaigns
 * since they last opened, clicked or ordered is fatigued, and is then
 * sent at a reduced cadence (one campaign every N days) rather than
 * dropped for good.  Anyone who was delivered the cap within the
 * frequency window (default one per 16 hours) waits.  Someone who asked
 * for fewer emails (their own minimum gap between campaigns) waits until
 * that gap has passed, whatever the rest allows; all three are recorded
 * as "fatigued", the detail saying which.
 *
 * Arms (campaign.h) come last, among the recipients every rule above
 * lets through, so that each arm is a fair sample of them: a draw keyed
 * by the secret key, the experiment and the customer puts each in the
 * tailored arm (their variant), the broad arm (the default variant) or
 * holds them out ("held_out").  A global control group
 * (policy.global_holdout_percent) is held out of every campaign by a
 * draw of its own, the same for every campaign.  A draw is a keyed HMAC:
 * the same customer always lands in the same arm of an experiment, on
 * every relay and retry, nobody without the key can predict or steer
 * it, and draws of different experiments are independent.
 */
#ifndef SEGM_POLICY_H
#define SEGM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct digest_hmac;
struct expr;

enum policy_reason {
	POLICY_DELIVER,
	POLICY_UNKNOWN,		/* no customer with this address */
	POLICY_DUPLICATE,	/* already delivered this campaign */
	POLICY_UNSUBSCRIBED,	/* unsubscribed or complained, not
				   consented since */
	POLICY_NO_CONSENT,	/* no email consent, or it was revoked */
	POLICY_BOUNCED,		/* bounced after consenting: hard, or
				   soft too often */
	POLICY_AUDIENCE,	/* outside the campaign's audience */
	POLICY_FATIGUED,	/* fatigue or the frequency cap */
	POLICY_HELD_OUT,	/* the campaign's arm none, or the global
				   control group */
	POLICY_BAD_RECORD,	/* their own values cannot be rendered,
				   even left out (the milter's finding) */
	POLICY_GOAL_MET,	/* the campaign's goal met before its copy
				   went (stop_if, policy_due) */
	POLICY_BY_SMS,		/* the campaign texts their segment instead
				   (channel "sms", the milter's choice) */
	POLICY_CANNOT_HOLD,	/* due later, but the message cannot be
				   split to hold their copy (the milter's
				   finding): nothing rather than early */
	POLICY_NREASONS
};

/* What the store knows about one recipient; all times epoch seconds. */
struct policy_facts {
	int		 found;
	int64_t		 customer_id;		/* what arms are drawn for */
	int		 email_consent;		/* latest statement: granted */
	int64_t		 consent_at;		/* ... made at */
	int64_t		 unsubscribed_at;	/* latest, 0: never */
	int64_t		 bounces;		/* since consent_at */
	int64_t		 complained_at;		/* latest complaint, 0: never */
	const int64_t	*soft_bounce_at;	/* the latest soft bounces
						   since consent_at */
	size_t		 nsoft_bounces;
	int64_t		 unanswered;		/* deliveries since last
						   open, click or order */
	int64_t		 last_delivery_at;	/* 0: never */
	int64_t		 min_gap_days;		/* their own cadence, 0:
						   none ("fewer emails") */
	int64_t		 deliveries_in_window;	/* within cap_window_hours */
	int64_t		 campaign_delivered_at;	/* this campaign, 0: not yet */
	int64_t		 campaign_closed_at;	/* ... closed by retention, 0:
						   not */
	/* the customer's segment, facets and interests, by name */
	const char	*const *flags;
	size_t		 nflags;
	/* what sequences count from (policy_due); 0: none */
	int64_t		 cart_at;
	int64_t		 first_order_at;
	int64_t		 last_order_at;		/* any order, as it came */
};

/* A campaign's audience and variants, as policy needs them. */
struct policy_campaign {
	const char	*class_name;		/* NULL, "": promotional */
	const struct expr *const *include;	/* empty: everyone */
	size_t		 ninclude;
	const struct expr *const *exclude;
	size_t		 nexclude;
	const struct expr *const *variants;	/* who gets each, in order */
	size_t		 nvariants;
	/* arms, in hundredths of a percent (campaign.h); all 0: none */
	const char	*experiment;
	int		 tailored, broad, none;
	/* what draws are made with (policy_arm_key); NULL: no arms, no
	 * global group */
	const struct digest_hmac *draws;
};

/* The arm a delivered or held-out recipient fell in. */
enum policy_arm {
	ARM_UNSET,		/* no arms, no global group: as tailored */
	ARM_TAILORED,
	ARM_BROAD,		/* the default variant */
	ARM_NONE,		/* held out of this campaign */
	ARM_GLOBAL,		/* held out of every campaign */
	ARM_COUNT
};

struct policy_decision {
	enum policy_reason reason;
	int		 variant;	/* index, or -1: the default variant */
	enum policy_arm	 arm;
	char		 detail[160];	/* the figures, for the audit log */
	int64_t		 due_at;	/* the copy held until, 0: now
					   (policy_due) */
};

/*
 * The key draws are made with, derived from KEY (outbox.key_file) for
 * the purpose; NULL for an empty key.  digest_hmac_free() it.
 */
struct digest_hmac *policy_arm_key(const unsigned char *key, size_t keylen);
/*
 * The draw for CUSTOMER_ID in EXPERIMENT (NULL: the global control
 * group) with DRAWS: a number in [0, 1), uniform, the first 53 bits of
 * an HMAC-SHA256.
 */
double	 policy_arm_draw(const struct digest_hmac *draws,
	    const char *experiment, int64_t customer_id);
/* "tailored", "broad", "none", "global"; "" for ARM_UNSET. */
const char *policy_arm_name(enum policy_arm a);
/* The arm NAME names; ARM_UNSET for NULL or no arm's name. */
enum policy_arm policy_arm_parse(const char *name);

/* R: the thresholds of segmilter.conf's policy group. */
void	 policy_decide(const struct conf_policy *r,
	    const struct policy_campaign *c, const struct policy_facts *f,
	    int64_t now, struct policy_decision *d);

/*
 * When a delivery D of a variant whose send_after is DUE (campaign.h) is
 * due for the recipient F, into D->due_at (0: now): a fixed time,
 * or F's fact plus the offset.  Without the fact the recipient is
 * outside the audience; with GOALS (CONF_GOAL_*) met since the fact, the
 * goal is met already.  Nothing for a D that is not a delivery.
 */
void	 policy_due(const struct conf_due *due, unsigned goals,
	    const struct policy_facts *f, struct policy_decision *d);
/*
 * Whether the frequency cap or fatigue of R (the thresholds of the class
 * CLASS_NAME, NULL: the policy group's) refuse F at NOW: 1 with D's
 * reason POLICY_FATIGUED and the figures, else 0.  What
 * policy_decide() asks; and again for a delivery decided on an earlier
 * read, with the counts read under the store's write lock (another
 * relay, or another message, may have delivered meanwhile).  At 0, D's
 * detail may note a reduced cadence.
 */
int	 policy_fatigued(const struct conf_policy *r, const char *class_name,
	    const struct policy_facts *f, int64_t now,
	    struct policy_decision *d);
/*
 * Whether a copy decided at DECIDED_AT, held until now (policy_due), may
 * still go to the recipient F at NOW: what every delivery needs (a known
 * customer, consent, no unsubscribe, complaint or bounce since) and no
 * goal met since its fact (for a fixed time, or the fact gone, since
 * the decision), nor the fact gone.  D's
 * reason is POLICY_DELIVER, or why not.  Caps and fatigue are not asked
 * again: they counted the copy when it was decided.
 */
void	 policy_recheck(const struct conf_policy *r, const struct conf_due *due,
	    unsigned goals, const struct policy_facts *f, int64_t decided_at,
	    int64_t now, struct policy_decision *d);

/*
 * 1 when an unsubscribe at UNSUBSCRIBED_AT (0: never) stands against the
 * latest consent statement made at CONSENT_AT: the rule policy_decide
 * applies, shared with whoever records unsubscribes (unsub_apply).
 */
int	 policy_unsubscribed(int64_t unsubscribed_at, int64_t consent_at);

/* 1 if the facts carry the flag NAME. */
int	 policy_has_flag(const struct policy_facts *f, const char *name);

const char *policy_reason_name(enum policy_reason r);

/*
 * SMS: for a recipient the email policy delivers to, in one of the
 * campaign's SMS segments.  Email consent never stands in for SMS
 * consent.  The checks run in the order of the reasons below, and every
 * refusal is audited with the first that applies.
 */
enum policy_sms_reason {
	POLICY_SMS_QUEUE,	/* eligible: an SMS job is queued */
	POLICY_SMS_OPTED_OUT,	/* STOP, or the gateway said so, since the
				   last grant */
	POLICY_SMS_NO_CONSENT,	/* no SMS consent, or it was revoked */
	POLICY_SMS_NO_EVIDENCE,	/* a grant with nothing to show for it */
	POLICY_SMS_BAD_NUMBER,	/* none, not E.164, or found invalid */
	POLICY_SMS_DUPLICATE,	/* this campaign has an SMS for them */
	POLICY_SMS_CAPPED,	/* cap_day or cap_month reached */
	POLICY_SMS_TOO_LONG,	/* their text is over max_parts */
	POLICY_SMS_NO_TEXT,	/* their text cannot be rendered */
	POLICY_SMS_NO_PLACE,	/* no time zone or country: their local
				   time, hence quiet hours, unknown */
	POLICY_SMS_NREASONS
};

struct policy_sms_facts {
	int		 has_consent;
	int		 consent_granted;
	int64_t		 consent_at;
	int		 has_evidence;
	const char	*phone;			/* "" none */
	const char	*phone_status;		/* opted_out, invalid, "" */
	int64_t		 phone_status_at;
	int64_t		 sent_day;		/* SMS within 24 h */
	int64_t		 sent_month;		/* ... 30 days */
	int64_t		 campaign_job;		/* this campaign's, 0 none */
	size_t		 parts;			/* of their rendered text,
						   0: it failed to render */
	int		 has_place;		/* zones are known */
};

struct policy_sms_decision {
	enum policy_sms_reason reason;
	char		 detail[160];	/* the figures, for the audit log */
};

void	 policy_sms_decide(const struct conf_sms *s,
	    const struct policy_sms_facts *f, struct policy_sms_decision *d);
const char *policy_sms_reason_name(enum policy_sms_reason r);
/* 1 if PHONE is E.164: '+', then 7 to 15 digits, the first not 0. */
int	 policy_e164_valid(const char *phone);

/*
 * Quiet hours.  A recipient's place is their time zone, or every zone of
 * their country when only that is known (the window must hold in all of
 * them: the narrowest), with the window that applies there.
 */
struct tz;
struct policy_place {
	const struct tz	*const *zones;
	size_t		 nzones;
	struct conf_window window;
};

/*
 * The first instant at or after T inside the window in every zone of P:
 * T itself when it is allowed, else the start of the next allowed
 * minute.  -1 when there is none within 8 days (windows that never
 * overlap across the country's zones).
 */
int64_t	 policy_place_due(const struct policy_place *p, int64_t t);
/* The same in UTC, which needs no tz database: never -1. */
int64_t	 policy_utc_due(const struct conf_window *w, int64_t t);

#endif
