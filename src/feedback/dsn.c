/*
 * dsn.c - reading delivery status notifications and ARF complaints
 * (dsn.h).
 *
 * GMime finds the parts; the report bodies (message/delivery-status and
 * message/feedback-report are leaf parts to GMime, decoded from base64 or
 * quoted-printable on the way out) are header-like blocks read here,
 * field by field, unfolded and bounded: a field longer than FIELD_MAX is
 * cut, never a reason to overrun.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "bounce.h"
#include "dsn.h"

#define FIELD_MAX	1024
#define FIELD_NAME_MAX	64
#define DEPTH_MAX	8	/* multiparts inside multiparts */

/* What the walk of the tree found; the parts are not referenced. */
struct dsn_parts {
	GMimePart	*status;	/* message/delivery-status */
	GMimePart	*feedback;	/* message/feedback-report */
	GMimeMessage	*original;	/* message/rfc822 */
	GMimePart	*headers;	/* text/rfc822-headers */
};

/* A report body, decoded, and where reading it has got to. */
struct dsn_text {
	GByteArray	*bytes;
	size_t		 at;
};

static const char *const kind_names[] = {
	[DSN_HARD] = "hard",
	[DSN_SOFT] = "soft",
	[DSN_COMPLAINT] = "complaint",
};

static const char *const error_names[] = {
	[DSN_OK] = "ok",
	[DSN_ERR_TOO_BIG] = "too big",
	[DSN_ERR_NOT_MIME] = "not a MIME message",
	[DSN_ERR_NOT_REPORT] = "no delivery status or feedback report",
	[DSN_ERR_NO_RECIPIENT] = "a delivery status naming no recipient",
	[DSN_ERR_NO_TYPE] = "a feedback report without Feedback-Type",
};

const char *
dsn_kind_name(enum dsn_kind k)
{
	return k <= DSN_COMPLAINT ? kind_names[k] : "?";
}

const char *
dsn_error_name(enum dsn_error e)
{
	return e <= DSN_ERR_NO_TYPE ? error_names[e] : "?";
}

/* S into OUT (LEN), at most N bytes, controls and 8-bit bytes masked. */
static void
dsn_copy(char *out, size_t len, const char *s, size_t n)
{
	size_t o = 0;
	unsigned char c;

	for (; n > 0 && *s != '\0' && o + 1 < len; s++, n--) {
		c = (unsigned char)*s;
		out[o++] = c < 0x20 || c > 0x7e ? '?' : (char)c;
	}
	out[o] = '\0';
}

