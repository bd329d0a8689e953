/*
 * form.c - the form bodies and query strings segfeed reads itself:
 * application/x-www-form-urlencoded and multipart/form-data (RFC 8058
 * asks receivers for the latter, allows the former; Gmail sends the
 * former).  Pure: buffers in, a field's value out; fuzz_feed drives it.
 *
 * Parsed here rather than with libmicrohttpd's post processor so that
 * the seam needs no connection, and so that what is accepted is written
 * down in one place: a field is found by its exact decoded name, the
 * first of that name counts, and anything malformed is refused rather
 * than guessed at.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "feedback.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes IN (N bytes; '+' a space when PLUS) into OUT, NUL
 * added; -1 on a bad escape, a NUL byte, or no room. */
static int
feedback_urldecode(const char *in, size_t n, int plus, char *out,
    size_t outlen)
{
	size_t i, o = 0;
	int hi, lo, c;

	if (outlen == 0)
		return -1;
	for (i = 0; i < n; i++) {
		c = (unsigned char)in[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			if ((hi = hexval(in[i + 1])) < 0 ||
			    (lo = hexval(in[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (c == '\0' || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* NAME=VALUE pairs split by '&' in S (N bytes): as feedback_form_value. */
static int
pairs_value(const char *s, size_t n, int plus, const char *name, char *out,
    size_t outlen)
{
	const char *p = s, *end = s + n, *amp, *eq;
	char key[128];

	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (amp > p && feedback_urldecode(p, (size_t)((eq ? eq :
		    amp) - p), plus, key, sizeof(key)) == 0 &&
		    strcmp(key, name) == 0) {
			if (eq == NULL)
				eq = amp - 1;	/* "name" alone: empty */
			return feedback_urldecode(eq + 1,
			    (size_t)(amp - eq - 1), plus, out, outlen) == 0 ?
			    1 : -1;
		}
		p = amp + 1;
	}
	return 0;
}

int
feedback_query_value(const char *query, const char *name, char *out,
    size_t outlen)
{
	return pairs_value(query, strlen(query), 1, name, out, outlen);
}

/* 1 if the media type of CTYPE is TYPE (case aside, parameters after). */
static int
media_is(const char *ctype, const char *type)
{
	size_t n = strlen(type);

	while (*ctype == ' ' || *ctype == '\t')
		ctype++;
	if (strncasecmp(ctype, type, n) != 0)
		return 0;
	ctype += n;
	while (*ctype == ' ' || *ctype == '\t')
		ctype++;
	return *ctype == '\0' || *ctype == ';';
}

/* The value of parameter NAME of a header value such as
 * 'form-data; name="x"' or 'multipart/form-data; boundary=y', quoted or
 * not, into OUT; 0, or -1 when it is absent or does not fit. */
static int
header_param(const char *v, size_t n, const char *name, char *out,
    size_t outlen)
{
	const char *p = v, *end = v + n, *q;
	size_t nl = strlen(name), len;

	while ((p = memchr(p, ';', (size_t)(end - p))) != NULL) {
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) <= nl || strncasecmp(p, name, nl) != 0 ||
		    p[nl] != '=')
			continue;
		p += nl + 1;
		if (p < end && *p == '"') {
			p++;
			if ((q = memchr(p, '"', (size_t)(end - p))) == NULL)
				return -1;
		} else {
			for (q = p; q < end && *q != ';' && *q != ' ' &&
			    *q != '\t'; q++)
				;
		}
		len = (size_t)(q - p);
		if (len == 0 || len >= outlen)
			return -1;
		memcpy(out, p, len);
		out[len] = '\0';
		return 0;
	}
	return -1;
}

/* The first occurrence of NEEDLE (NN bytes) in H (HN bytes), or NULL. */
static const char *
find(const char *h, size_t hn, const char *needle, size_t nn)
{
	return memmem(h, hn, needle, nn);
}

/*
 * multipart/form-data: parts delimited by CRLF "--" BOUNDARY, each with
 * headers, a blank line and its content.  The part whose
 * Content-Disposition names NAME is the value (taken as is: browsers
 * and mail clients do not encode form fields' content).
 */
static int
multipart_value(const char *ctype, const char *body, size_t len,
    const char *name, char *out, size_t outlen)
{
	char boundary[80], delim[84], pname[128];
	const char *p, *end = body + len, *hend, *next, *h, *eol;
	size_t dn, vlen;
	int named;

	if (header_param(ctype, strlen(ctype), "boundary", boundary,
	    sizeof(boundary)) == -1)
		return -1;
	dn = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	/* the first delimiter may start the body, without its CRLF */
	if (len >= dn - 2 && memcmp(body, delim + 2, dn - 2) == 0)
		p = body + dn - 2;
	else if ((p = find(body, len, delim, dn)) != NULL)
		p += dn;
	else
		return -1;
	for (;;) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0;		/* the closing delimiter */
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return -1;
		p += 2;
		if ((hend = find(p, (size_t)(end - p), "\r\n\r\n", 4)) ==
		    NULL)
			return -1;
		named = 0;
		for (h = p; h < hend; h = eol + 2) {
			if ((eol = find(h, (size_t)(hend + 2 - h), "\r\n",
			    2)) == NULL)
				eol = hend;
			if ((size_t)(eol - h) > 20 && strncasecmp(h,
			    "Content-Disposition:", 20) == 0 &&
			    header_param(h, (size_t)(eol - h), "name",
			    pname, sizeof(pname)) == 0 &&
			    strcmp(pname, name) == 0)
				named = 1;
		}
		p = hend + 4;
		if ((next = find(p, (size_t)(end - p), delim, dn)) == NULL)
			return -1;
		if (named) {
			vlen = (size_t)(next - p);
			if (vlen >= outlen || memchr(p, '\0', vlen) != NULL)
				return -1;
			memcpy(out, p, vlen);
			out[vlen] = '\0';
			return 1;
		}
		p = next + dn;
	}
}

int
feedback_form_value(const char *ctype, const char *body, size_t len,
    const char *name, char *out, size_t outlen, int *unsupported)
{
	*unsupported = 0;
	if (ctype == NULL) {
		*unsupported = 1;
		return -1;
	}
	if (media_is(ctype, "application/x-www-form-urlencoded")) {
		/* "List-Unsubscribe=One-Click\r\n" from a hand-made POST */
		while (len > 0 && (body[len - 1] == '\n' ||
		    body[len - 1] == '\r'))
			len--;
		return pairs_value(body, len, 1, name, out, outlen);
	}
	if (media_is(ctype, "multipart/form-data"))
		return multipart_value(ctype, body, len, name, out, outlen);
	*unsupported = 1;
	return -1;
}
