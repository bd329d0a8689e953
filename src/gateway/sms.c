/*
 * sms.c - the SMS gateway drivers over libcurl (see gateway.h).
 *
 * Redirects are not followed (a gateway that moves is a configuration
 * to fix, and following one would carry the credentials elsewhere),
 * only http and https are spoken, and TLS peers are always verified.
 * Replies are read up to REPLY_MAX bytes: enough for any error document,
 * and a misbehaving endpoint cannot make a worker hold more.  A reply
 * cut off after its status line is judged by that line: a 2xx is sent.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "digest.h"
#include "gateway.h"
#include "gateway_int.h"
#include "str.h"
#include "xalloc.h"

#define REQUEST_MAX	(64 * 1024)
#define REPLY_MAX	(16 * 1024)

struct gw_sms {
	CURL		*curl;
	const atomic_int *cancel;
};

/* S percent-encoded as application/x-www-form-urlencoded wants it. */
static int
put_escaped(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	int rc = 0;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (isalnum(*p) || strchr("-._~", *p) != NULL)
			rc |= buf_putc(b, *p);
		else {
			rc |= buf_putc(b, '%');
			rc |= buf_putc(b, hex[*p >> 4]);
			rc |= buf_putc(b, hex[*p & 15]);
		}
	}
	return rc;
}

/* "&NAME=VALUE" (no '&' first), VALUE escaped. */
static int
put_param(struct buf *b, const char *name, const char *value)
{
	int rc = 0;

	if (b->len > 0 && b->data[b->len - 1] != '?')
		rc |= buf_putc(b, '&');
	rc |= buf_puts(b, name);
	rc |= buf_putc(b, '=');
	rc |= put_escaped(b, value);
	return rc;
}

/* S as a JSON string, quotes included. */
static int
put_json_string(struct buf *b, const char *s)
{
	const unsigned char *p;
	int rc = buf_putc(b, '"');

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			rc |= buf_putc(b, '\\');
			rc |= buf_putc(b, *p);
		} else if (*p == '\n')
			rc |= buf_puts(b, "\\n");
		else if (*p < 0x20)
			rc |= buf_printf(b, "\\u%04x", *p);
		else
			rc |= buf_putc(b, *p);
	}
	return rc | buf_putc(b, '"');
}

/* BASE without a trailing '/', then PATH. */
static int
put_url(struct buf *b, const char *base, const char *path)
{
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	return buf_append(b, base, n) | buf_puts(b, path);
}

static int
encode_twilio(const struct conf_sms *s, const struct gw_sms_msg *m,
    struct gw_sms_request *rq)
{
	int rc = 0;

	rq->post = 1;
	rq->content_type = "application/x-www-form-urlencoded";
	rc |= put_url(&rq->url, s->url, "/2010-04-01/Accounts/");
	rc |= put_escaped(&rq->url, s->user);
	rc |= buf_puts(&rq->url, "/Messages.json");
	rc |= put_param(&rq->body, "To", m->to);
	if (s->messaging_service_sid[0] != '\0')
		rc |= put_param(&rq->body, "MessagingServiceSid",
		    s->messaging_service_sid);
	else
		rc |= put_param(&rq->body, "From", s->from);
	rc |= put_param(&rq->body, "Body", m->text);
	if (s->status_callback[0] != '\0')
		rc |= put_param(&rq->body, "StatusCallback",
		    s->status_callback);
	snprintf(rq->userpwd, sizeof(rq->userpwd), "%s:%s", s->user,
	    s->secret);
	return rc;
}

static int
encode_kannel(const struct conf_sms *s, const struct gw_sms_msg *m,
    struct gw_sms_request *rq)
{
	struct buf dlr;
	int rc = 0;

