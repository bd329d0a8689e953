/*
 * sms.c - who gets an SMS, and when quiet hours let it go.
 *
 * Pure: the zones are data loaded by the caller (tz.h), and the
 * arithmetic on them here reads no file and no global time-zone state.
 */
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "tz.h"

#define DAY	86400

static const char *const sms_reason_names[POLICY_SMS_NREASONS] = {
	[POLICY_SMS_QUEUE] = "queued",
	[POLICY_SMS_OPTED_OUT] = "opted_out",
	[POLICY_SMS_NO_CONSENT] = "no_sms_consent",
	[POLICY_SMS_NO_EVIDENCE] = "no_evidence",
	[POLICY_SMS_BAD_NUMBER] = "bad_number",
	[POLICY_SMS_DUPLICATE] = "duplicate",
	[POLICY_SMS_CAPPED] = "capped",
	[POLICY_SMS_TOO_LONG] = "too_long",
	[POLICY_SMS_NO_TEXT] = "no_text",
	[POLICY_SMS_NO_PLACE] = "no_place",
};

const char *
policy_sms_reason_name(enum policy_sms_reason r)
{
	return r < POLICY_SMS_NREASONS ? sms_reason_names[r] : "?";
}

int
policy_e164_valid(const char *phone)
{
	size_t n;

	if (phone == NULL || phone[0] != '+' || phone[1] < '1' ||
	    phone[1] > '9')
		return 0;
	n = strspn(phone + 1, "0123456789");
	return phone[1 + n] == '\0' && n >= 7 && n <= 15;
}

static void
refuse(struct policy_sms_decision *d, enum policy_sms_reason r,
    const char *detail)
{
	d->reason = r;
	snprintf(d->detail, sizeof(d->detail), "%s", detail);
}

void
policy_sms_decide(const struct conf_sms *s, const struct policy_sms_facts *f,
    struct policy_sms_decision *d)
{
	const char *status = f->phone_status != NULL ? f->phone_status : "";

	memset(d, 0, sizeof(*d));
	if (strcmp(status, "opted_out") == 0 && (!f->has_consent ||
	    f->phone_status_at >= f->consent_at))
		refuse(d, POLICY_SMS_OPTED_OUT, "the number opted out after"
		    " the last consent");
	else if (!f->has_consent)
		refuse(d, POLICY_SMS_NO_CONSENT, "no SMS consent on record");
	else if (!f->consent_granted)
		refuse(d, POLICY_SMS_NO_CONSENT, "SMS consent revoked");
	else if (!f->has_evidence)
		refuse(d, POLICY_SMS_NO_EVIDENCE, "SMS consent recorded"
		    " without evidence");
	else if (!policy_e164_valid(f->phone))
		refuse(d, POLICY_SMS_BAD_NUMBER, f->phone == NULL ||
		    f->phone[0] == '\0' ? "no phone number" :
		    "the number is not E.164");
	else if (strcmp(status, "invalid") == 0)
		refuse(d, POLICY_SMS_BAD_NUMBER, "the gateway found the"
		    " number invalid");
	else if (f->campaign_job != 0) {
		d->reason = POLICY_SMS_DUPLICATE;
		snprintf(d->detail, sizeof(d->detail), "this campaign's SMS"
		    " is outbox job %lld", (long long)f->campaign_job);
	} else if (s->cap_day > 0 && f->sent_day >= s->cap_day) {
		d->reason = POLICY_SMS_CAPPED;
		snprintf(d->detail, sizeof(d->detail), "%lld SMS in 24 h,"
		    " cap_day %lld", (long long)f->sent_day,
		    (long long)s->cap_day);
	} else if (s->cap_month > 0 && f->sent_month >= s->cap_month) {
		d->reason = POLICY_SMS_CAPPED;
		snprintf(d->detail, sizeof(d->detail), "%lld SMS in 30 days,"
		    " cap_month %lld", (long long)f->sent_month,
		    (long long)s->cap_month);
	} else if (f->parts > (size_t)s->max_parts) {
		d->reason = POLICY_SMS_TOO_LONG;
		snprintf(d->detail, sizeof(d->detail), "%zu parts,"
		    " max_parts %lld", f->parts, (long long)s->max_parts);
	} else if (f->parts == 0) {
		refuse(d, POLICY_SMS_NO_TEXT, "the text does not render for"
		    " them");
	} else if (!f->has_place)
		refuse(d, POLICY_SMS_NO_PLACE, "no time zone or country:"
		    " local time unknown");
	else
		d->reason = POLICY_SMS_QUEUE;
}

/* Minute of the local day in Z at T. */
static int
local_minute(const struct tz *z, int64_t t, int64_t *local)
{
	int64_t l = t + tz_offset(z, t), sod = l % DAY;

	if (sod < 0)
		sod += DAY;
	*local = l;
	return (int)(sod / 60);
}

int64_t
policy_utc_due(const struct conf_window *w, int64_t t)
{
	int64_t day = t - ((t % DAY) + DAY) % DAY;
	int m = (int)((t - day) / 60);

	if (m >= w->start && m < w->end)
		return t;
	return (m < w->start ? day : day + DAY) + (int64_t)w->start * 60;
}

int64_t
policy_place_due(const struct policy_place *p, int64_t t)
{
	const struct conf_window *w = &p->window;
	int64_t limit = t + 8 * DAY, local, day, next;
	size_t i;
	int m, iter;

	if (p->nzones == 0)
		return -1;
	/*
	 * Each round moves T to the next window start of a zone where T is
	 * quiet; the first T that no zone objects to is the answer.  Window
	 * starts are found through the zone's wall clock, so a DST change
	 * in between does not shift them by an hour.
	 */
	for (iter = 0; iter < 1000 && t <= limit; iter++) {
		for (i = 0; i < p->nzones; i++) {
			m = local_minute(p->zones[i], t, &local);
			if (m >= w->start && m < w->end)
				continue;
			day = local - ((local % DAY) + DAY) % DAY;
			next = day + (int64_t)w->start * 60;
			if (m >= w->end)
				next += DAY;
			next = tz_from_local(p->zones[i], next);
			t = next > t ? next : t + 60;
			break;
		}
		if (i == p->nzones)
			return t;
	}
	return -1;
}
