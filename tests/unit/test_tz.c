/*
 * test_tz.c - time zones against the system tz database (Debian's fat
 * TZif files), against slim files built here that lean on the POSIX
 * footer, and against malformed files that must be refused, never read
 * out of bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <cmocka.h>

#include "tz.h"

#define H	3600

/* Y-M-D hh:mm:ss as if UTC: an instant, or a wall time for tz_from_local. */
static int64_t
ut(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

static struct tz *
load(const char *name)
{
	struct tz *z = NULL;
	char err[256];

	if (tz_load(TZ_DIR, name, &z, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	return z;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
put64(unsigned char *p, int64_t v)
{
	put32(p, (uint32_t)((uint64_t)v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* What build() writes: a TZif file, v1 or (VER '2'..) slim v2+. */
struct tzif {
	int		 ver;		/* 0, '2', '3', '4' */
	size_t		 ntrans;
	const int64_t	*trans;
	const unsigned char *idx;
	size_t		 ntypes;
	const int32_t	*off;
	const char	*footer;	/* v2+: between the newlines */
};

static unsigned char *
header(unsigned char *p, int ver, size_t ntrans, size_t ntypes)
{
	memset(p, 0, 44);
	memcpy(p, "TZif", 4);
	p[4] = (unsigned char)ver;
	put32(p + 32, (uint32_t)ntrans);
	put32(p + 36, (uint32_t)ntypes);
	put32(p + 40, 4);
	return p + 44;
}

/* Types and the abbreviation "XXX" they all share. */
static unsigned char *
types(unsigned char *p, size_t ntypes, const int32_t *off)
{
	size_t i;

	for (i = 0; i < ntypes; i++) {
		put32(p, (uint32_t)off[i]);
		p[4] = 0;
		p[5] = 0;
		p += 6;
	}
	memcpy(p, "XXX", 4);
	return p + 4;
}

static size_t
build(const struct tzif *t, unsigned char *buf, size_t cap)
{
	static const int32_t zero[1] = { 0 };
	unsigned char *p = buf;
	size_t i;

	assert_true(cap >= 200 + t->ntrans * 9 + t->ntypes * 6 +
	    (t->footer != NULL ? strlen(t->footer) : 0));
	if (t->ver == 0) {
		p = header(p, 0, t->ntrans, t->ntypes);
		for (i = 0; i < t->ntrans; i++, p += 4)
			put32(p, (uint32_t)(int32_t)t->trans[i]);
		if (t->ntrans > 0)
			memcpy(p, t->idx, t->ntrans);
		p = types(p + t->ntrans, t->ntypes, t->off);
		return (size_t)(p - buf);
	}
	/* the v1 block as zic -b slim writes it: one type, no data */
	p = header(p, t->ver, 0, 1);
	p = types(p, 1, zero);
	p = header(p, t->ver, t->ntrans, t->ntypes);
	for (i = 0; i < t->ntrans; i++, p += 8)
		put64(p, t->trans[i]);
	if (t->ntrans > 0)
		memcpy(p, t->idx, t->ntrans);
	p = types(p + t->ntrans, t->ntypes, t->off);
	*p++ = '\n';
	memcpy(p, t->footer, strlen(t->footer));
	p += strlen(t->footer);
	*p++ = '\n';
	return (size_t)(p - buf);
}

/* A slim file: no transitions at all, everything from FOOTER. */
static struct tz *
slim(const char *footer)
{
	static const int32_t off[1] = { 0 };
	struct tzif t = { '2', 0, NULL, NULL, 1, off, footer };
	unsigned char buf[512];
	struct tz *z = NULL;
	const char *why;
	size_t n;

	n = build(&t, buf, sizeof(buf));
	if (tz_parse(buf, n, &z, &why) == -1)
		fail_msg("\"%s\": %s", footer, why);
	return z;
}

/* The offset changes from BEFORE to AFTER exactly at T. */
static void
expect_change(const struct tz *z, int64_t t, int32_t before, int32_t after)
{
	assert_int_equal(tz_offset(z, t - 1), before);
	assert_int_equal(tz_offset(z, t), after);
}

static void
test_new_york(void **state)
{
	struct tz *z = load("America/New_York");

	(void)state;
	expect_change(z, ut(2026, 3, 8, 7, 0, 0), -5 * H, -4 * H);
	expect_change(z, ut(2026, 11, 1, 6, 0, 0), -4 * H, -5 * H);
	assert_int_equal(tz_offset(z, ut(2026, 1, 15, 12, 0, 0)), -5 * H);
	assert_int_equal(tz_offset(z, ut(2026, 7, 15, 12, 0, 0)), -4 * H);
	/* an ordinary wall time, in summer and in winter */
	assert_int_equal(tz_from_local(z, ut(2026, 7, 15, 21, 0, 0)),
	    ut(2026, 7, 16, 1, 0, 0));
	assert_int_equal(tz_from_local(z, ut(2026, 1, 15, 8, 0, 0)),
	    ut(2026, 1, 15, 13, 0, 0));
	/* the gap: 02:30 does not exist, it is read as 03:30 EDT */
	assert_int_equal(tz_from_local(z, ut(2026, 3, 8, 2, 30, 0)),
	    ut(2026, 3, 8, 7, 30, 0));
	assert_int_equal(tz_from_local(z, ut(2026, 3, 8, 2, 0, 0)),
	    ut(2026, 3, 8, 7, 0, 0));
	assert_int_equal(tz_from_local(z, ut(2026, 3, 8, 1, 59, 59)),
	    ut(2026, 3, 8, 6, 59, 59));
	assert_int_equal(tz_from_local(z, ut(2026, 3, 8, 3, 0, 0)),
	    ut(2026, 3, 8, 7, 0, 0));
	/* the overlap: 01:30 happens twice, the EDT one is first */
	assert_int_equal(tz_from_local(z, ut(2026, 11, 1, 1, 30, 0)),
	    ut(2026, 11, 1, 5, 30, 0));
	assert_int_equal(tz_from_local(z, ut(2026, 11, 1, 1, 0, 0)),
	    ut(2026, 11, 1, 5, 0, 0));
	assert_int_equal(tz_from_local(z, ut(2026, 11, 1, 2, 0, 0)),
	    ut(2026, 11, 1, 7, 0, 0));
	/* history: before 1883 local mean time, -4:56:02 */
	assert_int_equal(tz_offset(z, ut(1850, 1, 1, 0, 0, 0)), -17762);
	/* and instants nobody will ask for still answer */
	assert_int_equal(tz_offset(z, INT64_MIN), -17762);
	(void)tz_offset(z, INT64_MAX);
	(void)tz_from_local(z, INT64_MAX);
	(void)tz_from_local(z, INT64_MIN);
	tz_free(z);
}

/* Past 2037, where even fat files end: the footer's rule alone. */
static void
test_far_future(void **state)
{
	struct tz *z = load("America/New_York");

	(void)state;
	assert_int_equal(tz_offset(z, ut(2045, 7, 1, 12, 0, 0)), -4 * H);
	assert_int_equal(tz_offset(z, ut(2045, 1, 15, 12, 0, 0)), -5 * H);
	/* second Sunday of March 2045 is the 12th, first of November the 5th */
	expect_change(z, ut(2045, 3, 12, 7, 0, 0), -5 * H, -4 * H);
	expect_change(z, ut(2045, 11, 5, 6, 0, 0), -4 * H, -5 * H);
	assert_int_equal(tz_from_local(z, ut(2045, 3, 12, 2, 30, 0)),
	    ut(2045, 3, 12, 7, 30, 0));
	assert_int_equal(tz_from_local(z, ut(2045, 11, 5, 1, 30, 0)),
	    ut(2045, 11, 5, 5, 30, 0));
	/* leap-year arithmetic far out: 2400 is one, 2100 is not */
	expect_change(z, ut(2400, 3, 12, 7, 0, 0), -5 * H, -4 * H);
	expect_change(z, ut(2100, 3, 14, 7, 0, 0), -5 * H, -4 * H);
	tz_free(z);
}

static void
test_europe_london(void **state)
{
	struct tz *z = load("Europe/London");

	(void)state;
	expect_change(z, ut(2026, 3, 29, 1, 0, 0), 0, H);
	expect_change(z, ut(2026, 10, 25, 1, 0, 0), H, 0);
	assert_int_equal(tz_from_local(z, ut(2026, 3, 29, 1, 30, 0)),
	    ut(2026, 3, 29, 1, 30, 0));	/* gap: 02:30 BST */
	assert_int_equal(tz_from_local(z, ut(2026, 10, 25, 1, 30, 0)),
	    ut(2026, 10, 25, 0, 30, 0));	/* overlap: the BST one */
	assert_int_equal(tz_from_local(z, ut(2026, 6, 1, 9, 0, 0)),
	    ut(2026, 6, 1, 8, 0, 0));
	/* 1968-71: British Standard Time, +1 all year */
	assert_int_equal(tz_offset(z, ut(1970, 1, 15, 0, 0, 0)), H);
	assert_int_equal(tz_offset(z, ut(2050, 7, 1, 0, 0, 0)), H);
	tz_free(z);
}

static void
test_sydney(void **state)
{
	struct tz *z = load("Australia/Sydney");

	(void)state;
	/* southern summer: DST across the new year */
	assert_int_equal(tz_offset(z, ut(2026, 1, 15, 0, 0, 0)), 11 * H);
	assert_int_equal(tz_offset(z, ut(2026, 7, 15, 0, 0, 0)), 10 * H);
	/* first Sunday of April, 03:00 AEDT; first Sunday of October */
	expect_change(z, ut(2026, 4, 4, 16, 0, 0), 11 * H, 10 * H);
	expect_change(z, ut(2026, 10, 3, 16, 0, 0), 10 * H, 11 * H);
	assert_int_equal(tz_from_local(z, ut(2026, 4, 5, 2, 30, 0)),
	    ut(2026, 4, 4, 15, 30, 0));	/* overlap: AEDT */
	assert_int_equal(tz_from_local(z, ut(2026, 10, 4, 2, 30, 0)),
	    ut(2026, 10, 3, 16, 30, 0));	/* gap: 03:30 AEDT */
	assert_int_equal(tz_offset(z, ut(2046, 1, 1, 0, 0, 0)), 11 * H);
	assert_int_equal(tz_offset(z, ut(2046, 6, 1, 0, 0, 0)), 10 * H);
	tz_free(z);
}

static void
test_half_hours(void **state)
{
	struct tz *in = load("Asia/Kolkata");
	struct tz *np = load("Asia/Kathmandu");

	(void)state;
	assert_int_equal(tz_offset(in, ut(2026, 5, 1, 0, 0, 0)), 19800);
	assert_int_equal(tz_offset(in, ut(2050, 5, 1, 0, 0, 0)), 19800);
	assert_int_equal(tz_from_local(in, ut(2026, 5, 1, 22, 0, 0)),
	    ut(2026, 5, 1, 16, 30, 0));
	assert_int_equal(tz_offset(np, ut(2026, 5, 1, 0, 0, 0)), 20700);
	assert_int_equal(tz_from_local(np, ut(2026, 5, 1, 8, 0, 0)),
	    ut(2026, 5, 1, 2, 15, 0));
	/* +5:30 until 1986 */
	assert_int_equal(tz_offset(np, ut(1985, 5, 1, 0, 0, 0)), 19800);
	tz_free(in);
	tz_free(np);
}

/* Slim files: every answer comes from the footer. */
static void
test_slim_footer(void **state)
{
	struct tz *z;

	(void)state;
	z = slim("CET-1CEST,M3.5.0,M10.5.0/3");
	assert_int_equal(tz_offset(z, ut(2026, 1, 15, 0, 0, 0)), H);
	assert_int_equal(tz_offset(z, ut(2026, 7, 15, 0, 0, 0)), 2 * H);
	expect_change(z, ut(2026, 3, 29, 1, 0, 0), H, 2 * H);
	expect_change(z, ut(2026, 10, 25, 1, 0, 0), 2 * H, H);
	expect_change(z, ut(1999, 3, 28, 1, 0, 0), H, 2 * H);
	assert_int_equal(tz_from_local(z, ut(2026, 3, 29, 2, 30, 0)),
	    ut(2026, 3, 29, 1, 30, 0));
	assert_int_equal(tz_from_local(z, ut(2026, 10, 25, 2, 30, 0)),
	    ut(2026, 10, 25, 0, 30, 0));
	tz_free(z);

	z = slim("<+0545>-5:45");
	assert_int_equal(tz_offset(z, ut(2026, 5, 1, 0, 0, 0)), 20700);
	assert_int_equal(tz_from_local(z, ut(2026, 5, 1, 8, 0, 0)),
	    ut(2026, 5, 1, 2, 15, 0));
	tz_free(z);

	/* Israel: the Friday before the last Sunday, 02:00 (Thursday 26:00) */
	z = slim("IST-2IDT,M3.4.4/26,M10.5.0");
	expect_change(z, ut(2026, 3, 27, 0, 0, 0), 2 * H, 3 * H);
	expect_change(z, ut(2026, 10, 24, 23, 0, 0), 3 * H, 2 * H);
	tz_free(z);

	/* Jn never counts February 29: J60 is March 1, also in 2024 */
	z = slim("EST5EDT,J60/2,J300/2");
	expect_change(z, ut(2024, 3, 1, 7, 0, 0), -5 * H, -4 * H);
	expect_change(z, ut(2025, 3, 1, 7, 0, 0), -5 * H, -4 * H);
	expect_change(z, ut(2024, 10, 27, 6, 0, 0), -4 * H, -5 * H);
	tz_free(z);

	/* n is zero-based and does count it: day 59 is Feb 29 in 2024 */
	z = slim("EST5EDT,59/2,299/2");
	expect_change(z, ut(2024, 2, 29, 7, 0, 0), -5 * H, -4 * H);
	expect_change(z, ut(2025, 3, 1, 7, 0, 0), -5 * H, -4 * H);
	expect_change(z, ut(2024, 10, 26, 6, 0, 0), -4 * H, -5 * H);
	tz_free(z);

	/* Nuuk: a negative rule time, 23:00 the day before */
	z = slim("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
	expect_change(z, ut(2026, 3, 29, 1, 0, 0), -2 * H, -H);
	expect_change(z, ut(2026, 10, 25, 1, 0, 0), -H, -2 * H);
	tz_free(z);

	/* 50 hours past the Thursday is Saturday 02:00 */
	z = slim("EET-2EEST,M3.4.4/50,M10.4.4/50");
	expect_change(z, ut(2026, 3, 28, 0, 0, 0), 2 * H, 3 * H);
	expect_change(z, ut(2026, 10, 23, 23, 0, 0), 3 * H, 2 * H);
	tz_free(z);

	/* the extremes of rule times: 167 hours either way */
	z = slim("AAA0BBB,M3.1.0/167,M11.1.0/-167");
	expect_change(z, ut(2026, 3, 7, 23, 0, 0), 0, H);
	expect_change(z, ut(2026, 10, 25, 0, 0, 0), H, 0);
	tz_free(z);

	/* southern hemisphere, and Lord Howe's half-hour DST */
	z = slim("AEST-10AEDT,M10.1.0,M4.1.0/3");
	expect_change(z, ut(2026, 4, 4, 16, 0, 0), 11 * H, 10 * H);
	expect_change(z, ut(2026, 10, 3, 16, 0, 0), 10 * H, 11 * H);
	tz_free(z);
	z = slim("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
	expect_change(z, ut(2026, 4, 4, 15, 0, 0), 11 * H, 10 * H + 1800);
	expect_change(z, ut(2026, 10, 3, 15, 30, 0), 10 * H + 1800, 11 * H);
	tz_free(z);

	/* Dublin: winter is the "daylight" time, one hour less */
	z = slim("IST-1GMT0,M10.5.0,M3.5.0/1");
	expect_change(z, ut(2026, 3, 29, 1, 0, 0), 0, H);
	expect_change(z, ut(2026, 10, 25, 1, 0, 0), H, 0);
	assert_int_equal(tz_from_local(z, ut(2026, 10, 25, 1, 30, 0)),
	    ut(2026, 10, 25, 0, 30, 0));
	tz_free(z);

	/* DST all year, and a DST name without a rule: the US one */
	z = slim("EST5EDT,0/0,J365/25");
	assert_int_equal(tz_offset(z, ut(2026, 1, 1, 5, 0, 0)), -4 * H);
	assert_int_equal(tz_offset(z, ut(2026, 7, 1, 0, 0, 0)), -4 * H);
	assert_int_equal(tz_offset(z, ut(2027, 1, 1, 4, 59, 59)), -4 * H);
	assert_int_equal(tz_offset(z, ut(2027, 1, 1, 5, 0, 0)), -4 * H);
	tz_free(z);
	z = slim("EST5EDT");
	expect_change(z, ut(2026, 3, 8, 7, 0, 0), -5 * H, -4 * H);
	expect_change(z, ut(2026, 11, 1, 6, 0, 0), -4 * H, -5 * H);
	tz_free(z);
	z = slim("PST8PDT7:00:00,M3.2.0/2:00:00,M11.1.0/2:00:00");
	expect_change(z, ut(2026, 3, 8, 10, 0, 0), -8 * H, -7 * H);
	tz_free(z);
}

/* A slim file with history: transitions, then the footer. */
static void
test_slim_history(void **state)
{
	static const int64_t trans[] = { -2000000000, 0 };
	static const unsigned char idx[] = { 1, 2 };
	static const int32_t off[] = { 1234, 7200, 3600 };
	struct tzif t = { '3', 2, trans, idx, 3, off,
	    "CET-1CEST,M3.5.0,M10.5.0/3" };
	unsigned char buf[512];
	struct tz *z;
	const char *why;
	size_t n;

	(void)state;
	n = build(&t, buf, sizeof(buf));
	assert_int_equal(tz_parse(buf, n, &z, &why), 0);
	assert_int_equal(tz_offset(z, -2000000001), 1234);	/* type 0 */
	assert_int_equal(tz_offset(z, -2000000000), 7200);
	assert_int_equal(tz_offset(z, -1), 7200);
	/* from the last transition on, the footer: 1970-01-01 is winter */
	assert_int_equal(tz_offset(z, 0), 3600);
	expect_change(z, ut(1970, 3, 29, 1, 0, 0), H, 2 * H);
	tz_free(z);

	/* version 1: no footer, the last type stays */
	t.ver = 0;
	n = build(&t, buf, sizeof(buf));
	assert_int_equal(tz_parse(buf, n, &z, &why), 0);
	assert_int_equal(tz_offset(z, -2000000001), 1234);
	assert_int_equal(tz_offset(z, -1), 7200);
	assert_int_equal(tz_offset(z, ut(2045, 7, 1, 0, 0, 0)), 3600);
	/* the old offset 1234 s to 2 h is a forward change at -2e9 */
	assert_int_equal(tz_from_local(z, -2000000000 + 2000),
	    -2000000000 + 2000 - 1234);
	tz_free(z);

	/* an empty footer: no rule, the last type stays */
	t.ver = '4';
	t.footer = "";
	n = build(&t, buf, sizeof(buf));
	assert_int_equal(tz_parse(buf, n, &z, &why), 0);
	assert_int_equal(tz_offset(z, ut(2045, 7, 1, 0, 0, 0)), 3600);
	tz_free(z);
}

static void
expect_bad(const void *buf, size_t n, const char *reason)
{
	struct tz *z = NULL;
	const char *why = NULL;

	assert_int_equal(tz_parse(buf, n, &z, &why), -1);
	assert_non_null(why);
	if (reason != NULL)
		assert_string_equal(why, reason);
	assert_null(z);
}

static void
test_bad_footers(void **state)
{
	static const char *const bad[] = {
		"EST", "EST5EDT,M3.2.0", "EST5EDT,M13.2.0,M11.1.0",
		"EST5EDT,M3.6.0,M11.1.0", "EST5EDT,M3.2.7,M11.1.0",
		"EST5EDT,M0.2.0,M11.1.0", "EST5EDT,J0,J365",
		"EST5EDT,366,300", "EST25", "EST5:60",
		"EST5EDT,M3.2.0/168,M11.1.0", "EST5EDT,M3.2.0,M11.1.0/-168",
		"ES5", "<>5", "<EST5", "<E T>5", "EST5EDT,M3.2.0,M11.1.0x",
		"EST5EDT,M3.2.0;M11.1.0", "EST5EDT4:", "5", "EST+",
		"EST5EDT,M3.2.0,", "EST5ED",
	};
	static const int32_t off[1] = { 0 };
	struct tzif t = { '2', 0, NULL, NULL, 1, off, NULL };
	unsigned char buf[512];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t.footer = bad[i];
		n = build(&t, buf, sizeof(buf));
		expect_bad(buf, n, "bad TZ string in footer");
	}
	/* a NUL inside the footer */
	t.footer = "EST5EDT";
	n = build(&t, buf, sizeof(buf));
	buf[n - 4] = '\0';
	expect_bad(buf, n, "bad TZ string in footer");
}

static unsigned char *
slurp(const char *name, size_t *len)
{
	char path[512];
	unsigned char *buf;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/%s", TZ_DIR, name);
	assert_non_null(fp = fopen(path, "rb"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	assert_true((n = ftell(fp)) > 0);
	rewind(fp);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void
test_malformed(void **state)
{
	static const int64_t trans[] = { 100, 200 };
	static const unsigned char idx[] = { 0, 1 };
	static const int32_t off[] = { 0, 3600 };
	struct tzif t = { '2', 2, trans, idx, 2, off, "" };
	unsigned char buf[512], *ny, *mut;
	size_t n, nylen, i, k;
	unsigned int seed = 12345;
	struct tz *z;
	const char *why;
	int ok = 0;

	(void)state;
	expect_bad("", 0, "truncated header");
	expect_bad("TZif2", 5, "truncated header");
	expect_bad("#!/bin/sh\necho this is not a time zone file at all\n",
	    50, "not a TZif file");

	n = build(&t, buf, sizeof(buf));
	assert_int_equal(tz_parse(buf, n, &z, &why), 0);
	tz_free(z);
	/* the v2 block's header is at 44 + 6 + 4 */
	buf[54 + 4] = '3';
	expect_bad(buf, n, "second header's version differs");
	buf[54 + 4] = '2';
	buf[4] = '5';
	buf[54 + 4] = '5';
	expect_bad(buf, n, "unknown TZif version");
	buf[4] = '2';
	buf[54 + 4] = '2';
	put32(buf + 54 + 32, 0xffffffff);		/* timecnt */
	expect_bad(buf, n, "counts exceed the file");
	put32(buf + 54 + 32, 2);
	put32(buf + 32, 0x7fffffff);			/* v1 timecnt */
	expect_bad(buf, n, "counts exceed the file");
	put32(buf + 32, 0);
	put32(buf + 54 + 36, 0);			/* typecnt */
	expect_bad(buf, n, NULL);
	put32(buf + 54 + 36, 2);
	put32(buf + 54 + 20, 1);			/* isutcnt */
	expect_bad(buf, n, NULL);
	put32(buf + 54 + 20, 0);
	buf[n - 2] = 'x';
	expect_bad(buf, n - 1, "missing or unterminated footer");
	expect_bad(buf, n - 2, "missing or unterminated footer");

	/* typecnt 0, consistently: the file is the right size for it */
	t.ntypes = 0;
	t.ntrans = 0;
	n = build(&t, buf, sizeof(buf));
	expect_bad(buf, n, "no local time types");
	t.ntypes = 2;
	t.ntrans = 2;
	t.idx = (const unsigned char[]){ 0, 2 };
	n = build(&t, buf, sizeof(buf));
	expect_bad(buf, n, "transition type index out of range");
	t.idx = idx;
	t.trans = (const int64_t[]){ 200, 200 };
	n = build(&t, buf, sizeof(buf));
	expect_bad(buf, n, "transitions out of order");
	t.trans = trans;
	t.off = (const int32_t[]){ 0, 26 * 3600 };
	n = build(&t, buf, sizeof(buf));
	expect_bad(buf, n, "UTC offset beyond 26 hours");
	t.off = off;
	t.ver = 0;
	t.idx = (const unsigned char[]){ 0, 7 };
	n = build(&t, buf, sizeof(buf));
	expect_bad(buf, n, "transition type index out of range");

	/* every proper prefix of a real file is refused */
	ny = slurp("America/New_York", &nylen);
	for (i = 0; i < nylen; i++)
		expect_bad(ny, i, NULL);
	assert_int_equal(tz_parse(ny, nylen, &z, &why), 0);
	tz_free(z);

	/* random damage: refused or answered, never read out of bounds */
	mut = malloc(nylen);
	assert_non_null(mut);
	for (i = 0; i < 3000; i++) {
		memcpy(mut, ny, nylen);
		for (k = 0; k < 1 + i % 4; k++) {
			seed = seed * 1103515245 + 12345;
			mut[(seed >> 8) % nylen] = (unsigned char)(seed >> 20);
		}
		if (tz_parse(mut, nylen, &z, &why) == 0) {
			(void)tz_offset(z, ut(2026, 3, 8, 7, 0, 0));
			(void)tz_offset(z, ut(2045, 3, 8, 7, 0, 0));
			(void)tz_from_local(z, ut(2026, 3, 8, 2, 30, 0));
			(void)tz_from_local(z, ut(2045, 11, 5, 1, 30, 0));
			tz_free(z);
			ok++;
		}
	}
	assert_true(ok > 0);
	free(mut);
	free(ny);
}

static void
test_load_names(void **state)
{
	static const char *const refused[] = {
		"../etc/passwd", "/etc/passwd", "", "America//New_York",
		"America/", "America/./New_York", "America/../Europe/London",
		"..", ".", "zone.tab", "America/New York", "Europe\\London",
		"America/New_York\n",
	};
	struct tz *z = NULL;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		err[0] = '\0';
		assert_int_equal(tz_load(TZ_DIR, refused[i], &z, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "not a zone name"));
		assert_null(strchr(err, '\n'));
	}
	assert_int_equal(tz_load(TZ_DIR, "Mars/Olympus_Mons", &z, err,
	    sizeof(err)), -1);
	assert_string_equal(err, TZ_DIR "/Mars/Olympus_Mons: No such file or"
	    " directory");
	assert_int_equal(tz_load(TZ_DIR, "America", &z, err, sizeof(err)),
	    -1);
	assert_string_equal(err, TZ_DIR "/America: not a regular file");
	assert_int_equal(tz_load(TZ_DIR, "leapseconds", &z, err, sizeof(err)),
	    -1);
	assert_string_equal(err, TZ_DIR "/leapseconds: not a TZif file");
	/* the accepted odd ones: signs, digits, symlinks, deep paths */
	assert_int_equal(tz_load(TZ_DIR, "Etc/GMT+5", &z, err, sizeof(err)),
	    0);
	assert_int_equal(tz_offset(z, 0), -5 * H);	/* POSIX sign */
	tz_free(z);
	z = load("Asia/Calcutta");
	assert_int_equal(tz_offset(z, 0), 19800);
	tz_free(z);
	z = load("America/Argentina/Buenos_Aires");
	assert_int_equal(tz_offset(z, ut(2026, 1, 1, 0, 0, 0)), -3 * H);
	tz_free(z);
	z = load("America/Port-au-Prince");
	tz_free(z);
}

/*
 * The last transition in a TZif file's 64-bit table, read here
 * independently of tz.c, or INT64_MIN.
 */
static int64_t
last_transition(const unsigned char *b, size_t len)
{
	size_t o, cnt[6], i;
	uint64_t v = 0;

	for (i = 0; i < 6; i++)
		cnt[i] = (size_t)b[20 + 4 * i] << 24 | (size_t)b[21 + 4 * i] <<
		    16 | (size_t)b[22 + 4 * i] << 8 | b[23 + 4 * i];
	o = 44 + cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] +
	    cnt[0];
	assert_true(o + 44 <= len);
	cnt[3] = (size_t)b[o + 32] << 24 | (size_t)b[o + 33] << 16 |
	    (size_t)b[o + 34] << 8 | b[o + 35];
	if (cnt[3] == 0)
		return INT64_MIN;
	o += 44 + (cnt[3] - 1) * 8;
	for (i = 0; i < 8; i++)
		v = v << 8 | b[o + i];
	return (int64_t)v;
}

/*
 * What happens around a change at T from A to B, in wall-clock terms:
 * forward, the skipped times map onto the new offset's clock (T plus how
 * far in); back, the repeated ones to the earlier, old-offset instant.
 */
static void
expect_wall(const struct tz *z, int64_t t, int32_t a, int32_t b)
{
	assert_int_equal(tz_from_local(z, t + a - 1), t - 1);
	if (b > a) {
		assert_int_equal(tz_from_local(z, t + a), t);
		assert_int_equal(tz_from_local(z, t + a + (b - a) / 2),
		    t + (b - a) / 2);
		assert_int_equal(tz_from_local(z, t + b), t);
	} else if (b < a) {
		assert_int_equal(tz_from_local(z, t + b), t + b - a);
		assert_int_equal(tz_from_local(z, t + a - 1), t - 1);
		assert_int_equal(tz_from_local(z, t + a), t + a - b);
	}
}

/*
 * Every zone of zone.tab, 2026-2037: the fat file's own transitions (zic
 * computed them) against the same file's footer evaluated alone, in a
 * slim file built here; and tz_from_local around each change.  Zones
 * whose table runs on past 2038 (Morocco's and Palestine's predicted
 * Ramadan changes) have footers that only start later, and are skipped.
 * (Zones without DST end in a no-op transition at 2^31 - 1, which zic
 * writes into fat files for 32-bit readers: those are compared too.)
 */
static void
test_fat_vs_footer(void **state)
{
	struct tzdb *db;
	FILE *fp;
	char line[512], footer[128], err[256], *f;
	unsigned char *buf;
	const struct tz *fat;
	struct tz *sl;
	int64_t t, lo, hi, mid, end = ut(2037, 12, 1, 0, 0, 0);
	size_t len, nl;
	int32_t prev, cur;
	int zones = 0, changes = 0, skipped = 0;

	(void)state;
	db = tzdb_new(TZ_DIR);
	assert_non_null(fp = fopen(TZ_DIR "/zone.tab", "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#')
			continue;
		assert_non_null(f = strchr(line, '\t'));
		assert_non_null(f = strchr(f + 1, '\t'));
		f++;
		f[strcspn(f, "\t\n")] = '\0';
		if ((fat = tzdb_zone(db, f, err, sizeof(err))) == NULL)
			fail_msg("%s", err);
		buf = slurp(f, &len);
		if (last_transition(buf, len) > INT32_MAX) {
			skipped++;
			free(buf);
			continue;
		}
		/* the footer is the last line */
		assert_true(len > 2 && buf[len - 1] == '\n');
		for (nl = len - 1; nl > 0 && buf[nl - 1] != '\n'; nl--)
			;
		assert_true(len - 1 - nl < sizeof(footer));
		memcpy(footer, buf + nl, len - 1 - nl);
		footer[len - 1 - nl] = '\0';
		free(buf);
		sl = slim(footer);
		zones++;
		prev = tz_offset(fat, ut(2026, 1, 1, 0, 0, 0));
		assert_int_equal(tz_offset(sl, ut(2026, 1, 1, 0, 0, 0)), prev);
		for (t = ut(2026, 1, 1, 0, 0, 0); t < end; t += 3 * 86400) {
			cur = tz_offset(fat, t);
			assert_int_equal(tz_offset(sl, t), cur);
			if (cur == prev)
				continue;
			/* bisect to the second it changed */
			lo = t - 3 * 86400;
			hi = t;
			while (hi - lo > 1) {
				mid = lo + (hi - lo) / 2;
				if (tz_offset(fat, mid) == prev)
					lo = mid;
				else
					hi = mid;
			}
			expect_change(sl, hi, prev, cur);
			expect_wall(fat, hi, prev, cur);
			expect_wall(sl, hi, prev, cur);
			changes++;
			prev = cur;
		}
		tz_free(sl);
	}
	fclose(fp);
	/* most of the world has no DST any more; enough of it has */
	assert_true(zones > 300);
	assert_true(changes > 1000);
	assert_true(skipped < 10);	/* 4 in tzdata 2025b */
	tzdb_free(db);
}

static void
test_tzdb(void **state)
{
	struct tzdb *db;
	const struct tz *const *zs, *const *zs2;
	const struct tz *ny, *z;
	char err[256], err2[256];
	size_t n, n2, i;
	int found = 0;

	(void)state;
	assert_non_null(db = tzdb_new(TZ_DIR));
	ny = tzdb_zone(db, "America/New_York", err, sizeof(err));
	assert_non_null(ny);
	assert_ptr_equal(tzdb_zone(db, "America/New_York", err, sizeof(err)),
	    ny);

	assert_int_equal(tzdb_country(db, "us", &zs, &n, err, sizeof(err)),
	    0);
	assert_true(n > 10);
	for (i = 0; i < n; i++) {
		/* the cache hands out one zone per name */
		if (zs[i] == ny)
			found++;
		assert_non_null(zs[i]);
	}
	assert_int_equal(found, 1);
	/* and that zone behaves like New York */
	for (i = 0; i < n && zs[i] != ny; i++)
		;
	expect_change(zs[i], ut(2026, 3, 8, 7, 0, 0), -5 * H, -4 * H);
	expect_change(zs[i], ut(2026, 11, 1, 6, 0, 0), -4 * H, -5 * H);
	assert_int_equal(tzdb_country(db, "US", &zs2, &n2, err, sizeof(err)),
	    0);
	assert_ptr_equal(zs2, zs);
	assert_int_equal(n2, n);

	assert_int_equal(tzdb_country(db, "DE", &zs, &n, err, sizeof(err)),
	    0);
	assert_true(n > 0);
	assert_int_equal(tz_offset(zs[0], ut(2026, 7, 1, 0, 0, 0)), 2 * H);
	assert_int_equal(tzdb_country(db, "ZZ", &zs, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(tzdb_country(db, "USA", &zs, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(tzdb_country(db, "", &zs, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);

	/* a bad name: NULL both times, the same reason, one read */
	err[0] = err2[0] = '\0';
	assert_null(tzdb_zone(db, "Mars/Olympus_Mons", err, sizeof(err)));
	assert_null(tzdb_zone(db, "Mars/Olympus_Mons", err2, sizeof(err2)));
	assert_string_equal(err, TZ_DIR "/Mars/Olympus_Mons: No such file or"
	    " directory");
	assert_string_equal(err2, err);
	assert_null(tzdb_zone(db, "../etc/passwd", err, sizeof(err)));
	assert_null(tzdb_zone(db, "../etc/passwd", err2, sizeof(err2)));
	assert_string_equal(err2, err);
	/* the reason is cut to the caller's buffer */
	assert_null(tzdb_zone(db, "Mars/Olympus_Mons", err2, 8));
	assert_string_equal(err2, "/usr/sh");
	z = tzdb_zone(db, "Europe/London", err, sizeof(err));
	assert_non_null(z);
	tzdb_free(db);

	/* no zone.tab: an error, and again */
	assert_non_null(db = tzdb_new("/nonexistent"));
	assert_int_equal(tzdb_country(db, "US", &zs, &n, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "/nonexistent/zone.tab: No such file or"
	    " directory");
	assert_int_equal(tzdb_country(db, "US", &zs, &n, err2, sizeof(err2)),
	    -1);
	assert_string_equal(err2, err);
	assert_int_equal(n, 0);
	tzdb_free(db);
}

/* Many threads at once on a fresh cache: one zone per name for all. */
#define NTHREADS	8

static const char *const thread_names[] = {
	"America/New_York", "Europe/London", "Australia/Sydney",
	"Asia/Kolkata", "Asia/Kathmandu", "Europe/Berlin", "America/Chicago",
};

struct thread_arg {
	struct tzdb	*db;
	const struct tz	*got[sizeof(thread_names) / sizeof(thread_names[0])];
	const struct tz	*const *us;
	size_t		 nus;
	int		 rc;
};

static void *
thread_main(void *p)
{
	struct thread_arg *a = p;
	char err[256];
	size_t i, j;

	for (j = 0; j < 50; j++) {
		for (i = 0; i < sizeof(thread_names) / sizeof(thread_names[0]);
		    i++) {
			a->got[i] = tzdb_zone(a->db, thread_names[i], err,
			    sizeof(err));
			if (a->got[i] == NULL ||
			    tz_offset(a->got[i], 0) == INT32_MIN)
				a->rc = -1;
		}
		if (tzdb_country(a->db, "us", &a->us, &a->nus, err,
		    sizeof(err)) == -1)
			a->rc = -1;
		(void)tzdb_zone(a->db, "No/Such_Zone", err, sizeof(err));
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct thread_arg args[NTHREADS];
	pthread_t th[NTHREADS];
	struct tzdb *db;
	size_t i, k;

	(void)state;
	assert_non_null(db = tzdb_new(TZ_DIR));
	for (i = 0; i < NTHREADS; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		args[i].db = db;
		assert_int_equal(pthread_create(&th[i], NULL, thread_main,
		    &args[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(args[i].rc, 0);
		assert_ptr_equal(args[i].us, args[0].us);
		assert_int_equal(args[i].nus, args[0].nus);
		for (k = 0; k < sizeof(thread_names) / sizeof(thread_names[0]);
		    k++)
			assert_ptr_equal(args[i].got[k], args[0].got[k]);
	}
	tzdb_free(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_york),
		cmocka_unit_test(test_far_future),
		cmocka_unit_test(test_europe_london),
		cmocka_unit_test(test_sydney),
		cmocka_unit_test(test_half_hours),
		cmocka_unit_test(test_slim_footer),
		cmocka_unit_test(test_slim_history),
		cmocka_unit_test(test_bad_footers),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_load_names),
		cmocka_unit_test(test_fat_vs_footer),
		cmocka_unit_test(test_tzdb),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