	rq->post = 0;
	rc |= put_url(&rq->url, s->url, "/cgi-bin/sendsms?");
	rc |= put_param(&rq->url, "username", s->user);
	rc |= put_param(&rq->url, "password", s->secret);
	if (s->from[0] != '\0')
		rc |= put_param(&rq->url, "from", s->from);
	rc |= put_param(&rq->url, "to", m->to);
	rc |= put_param(&rq->url, "text", m->text);
	rc |= put_param(&rq->url, "charset", "UTF-8");
	rc |= put_param(&rq->url, "coding", m->ucs2 ? "2" : "0");
	if (s->dlr_url[0] != '\0') {
		/*
		 * Kannel calls it with %d (the report's type) and %p (the
		 * number) filled in; the job names the SMS, the secret is
		 * segfeed's.  Every report: delivered, failed, buffered,
		 * taken and refused by the SMSC (1 + 2 + 4 + 8 + 16).
		 */
		buf_init(&dlr, REQUEST_MAX);
		rc |= buf_puts(&dlr, s->dlr_url);
		rc |= buf_putc(&dlr, strchr(s->dlr_url, '?') ? '&' : '?');
		rc |= buf_puts(&dlr, "secret=");
		rc |= put_escaped(&dlr, s->dlr_secret);
		rc |= buf_printf(&dlr, "&job=%lld&type=%%d&to=%%p",
		    (long long)m->job);
		rc |= put_param(&rq->url, "dlr-url", buf_str(&dlr));
		rc |= put_param(&rq->url, "dlr-mask", "31");
		buf_free(&dlr);
	}
	return rc;
}

static int
encode_webhook(const struct conf_sms *s, const struct gw_sms_msg *m,
    int64_t now, struct gw_sms_request *rq)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	char ts[24], hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int maclen = 0;
	struct buf signed_data;
	int rc = 0;

	rq->post = 1;
	rq->content_type = "application/json";
	rc |= buf_puts(&rq->url, s->url);
	rc |= buf_puts(&rq->body, "{\"id\":");
	rc |= put_json_string(&rq->body, m->key);
	rc |= buf_puts(&rq->body, ",\"to\":");
	rc |= put_json_string(&rq->body, m->to);
	rc |= buf_puts(&rq->body, ",\"text\":");
	rc |= put_json_string(&rq->body, m->text);
	rc |= buf_puts(&rq->body, ",\"campaign\":");
	rc |= put_json_string(&rq->body, m->campaign);
	rc |= buf_putc(&rq->body, '}');
	if (rc != 0)
		return -1;
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	buf_init(&signed_data, REQUEST_MAX + sizeof(ts));
	rc |= buf_puts(&signed_data, ts);
	rc |= buf_putc(&signed_data, '.');
	rc |= buf_append(&signed_data, rq->body.data, rq->body.len);
	if (rc == 0 && HMAC(digest_sha256(), s->secret, (int)strlen(s->secret),
	    (const unsigned char *)signed_data.data, signed_data.len, mac,
	    &maclen) == NULL)
		rc = -1;
	buf_free(&signed_data);
	if (rc != 0)
		return -1;
	str_hex(mac, maclen, hex);
	snprintf(rq->headers[0], sizeof(rq->headers[0]),
	    "X-Segmilter-Timestamp: %s", ts);
	snprintf(rq->headers[1], sizeof(rq->headers[1]),
	    "X-Segmilter-Signature: sha256=%s", hex);
	snprintf(rq->headers[2], sizeof(rq->headers[2]),
	    "Idempotency-Key: %s", m->key);
	rq->nheaders = 3;
	return 0;
}

int
gw_sms_encode(const struct conf_sms *s, const struct gw_sms_msg *m,
    int64_t now, struct gw_sms_request *rq)
{
	int rc = -1;

	memset(rq, 0, sizeof(*rq));
	buf_init(&rq->url, REQUEST_MAX);
	buf_init(&rq->body, REQUEST_MAX);
	switch (s->driver) {
	case SMS_TWILIO:
		rc = encode_twilio(s, m, rq);
		break;
	case SMS_KANNEL:
		rc = encode_kannel(s, m, rq);
		break;
	case SMS_WEBHOOK:
		rc = encode_webhook(s, m, now, rq);
		break;
	case SMS_OFF:
		break;
	}
	return rc != 0 ? -1 : 0;
}

void
gw_sms_request_free(struct gw_sms_request *rq)
{
	buf_free(&rq->url);
	buf_free(&rq->body);
	explicit_bzero(rq->userpwd, sizeof(rq->userpwd));
}

/*
 * The value of "KEY": in a JSON document, a string or a number, into
 * OUT; 0, or -1 when it is not there.  Enough for the flat replies of
 * the gateways; a key in a nested object is found as well, which is
 * harmless for the keys asked for.  A control character in the value
 * becomes '?': a gateway's reply must not forge a log line.
 */
