/*
 * recheck.c - a held copy asked again when it comes due (outbox.h,
 * outbox_recheck): an unsubscribe, a complaint, a bounce or consent
 * withdrawn meanwhile, or the campaign's goal met (an order since the
 * cart), and it never goes.  A held copy is one recipient's (split.c),
 * so the answer is the whole job's.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "campaign.h"
#include "daemon.h"
#include "outbox.h"
#include "outbox_int.h"
#include "parse.h"
#include "policy.h"
#include "store_lookup.h"

/* J's one recipient, normalised as the ledger has it; -1: not one. */
static int
job_recipient(const struct store_job *j, char *email, size_t len)
{
	char line[PARSE_EMAIL_MAX + 1];
	const char *rest, *why;
	size_t n;

	n = strcspn(j->recipients, "\n");
	rest = j->recipients + n + (j->recipients[n] == '\n');
	if (n == 0 || n >= sizeof(line) || *rest != '\0')
		return -1;
	memcpy(line, j->recipients, n);
	line[n] = '\0';
	return parse_email(line, email, len, &why);
}

/* J cancelled for D's reason, its delivery to EMAIL withdrawn. */
static void
withdraw(struct store *st, const struct daemon_env *env,
    const struct store_job *j, const char *email,
    const struct policy_decision *d, int64_t now)
{
	struct outbox_outcome o;
	char why[256];

	snprintf(why, sizeof(why), "%s when it came due%s%s",
	    policy_reason_name(d->reason), d->detail[0] != '\0' ? ": " : "",
	    d->detail);
	memset(&o, 0, sizeof(o));
	o.state = JOB_CANCELLED;
	o.next_at = now;
	o.why = why;
	o.mark = -1;
	o.decision = d->reason == POLICY_GOAL_MET ? "copy_goal_met" :
	    "copy_withdrawn";
	o.withdrawn = policy_reason_name(d->reason);
	o.withdrawn_to = email;
	if (outbox_record(st, env, j, &o, now) == 0)
		daemon_log(LOG_INFO, "outbox", "job %lld: campaign=%s,"
		    " variant=%s: not sent: %s", (long long)j->id,
		    j->campaign_id, j->variant, why);
}

int
outbox_recheck(struct store *st, const struct daemon_env *env,
    const struct store_job *j, int64_t now)
{
	static const struct conf_due fixed = { DUE_FIXED, 0 };
	const struct conf_due *due = &fixed;
	const struct conf_policy *pol = &env->conf->policy;
	const struct campaign *c;
	struct policy_decision d;
	struct store_recipient r;
	struct policy_facts f;
	char email[PARSE_EMAIL_MAX + 1];
	unsigned goals = 0;
	int rc;

	if (strcmp(j->kind, "email") != 0 || j->not_before <= j->created_at ||
	    job_recipient(j, email, sizeof(email)) == -1)
		return 0;
	/* a campaign gone from the files keeps the rules every copy keeps */
	if ((c = campaign_find(env->campaigns, j->campaign_id)) != NULL) {
		due = campaign_due(c, campaign_variant_find(c, j->variant));
		goals = c->goals;
		pol = campaign_policy(c, env->conf);
	}
	pthread_mutex_lock(env->store_lock);
	rc = store_recipient_get(st, email, j->campaign_id, now, 0, &r);
	if (rc == -1)
		daemon_log(LOG_ERR, "outbox", "job %lld: store: %s",
		    (long long)j->id, store_error(st));
	pthread_mutex_unlock(env->store_lock);
	if (rc == -1)
		return -1;
	daemon_policy_facts(&f, &r);
	policy_recheck(pol, due, goals, &f, j->created_at, now, &d);
	if (d.reason == POLICY_DELIVER)
		return 0;
	withdraw(st, env, j, email, &d, now);
	return 1;
}