static int
dsn_fail(struct dsn_report *r, enum dsn_error e, const char *fmt, ...)
{
	va_list ap;

	r->error = e;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * The next field of T: its name into NAME, its value unfolded and
 * trimmed into VALUE (FIELD_MAX, cut if longer).  1 for a field, 0 at a
 * blank line (a block's end), -1 at the end of the text.  A line with
 * no colon is skipped.
 */
static int
dsn_field(struct dsn_text *t, char *name, char *value)
{
	const char *p = (const char *)t->bytes->data;
	size_t n = t->bytes->len, e, v, o;

	for (;;) {
		if (t->at >= n)
			return -1;
		for (e = t->at; e < n && p[e] != '\n'; e++)
			;
		v = e > t->at && p[e - 1] == '\r' ? e - 1 : e;
		if (v == t->at) {
			t->at = e + 1;
			return 0;
		}
		/* a name: printable up to the colon, no space */
		for (o = t->at; o < v && p[o] != ':' && p[o] > ' ' &&
		    p[o] < 0x7f; o++)
			;
		if (o < v && p[o] == ':' && o > t->at &&
		    o - t->at < FIELD_NAME_MAX)
			break;
		t->at = e + 1;	/* a stray line, or a continuation alone */
	}
	memcpy(name, p + t->at, o - t->at);
	name[o - t->at] = '\0';
	v = 0;
	o++;
	for (;;) {
		for (; o < n && p[o] != '\n'; o++) {
			if (p[o] == '\r')
				continue;
			if ((p[o] == ' ' || p[o] == '\t') &&
			    (v == 0 || value[v - 1] == ' '))
				continue;
			if (v + 1 < FIELD_MAX)
				value[v++] = p[o] == '\t' ? ' ' : p[o];
		}
		/* folded onto the next line? */
		if (o + 1 < n && (p[o + 1] == ' ' || p[o + 1] == '\t')) {
			o++;
			if (v > 0 && value[v - 1] != ' ' && v + 1 < FIELD_MAX)
				value[v++] = ' ';
			continue;
		}
		break;
	}
	while (v > 0 && value[v - 1] == ' ')
		v--;
	value[v] = '\0';
	t->at = o + 1;
	return 1;
}

/* The decoded content of leaf part P; g_byte_array_unref() it. */
static GByteArray *
dsn_content(GMimePart *p)
{
	GMimeDataWrapper *w = g_mime_part_get_content(p);
	GMimeStream *mem;
	GByteArray *ba;

	ba = g_byte_array_new();
	if (w == NULL)
		return ba;
	mem = g_mime_stream_mem_new_with_byte_array(ba);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_mime_data_wrapper_write_to_stream(w, mem);
	g_object_unref(mem);
	return ba;
}

/* The address of a typed value, "rfc822; <a@b>" or "a@b", into OUT. */
static void
dsn_address(const char *v, char *out, size_t len)
{
	const char *semi = strchr(v, ';');
	size_t n;

	if (semi != NULL)
		v = semi + 1;
	while (*v == ' ' || *v == '<')
		v++;
	n = strcspn(v, "> ");
	dsn_copy(out, len, v, n);
}

/* A typed value's text, "smtp; 550 ..." or "550 ...", into OUT. */
static void
dsn_untyped(const char *v, char *out, size_t len)
{
	const char *semi = strchr(v, ';');

	if (semi != NULL) {
		v = semi + 1;
		while (*v == ' ')
			v++;
	}
	snprintf(out, len, "%s", v);
}

/* 1 and the code into OUT when S starts with an enhanced status code. */
static int
dsn_code_at(const char *s, char *out, size_t len)
{
	size_t i = 0, d;
	int part;

	if (*s != '2' && *s != '4' && *s != '5')
		return 0;
	for (part = 0; part < 3; part++) {
		if (part > 0 && s[i++] != '.')
			return 0;
		for (d = 0; isdigit((unsigned char)s[i]) && d < 4; d++)
			i++;
		if (d == 0 || d > 3)
			return 0;
	}
	if (isdigit((unsigned char)s[i]) || s[i] == '.')
		return 0;
	dsn_copy(out, len, s, i);
	return 1;
}

/* The first enhanced status code in S, at a word's start; 1 or 0. */
static int
dsn_code_in(const char *s, char *out, size_t len)
{
	const char *p;

	for (p = s; *p != '\0'; p++) {
		if (p != s && (isalnum((unsigned char)p[-1]) || p[-1] == '.'))
			continue;
		if (dsn_code_at(p, out, len))
			return 1;
	}
	return 0;
}

/* One recipient block's fields, as read. */
struct dsn_block {
	char	 final[DSN_ADDR_MAX];
	char	 original[DSN_ADDR_MAX];
	char	 action[16];
	char	 status[FIELD_MAX];
	char	 diagnostic[FIELD_MAX];
};

/*
 * Ends block B: a recipient kept or skipped, the per-message fields
 * ignored.  *NAMED counts blocks that name a recipient, *BAD those that
 * name one but say neither what happened nor with what status (a report
 * cut short).
 */
static void
dsn_block_end(struct dsn_report *r, const struct dsn_block *b,
    int *named, int *bad)
{
	struct dsn_rcpt *rc;
	char code[DSN_STATUS_MAX];
	int failed;

	if (b->final[0] == '\0' && b->original[0] == '\0' &&
	    b->action[0] == '\0')
		return;		/* the per-message fields */
	*named = 1;
	if (strcasecmp(b->action, "delivered") == 0 ||
	    strcasecmp(b->action, "relayed") == 0 ||
	    strcasecmp(b->action, "expanded") == 0 ||
	    r->nrcpts == DSN_RCPTS_MAX) {
		r->skipped++;
		return;
	}
	failed = strcasecmp(b->action, "failed") == 0;
	if (!dsn_code_at(b->status, code, sizeof(code)) &&
	    !dsn_code_in(b->diagnostic, code, sizeof(code))) {
		if (b->action[0] == '\0') {
			(*bad)++;
			return;
		}
		snprintf(code, sizeof(code), "%s", failed ? "5.0.0" :
		    "4.0.0");
	}
	if (code[0] == '2' && !failed) {
		r->skipped++;	/* a success with no Action */
		return;
	}
	rc = &r->rcpts[r->nrcpts++];
	memset(rc, 0, sizeof(*rc));
	if (strcasecmp(b->action, "delayed") == 0 || code[0] == '4')
		rc->kind = DSN_SOFT;
	else
		rc->kind = DSN_HARD;
	if (code[0] == '2')
		code[0] = '5';	/* failed, whatever the code says */
	snprintf(rc->status, sizeof(rc->status), "%s", code);
	snprintf(rc->recipient, sizeof(rc->recipient), "%s",
	    b->final[0] != '\0' ? b->final : b->original);
	dsn_copy(rc->diagnostic, sizeof(rc->diagnostic), b->diagnostic,
	    DSN_DIAG_MAX);
}

static int
dsn_read_status(GMimePart *part, struct dsn_report *r)
{
	char name[FIELD_NAME_MAX], value[FIELD_MAX];
	struct dsn_block b;
	struct dsn_text t;
	int rc, named = 0, bad = 0;

	t.bytes = dsn_content(part);
	t.at = 0;
	memset(&b, 0, sizeof(b));
	do {
		rc = dsn_field(&t, name, value);
		if (rc == 1) {
			if (strcasecmp(name, "Final-Recipient") == 0)
				dsn_address(value, b.final, sizeof(b.final));
			else if (strcasecmp(name, "Original-Recipient") == 0)
				dsn_address(value, b.original,
				    sizeof(b.original));
			else if (strcasecmp(name, "Action") == 0)
				dsn_copy(b.action, sizeof(b.action), value,
				    strcspn(value, " ("));
			else if (strcasecmp(name, "Status") == 0)
				snprintf(b.status, sizeof(b.status), "%s",
				    value);
			else if (strcasecmp(name, "Diagnostic-Code") == 0)
				dsn_untyped(value, b.diagnostic,
				    sizeof(b.diagnostic));
			continue;
		}
		dsn_block_end(r, &b, &named, &bad);
		memset(&b, 0, sizeof(b));
	} while (rc != -1);
	g_byte_array_unref(t.bytes);
	if (!named || (r->nrcpts == 0 && r->skipped == 0))
		return dsn_fail(r, DSN_ERR_NO_RECIPIENT, "%s%s",
		    dsn_error_name(DSN_ERR_NO_RECIPIENT), bad > 0 ?
		    " with an Action or a Status" : "");
	return 0;
}

static void
dsn_complaint(struct dsn_report *r, const char *rcpt, const char *type,
    const char *agent)
{
	struct dsn_rcpt *rc;

	if (r->nrcpts == DSN_RCPTS_MAX) {
		r->skipped++;
		return;
	}
	rc = &r->rcpts[r->nrcpts++];
	memset(rc, 0, sizeof(*rc));
	rc->kind = DSN_COMPLAINT;
	dsn_address(rcpt, rc->recipient, sizeof(rc->recipient));
	snprintf(rc->diagnostic, sizeof(rc->diagnostic), "feedback-type %s%s%s",
	    type, agent[0] != '\0' ? "; user-agent " : "", agent);
}

static int
dsn_read_feedback(GMimePart *part, struct dsn_report *r)
{
	char name[FIELD_NAME_MAX], value[FIELD_MAX], type[32] = "", agent[64] = "";
	char rcpts[DSN_RCPTS_MAX][DSN_ADDR_MAX], tok[BOUNCE_TOKEN_MAX];
	struct dsn_text t;
	size_t n = 0, i;
	int rc;

	t.bytes = dsn_content(part);
	t.at = 0;
	/* ARF is one block; a blank line ends nothing here */
	while ((rc = dsn_field(&t, name, value)) != -1) {
		if (rc == 0)
			continue;
		if (strcasecmp(name, "Feedback-Type") == 0)
			dsn_copy(type, sizeof(type), value, strcspn(value,
			    " ;"));
		else if (strcasecmp(name, "User-Agent") == 0)
			dsn_copy(agent, sizeof(agent), value, strlen(value));
		else if (strcasecmp(name, "Original-Rcpt-To") == 0) {
			if (n < DSN_RCPTS_MAX)
				dsn_copy(rcpts[n++], DSN_ADDR_MAX, value,
				    strlen(value));
			else
				r->skipped++;
		} else if (strcasecmp(name, "Original-Mail-From") == 0 &&
		    r->orig_token[0] == '\0' &&
		    bounce_token_of(value, tok, sizeof(tok)) == 0)
			dsn_copy(r->orig_token, sizeof(r->orig_token), tok,
			    sizeof(tok));
	}
	g_byte_array_unref(t.bytes);
	if (type[0] == '\0')
		return dsn_fail(r, DSN_ERR_NO_TYPE, "%s",
		    dsn_error_name(DSN_ERR_NO_TYPE));
	for (i = 0; type[i] != '\0'; i++)
		type[i] = (char)tolower((unsigned char)type[i]);
	if (strcmp(type, "abuse") != 0 && strcmp(type, "fraud") != 0 &&
	    strcmp(type, "other") != 0) {
		r->skipped += n > 0 ? n : 1;
		return 0;
	}
	if (n == 0)
		dsn_complaint(r, "", type, agent);
	for (i = 0; i < n; i++)
		dsn_complaint(r, rcpts[i], type, agent);
	return 0;
}

/* A header of the original named NAME, from a message or a headers part. */
static int
dsn_original_header(const struct dsn_parts *p, const char *want,
    char *out, size_t len)
{
	char name[FIELD_NAME_MAX], value[FIELD_MAX];
	const char *v;
	struct dsn_text t;
	int rc, found = 0;

	if (p->original != NULL) {
		if ((v = g_mime_object_get_header(GMIME_OBJECT(p->original),
		    want)) == NULL)
			return 0;
		while (*v == ' ' || *v == '\t')
			v++;
		dsn_copy(out, len, v, strlen(v));
		return 1;
	}
	if (p->headers == NULL)
		return 0;
	t.bytes = dsn_content(p->headers);
	t.at = 0;
	while ((rc = dsn_field(&t, name, value)) == 1)
		if (strcasecmp(name, want) == 0) {
			dsn_copy(out, len, value, strlen(value));
			found = 1;
			break;
		}
	g_byte_array_unref(t.bytes);
	return found;
}

/* Finds the report's parts below O, not inside a returned original. */
static void
dsn_walk(GMimeObject *o, struct dsn_parts *p, int depth)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	int i, n;

	if (depth > DEPTH_MAX)
		return;
	if (GMIME_IS_MULTIPART(o)) {
		n = g_mime_multipart_get_count(GMIME_MULTIPART(o));
		for (i = 0; i < n; i++)
			dsn_walk(g_mime_multipart_get_part(GMIME_MULTIPART(o),
			    i), p, depth + 1);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(o)) {
		if (p->original == NULL)
			p->original = g_mime_message_part_get_message(
			    GMIME_MESSAGE_PART(o));
		return;
	}
	if (!GMIME_IS_PART(o) || ct == NULL)
		return;
	if (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
	    g_mime_content_type_is_type(ct, "message",
	    "global-delivery-status")) {
		if (p->status == NULL)
			p->status = GMIME_PART(o);
	} else if (g_mime_content_type_is_type(ct, "message",
	    "feedback-report")) {
		if (p->feedback == NULL)
			p->feedback = GMIME_PART(o);
	} else if (g_mime_content_type_is_type(ct, "text", "rfc822-headers")) {
		if (p->headers == NULL)
			p->headers = GMIME_PART(o);
	}
}

static int
dsn_read(GMimeMessage *msg, const char *campaign_header,
    struct dsn_report *r)
{
	char value[FIELD_MAX], tok[BOUNCE_TOKEN_MAX];
	struct dsn_parts p;
	GMimeObject *top;

	memset(&p, 0, sizeof(p));
	if ((top = g_mime_message_get_mime_part(msg)) == NULL)
		return dsn_fail(r, DSN_ERR_NOT_REPORT, "%s",
		    dsn_error_name(DSN_ERR_NOT_REPORT));
	dsn_walk(top, &p, 0);
	if (r->orig_token[0] == '\0' &&
	    dsn_original_header(&p, "Return-Path", value, sizeof(value)) &&
	    bounce_token_of(value, tok, sizeof(tok)) == 0)
		dsn_copy(r->orig_token, sizeof(r->orig_token), tok,
		    sizeof(tok));
	if (campaign_header != NULL && campaign_header[0] != '\0')
		dsn_original_header(&p, campaign_header, r->campaign,
		    sizeof(r->campaign));
	if (p.status != NULL) {
		r->type = DSN_DELIVERY;
		return dsn_read_status(p.status, r);
	}
	if (p.feedback != NULL) {
		r->type = DSN_FEEDBACK;
		return dsn_read_feedback(p.feedback, r);
	}
	/* Microsoft's JMRP: the original attached, its recipient named */
	if (p.original != NULL && dsn_original_header(&p,
	    "X-HmXmrOriginalRecipient", value, sizeof(value))) {
		r->type = DSN_FEEDBACK;
		dsn_complaint(r, value, "abuse", "JMRP");
		return 0;
	}
	return dsn_fail(r, DSN_ERR_NOT_REPORT, "%s",
	    dsn_error_name(DSN_ERR_NOT_REPORT));
}

int
dsn_parse(const void *msg, size_t len, const char *env_rcpt,
    const char *campaign_header, struct dsn_report *r)
{
	char tok[BOUNCE_TOKEN_MAX];
	GMimeParser *parser;
	GMimeStream *stream;
	GMimeMessage *m;
	int rc;

	memset(r, 0, sizeof(*r));
	if (len > DSN_INPUT_MAX)
		return dsn_fail(r, DSN_ERR_TOO_BIG, "%zu bytes (at most %u)",
		    len, DSN_INPUT_MAX);
	if (env_rcpt != NULL && bounce_token_of(env_rcpt, tok,
	    sizeof(tok)) == 0)
		dsn_copy(r->env_token, sizeof(r->env_token), tok,
		    sizeof(tok));
	stream = g_mime_stream_mem_new_with_buffer(msg, len);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	m = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	if (m == NULL)
		return dsn_fail(r, DSN_ERR_NOT_MIME, "%s",
		    dsn_error_name(DSN_ERR_NOT_MIME));
	rc = dsn_read(m, campaign_header, r);
	g_object_unref(m);
	return rc;
}
