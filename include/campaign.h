/*
 * campaign - the campaign files: one libconfig file per campaign in the
 * campaigns directory (milter.campaigns), named *.conf.
 *
 *   id = "spring-sale";                  what X-Campaign-ID carries
 *   audience = {
 *     include = [ "vip", "repeat" ];     empty or absent: everyone
 *     exclude = [ "b2b" ];
 *   };
 *   variants = {                         first match wins, in file order
 *     vip = { offer = "25% off"; code = "VIP25"; };
 *     lapsed = { offer = "We miss you: 15% off"; };
 *     swiss_de = { match = "language_de & currency_chf";
 *                  offer = "15% Rabatt"; };
 *     default = { offer = "10% off"; };  required
 *   };
 *
 * A variant goes to whoever meets its match expression (expr.h), or
 * without one to whoever has the segment it is named after.
 *
 * A variant's send_after ("2026-12-01T09:00:00Z") holds its copies in
 * the outbox until then (VIP early access before the public launch); a
 * fact of the recipient's and an offset ("cart_at + 24h",
 * "first_order_at + 14d", "last_order_at + 7d") holds each recipient's
 * until theirs: the steps of a sequence timed from events, a campaign
 * each.  A recipient without the fact is outside the audience.  A held
 * copy is one recipient's, checked again when it is due: sent only if
 * no unsubscribe, complaint, bounce or withdrawn consent came meanwhile,
 * and no goal of the campaign's was met:
 *
 *   stop_if = [ "ordered" ];    an order since the fact (since the
 *                               decision, for a fixed time)
 *
 * A goal met before the copy is decided suppresses it then (goal_met).
 *
 * A variant's send_local ("10:00", or a window "09:00-11:00") holds each
 * recipient's copy, once send_after has passed, until that local time
 * where they live: their time zone, else their country's when it has
 * one; else it is kept in UTC.
 * Every other setting of a variant is a placeholder value.
 *
 * An optional sms block sends a text as well, to recipients the email
 * goes to who are in one of its segments (see policy.h for the rest):
 *
 *   sms = {
 *     segments = [ "cart_abandoner", "vip & !b2b" ];   as audience
 *     text = "{{first_name|default:\"Hi\"}}, {{offer}}: {{code}}."
 *            " Reply STOP to opt out";
 *     send_after = "2026-12-01T09:00:00Z";   optional
 *   };
 *
 * The text is a template like the message's, rendered as plain text
 * with the recipient's variant.  channel = "sms_if_no_email" texts, as
 * well, those of the segments the email is not sent to for want of
 * email consent alone (the default variant's text): a cart abandoner
 * who agreed to texts but never to email.  channel = "sms" texts the
 * same people and sends the segments' recipients no email at all
 * (by_sms): the channel chosen per segment.  Every SMS rule still
 * holds; with sms.driver off a campaign of channel "sms" is refused.
 *
 * class = "triggered" names a class of segmilter.conf's classes group:
 * its frequency cap and fatigue instead of the policy group's (a cart
 * reminder is not capped away by the week's newsletters); without one
 * a campaign is promotional.
 *
 * Optional arms measure what the tailoring is worth (policy.h): of the
 * recipients the campaign would deliver to, a random share gets the
 * variants (tailored), a share the default variant (broad), and a share
 * nothing (none: held out), in percent summing to 100, to two decimals.
 * The draw is keyed by the experiment (default: the campaign's id), so
 * campaigns that name one experiment split their customers alike:
 *
 *   arms = { tailored = 80; broad = 10; none = 10;
 *            experiment = "q1-tailoring"; };
 *
 * Audience and variant names are segment names: a lifecycle segment
 * (b2b, vip, lapsed, repeat, first_time, subscriber), cart_abandoner, a
 * category of interest (coffee), or a locale (country_de, language_fr,
 * currency_eur).  Each element of include and exclude is an expression
 * over them (expr.h): include = [ "lapsed & coffee & !b2b" ] takes
 * whoever meets it, and a list is met by meeting any of its elements.  A variant's values fill the template's placeholders; a
 * name a variant lacks comes from the default variant.
 *
 * Loading reads every file and reports every problem as FILE:LINE: what,
 * like segmilter.conf; a set with any problem is refused whole, so a
 * reload with a broken file keeps the campaigns that were running.
 * Ownership: campaign_set_load() returns a set the caller frees with
 * campaign_set_free(); everything found through it lives as long.
 */
#ifndef SEGM_CAMPAIGN_H
#define SEGM_CAMPAIGN_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define CAMPAIGN_ID_MAX		128

