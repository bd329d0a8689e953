/*
 * parse.c - pure parsers for the values that arrive in store exports.
 *
 * Exports are written by people and by several generations of Shopify, so
 * each parser accepts the forms actually seen and refuses anything it
 * would have to guess at: a guessed email address mails a stranger, a
 * guessed amount moves a customer into the wrong segment.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "parse.h"
#include "utf8.h"

static int
parse_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* Trims blanks from both ends of [*s, *e). */
static void
parse_trim(const char **s, const char **e)
{
	while (*s < *e && parse_blank((unsigned char)**s))
		(*s)++;
	while (*e > *s && parse_blank((unsigned char)(*e)[-1]))
		(*e)--;
}

static const unsigned char not_in_address[256] = {
	['<'] = 1, ['>'] = 1, ['('] = 1, [')'] = 1, ['['] = 1, [']'] = 1,
	[','] = 1, [';'] = 1, [':'] = 1, ['"'] = 1, ['\\'] = 1
};

int
parse_email(const char *in, char *out, size_t outlen, const char **err)
{
	const char *s = in, *e = in + strlen(in), *at = NULL, *p;
	size_t n, i;

	parse_trim(&s, &e);
	n = (size_t)(e - s);
	if (n == 0) {
		*err = "empty";
		return -1;
	}
	if (n > PARSE_EMAIL_MAX) {
		*err = "longer than 254 bytes";
		return -1;
	}
	for (p = s; p < e; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c == 0x7f) {
			*err = "blank or control character inside";
			return -1;
		}
		/* a display name, a list or a route, not one address */
		if (not_in_address[c]) {
			*err = "not a bare address";
			return -1;
		}
		if (c == '@') {
			if (at != NULL) {
				*err = "more than one @";
				return -1;
			}
			at = p;
		}
	}
	if (at == NULL) {
		*err = "missing @";
		return -1;
	}
	if (at == s) {
		*err = "empty local part";
		return -1;
	}
	if (memchr(at + 1, '.', (size_t)(e - at - 1)) == NULL) {
		*err = "domain has no dot";
		return -1;
	}
	if (at[1] == '.' || e[-1] == '.' ||
	    memmem(at + 1, (size_t)(e - at - 1), "..", 2) != NULL) {
		*err = "empty label in domain";
		return -1;
	}
	if (n + 1 > outlen) {
		*err = "longer than the buffer";
		return -1;
	}
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	return 0;
}

/*
 * Country calling codes and whether national numbers carry a trunk 0 that
 * the international form drops.  Italy keeps its leading 0.  NANP
 * numbers are ten digits with an optional leading 1.
 */
static const struct {
	char		 country[3];
	const char	*code;
	int		 trunk0;
} parse_countries[] = {
	{ "US", "1", 0 }, { "CA", "1", 0 }, { "GB", "44", 1 },
	{ "IE", "353", 1 }, { "DE", "49", 1 }, { "AT", "43", 1 },
	{ "CH", "41", 1 }, { "FR", "33", 1 }, { "BE", "32", 1 },
	{ "NL", "31", 1 }, { "LU", "352", 0 }, { "IT", "39", 0 },
	{ "ES", "34", 0 }, { "PT", "351", 0 }, { "DK", "45", 0 },
	{ "NO", "47", 0 }, { "SE", "46", 1 }, { "FI", "358", 1 },
	{ "PL", "48", 0 }, { "CZ", "420", 0 }, { "GR", "30", 0 },
	{ "AU", "61", 1 }, { "NZ", "64", 1 }, { "JP", "81", 1 },
	{ "KR", "82", 1 }, { "IN", "91", 1 }, { "SG", "65", 0 },
	{ "HK", "852", 0 }, { "BR", "55", 1 }, { "MX", "52", 0 },
	{ "ZA", "27", 1 }, { "IL", "972", 1 }, { "AE", "971", 1 },
};

