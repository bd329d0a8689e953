/*
 * test_sms.c - SMS end to end but for a real gateway: who is eligible
 * and why not (each reason, and their order), E.164, quiet hours on the
 * real tz database (DST changes, a country's zones, windows that never
 * meet, and a brute-force minute-by-minute cross-check), the sms group
 * of segmilter.conf, counting GSM-7 and UCS-2 parts, each gateway
 * driver's bytes and replies, a reply cut off after its status line
 * (from a gateway on loopback), and the store's SMS facts and number
 * marks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "conf.h"
#include "gateway.h"
#include "policy.h"
#include "render.h"
#include "store_lookup.h"
#include "store_outbox.h"
#include "store_record.h"
#include "tstore.h"
#include "tz.h"

#define MIN	60
#define HOUR	3600
#define DAY	86400
#define NOW	((int64_t)1795000000)
#define PHONE	"+15550001111"

/* Y-M-D hh:mm UTC as an instant. */
static int64_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return (int64_t)timegm(&tm);
}

/* ---- eligibility ------------------------------------------------------ */

/* The thresholds policy reads: max_parts 3, cap_day 1, cap_month 4. */
static struct conf_sms
caps(void)
{
	struct conf_sms s;

	memset(&s, 0, sizeof(s));
	s.max_parts = 3;
	s.cap_day = 1;
	s.cap_month = 4;
	return s;
}

/* Facts that pass every check. */
static struct policy_sms_facts
eligible(void)
{
	struct policy_sms_facts f;

	memset(&f, 0, sizeof(f));
	f.has_consent = 1;
	f.consent_granted = 1;
	f.consent_at = NOW - 10 * DAY;
	f.has_evidence = 1;
	f.phone = "+15551234567";
	f.phone_status = "";
	f.sent_day = 0;
	f.sent_month = 0;
	f.parts = 1;
	f.has_place = 1;
	return f;
}

static enum policy_sms_reason
decide(const struct policy_sms_facts *f, struct policy_sms_decision *d)
{
	struct conf_sms s = caps();

	policy_sms_decide(&s, f, d);
	return d->reason;
}

/* Asserts F is refused for R, with a detail containing WANT. */
static void
refused(const struct policy_sms_facts *f, enum policy_sms_reason r,
    const char *want)
{
	struct policy_sms_decision d;

	assert_int_equal(decide(f, &d), r);
	if (strstr(d.detail, want) == NULL)
		fail_msg("%s: detail '%s' lacks '%s'",
		    policy_sms_reason_name(r), d.detail, want);
}

static void
test_sms_queue(void **state)
{
	struct policy_sms_facts f = eligible();
	struct policy_sms_decision d;

	(void)state;
	memset(&d, 0xa5, sizeof(d));
	assert_int_equal(decide(&f, &d), POLICY_SMS_QUEUE);
	assert_string_equal(d.detail, "");
	assert_string_equal(policy_sms_reason_name(POLICY_SMS_QUEUE),
	    "queued");
	/* a NULL status is no status */
	f.phone_status = NULL;
	assert_int_equal(decide(&f, &d), POLICY_SMS_QUEUE);
	/* exactly max_parts is fine */
	f.parts = 3;
	assert_int_equal(decide(&f, &d), POLICY_SMS_QUEUE);
}

static void
test_sms_opted_out(void **state)
{
	struct policy_sms_facts f = eligible();
	struct policy_sms_decision d;

	(void)state;
	assert_string_equal(policy_sms_reason_name(POLICY_SMS_OPTED_OUT),
	    "opted_out");
	f.phone_status = "opted_out";
	f.phone_status_at = f.consent_at + 1;
	refused(&f, POLICY_SMS_OPTED_OUT, "opted out");
	/* at the same second as the grant: the opt-out wins */
	f.phone_status_at = f.consent_at;
	refused(&f, POLICY_SMS_OPTED_OUT, "opted out");
	/* no consent at all: opted_out, the first reason, not no consent */
	f.has_consent = 0;
	refused(&f, POLICY_SMS_OPTED_OUT, "opted out");
	/* consent given again after the opt-out */
	f = eligible();
	f.phone_status = "opted_out";
	f.phone_status_at = f.consent_at - 1;
	assert_int_equal(decide(&f, &d), POLICY_SMS_QUEUE);
}

static void
test_sms_no_consent(void **state)
{
	struct policy_sms_facts f = eligible();

	(void)state;
	assert_string_equal(policy_sms_reason_name(POLICY_SMS_NO_CONSENT),
	    "no_sms_consent");
	f.has_consent = 0;
	f.consent_granted = 0;
	refused(&f, POLICY_SMS_NO_CONSENT, "no SMS consent on record");
	f = eligible();
	f.consent_granted = 0;
	refused(&f, POLICY_SMS_NO_CONSENT, "revoked");
}

static void
test_sms_no_evidence(void **state)
{
	struct policy_sms_facts f = eligible();

	(void)state;
	assert_string_equal(policy_sms_reason_name(POLICY_SMS_NO_EVIDENCE),
	    "no_evidence");
	f.has_evidence = 0;
	refused(&f, POLICY_SMS_NO_EVIDENCE, "without evidence");
}

static void
test_sms_bad_number(void **state)
{
	static const char *const bad[] = {
		"15551234567",		/* no '+' */
		"+05551234567",		/* leading 0 */
		"+123456",		/* 6 digits */
		"+1234567890123456",	/* 16 digits */
		"+1555 123 4567",
		"+1555123456x",
		"+",
	};
	struct policy_sms_facts f = eligible();
	size_t i;

	(void)state;
	assert_string_equal(policy_sms_reason_name(POLICY_SMS_BAD_NUMBER),
	    "bad_number");
	f.phone = "";
	refused(&f, POLICY_SMS_BAD_NUMBER, "no phone number");
	f.phone = NULL;
	refused(&f, POLICY_SMS_BAD_NUMBER, "no phone number");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f.phone = bad[i];
		refused(&f, POLICY_SMS_BAD_NUMBER, "not E.164");
	}
	f = eligible();
	f.phone_status = "invalid";
	f.phone_status_at = NOW;
	refused(&f, POLICY_SMS_BAD_NUMBER, "invalid");
}

static void
test_sms_duplicate(void **state)
{
	struct policy_sms_facts f = eligible();

	(void)state;
	assert_string_equal(policy_sms_reason_name(POLICY_SMS_DUPLICATE),
	    "duplicate");
	f.campaign_job = 42;
	refused(&f, POLICY_SMS_DUPLICATE, "job 42");
}

static void
test_sms_capped(void **state)
{
	struct policy_sms_facts f = eligible();
	struct policy_sms_decision d;
	struct conf_sms s = caps();

	(void)state;
	assert_string_equal(policy_sms_reason_name(POLICY_SMS_CAPPED),
	    "capped");
	f.sent_day = 1;
	f.sent_month = 1;
	refused(&f, POLICY_SMS_CAPPED, "1 SMS in 24 h, cap_day 1");
	f.sent_day = 0;
	f.sent_month = 3;
	assert_int_equal(decide(&f, &d), POLICY_SMS_QUEUE);
	f.sent_month = 4;
	refused(&f, POLICY_SMS_CAPPED, "4 SMS in 30 days, cap_month 4");
	/* 0: no cap */
	s.cap_day = 0;
	s.cap_month = 0;
	f.sent_day = 50;
	f.sent_month = 500;
	policy_sms_decide(&s, &f, &d);
	assert_int_equal(d.reason, POLICY_SMS_QUEUE);
	/* only the monthly cap off: the daily one still holds */
	s.cap_day = 2;
	f.sent_day = 2;
	policy_sms_decide(&s, &f, &d);
	assert_int_equal(d.reason, POLICY_SMS_CAPPED);
	assert_non_null(strstr(d.detail, "cap_day 2"));
}

static void
test_sms_too_long_no_text_no_place(void **state)
{
	struct policy_sms_facts f = eligible();

	(void)state;
	assert_string_equal(policy_sms_reason_name(POLICY_SMS_TOO_LONG),
	    "too_long");
	assert_string_equal(policy_sms_reason_name(POLICY_SMS_NO_TEXT),
	    "no_text");
	assert_string_equal(policy_sms_reason_name(POLICY_SMS_NO_PLACE),
	    "no_place");
	assert_string_equal(policy_sms_reason_name(POLICY_SMS_NREASONS),
	    "?");
	f.parts = 4;
	refused(&f, POLICY_SMS_TOO_LONG, "4 parts, max_parts 3");
	f.parts = 0;
	refused(&f, POLICY_SMS_NO_TEXT, "does not render");
	f = eligible();
	f.has_place = 0;
	refused(&f, POLICY_SMS_NO_PLACE, "local time unknown");
}

/* With several reasons at once, the first in enum order is recorded. */
static void
test_sms_reason_order(void **state)
{
	struct policy_sms_facts f;
	struct policy_sms_decision d;

	(void)state;
	f = eligible();				/* everything wrong */
	f.phone_status = "opted_out";
	f.phone_status_at = NOW;
	f.has_evidence = 0;
	f.phone = "555";
	f.campaign_job = 1;
	f.sent_day = 9;
	f.parts = 0;
	f.has_place = 0;
	assert_int_equal(decide(&f, &d), POLICY_SMS_OPTED_OUT);
	f.phone_status = "";
	f.has_consent = 0;
	assert_int_equal(decide(&f, &d), POLICY_SMS_NO_CONSENT);
	f.has_consent = 1;
	assert_int_equal(decide(&f, &d), POLICY_SMS_NO_EVIDENCE);
	f.has_evidence = 1;
	assert_int_equal(decide(&f, &d), POLICY_SMS_BAD_NUMBER);
	f.phone = "+15551234567";
	assert_int_equal(decide(&f, &d), POLICY_SMS_DUPLICATE);
	f.campaign_job = 0;
	assert_int_equal(decide(&f, &d), POLICY_SMS_CAPPED);
	f.sent_day = 0;
	f.parts = 9;
	assert_int_equal(decide(&f, &d), POLICY_SMS_TOO_LONG);
	f.parts = 0;
	assert_int_equal(decide(&f, &d), POLICY_SMS_NO_TEXT);
	f.parts = 1;
	assert_int_equal(decide(&f, &d), POLICY_SMS_NO_PLACE);
	f.has_place = 1;
	assert_int_equal(decide(&f, &d), POLICY_SMS_QUEUE);

	/* the pairing the brief names: no consent and a bad number */
	f = eligible();
	f.has_consent = 0;
	f.phone = "15551234567";
	assert_int_equal(decide(&f, &d), POLICY_SMS_NO_CONSENT);
	/* an invalid number that is also a duplicate */
	f = eligible();
	f.phone_status = "invalid";
	f.campaign_job = 7;
	assert_int_equal(decide(&f, &d), POLICY_SMS_BAD_NUMBER);
}

static void
test_e164(void **state)
{
	(void)state;
	assert_true(policy_e164_valid("+1234567"));		/* 7 */
	assert_true(policy_e164_valid("+123456789012345"));	/* 15 */
	assert_true(policy_e164_valid("+33612345678"));
	assert_false(policy_e164_valid("+123456"));		/* 6 */
	assert_false(policy_e164_valid("+1234567890123456"));	/* 16 */
	assert_false(policy_e164_valid("+0234567"));
	assert_false(policy_e164_valid("1234567"));
	assert_false(policy_e164_valid("+12345a7"));
	assert_false(policy_e164_valid("+123 4567"));
	assert_false(policy_e164_valid("+1234567 "));
	assert_false(policy_e164_valid(" +1234567"));
	assert_false(policy_e164_valid("++1234567"));
	assert_false(policy_e164_valid("+"));
	assert_false(policy_e164_valid(""));
	assert_false(policy_e164_valid(NULL));
}

