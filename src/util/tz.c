/*
 * tz.c - time zones from TZif files and zone.tab (see tz.h).
 *
 * A zone is its transition table (the 64-bit one for version 2 and
 * later) and, after the last transition, the POSIX TZ string of the
 * footer evaluated on the fly.  Debian ships "fat" files that list
 * transitions up to 2037 as well; "slim" ones stop at the last rule
 * change and rely on the footer, so both paths are used every day.
 *
 * Files come from disk and are treated as untrusted: every count is
 * checked against the bytes actually present before anything is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "str.h"
#include "tz.h"
#include "xalloc.h"

#define TZ_HDR		44		/* magic, version, unused, 6 counts */
#define TZ_MAX_TYPES	256		/* transition indexes are one byte */
#define TZ_MAX_OFF	(26 * 3600 - 1)	/* RFC 8536: within +-25:59:59 */
#define TZ_MAX_HOUR	24		/* POSIX: offsets up to 24 hours */
#define TZ_MAX_RULEH	167		/* RFC 8536 v3: rule times to 167h */
#define TZ_DEF_TIME	7200		/* POSIX: a rule without /TIME: 02:00 */
/*
 * Beyond these the calendar arithmetic would overflow int64; nobody
 * sends an SMS 18 billion years from now, so instants are clamped.
 */
#define TZ_TLIM		((int64_t)1 << 59)
#define TZ_LLIM		((int64_t)1 << 58)

/* A POSIX rule date: Jn (1..365, no Feb 29), n (0..365), Mm.w.d. */
struct tz_date {
	char		 kind;		/* 'J', 'D' or 'M' */
	int		 day;		/* J, D: the day; M: weekday, 0 Sun */
	int		 week;		/* M: 1..5, 5 the last */
	int		 mon;		/* M: 1..12 */
	int32_t		 secs;		/* local time of day of the change */
};

/* The footer: standard and daylight offsets, east positive. */
struct tz_posix {
	int32_t		 std;
	int32_t		 dst;
	int		 has_dst;
	struct tz_date	 start;		/* into DST, in standard time */
	struct tz_date	 end;		/* out of DST, in daylight time */
};

struct tz {
	int64_t		*trans;		/* strictly ascending */
	unsigned char	*tidx;		/* type of each transition */
	size_t		 ntrans;
	int32_t		*utoff;		/* offset of each type */
	size_t		 ntypes;
	int32_t		 minoff;	/* over the types and the footer, */
	int32_t		 maxoff;	/* to bound tz_from_local's search */
	int		 has_rule;
	struct tz_posix	 rule;
};

/* One change of the footer's rule, for sorting a few years of them. */
struct tz_event {
	int64_t		 at;
	int		 dst;
};

static uint32_t
tz_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t
tz_be64(const unsigned char *p)
{
	uint64_t v = (uint64_t)tz_be32(p) << 32 | tz_be32(p + 4);

	/* two's complement without implementation-defined conversion */
	if (v <= INT64_MAX)
		return (int64_t)v;
	return -(int64_t)(~v) - 1;
}

static int32_t
tz_sbe32(const unsigned char *p)
{
	uint32_t v = tz_be32(p);

	if (v <= INT32_MAX)
		return (int32_t)v;
	return -(int32_t)(~v) - 1;
}

static int64_t
tz_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if (a % b != 0 && (a < 0) != (b < 0))
		q--;
	return q;
}