int
parse_phone(const char *in, const char *country, char *out, size_t outlen,
    const char **err)
{
	char digits[32];
	const char *p, *code = NULL;
	size_t n = 0, i, clen;
	int intl = 0, trunk0 = 0;

	p = in;
	while (parse_blank((unsigned char)*p))
		p++;
	if (*p == '\'')		/* Shopify's guard against spreadsheets */
		p++;
	while (parse_blank((unsigned char)*p))
		p++;
	if (*p == '+') {
		intl = 1;
		p++;
	}
	for (; *p != '\0'; p++) {
		if (isdigit((unsigned char)*p)) {
			if (n + 1 >= sizeof(digits)) {
				*err = "too long";
				return -1;
			}
			digits[n++] = *p;
		} else if (intl && strncmp(p, "(0)", 3) == 0) {
			/* "+44 (0)20 ...": the trunk 0 shown for locals */
			p += 2;
		} else if (strchr(" -./()\t", *p) == NULL) {
			*err = "not a phone number";
			return -1;
		}
	}
	digits[n] = '\0';
	if (n == 0) {
		*err = "no digits";
		return -1;
	}
	if (!intl && n > 2 && digits[0] == '0' && digits[1] == '0') {
		intl = 1;
		memmove(digits, digits + 2, n - 1);
		n -= 2;
	}
	if (!intl) {
		for (i = 0; country != NULL && i < sizeof(parse_countries) /
		    sizeof(parse_countries[0]); i++)
			if (strcasecmp(country, parse_countries[i].country) ==
			    0) {
				code = parse_countries[i].code;
				trunk0 = parse_countries[i].trunk0;
				break;
			}
		if (code == NULL) {
			*err = "national number without a known country";
			return -1;
		}
		if (strcmp(code, "1") == 0) {
			if (n == 11 && digits[0] == '1')
				memmove(digits, digits + 1, n--);
			if (n != 10) {
				*err = "not ten digits";
				return -1;
			}
		} else if (trunk0) {
			if (digits[0] != '0') {
				*err = "national number without its leading 0";
				return -1;
			}
			memmove(digits, digits + 1, n--);
		}
	} else if (digits[0] == '0') {
		*err = "country code starts with 0";
		return -1;
	}
	clen = code != NULL ? strlen(code) : 0;
	if (clen + n > 15) {
		*err = "more than 15 digits";
		return -1;
	}
	if (clen + n < 8) {
		*err = "too short";
		return -1;
	}
	if (clen + n + 2 > outlen) {
		*err = "longer than the buffer";
		return -1;
	}
	out[0] = '+';
	memcpy(out + 1, code != NULL ? code : "", clen);
	memcpy(out + 1 + clen, digits, n + 1);
	return 0;
}

/* Reads exactly N digits at *P into *OUT. */
static int
parse_digits(const char **p, int n, int *out)
{
	int v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)**p))
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
parse_days(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
parse_mdays(int y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return mdays[m - 1];
}

int
parse_time(const char *in, int64_t *out, const char **err)
{
	const char *p = in;
	int y, mo, d, h = 0, mi = 0, s = 0, oh = 0, om = 0, sign = 0;

	while (parse_blank((unsigned char)*p))
		p++;
	if (parse_digits(&p, 4, &y) == -1 || *p++ != '-' ||
	    parse_digits(&p, 2, &mo) == -1 || *p++ != '-' ||
	    parse_digits(&p, 2, &d) == -1) {
		*err = "not a date (YYYY-MM-DD)";
		return -1;
	}
	if (y < 1900) {
		*err = "bad year";
		return -1;
	}
	if (mo < 1 || mo > 12) {
		*err = "bad month";
		return -1;
	}
	if (d < 1 || d > parse_mdays(y, mo)) {
		*err = "bad day";
		return -1;
	}
	if ((*p == 'T' || *p == ' ') && isdigit((unsigned char)p[1])) {
		p++;
		if (parse_digits(&p, 2, &h) == -1 || *p++ != ':' ||
		    parse_digits(&p, 2, &mi) == -1) {
			*err = "bad time (HH:MM:SS)";
			return -1;
		}
		if (*p == ':' && (p++, parse_digits(&p, 2, &s) == -1)) {
			*err = "bad seconds";
			return -1;
		}
		if (*p == '.')		/* fractions of a second: dropped */
			for (p++; isdigit((unsigned char)*p); p++)
				;
		if (h > 23 || mi > 59 || s > 59) {
			*err = "time out of range";
			return -1;
		}
	}
	while (parse_blank((unsigned char)*p))
		p++;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (parse_digits(&p, 2, &oh) == -1 || (*p == ':' ? p++ : p,
		    parse_digits(&p, 2, &om) == -1) || oh > 14 || om > 59) {
			*err = "bad UTC offset";
			return -1;
		}
	} else if (strncmp(p, "UTC", 3) == 0) {
		p += 3;
	}
	while (parse_blank((unsigned char)*p))
		p++;
	if (*p != '\0') {
		*err = "unexpected text after the time";
		return -1;
	}
	*out = parse_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
	    sign * (oh * 3600 + om * 60);
	return 0;
}