/* ---- quiet hours ------------------------------------------------------ */

#define MAXZ	8

struct zones {
	struct tz	*z[MAXZ];
	const struct tz	*cz[MAXZ];
	size_t		 n;
};

static void
zones_add(struct zones *zs, const char *name)
{
	char err[256];

	assert_true(zs->n < MAXZ);
	if (tz_load(TZ_DIR, name, &zs->z[zs->n], err, sizeof(err)) == -1)
		fail_msg("%s", err);
	zs->cz[zs->n] = zs->z[zs->n];
	zs->n++;
}

static void
zones_free(struct zones *zs)
{
	size_t i;

	for (i = 0; i < zs->n; i++)
		tz_free(zs->z[i]);
	zs->n = 0;
}

static struct conf_window
window(const char *s)
{
	struct conf_window w;

	if (conf_window_parse(s, &w) == -1)
		fail_msg("window %s", s);
	return w;
}

static int64_t
due(const struct tz *const *zones, size_t n, const char *win, int64_t t)
{
	struct policy_place p;

	memset(&p, 0, sizeof(p));
	p.zones = zones;
	p.nzones = n;
	p.window = window(win);
	return policy_place_due(&p, t);
}

/* 1 if T is inside W in every zone. */
static int
allowed(const struct tz *const *zones, size_t n, struct conf_window w,
    int64_t t)
{
	int64_t l, m;
	size_t i;

	for (i = 0; i < n; i++) {
		l = t + tz_offset(zones[i], t);
		m = ((l % DAY) + DAY) % DAY / 60;
		if (m < w.start || m >= w.end)
			return 0;
	}
	return 1;
}

/*
 * The answer found the slow way: T when allowed, else the first minute
 * boundary after it that is, within 8 days; -1 when there is none.
 */
static int64_t
brute_due(const struct tz *const *zones, size_t n, struct conf_window w,
    int64_t t)
{
	int64_t u;

	if (allowed(zones, n, w, t))
		return t;
	for (u = (t / MIN + 1) * MIN; u <= t + 8 * DAY; u += MIN)
		if (allowed(zones, n, w, u))
			return u;
	return -1;
}

/*
 * An email's send_local (conf_local_parse): "10:00" is that minute where
 * the recipient lives, the next one; a window is any time inside it.
 * Across the changes of 2026: New York springs forward on 03-08 (10:00
 * EDT is 14:00Z, the day before 10:00 EST was 15:00Z), Berlin falls
 * back on 10-25 (10:00 CET is 09:00Z, the day before 10:00 CEST
 * 08:00Z); Tokyo has none.  Malformed times are refused.
 */
static void
test_local_due(void **state)
{
	struct zones ny = { .n = 0 }, be = { .n = 0 }, tk = { .n = 0 };
	struct policy_place p;

	(void)state;
	zones_add(&ny, "America/New_York");
	zones_add(&be, "Europe/Berlin");
	zones_add(&tk, "Asia/Tokyo");
	memset(&p, 0, sizeof(p));
	p.nzones = 1;
	assert_int_equal(conf_local_parse("10:00", &p.window), 0);
	assert_int_equal(p.window.start, 600);
	assert_int_equal(p.window.end, 601);
	p.zones = ny.cz;
	assert_int_equal(policy_place_due(&p, utc(2026, 3, 7, 5, 0)),
	    utc(2026, 3, 7, 15, 0));
	assert_int_equal(policy_place_due(&p, utc(2026, 3, 7, 15, 1)),
	    utc(2026, 3, 8, 14, 0));
	p.zones = be.cz;
	assert_int_equal(policy_place_due(&p, utc(2026, 10, 24, 0, 0)),
	    utc(2026, 10, 24, 8, 0));
	assert_int_equal(policy_place_due(&p, utc(2026, 10, 24, 8, 30)),
	    utc(2026, 10, 25, 9, 0));
	p.zones = tk.cz;				/* 11:00 JST: tomorrow */
	assert_int_equal(policy_place_due(&p, utc(2026, 11, 18, 2, 0)),
	    utc(2026, 11, 19, 1, 0));
	assert_int_equal(conf_local_parse("09:00-11:00", &p.window), 0);
	assert_int_equal(policy_place_due(&p, utc(2026, 11, 18, 1, 30)),
	    utc(2026, 11, 18, 1, 30));		/* 10:30 JST: now */
	assert_int_equal(policy_place_due(&p, utc(2026, 11, 18, 2, 0)),
	    utc(2026, 11, 19, 0, 0));
	/* where no zone is known: UTC, without a tz database */
	assert_int_equal(conf_local_parse("10:00", &p.window), 0);
	assert_int_equal(policy_utc_due(&p.window, utc(2026, 11, 18, 9, 0)),
	    utc(2026, 11, 18, 10, 0));
	assert_int_equal(policy_utc_due(&p.window, utc(2026, 11, 18, 10, 0)),
	    utc(2026, 11, 18, 10, 0));
	assert_int_equal(policy_utc_due(&p.window, utc(2026, 11, 18, 10, 1)),
	    utc(2026, 11, 19, 10, 0));
	assert_int_equal(conf_local_parse("24:00", &p.window), -1);
	assert_int_equal(conf_local_parse("+1:00", &p.window), -1);
	assert_int_equal(conf_local_parse("9:00", &p.window), -1);
	assert_int_equal(conf_local_parse("10:60", &p.window), -1);
	assert_int_equal(conf_local_parse("10-00", &p.window), -1);
	assert_int_equal(conf_local_parse("11:00-09:00", &p.window), -1);
	zones_free(&ny);
	zones_free(&be);
	zones_free(&tk);
}

static void
test_due_new_york(void **state)
{
	struct zones zs = { .n = 0 };
	int64_t t;

	(void)state;
	zones_add(&zs, "America/New_York");
	/* 10:00 EDT: allowed, T itself, to the second */
	t = utc(2026, 7, 1, 14, 0) + 17;
	assert_int_equal(due(zs.cz, 1, "08:00-21:00", t), t);
	/* 22:00 EDT: the next morning, 08:00 EDT */
	assert_int_equal(due(zs.cz, 1, "08:00-21:00",
	    utc(2026, 7, 2, 2, 0)), utc(2026, 7, 2, 12, 0));
	/* 20:59:59 EDT allowed, 21:00 not, 07:59:59 not, 08:00 is */
	t = utc(2026, 7, 2, 0, 59) + 59;
	assert_int_equal(due(zs.cz, 1, "08:00-21:00", t), t);
	assert_int_equal(due(zs.cz, 1, "08:00-21:00",
	    utc(2026, 7, 2, 1, 0)), utc(2026, 7, 2, 12, 0));
	assert_int_equal(due(zs.cz, 1, "08:00-21:00",
	    utc(2026, 7, 2, 11, 59) + 59), utc(2026, 7, 2, 12, 0));
	/* spring forward: 22:00 EST on 03-07, then 08:00 EDT = 12:00Z */
	assert_int_equal(due(zs.cz, 1, "08:00-21:00",
	    utc(2026, 3, 8, 3, 0)), utc(2026, 3, 8, 12, 0));
	/* fall back: 23:00 EDT on 10-31, then 08:00 EST = 13:00Z */
	assert_int_equal(due(zs.cz, 1, "08:00-21:00",
	    utc(2026, 11, 1, 3, 0)), utc(2026, 11, 1, 13, 0));
	/* the early hours of the change day itself */
	assert_int_equal(due(zs.cz, 1, "08:00-21:00",
	    utc(2026, 11, 1, 6, 30)), utc(2026, 11, 1, 13, 0));
	zones_free(&zs);
}

static void
test_due_london_sydney(void **state)
{
	struct zones zs = { .n = 0 };

	(void)state;
	zones_add(&zs, "Europe/London");
	zones_add(&zs, "Australia/Sydney");
	/* London: 22:00 GMT on 03-28; BST from 01:00Z on 03-29 */
	assert_int_equal(due(zs.cz, 1, "08:00-21:00",
	    utc(2026, 3, 28, 22, 0)), utc(2026, 3, 29, 7, 0));
	/* the week before, 08:00 GMT is 08:00Z */
	assert_int_equal(due(zs.cz, 1, "08:00-21:00",
	    utc(2026, 3, 21, 22, 0)), utc(2026, 3, 22, 8, 0));
	/* October back to GMT (2026-10-25) */
	assert_int_equal(due(zs.cz, 1, "08:00-21:00",
	    utc(2026, 10, 24, 21, 0)), utc(2026, 10, 25, 8, 0));
	/* Sydney: 22:00 AEDT on 04-04; AEST from 16:00Z that day, so
	 * 08:00 AEST on 04-05 is 22:00Z on 04-04 */
	assert_int_equal(due(zs.cz + 1, 1, "08:00-21:00",
	    utc(2026, 4, 4, 11, 0)), utc(2026, 4, 4, 22, 0));
	/* a week before, 08:00 AEDT is 21:00Z */
	assert_int_equal(due(zs.cz + 1, 1, "08:00-21:00",
	    utc(2026, 3, 28, 11, 0)), utc(2026, 3, 28, 21, 0));
	/* back to AEDT on 2026-10-04 (02:00 AEST -> 03:00 AEDT) */
	assert_int_equal(due(zs.cz + 1, 1, "08:00-21:00",
	    utc(2026, 10, 3, 12, 0)), utc(2026, 10, 3, 21, 0));
	zones_free(&zs);
}