static int
tz_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* Days from 1970-01-01 to Y-M-D, proleptic Gregorian (Hinnant's method). */
static int64_t
tz_days(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = tz_floordiv(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The year of day DAYS since 1970-01-01. */
static int64_t
tz_year(int64_t days)
{
	int64_t z, era, doe, yoe, doy, mp;

	z = days + 719468;
	era = tz_floordiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10);
}

static int
tz_mdays(int64_t y, int m)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && tz_leap(y) ? 29 : mdays[m - 1];
}

/* The day (since the epoch) on which rule date D falls in year Y. */
static int64_t
tz_date_day(const struct tz_date *d, int64_t y)
{
	int64_t jan1 = tz_days(y, 1, 1), first;
	int64_t day;
	int dow;

	switch (d->kind) {
	case 'J':
		/* Feb 29 is never counted, so J60 is always March 1 */
		return jan1 + d->day - 1 + (tz_leap(y) && d->day >= 60);
	case 'D':
		return jan1 + d->day;
	default:
		first = tz_days(y, d->mon, 1);
		dow = (int)(first + 4 - tz_floordiv(first + 4, 7) * 7);
		day = first + (d->day - dow + 7) % 7 + 7 * (d->week - 1);
		if (day >= first + tz_mdays(y, d->mon))
			day -= 7;	/* week 5: the last one */
		return day;
	}
}

/*
 * The offset the footer gives at T and, in *NEXT, the next change after
 * T.  A few years of changes around T are sorted rather than reasoned
 * about, so rules whose times spill into the next or previous year
 * (M12.5.0/167, -1 hour), southern-hemisphere and negative DST (Dublin's
 * "IST-1GMT0,M10.5.0,M3.5.0/1") and all-year DST all come out right.
 */
static int32_t
tz_rule_offset(const struct tz_posix *r, int64_t t, int64_t *next)
{
	struct tz_event ev[10], tmp;
	int64_t y, yy, k, c = t;
	size_t n = 0, i, j;
	int dst;

	*next = INT64_MAX;
	if (!r->has_dst)
		return r->std;
	if (c > TZ_TLIM)
		c = TZ_TLIM;
	if (c < -TZ_TLIM)
		c = -TZ_TLIM;
	y = tz_year(tz_floordiv(c + r->std, 86400));
	for (k = 0; k < 5; k++) {
		yy = y - 2 + k;
		ev[n].at = tz_date_day(&r->start, yy) * 86400 +
		    r->start.secs - r->std;
		ev[n++].dst = 1;
		ev[n].at = tz_date_day(&r->end, yy) * 86400 +
		    r->end.secs - r->dst;
		ev[n++].dst = 0;
	}
	/*
	 * On a tie the end goes first, so that DST all year round ("0/0,
	 * J365/25") stays in DST where one year's end meets the next one's
	 * start.
	 */
	for (i = 1; i < n; i++) {
		tmp = ev[i];
		for (j = i; j > 0 && (ev[j - 1].at > tmp.at ||
		    (ev[j - 1].at == tmp.at && ev[j - 1].dst > tmp.dst)); j--)
			ev[j] = ev[j - 1];
		ev[j] = tmp;
	}
	dst = !ev[0].dst;
	for (i = 0; i < n && ev[i].at <= c; i++)
		dst = ev[i].dst;
	if (i < n && c == t)
		*next = ev[i].at;
	return dst ? r->dst : r->std;
}

/* The offset in force at T and, in *NEXT, when it may next change. */
static int32_t
tz_lookup(const struct tz *z, int64_t t, int64_t *next)
{
	size_t lo, hi, mid;

	if (z->ntrans == 0 || t >= z->trans[z->ntrans - 1]) {
		if (z->has_rule)
			return tz_rule_offset(&z->rule, t, next);
		*next = INT64_MAX;
		return z->ntrans == 0 ? z->utoff[0] :
		    z->utoff[z->tidx[z->ntrans - 1]];
	}
	/* RFC 8536: before the first transition, type 0 */
	if (t < z->trans[0]) {
		*next = z->trans[0];
		return z->utoff[0];
	}
	lo = 0;
	hi = z->ntrans - 1;
	while (hi - lo > 1) {		/* trans[lo] <= t < trans[hi] */
		mid = lo + (hi - lo) / 2;
		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	*next = z->trans[hi];
	return z->utoff[z->tidx[lo]];
}

int32_t
tz_offset(const struct tz *z, int64_t t)
{
	int64_t next;

	return tz_lookup(z, t, &next);
}

/*
 * Every instant whose wall clock can read LOCAL lies in [LOCAL - maxoff,
 * LOCAL - minoff].  Walking the stretches of constant offset across that
 * window in time order finds the earliest instant that reads LOCAL, or
 * the first forward change that jumps over it: the wall clock starts at
 * or below LOCAL and ends at or above it, so one of the two happens.
 */
int64_t
tz_from_local(const struct tz *z, int64_t local)
{
	int64_t t, hi, next, cand;
	int32_t cur, nb;

	if (local > TZ_LLIM)
		local = TZ_LLIM;
	if (local < -TZ_LLIM)
		local = -TZ_LLIM;
	t = local - z->maxoff;
	hi = local - z->minoff;
	cur = tz_lookup(z, t, &next);
	for (;;) {
		cand = local - cur;
		if (cand >= t && cand < next)
			return cand;
		if (next > hi)
			break;
		t = next;
		nb = tz_lookup(z, t, &next);
		/* a gap: keep the old offset, so 02:30 becomes 03:30 */
		if (t + cur <= local && t + nb > local)
			return local - cur;
		cur = nb;
	}
	return local - cur;	/* not reached: see above */
}

/* A bounded cursor over the footer, which is not NUL-terminated. */
struct tz_cur {
	const char	*p;
	const char	*e;
};

static int
tz_peek(const struct tz_cur *c)
{
	return c->p < c->e ? (unsigned char)*c->p : -1;
}

static int
tz_isdigit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int
tz_isalpha(int ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

/* A number of at most MAXDIGITS digits, no more than MAX. */
static int
tz_num(struct tz_cur *c, int maxdigits, int max, int *out)
{
	int v = 0, n = 0;

	while (tz_isdigit(tz_peek(c))) {
		if (++n > maxdigits)
			return -1;
		v = v * 10 + (*c->p++ - '0');
	}
	if (n == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A zone abbreviation: three or more letters, or <...> quoted. */
static int
tz_pname(struct tz_cur *c)
{
	int n = 0, ch;

	if (tz_peek(c) == '<') {
		c->p++;
		while ((ch = tz_peek(c)) != '>') {
			if (!tz_isalpha(ch) && !tz_isdigit(ch) && ch != '+' &&
			    ch != '-')
				return -1;
			c->p++;
			n++;
		}
		c->p++;
		return n > 0 ? 0 : -1;
	}
	while (tz_isalpha(tz_peek(c))) {
		c->p++;
		n++;
	}
	return n >= 3 ? 0 : -1;
}

/* [+-]hh[:mm[:ss]], hh at most MAXH; seconds into *OUT. */
static int
tz_ptime(struct tz_cur *c, int maxh, int32_t *out)
{
	int neg = 0, h, m = 0, s = 0;

	if (tz_peek(c) == '+' || tz_peek(c) == '-')
		neg = *c->p++ == '-';
	if (tz_num(c, 3, maxh, &h) == -1)
		return -1;
	if (tz_peek(c) == ':') {
		c->p++;
		if (tz_num(c, 2, 59, &m) == -1)
			return -1;
		if (tz_peek(c) == ':') {
			c->p++;
			if (tz_num(c, 2, 59, &s) == -1)
				return -1;
		}
	}
	*out = (int32_t)(h * 3600 + m * 60 + s);
	if (neg)
		*out = -*out;
	return 0;
}

/* A rule date with its optional /time. */
static int
tz_pdate(struct tz_cur *c, struct tz_date *d)
{
	memset(d, 0, sizeof(*d));
	if (tz_peek(c) == 'J') {
		c->p++;
		d->kind = 'J';
		if (tz_num(c, 3, 365, &d->day) == -1 || d->day < 1)
			return -1;
	} else if (tz_peek(c) == 'M') {
		c->p++;
		d->kind = 'M';
		if (tz_num(c, 2, 12, &d->mon) == -1 || d->mon < 1 ||
		    tz_peek(c) != '.')
			return -1;
		c->p++;
		if (tz_num(c, 1, 5, &d->week) == -1 || d->week < 1 ||
		    tz_peek(c) != '.')
			return -1;
		c->p++;
		if (tz_num(c, 1, 6, &d->day) == -1)
			return -1;
	} else {
		d->kind = 'D';
		if (tz_num(c, 3, 365, &d->day) == -1)
			return -1;
	}
	d->secs = TZ_DEF_TIME;
	if (tz_peek(c) == '/') {
		c->p++;
		if (tz_ptime(c, TZ_MAX_RULEH, &d->secs) == -1)
			return -1;
	}
	return 0;
}

/*
 * A POSIX TZ string as TZif footers use it: std offset [dst [offset]
 * [,start[/time],end[/time]]].  POSIX offsets count west, ours east.
 */
static int
tz_pposix(const char *s, size_t len, struct tz_posix *r)
{
	struct tz_cur c = { s, s + len };
	int32_t off;

	memset(r, 0, sizeof(*r));
	if (tz_pname(&c) == -1 || tz_ptime(&c, TZ_MAX_HOUR, &off) == -1)
		return -1;
	r->std = r->dst = -off;
	if (tz_peek(&c) == -1)
		return 0;
	if (tz_pname(&c) == -1)
		return -1;
	r->has_dst = 1;
	r->dst = r->std + 3600;
	if (tz_peek(&c) != ',' && tz_peek(&c) != -1) {
		if (tz_ptime(&c, TZ_MAX_HOUR, &off) == -1)
			return -1;
		r->dst = -off;
	}
	if (tz_peek(&c) == -1) {
		/* no rule: POSIX leaves it open, tzcode takes the US one */
		r->start = (struct tz_date){ 'M', 0, 2, 3, TZ_DEF_TIME };
		r->end = (struct tz_date){ 'M', 0, 1, 11, TZ_DEF_TIME };
		return 0;
	}
	if (tz_peek(&c) != ',')
		return -1;
	c.p++;
	if (tz_pdate(&c, &r->start) == -1 || tz_peek(&c) != ',')
		return -1;
	c.p++;
	if (tz_pdate(&c, &r->end) == -1 || tz_peek(&c) != -1)
		return -1;
	return 0;
}

/* The sizes one header announces, checked against what is left. */
struct tz_hdr {
	uint32_t	 isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
	uint64_t	 datalen;	/* the data block after the header */
};

static int
tz_phdr(const unsigned char *p, size_t left, int timesize,
    struct tz_hdr *h, const char **why)
{
	if (left < TZ_HDR) {
		*why = "truncated header";
		return -1;
	}
	if (memcmp(p, "TZif", 4) != 0) {
		*why = "not a TZif file";
		return -1;
	}
	h->isutcnt = tz_be32(p + 20);
	h->isstdcnt = tz_be32(p + 24);
	h->leapcnt = tz_be32(p + 28);
	h->timecnt = tz_be32(p + 32);
	h->typecnt = tz_be32(p + 36);
	h->charcnt = tz_be32(p + 40);
	/* counts are below 2^32, so none of this can overflow 64 bits */
	h->datalen = (uint64_t)h->timecnt * ((uint64_t)timesize + 1) +
	    (uint64_t)h->typecnt * 6 + h->charcnt +
	    (uint64_t)h->leapcnt * ((uint64_t)timesize + 4) +
	    h->isstdcnt + h->isutcnt;
	if (h->datalen > left - TZ_HDR) {
		*why = "counts exceed the file";
		return -1;
	}
	return 0;
}

static void
tz_range(struct tz *z, int32_t off)
{
	if (off < z->minoff)
		z->minoff = off;
	if (off > z->maxoff)
		z->maxoff = off;
}

/* The data block at P described by H, with TIMESIZE-byte times. */
static int
tz_pdata(struct tz *z, const unsigned char *p, const struct tz_hdr *h,
    int timesize, const char **why)
{
	const unsigned char *idx, *types;
	size_t i;

	if (h->typecnt == 0) {
		*why = "no local time types";
		return -1;
	}
	if (h->typecnt > TZ_MAX_TYPES) {
		*why = "more than 256 local time types";
		return -1;
	}
	if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)) {
		*why = "indicator counts differ from the type count";
		return -1;
	}
	z->ntrans = h->timecnt;
	z->ntypes = h->typecnt;
	z->trans = xreallocarray(NULL, z->ntrans, sizeof(*z->trans));
	z->tidx = xmalloc(z->ntrans);
	z->utoff = xreallocarray(NULL, z->ntypes, sizeof(*z->utoff));
	idx = p + (size_t)h->timecnt * (size_t)timesize;
	types = idx + h->timecnt;
	for (i = 0; i < z->ntrans; i++) {
		z->trans[i] = timesize == 8 ? tz_be64(p + 8 * i) :
		    tz_sbe32(p + 4 * i);
		if (i > 0 && z->trans[i] <= z->trans[i - 1]) {
			*why = "transitions out of order";
			return -1;
		}
		if (idx[i] >= h->typecnt) {
			*why = "transition type index out of range";
			return -1;
		}
		z->tidx[i] = idx[i];
	}
	z->minoff = INT32_MAX;
	z->maxoff = INT32_MIN;
	for (i = 0; i < z->ntypes; i++) {
		z->utoff[i] = tz_sbe32(types + 6 * i);
		if (z->utoff[i] < -TZ_MAX_OFF || z->utoff[i] > TZ_MAX_OFF) {
			*why = "UTC offset beyond 26 hours";
			return -1;
		}
		if (types[6 * i + 4] > 1) {
			*why = "bad isdst flag";
			return -1;
		}
		if (types[6 * i + 5] >= h->charcnt) {
			*why = "abbreviation index out of range";
			return -1;
		}
		tz_range(z, z->utoff[i]);
	}
	return 0;
}

int
tz_parse(const void *data, size_t len, struct tz **out, const char **why)
{
	const unsigned char *p = data, *f, *nl;
	struct tz_hdr h;
	struct tz *z;
	int ver;

	if (tz_phdr(p, len, 4, &h, why) == -1)
		return -1;
	ver = p[4];
	if (ver != 0 && ver != '2' && ver != '3' && ver != '4') {
		*why = "unknown TZif version";
		return -1;
	}
	z = xcalloc(1, sizeof(*z));
	if (ver == 0) {
		if (tz_pdata(z, p + TZ_HDR, &h, 4, why) == -1)
			goto fail;
		*out = z;
		return 0;
	}
	/* v2+: skip the 32-bit block, which slim files leave empty */
	p += TZ_HDR + h.datalen;
	len -= TZ_HDR + h.datalen;
	if (tz_phdr(p, len, 8, &h, why) == -1)
		goto fail;
	if (p[4] != ver) {
		*why = "second header's version differs";
		goto fail;
	}
	if (tz_pdata(z, p + TZ_HDR, &h, 8, why) == -1)
		goto fail;
	f = p + TZ_HDR + h.datalen;
	len -= TZ_HDR + h.datalen;
	if (len < 2 || f[0] != '\n' ||
	    (nl = memchr(f + 1, '\n', len - 1)) == NULL) {
		*why = "missing or unterminated footer";
		goto fail;
	}
	if (nl > f + 1) {
		if (memchr(f + 1, '\0', (size_t)(nl - f - 1)) != NULL ||
		    tz_pposix((const char *)f + 1, (size_t)(nl - f - 1),
		    &z->rule) == -1) {
			*why = "bad TZ string in footer";
			goto fail;
		}
		z->has_rule = 1;
		tz_range(z, z->rule.std);
		tz_range(z, z->rule.dst);
	}
	*out = z;
	return 0;
fail:
	tz_free(z);
	return -1;
}

void
tz_free(struct tz *z)
{
	if (z == NULL)
		return;
	free(z->trans);
	free(z->tidx);
	free(z->utoff);
	free(z);
}

/* [A-Za-z0-9_+-] components separated by single slashes. */
static int
tz_name_ok(const char *name)
{
	const char *p;
	size_t n = 0;

	if (*name == '\0')
		return 0;
	for (p = name; *p != '\0'; p++) {
		if (*p == '/') {
			if (n == 0)
				return 0;
			n = 0;
		} else if (tz_isalpha((unsigned char)*p) ||
		    tz_isdigit((unsigned char)*p) || *p == '_' || *p == '+' ||
		    *p == '-') {
			n++;
		} else {
			/* '.' included: no ".", "..", or "zone.tab" */
			return 0;
		}
	}
	return n > 0;
}

/* NAME cut and with anything unprintable as '?', fit for a log line. */
static void
tz_shown(const char *name, char *out, size_t outlen)
{
	size_t i;

	str_copy(out, outlen, name);
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < ' ' ||
		    (unsigned char)out[i] >= 0x7f)
			out[i] = '?';
}

/*
 * Reads all of PATH, at most TZ_FILE_MAX bytes.  O_NONBLOCK so that a
 * FIFO planted in the directory cannot hang a milter thread.
 */
static int
tz_readfile(const char *path, unsigned char **buf, size_t *len, char *err,
    size_t errlen)
{
	struct stat sb;
	unsigned char *b;
	size_t n = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (sb.st_size > TZ_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    TZ_FILE_MAX);
		close(fd);
		return -1;
	}
	/* one byte more than the size, to notice a file that grew */
	b = xmalloc((size_t)sb.st_size + 1);
	for (;;) {
		r = read(fd, b + n, (size_t)sb.st_size + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(b);
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > (size_t)sb.st_size) {
			snprintf(err, errlen, "%s: changed while read", path);
			free(b);
			close(fd);
			return -1;
		}
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
}

int
tz_load(const char *dir, const char *name, struct tz **out, char *err,
    size_t errlen)
{
	char path[PATH_MAX], shown[80];
	unsigned char *buf;
	const char *why;
	size_t len;
	int n;

	if (!tz_name_ok(name)) {
		tz_shown(name, shown, sizeof(shown));
		snprintf(err, errlen, "%s/%s: not a zone name", dir, shown);
		return -1;
	}
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		tz_shown(name, shown, sizeof(shown));
		snprintf(err, errlen, "%s/%s: path too long", dir, shown);
		return -1;
	}
	if (tz_readfile(path, &buf, &len, err, errlen) == -1)
		return -1;
	if (tz_parse(buf, len, out, &why) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		free(buf);
		return -1;
	}
	free(buf);
	return 0;
}

/* A zone or the reason it could not be had; exactly one is set. */
struct tzdb_ent {
	char		*name;
	struct tz	*z;
	char		*err;
};

/* A country of zone.tab; ZONES is filled on first request. */
struct tzdb_cc {
	char		  cc[3];
	char		**names;
	size_t		  nnames;
	const struct tz	**zones;
};

struct tzdb {
	pthread_mutex_t	  lock;
	char		 *dir;
	struct tzdb_ent	 *ents;		/* sorted by name */
	size_t		  nents;
	size_t		  nbad;
	int		  tab;		/* 0 unread, 1 read, -1 failed */
	char		 *tab_err;
	struct tzdb_cc	 *ccs;
	size_t		  nccs;
};

struct tzdb *
tzdb_new(const char *dir)
{
	struct tzdb *db;

	db = xcalloc(1, sizeof(*db));
	if (pthread_mutex_init(&db->lock, NULL) != 0) {
		free(db);
		return NULL;
	}
	db->dir = xstrdup(dir);
	return db;
}

void
tzdb_free(struct tzdb *db)
{
	size_t i, j;

	if (db == NULL)
		return;
	for (i = 0; i < db->nents; i++) {
		free(db->ents[i].name);
		tz_free(db->ents[i].z);
		free(db->ents[i].err);
	}
	free(db->ents);
	for (i = 0; i < db->nccs; i++) {
		for (j = 0; j < db->ccs[i].nnames; j++)
			free(db->ccs[i].names[j]);
		free(db->ccs[i].names);
		free(db->ccs[i].zones);
	}
	free(db->ccs);
	free(db->tab_err);
	free(db->dir);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

/* With the lock held. */
static const struct tz *
tzdb_zone_locked(struct tzdb *db, const char *name, char *err, size_t errlen)
{
	struct tzdb_ent *e;
	struct tz *z;
	size_t lo = 0, hi = db->nents, mid;
	char msg[PATH_MAX + 128];
	int cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((cmp = strcmp(name, db->ents[mid].name)) == 0) {
			e = &db->ents[mid];
			if (e->z == NULL)
				str_copy(err, errlen, e->err);
			return e->z;
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (tz_load(db->dir, name, &z, msg, sizeof(msg)) == -1) {
		str_copy(err, errlen, msg);
		if (db->nbad >= TZDB_MAX_BAD)
			return NULL;
		z = NULL;
	}
	db->ents = xreallocarray(db->ents, db->nents + 1, sizeof(*db->ents));
	memmove(&db->ents[lo + 1], &db->ents[lo],
	    (db->nents - lo) * sizeof(*db->ents));
	e = &db->ents[lo];
	e->name = xstrdup(name);
	e->z = z;
	e->err = z == NULL ? xstrdup(msg) : NULL;
	db->nents++;
	if (z == NULL)
		db->nbad++;
	return z;
}

const struct tz *
tzdb_zone(struct tzdb *db, const char *name, char *err, size_t errlen)
{
	const struct tz *z;

	pthread_mutex_lock(&db->lock);
	z = tzdb_zone_locked(db, name, err, errlen);
	pthread_mutex_unlock(&db->lock);
	return z;
}

static struct tzdb_cc *
tzdb_cc_find(struct tzdb *db, const char *cc)
{
	size_t i;

	for (i = 0; i < db->nccs; i++)
		if (strcmp(db->ccs[i].cc, cc) == 0)
			return &db->ccs[i];
	return NULL;
}

/*
 * zone.tab: '#' comments, then "CC<tab>coordinates<tab>zone[<tab>
 * comments]".  A malformed line fails the whole file rather than
 * silently dropping a country's zones.
 */
static int
tzdb_tab_parse(struct tzdb *db, char *s, size_t len, char *err,
    size_t errlen)
{
	char *line, *end = s + len, *nl, *f[4], *t;
	struct tzdb_cc *cc;
	unsigned long lineno = 0;
	size_t nf;

	for (line = s; line < end; line = nl + 1) {
		lineno++;
		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			nl = end;
		*nl = '\0';
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		/* the fourth field, the comments, may hold anything */
		nf = 0;
		for (t = line; nf < 4; t++) {
			f[nf++] = t;
			if ((t = strchr(t, '\t')) == NULL)
				break;
			*t = '\0';
		}
		if (nf < 3 || strlen(f[0]) != 2 || f[0][0] < 'A' ||
		    f[0][0] > 'Z' || f[0][1] < 'A' || f[0][1] > 'Z' ||
		    !tz_name_ok(f[2])) {
			snprintf(err, errlen, "%s/zone.tab:%lu: malformed line",
			    db->dir, lineno);
			return -1;
		}
		if ((cc = tzdb_cc_find(db, f[0])) == NULL) {
			db->ccs = xreallocarray(db->ccs, db->nccs + 1,
			    sizeof(*db->ccs));
			cc = &db->ccs[db->nccs++];
			memset(cc, 0, sizeof(*cc));
			memcpy(cc->cc, f[0], 3);
		}
		cc->names = xreallocarray(cc->names, cc->nnames + 1,
		    sizeof(*cc->names));
		cc->names[cc->nnames++] = xstrdup(f[2]);
	}
	return 0;
}

/* With the lock held; a failure is remembered like a zone's. */
static int
tzdb_tab_load(struct tzdb *db, char *err, size_t errlen)
{
	char path[PATH_MAX], msg[PATH_MAX + 128];
	unsigned char *buf;
	size_t len;
	int n;

	if (db->tab == 1)
		return 0;
	if (db->tab == -1) {
		str_copy(err, errlen, db->tab_err);
		return -1;
	}
	n = snprintf(path, sizeof(path), "%s/zone.tab", db->dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		snprintf(msg, sizeof(msg), "%s: path too long", db->dir);
	else if (tz_readfile(path, &buf, &len, msg, sizeof(msg)) == 0) {
		n = tzdb_tab_parse(db, (char *)buf, len, msg, sizeof(msg));
		free(buf);
		if (n == 0) {
			db->tab = 1;
			return 0;
		}
	}
	db->tab = -1;
	db->tab_err = xstrdup(msg);
	str_copy(err, errlen, msg);
	return -1;
}

int
tzdb_country(struct tzdb *db, const char *country,
    const struct tz *const **zones, size_t *n, char *err, size_t errlen)
{
	const struct tz **zs;
	struct tzdb_cc *cc;
	char code[3];
	size_t i;
	int rc = 0;

	*zones = NULL;
	*n = 0;
	if (!tz_isalpha((unsigned char)country[0]) ||
	    !tz_isalpha((unsigned char)country[1]) || country[2] != '\0')
		return 0;
	/* ASCII by hand: toupper() in a Turkish locale maps 'i' elsewhere */
	code[0] = (char)(country[0] & ~0x20);
	code[1] = (char)(country[1] & ~0x20);
	code[2] = '\0';
	pthread_mutex_lock(&db->lock);
	if (tzdb_tab_load(db, err, errlen) == -1) {
		rc = -1;
		goto out;
	}
	if ((cc = tzdb_cc_find(db, code)) == NULL)
		goto out;
	if (cc->zones == NULL) {
		zs = xreallocarray(NULL, cc->nnames, sizeof(*zs));
		for (i = 0; i < cc->nnames; i++) {
			zs[i] = tzdb_zone_locked(db, cc->names[i], err, errlen);
			if (zs[i] == NULL) {
				free(zs);
				rc = -1;
				goto out;
			}
		}
		cc->zones = zs;
	}
	*zones = cc->zones;
	*n = cc->nnames;
out:
	pthread_mutex_unlock(&db->lock);
	return rc;
}