static int
json_field(const char *body, size_t len, const char *key, char *out,
    size_t outlen)
{
	char pat[64];
	const char *p, *end = body + len;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	for (p = body; (p = memmem(p, (size_t)(end - p), pat, strlen(pat))) !=
	    NULL; p++) {
		p += strlen(pat);
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p >= end)
			return -1;	/* the key ends the reply */
		if (*p != ':')
			continue;
		for (p++; p < end && isspace((unsigned char)*p); p++)
			;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"' && n + 1 < outlen; p++)
				out[n++] = *p == '\\' && p + 1 < end ? *++p :
				    *p;
		} else {
			while (p < end && (isalnum((unsigned char)*p) ||
			    *p == '-') && n + 1 < outlen)
				out[n++] = *p++;
		}
		out[n] = '\0';
		/* it goes to the log and the audit row */
		str_mask_controls(out);
		return n > 0 ? 0 : -1;
	}
	return -1;
}

/* The first line of BODY, printable, for the log. */
static void
first_line(const char *body, size_t len, char *out, size_t outlen)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 1 < outlen; i++) {
		if (body[i] == '\r' || body[i] == '\n')
			break;
		out[n++] = isprint((unsigned char)body[i]) ? body[i] : '?';
	}
	out[n] = '\0';
}

void
gw_sms_classify(enum conf_sms_driver driver, long status, const char *body,
    size_t len, const char *cut, struct gw_sms_reply *out)
{
	char code[32] = "", err[64] = "", line[128];

	memset(out, 0, sizeof(*out));
	if (cut != NULL) {
		/*
		 * A 2xx status line is the gateway taking the SMS: asked
		 * again, it would send it again.  What arrived of the body
		 * may end inside the id, and a truncated id would look
		 * like a real one, so none is kept.  Any other status,
		 * read in part, is no refusal to act on: tried again.
		 */
		out->result = status >= 200 && status < 300 ? GW_SENT :
		    GW_TEMPFAIL;
		snprintf(out->why, sizeof(out->why), "HTTP %ld, %sreply cut"
		    " off: %s", status, out->result == GW_SENT ?
		    "id unknown: " : "", cut);
		str_mask_controls(out->why);
		return;
	}
	first_line(body, len, line, sizeof(line));
	if (status >= 200 && status < 300) {
		out->result = GW_SENT;
		if (driver == SMS_TWILIO)
			json_field(body, len, "sid", out->ref,
			    sizeof(out->ref));
		else if (driver == SMS_WEBHOOK)
			json_field(body, len, "id", out->ref,
			    sizeof(out->ref));
		snprintf(out->why, sizeof(out->why), "HTTP %ld%s%s", status,
		    out->ref[0] ? ", id " : "", out->ref);
		return;
	}
	if (status == 401 || status == 403 || status == 404) {
		out->result = GW_TEMPFAIL;
		snprintf(out->why, sizeof(out->why), "HTTP %ld: the gateway"
		    " refuses segmilter (credentials or URL?): %s", status,
		    line);
		return;
	}
	if (status == 408 || status == 429 || status >= 500 || status < 400) {
		out->result = GW_TEMPFAIL;
		snprintf(out->why, sizeof(out->why), "HTTP %ld: %s", status,
		    line);
		return;
	}
	out->result = GW_PERMFAIL;
	out->refusal = GW_SMS_OTHER;
	if (driver == SMS_TWILIO && json_field(body, len, "code", code,
	    sizeof(code)) == 0) {
		if (strcmp(code, "21610") == 0)
			out->refusal = GW_SMS_OPTED_OUT;
		else if (strcmp(code, "21211") == 0 ||
		    strcmp(code, "21614") == 0 || strcmp(code, "21612") == 0)
			out->refusal = GW_SMS_INVALID;
		snprintf(out->why, sizeof(out->why), "HTTP %ld, Twilio error"
		    " %s", status, code);
		return;
	}
	if (driver == SMS_WEBHOOK && json_field(body, len, "error", err,
	    sizeof(err)) == 0) {
		if (strcmp(err, "opted_out") == 0)
			out->refusal = GW_SMS_OPTED_OUT;
		else if (strcmp(err, "invalid_number") == 0)
			out->refusal = GW_SMS_INVALID;
		snprintf(out->why, sizeof(out->why), "HTTP %ld: %s", status,
		    err);
		return;
	}
	snprintf(out->why, sizeof(out->why), "HTTP %ld: %s", status, line);
}