static void
test_due_country(void **state)
{
	const struct tz *const *us = NULL;
	const struct tz *hnl, *nyc;
	struct tzdb *db;
	struct conf_window w = window("08:00-21:00");
	char err[256];
	size_t n = 0, i;
	int64_t t, got;
	int has_hnl = 0, has_nyc = 0;

	(void)state;
	assert_non_null(db = tzdb_new(TZ_DIR));
	if (tzdb_country(db, "US", &us, &n, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_true(n >= 2);
	hnl = tzdb_zone(db, "Pacific/Honolulu", err, sizeof(err));
	nyc = tzdb_zone(db, "America/New_York", err, sizeof(err));
	assert_non_null(hnl);
	assert_non_null(nyc);
	for (i = 0; i < n; i++) {
		has_hnl |= us[i] == hnl;
		has_nyc |= us[i] == nyc;
	}
	assert_true(has_nyc);
	/* 08:00 EDT, but 02:00 in Honolulu (and 03:00 HDT in Adak) */
	t = utc(2026, 7, 1, 12, 0);
	got = due(us, n, "08:00-21:00", t);
	assert_int_not_equal(got, t);
	assert_int_equal(got, brute_due(us, n, w, t));
	if (has_hnl)	/* 08:00 HST; 21:00 EDT is 01:00Z */
		assert_int_equal(got, utc(2026, 7, 1, 18, 0));
	/* 00:30Z: 20:30 EDT and 14:30 HST, allowed everywhere */
	t = utc(2026, 7, 2, 0, 30);
	assert_int_equal(due(us, n, "08:00-21:00", t), t);
	/* 01:00Z: 21:00 EDT closes the window until Hawaii's next morning */
	t = utc(2026, 7, 2, 1, 0);
	assert_int_equal(due(us, n, "08:00-21:00", t),
	    brute_due(us, n, w, t));
	/* unknown and malformed countries: no zones */
	assert_int_equal(tzdb_country(db, "ZZ", &us, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(due(us, n, "08:00-21:00", t), -1);
	tzdb_free(db);
}

static void
test_due_never(void **state)
{
	struct zones zs = { .n = 0 };
	struct conf_window w = window("08:00-09:00");
	int64_t t = utc(2026, 5, 1, 0, 0);	/* 14:00 and 13:00 */

	(void)state;
	zones_add(&zs, "Pacific/Kiritimati");	/* +14 */
	zones_add(&zs, "Pacific/Pago_Pago");	/* -11 */
	/* 08:00-09:00 is 18:00-19:00Z in one, 19:00-20:00Z in the other */
	assert_int_equal(due(zs.cz, 2, "08:00-09:00", t), -1);
	assert_int_equal(brute_due(zs.cz, 2, w, t), -1);
	/* each alone has its hour */
	assert_int_equal(due(zs.cz, 1, "08:00-09:00", t),
	    utc(2026, 5, 1, 18, 0));
	assert_int_equal(due(zs.cz + 1, 1, "08:00-09:00", t),
	    utc(2026, 5, 1, 19, 0));
	/* a wider window meets: at 08:00Z it is 22:00 and 21:00, then
	 * 19:00Z, 08:00 in Pago Pago (09:00 in Kiritimati) */
	assert_int_equal(due(zs.cz, 2, "08:00-21:00", t), t);
	assert_int_equal(due(zs.cz, 2, "08:00-21:00",
	    utc(2026, 5, 1, 8, 0)), utc(2026, 5, 1, 19, 0));
	/* no zones at all */
	assert_int_equal(due(zs.cz, 0, "08:00-21:00", t), -1);
	zones_free(&zs);
}

static void
test_due_until_midnight(void **state)
{
	struct zones zs = { .n = 0 };
	int64_t t;

	(void)state;
	zones_add(&zs, "America/New_York");
	/* 23:59:30 EDT is inside 08:00-24:00 */
	t = utc(2026, 7, 2, 3, 59) + 30;
	assert_int_equal(due(zs.cz, 1, "08:00-24:00", t), t);
	/* 00:00 EDT is not: 08:00 EDT the same day */
	assert_int_equal(due(zs.cz, 1, "08:00-24:00",
	    utc(2026, 7, 2, 4, 0)), utc(2026, 7, 2, 12, 0));
	assert_int_equal(due(zs.cz, 1, "08:00-24:00",
	    utc(2026, 7, 1, 11, 59)), utc(2026, 7, 1, 12, 0));
	/* the whole day is always allowed */
	t = utc(2026, 3, 8, 7, 0) + 1;
	assert_int_equal(due(zs.cz, 1, "00:00-24:00", t), t);
	zones_free(&zs);
}

/* xorshift64: the same "random" instants on every run. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* policy_place_due against brute_due for places made of several zones. */
static void
test_due_brute_force(void **state)
{
	static const char *const names[] = {
		"America/New_York", "Europe/London", "Australia/Sydney",
		"Asia/Kolkata", "America/St_Johns", "Pacific/Chatham",
		"America/Santiago", "Australia/Lord_Howe",
	};
	static const struct {
		size_t	 first, n;	/* zones names[first..first+n) */
		const char *win;
	} places[] = {
		{ 0, 1, "08:00-21:00" }, { 1, 1, "08:00-21:00" },
		{ 2, 1, "09:30-17:15" }, { 3, 1, "08:00-21:00" },
		{ 4, 1, "08:00-24:00" }, { 5, 1, "08:00-21:00" },
		{ 6, 1, "00:00-06:00" }, { 7, 1, "01:30-02:45" },
		{ 0, 2, "08:00-21:00" }, { 1, 2, "08:00-21:00" },
		{ 3, 3, "10:00-20:00" }, { 0, 4, "07:00-23:00" },
		{ 5, 3, "08:00-21:00" },
	};
	struct zones zs = { .n = 0 };
	struct conf_window w;
	uint64_t seed = 0x5e6d11e7ULL;
	int64_t start = utc(2026, 1, 1, 0, 0), span = 365 * DAY, t, got;
	int64_t want;
	size_t i, k, mismatches = 0;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		zones_add(&zs, names[i]);
	for (i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		w = window(places[i].win);
		for (k = 0; k < 200; k++) {
			t = start + (int64_t)(next_rand(&seed) %
			    (uint64_t)span);
			got = due(zs.cz + places[i].first, places[i].n,
			    places[i].win, t);
			want = brute_due(zs.cz + places[i].first,
			    places[i].n, w, t);
			if (got != want) {
				print_message("%s..+%zu %s at %lld: due %lld,"
				    " brute force %lld\n",
				    names[places[i].first], places[i].n,
				    places[i].win, (long long)t,
				    (long long)got, (long long)want);
				mismatches++;
			}
		}
	}
	assert_int_equal(mismatches, 0);
	zones_free(&zs);
}

/* ---- conf ------------------------------------------------------------- */

static void
test_window_parse(void **state)
{
	struct conf_window w = { -1, -1 };

	(void)state;
	assert_int_equal(conf_window_parse("08:00-21:00", &w), 0);
	assert_int_equal(w.start, 480);
	assert_int_equal(w.end, 1260);
	assert_int_equal(conf_window_parse("00:00-24:00", &w), 0);
	assert_int_equal(w.start, 0);
	assert_int_equal(w.end, 1440);
	assert_int_equal(conf_window_parse("09:30-17:15", &w), 0);
	assert_int_equal(w.start, 570);
	assert_int_equal(w.end, 1035);
	w.start = w.end = -1;
	assert_int_equal(conf_window_parse("21:00-08:00", &w), -1);
	assert_int_equal(conf_window_parse("8:00-21:00", &w), -1);
	assert_int_equal(conf_window_parse("08:60-09:00", &w), -1);
	assert_int_equal(conf_window_parse("24:00-24:00", &w), -1);
	assert_int_equal(conf_window_parse("08:00-08:00", &w), -1);
	assert_int_equal(conf_window_parse("08:00-24:01", &w), -1);
	assert_int_equal(conf_window_parse("08:00-25:00", &w), -1);
	assert_int_equal(conf_window_parse("08:00 21:00", &w), -1);
	assert_int_equal(conf_window_parse("08:00-21:00 ", &w), -1);
	assert_int_equal(conf_window_parse("0800-2100", &w), -1);
	assert_int_equal(conf_window_parse("", &w), -1);
	/* a refused window leaves *W as it was */
	assert_int_equal(w.start, -1);
	assert_int_equal(w.end, -1);
}

static void
assert_window(struct conf_window w, int start_h, int end_h)
{
	assert_int_equal(w.start, start_h * 60);
	assert_int_equal(w.end, end_h * 60);
}

static void
test_sms_window_rules(void **state)
{
	struct conf_window_rule rules[3];
	struct conf_sms s;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(rules, 0, sizeof(rules));
	s.window = window("08:00-21:00");
	snprintf(rules[0].where, sizeof(rules[0].where), "US-FL");
	rules[0].w = window("08:00-20:00");
	snprintf(rules[1].where, sizeof(rules[1].where), "US-CT");
	rules[1].w = window("08:00-20:00");
	snprintf(rules[2].where, sizeof(rules[2].where), "FR");
	rules[2].w = window("10:00-20:00");
	s.windows = rules;
	s.nwindows = 3;
	assert_window(conf_sms_window(&s, "US", "FL"), 8, 20);
	assert_window(conf_sms_window(&s, "US", "NY"), 8, 21);
	assert_window(conf_sms_window(&s, "US", ""), 8, 20);
	assert_window(conf_sms_window(&s, "FR", ""), 10, 20);
	assert_window(conf_sms_window(&s, "FR", "IDF"), 10, 20);
	assert_window(conf_sms_window(&s, "DE", ""), 8, 21);
	assert_window(conf_sms_window(&s, "DE", "BY"), 8, 21);
	assert_window(conf_sms_window(&s, "", ""), 8, 21);
	assert_window(conf_sms_window(&s, "", "FL"), 8, 21);
	/* a region rule narrower at the start, unknown region: both ends */
	rules[1].w = window("09:00-21:00");
	assert_window(conf_sms_window(&s, "US", ""), 9, 20);
	assert_window(conf_sms_window(&s, "US", "CT"), 9, 21);
	/* a country rule beside regional ones: still narrowed by them */
	snprintf(rules[2].where, sizeof(rules[2].where), "US");
	rules[2].w = window("08:00-21:00");
	assert_window(conf_sms_window(&s, "US", ""), 9, 20);
	assert_window(conf_sms_window(&s, "US", "NY"), 8, 21);
	/* regional rules that share no minute: an empty window */
	rules[0].w = window("08:00-12:00");
	rules[1].w = window("13:00-20:00");
	assert_true(conf_sms_window(&s, "US", "").start ==
	    conf_sms_window(&s, "US", "").end);
}

struct cf {
	char		 dir[64];
	char		 conf[128];
	char		 creds[128];
	char		 err[4096];
};

static int
cf_setup(void **state)
{
	struct cf *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-sms-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	snprintf(x->conf, sizeof(x->conf), "%s/segmilter.conf", x->dir);
	snprintf(x->creds, sizeof(x->creds), "%s/sms.secret", x->dir);
	*state = x;
	return 0;
}

static int
cf_teardown(void **state)
{
	struct cf *x = *state;

	unlink(x->conf);
	unlink(x->creds);
	rmdir(x->dir);
	free(x);
	return 0;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/*
 * Writes an sms group made of EXTRA (settings, one per line) and, unless
 * NOCREDS, credentials_file pointing at the test's file; loads it.
 */
static struct conf *
cf_load(struct cf *x, const char *extra, int nocreds)
{
	struct conf *c = NULL;
	char text[2048];

	snprintf(text, sizeof(text), "sms = {\n%s%s%s%s};\n", extra,
	    nocreds ? "" : "credentials_file = \"", nocreds ? "" : x->creds,
	    nocreds ? "" : "\";\n");
	write_file(x->conf, text, 0644);
	x->err[0] = '\0';
	if (conf_load(x->conf, &c, x->err, sizeof(x->err)) == -1)
		return NULL;
	return c;
}

/*
 * Kannel with sms.dlr_url beside a feedback group whose credentials hold
 * kannel_secret: segmilter's and segfeed's one file, as shipped.
 */
static struct conf *
cf_dlr(struct cf *x)
{
	struct conf *c = NULL;
	char text[2048], fcreds[160], key[160];

	snprintf(fcreds, sizeof(fcreds), "%s/feed.secret", x->dir);
	snprintf(key, sizeof(key), "%s/key", x->dir);
	write_file(fcreds, "kannel_secret = \"kn-secret\";\n", 0600);
	write_file(key, "0123456789abcdef0123456789abcdef\n", 0600);
	write_file(x->creds, "username = \"ku\";\npassword = \"kp\";\n", 0600);
	snprintf(text, sizeof(text), "milter = { unsubscribe_url ="
	    " \"https://shop.example/u/\"; };\noutbox = { key_file = \"%s\"; };\n"
	    "feedback = { credentials_file = \"%s\"; };\n"
	    "sms = { driver = \"kannel\"; url = \"http://127.0.0.1:13013\";\n"
	    "  dlr_url = \"https://shop.example/kannel/dlr\";"
	    " credentials_file = \"%s\"; };\n", key, fcreds, x->creds);
	write_file(x->conf, text, 0644);
	x->err[0] = '\0';
	if (conf_load(x->conf, &c, x->err, sizeof(x->err)) == -1)
		return NULL;
	return c;
}

#define TWILIO_CREDS	"account_sid = \"AC123\";\nauth_token = \"tok456\";\n"
#define TWILIO		"driver = \"twilio\";\nurl = \"http://127.0.0.1:1\";\n"

/* Loading EXTRA fails, and the error names WANT. */
static void
cf_refused(struct cf *x, const char *extra, int nocreds, const char *want)
{
	struct conf *c = cf_load(x, extra, nocreds);

	if (c != NULL) {
		conf_free(c);
		fail_msg("loaded, expected an error about %s:\n%s", want,
		    extra);
	}
	if (strstr(x->err, want) == NULL)
		fail_msg("error lacks '%s':\n%s", want, x->err);
}

static void
test_conf_sms_load(void **state)
{
	struct cf *x = *state;
	struct conf *c;

	write_file(x->creds, TWILIO_CREDS, 0600);
	c = cf_load(x, TWILIO "from = \"+15550000000\";\n"
	    "cap_day = 2;\ncap_month = 10;\nmax_parts = 4;\n"
	    "window = \"09:00-20:00\";\n"
	    "windows = ( { where = \"US-FL\"; window = \"08:00-20:00\"; },"
	    " { where = \"FR\"; window = \"10:00-19:00\"; } );\n", 0);
	if (c == NULL)
		fail_msg("%s", x->err);
	assert_int_equal(c->sms.driver, SMS_TWILIO);
	assert_string_equal(conf_sms_driver_name(c->sms.driver), "twilio");
	assert_string_equal(c->sms.url, "http://127.0.0.1:1");
	assert_string_equal(c->sms.from, "+15550000000");
	assert_string_equal(c->sms.messaging_service_sid, "");
	assert_string_equal(c->sms.user, "AC123");
	assert_string_equal(c->sms.secret, "tok456");
	assert_int_equal(c->sms.cap_day, 2);
	assert_int_equal(c->sms.cap_month, 10);
	assert_int_equal(c->sms.max_parts, 4);
	assert_window(c->sms.window, 9, 20);
	assert_int_equal(c->sms.nwindows, 2);
	assert_string_equal(c->sms.windows[0].where, "US-FL");
	assert_window(c->sms.windows[0].w, 8, 20);
	assert_string_equal(c->sms.windows[1].where, "FR");
	assert_window(conf_sms_window(&c->sms, "FR", ""), 10, 19);
	conf_free(c);

	/* kannel's password travels in its URL: plain http on loopback
	 * only, like the others */
	write_file(x->creds, "username = \"ku\";\npassword = \"kp\";\n",
	    0600);
	assert_null(cf_load(x, "driver = \"kannel\";\n"
	    "url = \"http://sms.example.com:13013\";\n", 0));
	assert_non_null(strstr(x->err, "in clear"));
	c = cf_load(x, "driver = \"kannel\";\n"
	    "url = \"http://127.0.0.1:13013\";\n", 0);
	if (c == NULL)
		fail_msg("%s", x->err);
	assert_int_equal(c->sms.driver, SMS_KANNEL);
	assert_string_equal(c->sms.user, "ku");
	assert_string_equal(c->sms.secret, "kp");
	conf_free(c);

	/* dlr_url: Kannel's only, with segfeed's secret to put in it */
	cf_refused(x, "driver = \"kannel\";\nurl = \"http://127.0.0.1:13013\";\n"
	    "dlr_url = \"https://shop.example/kannel/dlr\";\n", 0,
	    "sms.dlr_url: needs kannel_secret in feedback.credentials_file");
	write_file(x->creds, TWILIO_CREDS, 0600);
	cf_refused(x, TWILIO "dlr_url = \"https://shop.example/kannel/dlr\";\n",
	    0, "sms.dlr_url: Kannel's only: the driver is twilio");
	c = cf_dlr(x);
	if (c == NULL)
		fail_msg("%s", x->err);
	assert_string_equal(c->sms.dlr_secret, "kn-secret");
	conf_free(c);

	/* webhook: a secret only */
	write_file(x->creds, "secret = \"whsec\";\n", 0600);
	c = cf_load(x, "driver = \"webhook\";\n"
	    "url = \"https://hooks.example.com/sms\";\n", 0);
	if (c == NULL)
		fail_msg("%s", x->err);
	assert_int_equal(c->sms.driver, SMS_WEBHOOK);
	assert_string_equal(c->sms.user, "");
	assert_string_equal(c->sms.secret, "whsec");
	conf_free(c);

	/* driver "" is off and needs nothing else */
	c = cf_load(x, "driver = \"\";\n", 1);
	if (c == NULL)
		fail_msg("%s", x->err);
	assert_int_equal(c->sms.driver, SMS_OFF);
	conf_free(c);
}

static void
test_conf_sms_errors(void **state)
{
	struct cf *x = *state;

	write_file(x->creds, TWILIO_CREDS, 0600);
	cf_refused(x, "driver = \"nokia\";\n", 0, "sms.driver");
	cf_refused(x, TWILIO, 0, "messaging_service_sid");
	cf_refused(x, TWILIO "from = \"+15550000000\";\n"
	    "messaging_service_sid = \"MG1\";\n", 0, "messaging_service_sid");
	cf_refused(x, "driver = \"twilio\";\n"
	    "url = \"http://api.twilio.com\";\nfrom = \"+1555\";\n", 0,
	    "https://");
	assert_non_null(strstr(x->err, "url: "));
	cf_refused(x, "driver = \"twilio\";\n"
	    "url = \"ftp://127.0.0.1\";\nfrom = \"+1555\";\n", 0, "url");
	cf_refused(x, TWILIO "from = \"+1555\";\n", 1, "credentials_file");
	cf_refused(x, TWILIO "from = \"+1555\";\n"
	    "credentials_file = \"/nonexistent/sms.secret\";\n", 1,
	    "credentials_file");
	cf_refused(x, TWILIO "from = \"+1555\";\nwindow = \"21:00-08:00\";\n",
	    0, "window");
	cf_refused(x, TWILIO "from = \"+1555\";\nwindows = ( { where ="
	    " \"us-fl\"; window = \"08:00-20:00\"; } );\n", 0, "us-fl");
	cf_refused(x, TWILIO "from = \"+1555\";\nwindows = ( { where ="
	    " \"US-FL\"; window = \"8-20\"; } );\n", 0, "windows");
	cf_refused(x, TWILIO "from = \"+1555\";\ncap_day = 5;\n"
	    "cap_month = 4;\n", 0, "cap_day");
	cf_refused(x, TWILIO "from = \"+1555\";\ncolour = \"red\";\n", 0,
	    "colour");

	/* group or others may read or write it: the key file's rule */
	write_file(x->creds, TWILIO_CREDS, 0644);
	cf_refused(x, TWILIO "from = \"+1555\";\n", 0, "readable or writable"
	    " by group or others");
	assert_non_null(strstr(x->err, "credentials_file: "));
	write_file(x->creds, TWILIO_CREDS, 0640);
	cf_refused(x, TWILIO "from = \"+1555\";\n", 0, "chmod 0600");
	write_file(x->creds, TWILIO_CREDS, 0602);
	cf_refused(x, TWILIO "from = \"+1555\";\n", 0, "chmod 0600");
	/* a key that is not the driver's */
	write_file(x->creds, TWILIO_CREDS "api_key = \"x\";\n", 0600);
	cf_refused(x, TWILIO "from = \"+1555\";\n", 0, "api_key");
	assert_non_null(strstr(x->err, "credentials_file: "));
	/* the other driver's keys */
	write_file(x->creds, "username = \"u\";\npassword = \"p\";\n", 0600);
	cf_refused(x, TWILIO "from = \"+1555\";\n", 0, "account_sid");
	/* an empty token */
	write_file(x->creds, "account_sid = \"AC1\";\nauth_token = \"\";\n",
	    0600);
	cf_refused(x, TWILIO "from = \"+1555\";\n", 0, "auth_token");
}

/* ---- SMS text size ---------------------------------------------------- */

/* X N times, then MID, then X M times, into a static buffer. */
static const char *
around(const char *x, size_t n, const char *mid, size_t m)
{
	static char b[8192];
	size_t len = strlen(x), i, at = 0;

	assert_true((n + m) * len + strlen(mid) < sizeof(b));
	for (i = 0; i < n; i++, at += len)
		memcpy(b + at, x, len);
	memcpy(b + at, mid, strlen(mid));
	at += strlen(mid);
	for (i = 0; i < m; i++, at += len)
		memcpy(b + at, x, len);
	b[at] = '\0';
	return b;
}

/* X N times. */
static const char *
rep(const char *x, size_t n)
{
	return around(x, n, "", 0);
}

static struct render_sms_size
size_of(const char *s)
{
	struct render_sms_size z;

	if (render_sms_size(s, strlen(s), &z) == -1)
		fail_msg("refused: %s", s);
	return z;
}

static void
assert_size(const char *s, enum render_sms_coding coding, size_t chars,
    size_t units, size_t parts)
{
	struct render_sms_size z = size_of(s);

	assert_int_equal(z.coding, coding);
	assert_int_equal(z.chars, chars);
	assert_int_equal(z.units, units);
	assert_int_equal(z.parts, parts);
}

static void
test_size_gsm7(void **state)
{
	(void)state;
	/* empty: no characters, yet one (empty) part */
	assert_size("", RENDER_SMS_GSM7, 0, 0, 1);
	assert_size(rep("a", 160), RENDER_SMS_GSM7, 160, 160, 1);
	assert_size(rep("a", 161), RENDER_SMS_GSM7, 161, 161, 2);
	assert_size(rep("a", 306), RENDER_SMS_GSM7, 306, 306, 2);
	assert_size(rep("a", 307), RENDER_SMS_GSM7, 307, 307, 3);
	assert_size(rep("a", 459), RENDER_SMS_GSM7, 459, 459, 3);
	assert_size(rep("a", 460), RENDER_SMS_GSM7, 460, 460, 4);
	/* extension characters take two septets */
	assert_size(rep("{", 80), RENDER_SMS_GSM7, 80, 160, 1);
	assert_size(rep("{", 81), RENDER_SMS_GSM7, 81, 162, 2);
	assert_size("^{}\\[~]|\f", RENDER_SMS_GSM7, 9, 18, 1);
	assert_size("\xe2\x82\xac", RENDER_SMS_GSM7, 1, 2, 1);	/* euro */
	/* an escape pair is never split: 152 + [2] does not fit 153 */
	assert_size(around("a", 152, "\xe2\x82\xac", 152), RENDER_SMS_GSM7,
	    305, 306, 3);
	/* one 'a' fewer before it and the pair ends part 1 exactly */
	assert_size(around("a", 151, "\xe2\x82\xac", 152), RENDER_SMS_GSM7,
	    304, 305, 2);
	/* the table's accented letters stay GSM-7, others do not */
	assert_size("caf\xc3\xa9", RENDER_SMS_GSM7, 4, 4, 1);	/* é */
	/* "Été à üß" */
	assert_size("\xc3\x89t\xc3\xa9 \xc3\xa0 \xc3\xbc\xc3\x9f",
	    RENDER_SMS_GSM7, 8, 8, 1);
	assert_size("f\xc3\xaate", RENDER_SMS_UCS2, 4, 4, 1);	/* ê */
	assert_size("line\r\nnext", RENDER_SMS_GSM7, 10, 10, 1);
	assert_string_equal(render_sms_coding_name(RENDER_SMS_GSM7),
	    "GSM-7");
	assert_string_equal(render_sms_coding_name(RENDER_SMS_UCS2),
	    "UCS-2");
}

static void
test_size_ucs2(void **state)
{
	static const char e[] = "\xc3\xaa";		/* ê */
	static const char smile[] = "\xf0\x9f\x98\x80";	/* U+1F600 */

	(void)state;
	assert_size(rep(e, 70), RENDER_SMS_UCS2, 70, 70, 1);
	assert_size(rep(e, 71), RENDER_SMS_UCS2, 71, 71, 2);
	assert_size(rep(e, 134), RENDER_SMS_UCS2, 134, 134, 2);
	assert_size(rep(e, 135), RENDER_SMS_UCS2, 135, 135, 3);
	/* one UCS-2 character turns a GSM-7 text into UCS-2 */
	assert_size(around("a", 69, e, 0), RENDER_SMS_UCS2, 70, 70, 1);
	assert_size(around("a", 70, e, 0), RENDER_SMS_UCS2, 71, 71, 2);
	/* outside the BMP: a surrogate pair, two units */
	assert_size(smile, RENDER_SMS_UCS2, 1, 2, 1);
	assert_size(rep(smile, 35), RENDER_SMS_UCS2, 35, 70, 1);
	assert_size(rep(smile, 36), RENDER_SMS_UCS2, 36, 72, 2);
	/* never split: 66 + [2] does not fit 67 */
	assert_size(around(e, 66, smile, 66), RENDER_SMS_UCS2, 133, 134, 3);
	assert_size(around(e, 65, smile, 67), RENDER_SMS_UCS2, 133, 134, 2);
}

static void
test_size_invalid(void **state)
{
	static const struct {
		const char *s;
		size_t	 len;
	} bad[] = {
		{ "\xc3", 1 },			/* truncated */
		{ "ab\xc3", 3 },
		{ "\xc0\xaf", 2 },		/* overlong '/' */
		{ "\xc1\xbf", 2 },
		{ "\xe0\x80\xaf", 3 },		/* overlong, 3 bytes */
		{ "\xf0\x80\x80\xaf", 4 },	/* overlong, 4 bytes */
		{ "\xed\xa0\x80", 3 },		/* surrogate */
		{ "\xed\xbf\xbf", 3 },
		{ "\xf4\x90\x80\x80", 4 },	/* past U+10FFFF */
		{ "\xf5\x80\x80\x80", 4 },
		{ "\x80", 1 },			/* lone continuation */
		{ "a\xc3(", 3 },		/* bad continuation */
		{ "\xff", 1 },
		{ "\xe2\x82", 2 },		/* euro, cut short */
	};
	struct render_sms_size z;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (render_sms_size(bad[i].s, bad[i].len, &z) != -1)
			fail_msg("case %zu accepted", i);
	/* LEN is what counts: the cut euro above is fine whole */
	assert_int_equal(render_sms_size("\xe2\x82\xac", 3, &z), 0);
	assert_int_equal(z.units, 2);
	assert_int_equal(render_sms_size("\xf4\x8f\xbf\xbf", 4, &z), 0);
	assert_int_equal(z.units, 2);
}

/* ---- gateway drivers -------------------------------------------------- */

static struct conf_sms
gw_conf(enum conf_sms_driver d, const char *url, const char *user,
    const char *secret)
{
	struct conf_sms s;

	memset(&s, 0, sizeof(s));
	s.driver = d;
	s.url = (char *)url;
	s.from = (char *)"";
	s.messaging_service_sid = (char *)"";
	s.status_callback = (char *)"";
	s.dlr_url = (char *)"";
	s.ca_file = (char *)"";
	snprintf(s.user, sizeof(s.user), "%s", user);
	snprintf(s.secret, sizeof(s.secret), "%s", secret);
	return s;
}

static struct gw_sms_msg
gw_msg(const char *text)
{
	struct gw_sms_msg m;

	memset(&m, 0, sizeof(m));
	m.to = "+15551234567";
	m.text = text;
	m.key = "sms-spring-42";
	m.campaign = "spring";
	return m;
}

static void
test_encode_twilio(void **state)
{
	struct conf_sms s = gw_conf(SMS_TWILIO, "https://api.example.com/",
	    "AC123", "tok456");
	struct gw_sms_msg m = gw_msg("Hi & bye = 50% caf\xc3\xa9+");
	struct gw_sms_request rq;

	(void)state;
	s.from = (char *)"+15550000000";
	assert_int_equal(gw_sms_encode(&s, &m, NOW, &rq), 0);
	assert_int_equal(rq.post, 1);
	assert_string_equal(buf_str(&rq.url), "https://api.example.com"
	    "/2010-04-01/Accounts/AC123/Messages.json");
	assert_string_equal(buf_str(&rq.body), "To=%2B15551234567"
	    "&From=%2B15550000000"
	    "&Body=Hi%20%26%20bye%20%3D%2050%25%20caf%C3%A9%2B");
	assert_string_equal(rq.content_type,
	    "application/x-www-form-urlencoded");
	assert_string_equal(rq.userpwd, "AC123:tok456");
	assert_int_equal(rq.nheaders, 0);
	gw_sms_request_free(&rq);
	assert_string_equal(rq.userpwd, "");	/* wiped */

	/* a service instead of a number, a callback; no slash to drop */
	s.url = (char *)"http://127.0.0.1:8080";
	s.messaging_service_sid = (char *)"MG9";
	s.status_callback = (char *)"https://cb.example.com/s?x=1";
	m = gw_msg("-._~ok");
	assert_int_equal(gw_sms_encode(&s, &m, NOW, &rq), 0);
	assert_string_equal(buf_str(&rq.url), "http://127.0.0.1:8080"
	    "/2010-04-01/Accounts/AC123/Messages.json");
	assert_string_equal(buf_str(&rq.body), "To=%2B15551234567"
	    "&MessagingServiceSid=MG9&Body=-._~ok"
	    "&StatusCallback=https%3A%2F%2Fcb.example.com%2Fs%3Fx%3D1");
	assert_null(strstr(buf_str(&rq.body), "From="));
	gw_sms_request_free(&rq);
}

static void
test_encode_kannel(void **state)
{
	struct conf_sms s = gw_conf(SMS_KANNEL, "http://127.0.0.1:13013//",
	    "kuser", "p@ss&w=rd");
	struct gw_sms_msg m = gw_msg("Hi there");
	struct gw_sms_request rq;

	(void)state;
	s.from = (char *)"Shop";
	assert_int_equal(gw_sms_encode(&s, &m, NOW, &rq), 0);
	assert_int_equal(rq.post, 0);
	assert_string_equal(buf_str(&rq.url), "http://127.0.0.1:13013"
	    "/cgi-bin/sendsms?username=kuser&password=p%40ss%26w%3Drd"
	    "&from=Shop&to=%2B15551234567&text=Hi%20there"
	    "&charset=UTF-8&coding=0");
	assert_int_equal(rq.body.len, 0);
	assert_string_equal(rq.userpwd, "");
	assert_int_equal(rq.nheaders, 0);
	gw_sms_request_free(&rq);

	/* UCS-2, and no sender: the gateway's own */
	s.from = (char *)"";
	m = gw_msg("f\xc3\xaate");
	m.ucs2 = 1;
	assert_int_equal(gw_sms_encode(&s, &m, NOW, &rq), 0);
	assert_string_equal(buf_str(&rq.url), "http://127.0.0.1:13013"
	    "/cgi-bin/sendsms?username=kuser&password=p%40ss%26w%3Drd"
	    "&to=%2B15551234567&text=f%C3%AAte&charset=UTF-8&coding=2");
	gw_sms_request_free(&rq);

	/* delivery reports to segfeed: its secret and the job in the URL,
	 * Kannel's escapes for it to fill in, every report type asked */
	s.dlr_url = (char *)"https://shop.example/kannel/dlr";
	snprintf(s.dlr_secret, sizeof(s.dlr_secret), "kn&1");
	m = gw_msg("Hi");
	m.job = 42;
	assert_int_equal(gw_sms_encode(&s, &m, NOW, &rq), 0);
	assert_string_equal(buf_str(&rq.url), "http://127.0.0.1:13013"
	    "/cgi-bin/sendsms?username=kuser&password=p%40ss%26w%3Drd"
	    "&to=%2B15551234567&text=Hi&charset=UTF-8&coding=0"
	    "&dlr-url=https%3A%2F%2Fshop.example%2Fkannel%2Fdlr%3Fsecret%3D"
	    "kn%25261%26job%3D42%26type%3D%25d%26to%3D%25p&dlr-mask=31");
	gw_sms_request_free(&rq);
}

static void
test_encode_webhook(void **state)
{
	static const char body[] = "{\"id\":\"sms-spring-42\","
	    "\"to\":\"+15551234567\","
	    "\"text\":\"He said \\\"hi\\\" \\\\o/\\n\\u0009tab\\u0001\\u001f"
	    " caf\xc3\xa9\",\"campaign\":\"spring\"}";
	struct conf_sms s = gw_conf(SMS_WEBHOOK,
	    "https://hooks.example.com/sms/", "", "whsec");
	struct gw_sms_msg m = gw_msg("He said \"hi\" \\o/\n\ttab\x01\x1f"
	    " caf\xc3\xa9");
	struct gw_sms_request rq;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0, i;
	char data[512], hex[2 * EVP_MAX_MD_SIZE + 1], want[200];

	(void)state;
	assert_int_equal(gw_sms_encode(&s, &m, NOW, &rq), 0);
	assert_int_equal(rq.post, 1);
	assert_string_equal(buf_str(&rq.url), "https://hooks.example.com/sms/");
	assert_string_equal(buf_str(&rq.body), body);
	assert_int_equal(rq.body.len, strlen(body));
	assert_string_equal(rq.content_type, "application/json");
	assert_string_equal(rq.userpwd, "");
	assert_int_equal(rq.nheaders, 3);
	assert_string_equal(rq.headers[0], "X-Segmilter-Timestamp: 1795000000");
	/* HMAC-SHA256(secret, "T." body), recomputed here */
	snprintf(data, sizeof(data), "%lld.%s", (long long)NOW, body);
	assert_non_null(HMAC(EVP_sha256(), "whsec", 5,
	    (const unsigned char *)data, strlen(data), mac, &maclen));
	assert_int_equal(maclen, 32);
	for (i = 0; i < maclen; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	snprintf(want, sizeof(want), "X-Segmilter-Signature: sha256=%s", hex);
	assert_string_equal(rq.headers[1], want);
	assert_string_equal(rq.headers[2], "Idempotency-Key: sms-spring-42");
	gw_sms_request_free(&rq);

	/* another time, another signature */
	assert_int_equal(gw_sms_encode(&s, &m, NOW + 1, &rq), 0);
	assert_string_equal(rq.headers[0], "X-Segmilter-Timestamp: 1795000001");
	assert_string_not_equal(rq.headers[1], want);
	gw_sms_request_free(&rq);

	/* no driver, no request */
	s.driver = SMS_OFF;
	assert_int_equal(gw_sms_encode(&s, &m, NOW, &rq), -1);
	gw_sms_request_free(&rq);
}

/* Classifies BODY and checks the outcome; the reply for more checks. */
static struct gw_sms_reply
classify(enum conf_sms_driver d, long status, const char *body,
    enum gw_result result, enum gw_sms_refusal refusal)
{
	struct gw_sms_reply r;

	gw_sms_classify(d, status, body, strlen(body), NULL, &r);
	if (r.result != result || (result == GW_PERMFAIL &&
	    r.refusal != refusal))
		fail_msg("%s %ld %s: result %d refusal %d (%s)",
		    conf_sms_driver_name(d), status, body, r.result,
		    r.refusal, r.why);
	/* nothing of the test's credentials, whatever the reply */
	assert_null(strstr(r.why, "tok456"));
	assert_null(strstr(r.why, "whsec"));
	assert_null(strstr(r.why, "p@ss"));
	assert_true(r.why[0] != '\0');
	return r;
}

static void
test_classify(void **state)
{
	struct gw_sms_reply r;
	static const long temp[] = { 408, 429, 500, 502, 503, 302 };
	static const long refused_us[] = { 401, 403, 404 };
	size_t i;

	(void)state;
	/* twilio */
	r = classify(SMS_TWILIO, 201, "{\"account_sid\": \"AC123\","
	    " \"messaging_service_sid\": null, \"sid\": \"SMabc\","
	    " \"status\": \"queued\"}", GW_SENT, 0);
	assert_string_equal(r.ref, "SMabc");
	assert_non_null(strstr(r.why, "201"));
	r = classify(SMS_TWILIO, 400, "{\"code\": 21610, \"message\":"
	    " \"Attempt to send to unsubscribed recipient\", \"status\":"
	    " 400}", GW_PERMFAIL, GW_SMS_OPTED_OUT);
	assert_non_null(strstr(r.why, "21610"));
	classify(SMS_TWILIO, 400, "{\"code\": 21211}", GW_PERMFAIL,
	    GW_SMS_INVALID);
	classify(SMS_TWILIO, 400, "{\"code\":21614}", GW_PERMFAIL,
	    GW_SMS_INVALID);
	r = classify(SMS_TWILIO, 400, "{\"code\": 21408, \"message\":"
	    " \"Permission to send an SMS has not been enabled\"}",
	    GW_PERMFAIL, GW_SMS_OTHER);
	assert_non_null(strstr(r.why, "21408"));
	classify(SMS_TWILIO, 400, "Bad Request", GW_PERMFAIL, GW_SMS_OTHER);
	/* a reply that ends right after the key asked for */
	r = classify(SMS_WEBHOOK, 200, "\t\n\"id\"", GW_SENT, 0);
	assert_string_equal(r.ref, "");
	/* a reply's control characters never reach the log or the audit */
	r = classify(SMS_TWILIO, 201, "{\"sid\": \"SM1\nforged\"}", GW_SENT,
	    0);
	assert_string_equal(r.ref, "SM1?forged");
	r = classify(SMS_WEBHOOK, 400, "{\"error\":\"bad\tx\r\n\"}",
	    GW_PERMFAIL, GW_SMS_OTHER);
	assert_null(strpbrk(r.why, "\t\r\n"));
	for (i = 0; i < sizeof(temp) / sizeof(temp[0]); i++)
		classify(SMS_TWILIO, temp[i], "{\"code\": 20429}",
		    GW_TEMPFAIL, 0);
	for (i = 0; i < sizeof(refused_us) / sizeof(refused_us[0]); i++) {
		r = classify(SMS_TWILIO, refused_us[i], "{\"code\": 20003,"
		    " \"message\": \"Authenticate\"}", GW_TEMPFAIL, 0);
		assert_non_null(strstr(r.why, "credentials"));
	}
	/* webhook */
	r = classify(SMS_WEBHOOK, 200, "{\"id\":\"wh-1\"}", GW_SENT, 0);
	assert_string_equal(r.ref, "wh-1");
	r = classify(SMS_WEBHOOK, 202, "{\"id\": 12345}", GW_SENT, 0);
	assert_string_equal(r.ref, "12345");
	r = classify(SMS_WEBHOOK, 204, "", GW_SENT, 0);
	assert_string_equal(r.ref, "");
	classify(SMS_WEBHOOK, 400, "{\"error\":\"opted_out\"}", GW_PERMFAIL,
	    GW_SMS_OPTED_OUT);
	classify(SMS_WEBHOOK, 422, "{\"error\": \"invalid_number\"}",
	    GW_PERMFAIL, GW_SMS_INVALID);
	r = classify(SMS_WEBHOOK, 400, "{\"error\":\"quota\"}", GW_PERMFAIL,
	    GW_SMS_OTHER);
	assert_non_null(strstr(r.why, "quota"));
	classify(SMS_WEBHOOK, 503, "{\"error\":\"opted_out\"}", GW_TEMPFAIL,
	    0);
	r = classify(SMS_WEBHOOK, 401, "no", GW_TEMPFAIL, 0);
	assert_non_null(strstr(r.why, "credentials"));
	/* kannel */
	r = classify(SMS_KANNEL, 202, "0: Accepted for delivery", GW_SENT, 0);
	assert_string_equal(r.ref, "");
	/* Kannel's 400s give no reason to mark a number by */
	r = classify(SMS_KANNEL, 400, "Invalid receiver\n", GW_PERMFAIL,
	    GW_SMS_OTHER);
	assert_non_null(strstr(r.why, "Invalid receiver"));
	classify(SMS_KANNEL, 503, "Temporal failure, try again later.",
	    GW_TEMPFAIL, 0);
	classify(SMS_KANNEL, 403, "Authorization failed for sendsms",
	    GW_TEMPFAIL, 0);
	/* a hostile body is cut at its first line and made printable */
	r = classify(SMS_KANNEL, 500, "a\x01" "b\nsecond line", GW_TEMPFAIL,
	    0);
	assert_string_equal(r.why, "HTTP 500: a?b");
}

/* A reply cut off after its status line: the status decides. */
static void
test_classify_cut(void **state)
{
	static const char part[] = "{\"sid\": \"SM12";
	struct gw_sms_reply r;

	(void)state;
	/* sent, with no id: what arrived ends inside it */
	gw_sms_classify(SMS_TWILIO, 201, part, strlen(part), "Operation"
	    " timed out", &r);
	assert_int_equal(r.result, GW_SENT);
	assert_string_equal(r.ref, "");
	assert_string_equal(r.why, "HTTP 201, id unknown: reply cut off:"
	    " Operation timed out");
	gw_sms_classify(SMS_WEBHOOK, 200, "{\"id\":\"wh-1\"}", 13,
	    "transfer closed", &r);
	assert_int_equal(r.result, GW_SENT);
	assert_string_equal(r.ref, "");
	gw_sms_classify(SMS_KANNEL, 202, "", 0, "x", &r);
	assert_int_equal(r.result, GW_SENT);
	/* no refusal read whole: tried again, even a 4xx */
	gw_sms_classify(SMS_TWILIO, 400, "{\"code\": 21610", 15, "x", &r);
	assert_int_equal(r.result, GW_TEMPFAIL);
	assert_int_equal(r.refusal, GW_SMS_OTHER);
	gw_sms_classify(SMS_WEBHOOK, 503, "", 0, "reset\nforged", &r);
	assert_int_equal(r.result, GW_TEMPFAIL);
	assert_string_equal(r.why, "HTTP 503, reply cut off: reset?forged");
}

/* ---- the driver on the wire ------------------------------------------- */

/*
 * A gateway on 127.0.0.1 that answers each request with REPLY and then
 * closes the connection, or holds it (HOLD) until the client closes it:
 * a reply cut off by a drop, or stalled until the client's timeout.  It
 * counts the requests it read whole.
 */
struct fakegw {
	int		 fd;
	int		 port;
	const char	*reply;
	int		 hold;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	int		 requests;
	char		 url[64];
};

/* Reads one request (head and Content-Length body) from C; 0, or -1. */
static int
fakegw_read(int c)
{
	char req[8192], *eoh, *cl;
	size_t n = 0, want;
	ssize_t r;

	for (;;) {
		if (n + 1 >= sizeof(req) ||
		    (r = read(c, req + n, sizeof(req) - 1 - n)) <= 0)
			return -1;
		n += (size_t)r;
		req[n] = '\0';
		if ((eoh = strstr(req, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(req, "\r\nContent-Length:");
		want = (size_t)(eoh + 4 - req);
		if (cl != NULL && cl < eoh)
			want += strtoul(cl + 17, NULL, 10);
		if (n >= want)
			return 0;
	}
}

static void *
fakegw_run(void *arg)
{
	struct fakegw *g = arg;
	struct pollfd pfd;
	char drain[512];
	int c;

	/* until fakegw_stop() shuts the listening socket down */
	while ((c = accept(g->fd, NULL, NULL)) != -1) {
		if (fakegw_read(c) == 0) {
			pthread_mutex_lock(&g->lock);
			g->requests++;
			pthread_mutex_unlock(&g->lock);
			/* a short write shows as the client's outcome */
			if (write(c, g->reply, strlen(g->reply)) == -1)
				g->hold = 0;
			/* bounded, so a broken client cannot hang the test */
			pfd.fd = c;
			pfd.events = POLLIN;
			while (g->hold && poll(&pfd, 1, 30000) == 1 &&
			    read(c, drain, sizeof(drain)) > 0)
				;
		}
		close(c);
	}
	return NULL;
}

static void
fakegw_start(struct fakegw *g, const char *reply, int hold)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(g, 0, sizeof(*g));
	g->reply = reply;
	g->hold = hold;
	pthread_mutex_init(&g->lock, NULL);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((g->fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(g->fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(listen(g->fd, 8), 0);
	assert_int_equal(getsockname(g->fd, (struct sockaddr *)&sin, &len),
	    0);
	g->port = ntohs(sin.sin_port);
	snprintf(g->url, sizeof(g->url), "http://127.0.0.1:%d/sms", g->port);
	assert_int_equal(pthread_create(&g->thread, NULL, fakegw_run, g), 0);
}

/* Stops G; the requests it read. */
static int
fakegw_stop(struct fakegw *g)
{
	shutdown(g->fd, SHUT_RDWR);
	pthread_join(g->thread, NULL);
	close(g->fd);
	pthread_mutex_destroy(&g->lock);
	return g->requests;
}

/* One SMS through the webhook driver to a gateway answering REPLY. */
static struct gw_sms_reply
send_to(struct gw_sms *h, const char *reply, int hold, int *requests)
{
	struct fakegw g;
	struct conf_sms s;
	struct gw_sms_msg m = gw_msg("hi");
	struct gw_sms_reply r;

	fakegw_start(&g, reply, hold);
	s = gw_conf(SMS_WEBHOOK, g.url, "", "whsec");
	/* a stall ends the test's wait; any other reply ends it sooner,
	 * however busy the machine */
	s.connect_timeout_s = 30;
	s.timeout_s = hold ? 2 : 30;
	gw_sms_send(h, &s, &m, NOW, &r);
	*requests = fakegw_stop(&g);
	return r;
}

/*
 * A gateway that answers 2xx and then stalls or drops the connection
 * took the SMS: sent, once, its id unknown.  Before the fix each such
 * reply was a deferral, and the worker sent the SMS again (six times in
 * 20 s against one gateway).
 */
static void
test_send_cut_off(void **state)
{
	struct gw_sms *h = gw_sms_new(NULL);
	struct gw_sms_reply r;
	int n;

	(void)state;
	/* whole: the id kept */
	r = send_to(h, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 13\r\nConnection: close\r\n\r\n"
	    "{\"id\":\"wh-1\"}", 0, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r.result, GW_SENT);
	assert_string_equal(r.ref, "wh-1");
	assert_string_equal(r.why, "HTTP 200, id wh-1");
	/* 200, then the body stalls past sms.timeout */
	r = send_to(h, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 40\r\n\r\n{\"id\":\"wh-", 1, &n);
	assert_int_equal(n, 1);
	if (r.result != GW_SENT)
		fail_msg("a stalled 200 not sent: %s", r.why);
	assert_string_equal(r.ref, "");
	assert_non_null(strstr(r.why, "HTTP 200, id unknown: reply cut off"));
	/* 201, then the connection drops */
	r = send_to(h, "HTTP/1.1 201 Created\r\nContent-Length: 80\r\n\r\n"
	    "{\"id\": \"wh-2", 0, &n);
	assert_int_equal(n, 1);
	if (r.result != GW_SENT)
		fail_msg("a dropped 201 not sent: %s", r.why);
	assert_string_equal(r.ref, "");
	assert_non_null(strstr(r.why, "HTTP 201, id unknown: reply cut off"));
	/* a 503 cut off, and no status line at all: tried again */
	r = send_to(h, "HTTP/1.1 503 Unavailable\r\nContent-Length: 80\r\n"
	    "\r\n{", 0, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r.result, GW_TEMPFAIL);
	assert_non_null(strstr(r.why, "HTTP 503, reply cut off"));
	r = send_to(h, "", 0, &n);
	assert_int_equal(n, 1);
	assert_int_equal(r.result, GW_TEMPFAIL);
	assert_null(strstr(r.why, "HTTP"));
	gw_sms_free(h);
}

/* ---- the store -------------------------------------------------------- */

struct sx {
	char		 dir[64];
	char		 db[256];
	struct store	*st;
	int64_t		 sam;		/* phone PHONE, New York, US-FL */
	int64_t		 ned;		/* nothing about SMS */
};

static int64_t
sx_customer(struct sx *x, const char *email, const char *phone,
    const char *tz, const char *country, const char *region)
{
	struct store_customer c;
	enum store_change ch;
	int64_t id = 0;

	memset(&c, 0, sizeof(c));
	c.email = email;
	c.phone = phone;
	c.time_zone = tz;
	c.country = country;
	c.region = region;
	if (store_customer_upsert(x->st, &c, &id, &ch) != 0)
		fail_msg("%s", store_error(x->st));
	return id;
}

static void
sx_consent(struct sx *x, int64_t id, int granted, const char *evidence,
    int64_t at)
{
	struct store_consent c;
	enum store_change ch;

	memset(&c, 0, sizeof(c));
	c.customer_id = id;
	c.channel = CHANNEL_SMS;
	c.granted = granted;
	c.source = "sms_keyword";
	c.recorded_at = at;
	c.evidence = evidence;
	if (store_consent_record(x->st, &c, 0, &ch) != 0)
		fail_msg("%s", store_error(x->st));
}

static int
sx_setup(void **state)
{
	struct sx *x = calloc(1, sizeof(*x));
	char err[512];

	assert_non_null(x);
	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-smsstore-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	tstore_name(x->dir, x->db, sizeof(x->db));
	if (store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	x->sam = sx_customer(x, "sam@example.com", PHONE,
	    "America/New_York", "US", "FL");
	x->ned = sx_customer(x, "ned@example.com", NULL, NULL, NULL, NULL);
	sx_consent(x, x->sam, 1, "replied YES to 12345", NOW - 10 * DAY);
	*state = x;
	return 0;
}

static int
sx_teardown(void **state)
{
	struct sx *x = *state;
	char cmd[160];

	store_close(x->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

static struct store_sms_facts
sx_facts(struct sx *x, int64_t id, const char *campaign)
{
	struct store_sms_facts f;

	if (store_sms_facts_get(x->st, id, campaign, NOW, &f) != 0)
		fail_msg("facts %lld: %s", (long long)id, store_error(x->st));
	return f;
}

/* Queues an SMS job for ID in CAMPAIGN created at AT; store_outbox_add's
 * result, the job's id in *JOB.  -1 fails the test unless MAY_FAIL. */
static int
sx_add(struct sx *x, int64_t id, const char *campaign, int64_t at,
    int64_t *job, int may_fail)
{
	struct store_job j;
	char key[64];
	int rc;

	snprintf(key, sizeof(key), "sms-%s-%lld", campaign, (long long)id);
	memset(&j, 0, sizeof(j));
	j.kind = "sms";
	j.campaign_id = campaign;
	j.message_key = "<m1@example.com>";
	j.variant = "";
	j.sender = "";
	j.recipients = PHONE;
	j.message = "Spring sale";
	j.len = strlen("Spring sale");
	j.nonce = key;
	j.not_before = at;
	j.created_at = at;
	j.customer_id = id;
	j.time_zone = "America/New_York";
	j.country = "US";
	j.region = "FL";
	*job = 0;
	rc = store_outbox_add(x->st, &j, job);
	if (rc == -1 && !may_fail)
		fail_msg("%s", store_error(x->st));
	return rc;
}

static int
sx_job(struct sx *x, int64_t id, const char *campaign, int64_t at,
    int64_t *job)
{
	return sx_add(x, id, campaign, at, job, 0);
}

/* The same, when an error is an outcome to look at. */
static int
sx_job_rc(struct sx *x, int64_t id, const char *campaign, int64_t at,
    int64_t *job)
{
	return sx_add(x, id, campaign, at, job, 1);
}

/* The email policy's view of F, as the milter builds it. */
static struct policy_sms_facts
from_store(const struct store_sms_facts *f)
{
	struct policy_sms_facts p;

	memset(&p, 0, sizeof(p));
	p.has_consent = f->has_consent;
	p.consent_granted = f->consent_granted;
	p.consent_at = f->consent_at;
	p.has_evidence = f->has_evidence;
	p.phone = f->phone;
	p.phone_status = f->phone_status;
	p.phone_status_at = f->phone_status_at;
	p.sent_day = f->sent_day;
	p.sent_month = f->sent_month;
	p.campaign_job = f->campaign_job;
	p.parts = 1;
	p.has_place = f->time_zone[0] != '\0';
	return p;
}

static void
test_store_facts(void **state)
{
	struct sx *x = *state;
	struct store_sms_facts f;
	struct policy_sms_facts p;
	struct policy_sms_decision d;

	f = sx_facts(x, x->sam, "c1");
	assert_string_equal(f.phone, PHONE);
	assert_string_equal(f.time_zone, "America/New_York");
	assert_string_equal(f.country, "US");
	assert_string_equal(f.region, "FL");
	assert_int_equal(f.has_consent, 1);
	assert_int_equal(f.consent_granted, 1);
	assert_int_equal(f.consent_at, NOW - 10 * DAY);
	assert_int_equal(f.has_evidence, 1);
	assert_string_equal(f.consent_evidence,
	    "granted sms_keyword: replied YES to 12345");
	assert_string_equal(f.phone_status, "");
	assert_int_equal(f.phone_status_at, 0);
	assert_int_equal(f.sent_day, 0);
	assert_int_equal(f.sent_month, 0);
	assert_int_equal(f.campaign_job, 0);
	p = from_store(&f);
	assert_int_equal(decide(&p, &d), POLICY_SMS_QUEUE);

	/* nobody there */
	assert_int_equal(store_sms_facts_get(x->st, x->ned + 1000, "c1", NOW,
	    &f), 1);

	/* no number, no place, no consent */
	f = sx_facts(x, x->ned, "c1");
	assert_string_equal(f.phone, "");
	assert_string_equal(f.time_zone, "");
	assert_string_equal(f.country, "");
	assert_int_equal(f.has_consent, 0);
	assert_int_equal(f.consent_granted, 0);
	assert_int_equal(f.has_evidence, 0);
	assert_string_equal(f.consent_evidence, "");
	p = from_store(&f);
	assert_int_equal(decide(&p, &d), POLICY_SMS_NO_CONSENT);

	/* a grant with no evidence */
	sx_consent(x, x->ned, 1, NULL, NOW - DAY);
	f = sx_facts(x, x->ned, "c1");
	assert_int_equal(f.has_consent, 1);
	assert_int_equal(f.consent_granted, 1);
	assert_int_equal(f.has_evidence, 0);
	assert_string_equal(f.consent_evidence, "granted sms_keyword");
	p = from_store(&f);
	assert_int_equal(decide(&p, &d), POLICY_SMS_NO_EVIDENCE);
}

/*
 * A batch finds for each customer what a lookup of its own finds (jobs,
 * caps, consent, number), across the batch boundary, with a customer
 * that does not exist.
 */
static void
test_store_facts_batch(void **state)
{
	struct sx *x = *state;
	struct store_sms_facts *many[70], one;
	int64_t ids[70], job;
	int found[70];
	size_t i;

	assert_int_equal(sx_job(x, x->sam, "c1", NOW - HOUR, &job), 0);
	for (i = 0; i < 70; i++) {
		ids[i] = i % 3 == 0 ? x->sam : i % 3 == 1 ? x->ned :
		    x->ned + 1000;
		many[i] = malloc(sizeof(**many));
		memset(many[i], 0xa5, sizeof(**many));	/* must be cleared */
	}
	if (store_sms_facts_get_many(x->st, ids, 70, "c1", NOW, many,
	    found) != 0)
		fail_msg("%s", store_error(x->st));
	for (i = 0; i < 70; i++) {
		assert_int_equal(found[i], i % 3 != 2);
		assert_int_equal(store_sms_facts_get(x->st, ids[i], "c1", NOW,
		    &one), i % 3 == 2);
		if (memcmp(&one, many[i], sizeof(one)) != 0)
			fail_msg("customer %zu differs", i);
	}
	assert_int_equal(many[69]->campaign_job, job);
	assert_int_equal(many[69]->sent_day, 1);
	assert_string_equal(many[69]->phone, PHONE);
	assert_int_equal(many[67]->campaign_job, 0);
	assert_string_equal(many[67]->phone, "");
	for (i = 0; i < 70; i++)
		free(many[i]);
}

/*
 * The jobs queued since a given one, for the caps re-check: counted as
 * the facts count them, across the batch boundary.
 */
static void
test_store_jobs_since(void **state)
{
	struct sx *x = *state;
	int64_t seen, c2, ned1, c3, ids[70], count[70], job[70];
	size_t i;

	assert_int_equal(sx_job(x, x->sam, "c1", NOW - HOUR, &seen), 0);
	assert_int_equal(sx_job(x, x->sam, "c2", NOW, &c2), 0);
	assert_int_equal(sx_job(x, x->ned, "c1", NOW, &ned1), 0);
	assert_int_equal(sx_job(x, x->sam, "c3", NOW, &c3), 0);
	assert_int_equal(store_outbox_update(x->st, c3, JOB_FAILED, 0,
	    "HTTP 400", NOW), 0);
	for (i = 0; i < 70; i++)
		ids[i] = i % 3 == 0 ? x->sam : i % 3 == 1 ? x->ned :
		    x->ned + 1000;
	if (store_sms_jobs_since(x->st, seen, ids, 70, "c3", count,
	    job) != 0)
		fail_msg("%s", store_error(x->st));
	for (i = 0; i < 70; i++) {
		/* the job seen is not since; the failed one sent nothing,
		 * but it is c3's all the same */
		assert_int_equal(count[i], i % 3 == 2 ? 0 : 1);
		assert_int_equal(job[i], i % 3 == 0 ? c3 : 0);
	}
	/* since the newest: nothing to add */
	assert_int_equal(store_sms_jobs_since(x->st, c3, ids, 70, "c1",
	    count, job), 0);
	for (i = 0; i < 70; i++)
		assert_int_equal(count[i] + job[i], 0);
	/* ... since c2: only ned's (and sam's failed one, not counted) */
	assert_int_equal(store_sms_jobs_since(x->st, c2, ids, 2, "c1",
	    count, job), 0);
	assert_int_equal(count[0], 0);
	assert_int_equal(count[1], 1);
	assert_int_equal(job[1], ned1);
}

static void
test_store_jobs(void **state)
{
	struct sx *x = *state;
	struct store_sms_facts f;
	int64_t c1, again, old, failed, cancelled, edge, email;
	struct store_job j;

	assert_int_equal(sx_job(x, x->sam, "c1", NOW - HOUR, &c1), 0);
	assert_true(c1 > 0);
	f = sx_facts(x, x->sam, "c1");
	assert_int_equal(f.campaign_job, c1);
	assert_int_equal(f.sent_day, 1);
	assert_int_equal(f.sent_month, 1);
	f = sx_facts(x, x->sam, "c2");
	assert_int_equal(f.campaign_job, 0);
	assert_int_equal(f.sent_day, 1);
	assert_int_equal(f.sent_month, 1);

	/* one SMS per campaign and customer: the second is refused, 1 */
	assert_int_equal(sx_job_rc(x, x->sam, "c1", NOW, &again), 1);
	f = sx_facts(x, x->sam, "c1");
	assert_int_equal(f.campaign_job, c1);
	assert_int_equal(f.sent_day, 1);
	/* ... but another customer may have theirs */
	assert_int_equal(sx_job(x, x->ned, "c1", NOW, &again), 0);
	assert_int_not_equal(again, c1);
	assert_int_equal(sx_facts(x, x->sam, "c1").sent_day, 1);

	/* two days ago: this month, not today */
	assert_int_equal(sx_job(x, x->sam, "c2", NOW - 2 * DAY, &old), 0);
	f = sx_facts(x, x->sam, "c2");
	assert_int_equal(f.campaign_job, old);
	assert_int_equal(f.sent_day, 1);
	assert_int_equal(f.sent_month, 2);
	/* exactly 24 h ago is out of the day; 24 h less a second is in */
	assert_int_equal(sx_job(x, x->sam, "c3", NOW - DAY, &edge), 0);
	f = sx_facts(x, x->sam, "c3");
	assert_int_equal(f.sent_day, 1);
	assert_int_equal(f.sent_month, 3);
	assert_int_equal(sx_job(x, x->sam, "c4", NOW - DAY + 1, &edge), 0);
	f = sx_facts(x, x->sam, "c4");
	assert_int_equal(f.sent_day, 2);
	assert_int_equal(f.sent_month, 4);
	/* 31 days ago: neither */
	assert_int_equal(sx_job(x, x->sam, "c5", NOW - 31 * DAY, &edge), 0);
	assert_int_equal(sx_facts(x, x->sam, "c5").sent_month, 4);

	/* failed and cancelled jobs sent nothing */
	assert_int_equal(sx_job(x, x->sam, "c6", NOW - 60, &failed), 0);
	assert_int_equal(sx_job(x, x->sam, "c7", NOW - 60, &cancelled), 0);
	f = sx_facts(x, x->sam, "c6");
	assert_int_equal(f.sent_day, 4);
	assert_int_equal(f.sent_month, 6);
	assert_int_equal(store_outbox_update(x->st, failed, JOB_FAILED, 0,
	    "HTTP 400", NOW), 0);
	assert_int_equal(store_outbox_update(x->st, cancelled,
	    JOB_CANCELLED, 0, NULL, NOW), 0);
	f = sx_facts(x, x->sam, "c6");
	assert_int_equal(f.sent_day, 2);
	assert_int_equal(f.sent_month, 4);
	/* but it still is the campaign's SMS: no second one */
	assert_int_equal(f.campaign_job, failed);
	/* sent ones do count */
	assert_int_equal(store_outbox_update(x->st, c1, JOB_SENT, 0, NULL,
	    NOW), 0);
	assert_int_equal(sx_facts(x, x->sam, "c1").sent_day, 2);

	/* an email job for them is not an SMS */
	memset(&j, 0, sizeof(j));
	j.kind = "email";
	j.campaign_id = "c8";
	j.message_key = "<m2@example.com>";
	j.variant = "";
	j.sender = "<shop@example.com>";
	j.recipients = "sam@example.com";
	j.message = "x";
	j.len = 1;
	j.not_before = NOW;
	j.created_at = NOW;
	j.customer_id = x->sam;
	assert_int_equal(store_outbox_add(x->st, &j, &email), 0);
	f = sx_facts(x, x->sam, "c8");
	assert_int_equal(f.sent_day, 2);
	assert_int_equal(f.campaign_job, 0);
}

static void
test_store_phone_mark(void **state)
{
	struct sx *x = *state;
	struct store_sms_facts f;
	struct policy_sms_facts p;
	struct policy_sms_decision d;
	struct store_consent c;
	int64_t n = -1, bob, cat;

	/* STOP: the number is out, and the consent revoked with it */
	assert_int_equal(store_phone_mark(x->st, PHONE, PHONE_OPTED_OUT,
	    "twilio", "error 21610", NOW - 100, &n), 0);
	assert_int_equal(n, 1);
	f = sx_facts(x, x->sam, "c1");
	assert_string_equal(f.phone_status, "opted_out");
	assert_int_equal(f.phone_status_at, NOW - 100);
	assert_int_equal(f.has_consent, 1);
	assert_int_equal(f.consent_granted, 0);
	assert_int_equal(f.consent_at, NOW - 100);
	assert_int_equal(f.has_evidence, 1);
	assert_string_equal(f.consent_evidence, "revoked twilio: error 21610");
	assert_int_equal(store_consent_get(x->st, x->sam, CHANNEL_SMS, &c),
	    0);
	assert_int_equal(c.granted, 0);
	assert_string_equal(c.evidence, "error 21610");
	p = from_store(&f);
	assert_int_equal(decide(&p, &d), POLICY_SMS_OPTED_OUT);

	/* consent given again afterwards: eligible again */
	sx_consent(x, x->sam, 1, "replied START", NOW - 10);
	f = sx_facts(x, x->sam, "c1");
	assert_string_equal(f.phone_status, "opted_out");
	assert_int_equal(f.consent_granted, 1);
	p = from_store(&f);
	assert_int_equal(decide(&p, &d), POLICY_SMS_QUEUE);

	/* then the gateway finds the number invalid: that replaces it */
	assert_int_equal(store_phone_mark(x->st, PHONE, PHONE_INVALID,
	    "twilio", "error 21211", NOW - 5, &n), 0);
	assert_int_equal(n, 0);
	f = sx_facts(x, x->sam, "c1");
	assert_string_equal(f.phone_status, "invalid");
	assert_int_equal(f.phone_status_at, NOW - 5);
	assert_int_equal(f.consent_granted, 1);	/* not a revocation */
	p = from_store(&f);
	assert_int_equal(decide(&p, &d), POLICY_SMS_BAD_NUMBER);

	/* older news changes nothing, neither status nor consent: 1 */
	n = -1;
	assert_int_equal(store_phone_mark(x->st, PHONE, PHONE_OPTED_OUT,
	    "kannel", "STOP", NOW - 200, &n), 1);
	assert_int_equal(n, 0);
	/* nor does the same news again */
	assert_int_equal(store_phone_mark(x->st, PHONE, PHONE_INVALID,
	    "twilio", "error 21211", NOW - 5, &n), 1);
	f = sx_facts(x, x->sam, "c1");
	assert_string_equal(f.phone_status, "invalid");
	assert_int_equal(f.phone_status_at, NOW - 5);
	assert_int_equal(f.consent_granted, 1);
	assert_int_equal(f.consent_at, NOW - 10);

	/* a number shared by two customers stops both */
	bob = sx_customer(x, "bob@example.com", "+15550002222",
	    "America/Chicago", "US", "IL");
	cat = sx_customer(x, "cat@example.com", "+15550002222", NULL, "US",
	    NULL);
	sx_consent(x, bob, 1, "web form", NOW - DAY);
	assert_int_equal(store_phone_mark(x->st, "+15550002222",
	    PHONE_OPTED_OUT, "sms_reply", "STOP", NOW, &n), 0);
	assert_int_equal(n, 2);
	f = sx_facts(x, bob, "c1");
	assert_string_equal(f.phone_status, "opted_out");
	assert_int_equal(f.consent_granted, 0);
	f = sx_facts(x, cat, "c1");
	assert_string_equal(f.phone_status, "opted_out");
	assert_int_equal(f.has_consent, 1);
	assert_int_equal(f.consent_granted, 0);
	/* ... and nobody else */
	assert_string_equal(sx_facts(x, x->sam, "c1").phone_status,
	    "invalid");
	/* a number nobody has: noted, nobody to revoke */
	assert_int_equal(store_phone_mark(x->st, "+15559999999",
	    PHONE_OPTED_OUT, "sms_reply", "STOP", NOW, &n), 0);
	assert_int_equal(n, 0);
}

/*
 * The queue id a re-injected copy got, from the MTA's reply to its dot:
 * Postfix's and Sendmail's forms, and replies that name none.
 */
static void
test_smtp_queue_id(void **state)
{
	char id[64];

	(void)state;
	gw_smtp_queue_id("250 2.0.0 Ok: queued as 4F1A2B3C4D", id, sizeof(id));
	assert_string_equal(id, "4F1A2B3C4D");
	/* Postfix's long queue ids */
	gw_smtp_queue_id("250 2.0.0 Ok: queued as 4dP2Bx6RQlzZ1Y4", id,
	    sizeof(id));
	assert_string_equal(id, "4dP2Bx6RQlzZ1Y4");
	gw_smtp_queue_id("250 2.0.0 5B6HqA1x012345 Message accepted for"
	    " delivery", id, sizeof(id));
	assert_string_equal(id, "5B6HqA1x012345");
	/* no enhanced status code */
	gw_smtp_queue_id("250 5B6HqA1x012345 Message accepted for delivery",
	    id, sizeof(id));
	assert_string_equal(id, "5B6HqA1x012345");
	gw_smtp_queue_id("250 Ok", id, sizeof(id));
	assert_string_equal(id, "");
	gw_smtp_queue_id("250 2.0.0 Ok: queued as ", id, sizeof(id));
	assert_string_equal(id, "");
	/* a refusal names nothing, whatever its words */
	gw_smtp_queue_id("554 5.7.1 queued as ABC", id, sizeof(id));
	assert_string_equal(id, "");
	/* what does not fit is not cut into a wrong id */
	gw_smtp_queue_id("250 2.0.0 Ok: queued as ABCDEFGHIJ", id, 8);
	assert_string_equal(id, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sms_queue),
		cmocka_unit_test(test_smtp_queue_id),
		cmocka_unit_test(test_sms_opted_out),
		cmocka_unit_test(test_sms_no_consent),
		cmocka_unit_test(test_sms_no_evidence),
		cmocka_unit_test(test_sms_bad_number),
		cmocka_unit_test(test_sms_duplicate),
		cmocka_unit_test(test_sms_capped),
		cmocka_unit_test(test_sms_too_long_no_text_no_place),
		cmocka_unit_test(test_sms_reason_order),
		cmocka_unit_test(test_e164),
		cmocka_unit_test(test_local_due),
		cmocka_unit_test(test_due_new_york),
		cmocka_unit_test(test_due_london_sydney),
		cmocka_unit_test(test_due_country),
		cmocka_unit_test(test_due_never),
		cmocka_unit_test(test_due_until_midnight),
		cmocka_unit_test(test_due_brute_force),
		cmocka_unit_test(test_window_parse),
		cmocka_unit_test(test_sms_window_rules),
		cmocka_unit_test_setup_teardown(test_conf_sms_load, cf_setup,
		    cf_teardown),
		cmocka_unit_test_setup_teardown(test_conf_sms_errors,
		    cf_setup, cf_teardown),
		cmocka_unit_test(test_size_gsm7),
		cmocka_unit_test(test_size_ucs2),
		cmocka_unit_test(test_size_invalid),
		cmocka_unit_test(test_encode_twilio),
		cmocka_unit_test(test_encode_kannel),
		cmocka_unit_test(test_encode_webhook),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_classify_cut),
		cmocka_unit_test(test_send_cut_off),
		cmocka_unit_test_setup_teardown(test_store_facts, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_store_facts_batch,
		    sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_store_jobs_since,
		    sx_setup, sx_teardown),
		cmocka_unit_test_setup_teardown(test_store_jobs, sx_setup,
		    sx_teardown),
		cmocka_unit_test_setup_teardown(test_store_phone_mark,
		    sx_setup, sx_teardown),
	};

	gateway_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