struct expr;

struct campaign_value {
	char	*name;
	char	*value;
};

struct campaign_variant {
	char			 name[CONF_NAME_MAX];
	struct expr		*match;		/* who gets it: its match
						   setting, else its name;
						   NULL for the default */
	struct campaign_value	*values;
	size_t			 nvalues;
	struct conf_due		 send_after;	/* conf.h; fixed 0: now */
	int			 has_local;	/* send_local set: ... */
	struct conf_window	 local;		/* ... the recipient's local
						   time it waits for */
};

/* Whom a campaign's SMS goes to, of its segments. */
enum campaign_channel {
	CHANNEL_WITH_EMAIL,	/* "email_and_sms": those the email goes to */
	CHANNEL_IF_NO_EMAIL,	/* "sms_if_no_email": and those it does not
				   for want of email consent alone */
	CHANNEL_SMS_ONLY	/* "sms": the segments' recipients get the
				   SMS instead of the email, as
				   sms_if_no_email chooses them */
};

struct campaign_sms {
	struct expr		**segments;	/* whom of the email's, as
						   audience's; NULL: no SMS */
	size_t			 nsegments;
	char			*text;
	int64_t			 send_after;	/* 0: now */
	enum campaign_channel	 channel;
};

/* Shares in hundredths of a percent: 10000 is everyone. */
#define CAMPAIGN_ARMS_WHOLE	10000
struct campaign_arms {
	int			 set;		/* 0: no arms, all tailored */
	int			 tailored, broad, none;
	char			 experiment[CAMPAIGN_ID_MAX];
};

/* A segment or facet name a campaign file uses, and where, for the
 * check against what segments are called (campaign_set_check). */
struct campaign_name {
	const char		*name;		/* the campaign's own copy */
	unsigned		 line;
	const char		*where;		/* "audience.include", ... */
};

struct campaign {
	char			 id[CAMPAIGN_ID_MAX];
	char			*file;
	char			 class_name[CONF_NAME_MAX]; /* "": promotional */
	unsigned		 class_line;
	struct expr		**include;	/* expr.h */
	size_t			 ninclude;
	struct expr		**exclude;
	size_t			 nexclude;
	struct campaign_variant	*variants;	/* without the default */
	size_t			 nvariants;
	const struct expr	**variant_match; /* for policy_campaign */
	struct campaign_variant	 dflt;
	struct campaign_sms	 sms;
	struct campaign_arms	 arms;
	unsigned		 goals;		/* stop_if: CONF_GOAL_* */
	struct campaign_name	*names;
	size_t			 nnames;
};

struct campaign_set {
	struct campaign	*v;
	size_t		 n;
};

/*
 * Every DIR/ *.conf, checked against the configuration CF (NULL: not):
 * arms need outbox.key_file; a segment or facet name that is none but a
 * slip away from one ("vpi", "contry_de", a configured category
 * misspelt) is an error that names it, while any other name may be a
 * category the shop's data brings, and stands.  0, or -1 with every
 * problem of every file in ERR, one per line, as FILE:LINE: problem.
 */
int	 campaign_set_load(const char *dir, const struct conf *cf,
	    struct campaign_set **out, char *err, size_t errlen);
void	 campaign_set_free(struct campaign_set *set);

/* The campaign with ID, or NULL. */
const struct campaign *campaign_find(const struct campaign_set *set,
	    const char *id);

/* The variant's NAME (VARIANT -1: the default's), else the default's. */
const char *campaign_value(const struct campaign *c, int variant,
	    const char *name);
/* The value NAME of the variant called VARIANT, else the default's
 * (a variant gone from the file too); NULL when neither has it. */
const char *campaign_variant_value(const struct campaign *c,
	    const char *variant, const char *name);
/* "vip", or "default" for -1. */
const char *campaign_variant_name(const struct campaign *c, int variant);
/* The index of C's variant called NAME; -1 (the default) when none is. */
int	 campaign_variant_find(const struct campaign *c, const char *name);
/* The thresholds of C's class in CF (conf_class_policy), the policy
 * group's when CF no longer has the class. */
const struct conf_policy *campaign_policy(const struct campaign *c,
	    const struct conf *cf);
/* The variant's send_after (-1: the default's); fixed at 0: none. */
const struct conf_due *campaign_due(const struct campaign *c, int variant);
/* The variant's send_local window (-1: the default's); NULL: none. */
const struct conf_window *campaign_local(const struct campaign *c,
	    int variant);

#endif