struct gw_sms *
gw_sms_new(const atomic_int *cancel)
{
	struct gw_sms *g = xcalloc(1, sizeof(*g));

	g->curl = curl_easy_init();
	g->cancel = cancel;
	return g;
}

void
gw_sms_free(struct gw_sms *g)
{
	if (g == NULL)
		return;
	if (g->curl != NULL)
		curl_easy_cleanup(g->curl);
	free(g);
}

static size_t
keep_reply(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	/* past REPLY_MAX the rest is dropped, not refused */
	buf_append(b, p, size * n);
	return size * n;
}

enum gw_result
gw_sms_send(struct gw_sms *g, const struct conf_sms *s,
    const struct gw_sms_msg *m, int64_t now, struct gw_sms_reply *out)
{
	struct curl_slist *hdrs = NULL;
	struct gw_sms_request rq;
	char errbuf[CURL_ERROR_SIZE] = "", ctype[96];
	const char *error;
	struct buf reply;
	long status = 0;
	CURLcode cc;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (g->curl == NULL || gw_sms_encode(s, m, now, &rq) == -1) {
		out->result = GW_TEMPFAIL;
		snprintf(out->why, sizeof(out->why), g->curl == NULL ?
		    "libcurl cannot start" : "request too large");
		if (g->curl != NULL)
			gw_sms_request_free(&rq);
		return out->result;
	}
	buf_init(&reply, REPLY_MAX);
	curl_easy_reset(g->curl);
	curl_easy_setopt(g->curl, CURLOPT_URL, buf_str(&rq.url));
	curl_easy_setopt(g->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(g->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(g->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(g->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(g->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file[0] != '\0')
		curl_easy_setopt(g->curl, CURLOPT_CAINFO, s->ca_file);
	curl_easy_setopt(g->curl, CURLOPT_CONNECTTIMEOUT,
	    (long)s->connect_timeout_s);
	curl_easy_setopt(g->curl, CURLOPT_TIMEOUT, (long)s->timeout_s);
	curl_easy_setopt(g->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(g->curl, CURLOPT_WRITEFUNCTION, keep_reply);
	curl_easy_setopt(g->curl, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(g->curl, CURLOPT_USERAGENT, "segmilter/" SEGM_VERSION);
	if (rq.userpwd[0] != '\0') {
		curl_easy_setopt(g->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(g->curl, CURLOPT_USERPWD, rq.userpwd);
	}
	if (rq.post) {
		curl_easy_setopt(g->curl, CURLOPT_POST, 1L);
		curl_easy_setopt(g->curl, CURLOPT_POSTFIELDS, buf_str(&rq.body));
		curl_easy_setopt(g->curl, CURLOPT_POSTFIELDSIZE,
		    (long)rq.body.len);
		snprintf(ctype, sizeof(ctype), "Content-Type: %s",
		    rq.content_type);
		hdrs = curl_slist_append(hdrs, ctype);
	}
	for (i = 0; i < rq.nheaders; i++)
		hdrs = curl_slist_append(hdrs, rq.headers[i]);
	/* no "Expect: 100-continue" round trip for small bodies */
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(g->curl, CURLOPT_HTTPHEADER, hdrs);
	gw_cancel_attach(g->curl, g->cancel);

	cc = curl_easy_perform(g->curl);
	/*
	 * Once a status line is read the gateway has answered, whatever
	 * becomes of the rest: a 2xx whose body stalls past sms.timeout
	 * or whose connection drops is sent, not sent again.
	 */
	if (curl_easy_getinfo(g->curl, CURLINFO_RESPONSE_CODE, &status) !=
	    CURLE_OK)
		status = 0;
	error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc);
	if (cc == CURLE_OK || status != 0)
		gw_sms_classify(s->driver, status, reply.data ? reply.data : "",
		    reply.len, cc == CURLE_OK ? NULL : error, out);
	else if (cc == CURLE_ABORTED_BY_CALLBACK) {
		out->result = GW_CANCELLED;
		snprintf(out->why, sizeof(out->why), "segmilter is stopping");
	} else {
		out->result = GW_TEMPFAIL;
		snprintf(out->why, sizeof(out->why), "%s", error);
	}
	/* the handle keeps option pointers: drop them with the request */
	curl_easy_setopt(g->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(g->curl, CURLOPT_USERPWD, NULL);
	curl_easy_setopt(g->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	buf_free(&reply);
	gw_sms_request_free(&rq);
	return out->result;
}
