/*
 * sms.c - an SMS recipient as policy sees them: where they live (for
 * their quiet hours) and the facts policy_sms_decide() reads, for the
 * milter when it queues a job and the outbox when it sends one.
 */
#include <string.h>

#include "daemon.h"
#include "policy.h"
#include "store_lookup.h"
#include "tz.h"

int
daemon_sms_place(struct tzdb *db, const struct conf_sms *s,
    const char *time_zone, const char *country, const char *region,
    struct policy_place *p, const struct tz **one)
{
	return daemon_place(db, time_zone, country,
	    conf_sms_window(s, country, region), p, one);
}

int
daemon_place(struct tzdb *db, const char *time_zone, const char *country,
    struct conf_window w, struct policy_place *p, const struct tz **one)
{
	char err[256];
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	p->window = w;
	if (db == NULL)
		return -1;
	if (time_zone[0] != '\0' &&
	    (*one = tzdb_zone(db, time_zone, err, sizeof(err))) != NULL) {
		p->zones = one;
		p->nzones = 1;
		return 0;
	}
	if (country[0] != '\0' && tzdb_country(db, country, &p->zones, &n,
	    err, sizeof(err)) == 0 && n > 0) {
		p->nzones = n;
		return 0;
	}
	return -1;
}

void
daemon_sms_facts(const struct store_sms_facts *f,
    struct policy_sms_facts *pf)
{
	memset(pf, 0, sizeof(*pf));
	pf->has_consent = f->has_consent;
	pf->consent_granted = f->consent_granted;
	pf->consent_at = f->consent_at;
	pf->has_evidence = f->has_evidence;
	pf->phone = f->phone;
	pf->phone_status = f->phone_status;
	pf->phone_status_at = f->phone_status_at;
	pf->sent_day = f->sent_day;
	pf->sent_month = f->sent_month;
	pf->campaign_job = f->campaign_job;
}