void
format_time(int64_t t, char *out, size_t outlen)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "@%lld", (long long)t);
}

int
parse_money(const char *in, int64_t *cents, const char **err)
{
	const char *p = in;
	int64_t v = 0;
	int neg = 0, digits = 0, frac = 0, roundup = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	for (; isdigit((unsigned char)*p); p++, digits++) {
		if (v > (INT64_MAX / 100 - 9) / 10) {
			*err = "too large";
			return -1;
		}
		v = v * 10 + (*p - '0');
	}
	v *= 100;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, frac++) {
			if (frac == 0)
				v += (*p - '0') * 10;
			else if (frac == 1)
				v += *p - '0';
			else if (frac == 2)
				roundup = *p >= '5';
		}
		digits += frac;
	}
	if (digits == 0 || *p != '\0') {
		*err = "not a plain decimal amount";
		return -1;
	}
	v += roundup;
	*cents = neg ? -v : v;
	return 0;
}

int
parse_bool(const char *in, int *out, const char **err)
{
	static const char *const yes[] = { "yes", "true", "y", "1" };
	static const char *const no[] = { "no", "false", "n", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(in, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(in, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	*err = "not yes or no";
	return -1;
}

int
parse_int(const char *in, int64_t min, int64_t max, int64_t *out,
    const char **err)
{
	long long v;
	char *end;

	if (*in == '\0' || parse_blank((unsigned char)*in)) {
		*err = "not a number";
		return -1;
	}
	errno = 0;
	v = strtoll(in, &end, 10);
	if (*end != '\0') {
		*err = "not a number";
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		*err = "out of range";
		return -1;
	}
	*out = v;
	return 0;
}

int
parse_slug(const char *in, char *out, size_t outlen)
{
	const char *p, *last = strrchr(in, '>');
	size_t n = 0;
	int sep = 0;

	if (outlen < 2)
		return -1;
	for (p = last != NULL ? last + 1 : in; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (!(c < 0x80 && isalnum(c))) {
			sep = 1;
			continue;
		}
		/* truncate at a word boundary rather than mid-word */
		if (sep && n > 0) {
			if (n + 2 >= outlen)
				break;
			out[n++] = '_';
		}
		sep = 0;
		if (n + 1 >= outlen)
			break;
		out[n++] = (char)tolower(c);
	}
	while (n > 0 && out[n - 1] == '_')
		n--;
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

int
parse_utf8_valid(const char *str, size_t len)
{
	const char *s = str, *e = str + len;
	uint32_t cp;
	size_t n;

	while (s < e) {
		/* ASCII, eight bytes at a time: most of any export */
		while (e - s >= 8) {
			uint64_t w;

			memcpy(&w, s, 8);
			if (w & 0x8080808080808080ULL)
				break;
			s += 8;
		}
		if (s == e)
			break;
		if ((n = utf8_decode(s, (size_t)(e - s), &cp)) == 0)
			return 0;
		s += n;
	}
	return 1;
}
