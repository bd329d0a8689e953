/*
 * sms.c - reading what the SMS gateways send segfeed: forms, Twilio's
 * signature, keywords, and the fields of each kind of request.
 *
 * Pure: no I/O, no store, no global state; every input is bounded by the
 * caller (FEEDBACK_SMS_FORM_MAX) and again here.  What is read from a
 * request ends up in the log and the audit rows, so it is copied into
 * fixed fields or pointed to inside the form, never formatted here.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "buf.h"
#include "digest.h"
#include "feedback_sms.h"
#include "parse.h"
#include "str.h"
#include "xalloc.h"

/* The longest URL a signature is checked for; Twilio's limit is 4 KiB. */
#define URL_MAX		8192
#define SIG_B64_LEN	28	/* Base64 of a 20-byte SHA-1 MAC */

static const char *const form_error_names[FEEDBACK_SMS_FORM_NERRORS] = {
	[FEEDBACK_SMS_FORM_OK] = "ok",
	[FEEDBACK_SMS_FORM_TOO_LONG] = "too_long",
	[FEEDBACK_SMS_FORM_TOO_MANY] = "too_many_fields",
	[FEEDBACK_SMS_FORM_BAD_ESCAPE] = "bad_escape",
	[FEEDBACK_SMS_FORM_NUL] = "nul_byte",
	[FEEDBACK_SMS_FORM_NO_NAME] = "field_without_name",
};

static const char *const keyword_names[FEEDBACK_SMS_KW_NKEYWORDS] = {
	[FEEDBACK_SMS_KW_OTHER] = "other",
	[FEEDBACK_SMS_KW_OPT_OUT] = "opt_out",
	[FEEDBACK_SMS_KW_OPT_IN] = "opt_in",
	[FEEDBACK_SMS_KW_HELP] = "help",
};

static const char *const error_names[FEEDBACK_SMS_NERRORS] = {
	[FEEDBACK_SMS_OK] = "ok",
	[FEEDBACK_SMS_E_MISSING] = "missing_field",
	[FEEDBACK_SMS_E_REPEATED] = "repeated_field",
	[FEEDBACK_SMS_E_PHONE] = "bad_phone",
	[FEEDBACK_SMS_E_SECRET] = "bad_secret",
	[FEEDBACK_SMS_E_VALUE] = "bad_value",
	[FEEDBACK_SMS_E_STORE] = "store",
};

static const char *const status_names[FEEDBACK_SMS_ST_NSTATUS] = {
	[FEEDBACK_SMS_ST_PENDING] = "pending",
	[FEEDBACK_SMS_ST_DELIVERED] = "delivered",
	[FEEDBACK_SMS_ST_FAILED] = "failed",
	[FEEDBACK_SMS_ST_OPTED_OUT] = "opted_out",
	[FEEDBACK_SMS_ST_INVALID] = "invalid",
};

const char *
feedback_sms_form_error_name(enum feedback_sms_form_error e)
{
	return e < FEEDBACK_SMS_FORM_NERRORS ? form_error_names[e] : "?";
}

const char *
feedback_sms_keyword_name(enum feedback_sms_keyword k)
{
	return k < FEEDBACK_SMS_KW_NKEYWORDS ? keyword_names[k] : "?";
}

const char *
feedback_sms_error_name(enum feedback_sms_error e)
{
	return e < FEEDBACK_SMS_NERRORS ? error_names[e] : "?";
}

const char *
feedback_sms_status_name(enum feedback_sms_status s)
{
	return s < FEEDBACK_SMS_ST_NSTATUS ? status_names[s] : "?";
}

/* ---- forms ------------------------------------------------------------ */

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* [P, END) decoded to OUT, NUL-terminated; *N bytes written, NUL too. */
static enum feedback_sms_form_error
decode(const char *p, const char *end, char *out, size_t *n)
{
	size_t k = 0;
	int hi, lo;

	for (; p < end; p++) {
		if (*p == '+')
			out[k++] = ' ';
		else if (*p == '%') {
			if (end - p < 3 || (hi = hex_value(p[1])) < 0 ||
			    (lo = hex_value(p[2])) < 0)
				return FEEDBACK_SMS_FORM_BAD_ESCAPE;
			/* a NUL would cut the value short where it is used
			 * as a string, unlike where it was signed */
			if (hi == 0 && lo == 0)
				return FEEDBACK_SMS_FORM_NUL;
			out[k++] = (char)(hi << 4 | lo);
			p += 2;
		} else if (*p == '\0')
			return FEEDBACK_SMS_FORM_NUL;
		else
			out[k++] = *p;
	}
	out[k++] = '\0';
	*n = k;
	return FEEDBACK_SMS_FORM_OK;
}

enum feedback_sms_form_error
feedback_sms_form_parse(const char *data, size_t len,
    struct feedback_sms_form *f)
{
	enum feedback_sms_form_error e = FEEDBACK_SMS_FORM_OK;
	const char *p, *end = data + len, *amp, *eq;
	size_t used = 0, k;
	char *name;

	memset(f, 0, sizeof(*f));
	if (len > FEEDBACK_SMS_FORM_MAX)
		return FEEDBACK_SMS_FORM_TOO_LONG;
	/* decoding never lengthens; each pair adds two terminators, and
	 * no more than FEEDBACK_SMS_PARAMS_MAX pairs are written */
	f->buf = xmalloc(len + 2 * FEEDBACK_SMS_PARAMS_MAX + 1);
	for (p = data; e == FEEDBACK_SMS_FORM_OK && p < end;
	    p = amp < end ? amp + 1 : end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p)
			continue;	/* "a=1&&b=2", a trailing '&' */
		if (f->n == FEEDBACK_SMS_PARAMS_MAX) {
			e = FEEDBACK_SMS_FORM_TOO_MANY;
			break;
		}
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if (eq == p) {
			e = FEEDBACK_SMS_FORM_NO_NAME;
			break;
		}
		name = f->buf + used;
		if ((e = decode(p, eq, name, &k)) != FEEDBACK_SMS_FORM_OK)
			break;
		used += k;
		f->p[f->n].name = name;
		f->p[f->n].value = f->buf + used;
		e = decode(eq < amp ? eq + 1 : amp, amp, f->buf + used, &k);
		used += k;
		f->n++;
	}
	if (e != FEEDBACK_SMS_FORM_OK) {
		feedback_sms_form_free(f);
		memset(f, 0, sizeof(*f));
	}
	return e;
}

void
feedback_sms_form_free(struct feedback_sms_form *f)
{
	free(f->buf);
	f->buf = NULL;
	f->n = 0;
}

enum feedback_sms_lookup
feedback_sms_form_get(const struct feedback_sms_form *f, const char *name,
    const char **value)
{
	enum feedback_sms_lookup r = FEEDBACK_SMS_ABSENT;
	size_t i;

	*value = NULL;
	for (i = 0; i < f->n; i++) {
		if (strcmp(f->p[i].name, name) != 0)
			continue;
		if (r == FEEDBACK_SMS_FOUND)
			return FEEDBACK_SMS_REPEATED;
		r = FEEDBACK_SMS_FOUND;
		*value = f->p[i].value;
	}
	return r;
}

/* ---- Twilio's signature ----------------------------------------------- */

/* By name, then value: byte order, as the SDKs' sort of UTF-8 strings. */
static int
param_cmp(const void *a, const void *b)
{
	const struct feedback_sms_param *pa = *(const void *const *)a;
	const struct feedback_sms_param *pb = *(const void *const *)b;
	int r = strcmp(pa->name, pb->name);

	return r != 0 ? r : strcmp(pa->value, pb->value);
}

/*
 * URL without its port (NOPORT) or, when it has none, with the scheme's
 * default one (WITHPORT); either "" when it does not apply.  Only http
 * and https URLs are rewritten.
 */
static void
url_variants(const char *url, char *noport, char *withport, size_t len)
{
	const char *host, *aend, *colon = NULL, *q, *def;
	size_t skip;

	noport[0] = withport[0] = '\0';
	if (strncmp(url, "https://", 8) == 0) {
		skip = 8;
		def = "443";
	} else if (strncmp(url, "http://", 7) == 0) {
		skip = 7;
		def = "80";
	} else
		return;
	host = url + skip;
	aend = host + strcspn(host, "/?#");
	for (q = host; q < aend; q++)
		if (*q == '@')
			host = q + 1;	/* user:password@ is no port */
	for (q = host; q < aend; q++)
		if (*q == ']')
			colon = NULL;	/* an IPv6 literal's colons */
		else if (*q == ':')
			colon = q;
	if (colon != NULL) {
		if (strspn(colon + 1, "0123456789") !=
		    (size_t)(aend - colon - 1))
			return;
		snprintf(noport, len, "%.*s%s", (int)(colon - url), url, aend);
	} else
		snprintf(withport, len, "%.*s:%s%s", (int)(aend - url), url,
		    def, aend);
}

/* Whether SIG is the MAC of URL followed by SUFFIX (LEN bytes). */
static int
signed_as(const char *token, const char *url, const struct buf *suffix,
    struct buf *data, const char *sig)
{
	buf_reset(data);
	if (buf_puts(data, url) == -1 ||
	    buf_append(data, suffix->data, suffix->len) == -1)
		return 0;
	return digest_hmac_b64_equal(EVP_sha1(), token, data->data,
	    data->len, sig);
}

int
feedback_sms_twilio_valid(const char *auth_token, const char *full_url,
    const struct feedback_sms_param *params, size_t nparams,
    const char *signature_b64)
{
	const struct feedback_sms_param *sorted[FEEDBACK_SMS_PARAMS_MAX];
	char noport[URL_MAX], withport[URL_MAX + 8];
	struct buf suffix, data;
	size_t i;
	int ok = 0, rc = 0;

	if (auth_token == NULL || auth_token[0] == '\0' ||
	    full_url == NULL || strlen(full_url) >= URL_MAX ||
	    signature_b64 == NULL || strlen(signature_b64) != SIG_B64_LEN ||
	    nparams > FEEDBACK_SMS_PARAMS_MAX)
		return 0;
	for (i = 0; i < nparams; i++)
		sorted[i] = &params[i];
	qsort(sorted, nparams, sizeof(sorted[0]), param_cmp);
	buf_init(&suffix, 2 * FEEDBACK_SMS_FORM_MAX);
	for (i = 0; rc == 0 && i < nparams; i++) {
		/* a repeated name and value counts once, as in the SDKs */
		if (i > 0 && param_cmp(&sorted[i - 1], &sorted[i]) == 0)
			continue;
		rc |= buf_puts(&suffix, sorted[i]->name);
		rc |= buf_puts(&suffix, sorted[i]->value);
	}
	buf_init(&data, URL_MAX + 16 + 2 * FEEDBACK_SMS_FORM_MAX);
	if (rc == 0) {
		url_variants(full_url, noport, withport, sizeof(noport));
		ok = signed_as(auth_token, full_url, &suffix, &data,
		    signature_b64);
		if (!ok && noport[0] != '\0')
			ok = signed_as(auth_token, noport, &suffix, &data,
			    signature_b64);
		if (!ok && withport[0] != '\0')
			ok = signed_as(auth_token, withport, &suffix, &data,
			    signature_b64);
	}
	buf_free(&suffix);
	buf_free(&data);
	return ok;
}

/* ---- keywords --------------------------------------------------------- */

static const struct {
	const char		*word;
	enum feedback_sms_keyword kw;
} keywords[] = {
	/* Twilio's defaults and the CTIA list; REVOKE and OPTOUT are on
	 * Twilio's newer page (and in segctl's opt-out import) */
	{ "STOP", FEEDBACK_SMS_KW_OPT_OUT },
	{ "STOPALL", FEEDBACK_SMS_KW_OPT_OUT },
	{ "UNSUBSCRIBE", FEEDBACK_SMS_KW_OPT_OUT },
	{ "CANCEL", FEEDBACK_SMS_KW_OPT_OUT },
	{ "END", FEEDBACK_SMS_KW_OPT_OUT },
	{ "QUIT", FEEDBACK_SMS_KW_OPT_OUT },
	{ "REVOKE", FEEDBACK_SMS_KW_OPT_OUT },
	{ "OPTOUT", FEEDBACK_SMS_KW_OPT_OUT },
	/* YES too: Twilio lifts its block on it, and the store follows */
	{ "START", FEEDBACK_SMS_KW_OPT_IN },
	{ "UNSTOP", FEEDBACK_SMS_KW_OPT_IN },
	{ "YES", FEEDBACK_SMS_KW_OPT_IN },
	{ "HELP", FEEDBACK_SMS_KW_HELP },
	{ "INFO", FEEDBACK_SMS_KW_HELP },
};
#define KEYWORD_MAX	11	/* UNSUBSCRIBE */

/* ASCII blanks and punctuation; no locale, and no byte of UTF-8. */
static int
is_trimmed(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') ||
	    (c >= '!' && c <= '/') || (c >= ':' && c <= '@') ||
	    (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

enum feedback_sms_keyword
feedback_sms_keyword(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	char word[KEYWORD_MAX + 1];
	size_t i, n;

	if (text == NULL)
		return FEEDBACK_SMS_KW_OTHER;
	while (len > 0 && is_trimmed(*p)) {
		p++;
		len--;
	}
	while (len > 0 && is_trimmed(p[len - 1]))
		len--;
	if (len == 0 || len > KEYWORD_MAX)
		return FEEDBACK_SMS_KW_OTHER;
	for (n = 0; n < len; n++)
		word[n] = p[n] >= 'a' && p[n] <= 'z' ? (char)(p[n] - 32) :
		    (char)p[n];
	word[n] = '\0';
	/* by length too: a NUL inside ("STOP\0x") is no "STOP" */
	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i].word) == n &&
		    memcmp(word, keywords[i].word, n) == 0)
			return keywords[i].kw;
	return FEEDBACK_SMS_KW_OTHER;
}

/* ---- requests --------------------------------------------------------- */

/* NAME's value, required once. */
static enum feedback_sms_error
need(const struct feedback_sms_form *f, const char *name, const char **v)
{
	switch (feedback_sms_form_get(f, name, v)) {
	case FEEDBACK_SMS_FOUND:
		return FEEDBACK_SMS_OK;
	case FEEDBACK_SMS_REPEATED:
		return FEEDBACK_SMS_E_REPEATED;
	case FEEDBACK_SMS_ABSENT:
		break;
	}
	return FEEDBACK_SMS_E_MISSING;
}

/* NAME's value if given once, "" if not given. */
static enum feedback_sms_error
may(const struct feedback_sms_form *f, const char *name, const char **v)
{
	enum feedback_sms_error e = need(f, name, v);

	if (e == FEEDBACK_SMS_E_MISSING) {
		*v = "";
		return FEEDBACK_SMS_OK;
	}
	return e;
}

/* V as E.164 into OUT; the number must be international already. */
static enum feedback_sms_error
customer_phone(const char *v, char *out, size_t len)
{
	const char *why;

	if (parse_phone(v, NULL, out, len, &why) == -1 || out[0] != '+') {
		out[0] = '\0';
		return FEEDBACK_SMS_E_PHONE;
	}
	return FEEDBACK_SMS_OK;
}

/*
 * Whether GIVEN is SECRET, in time that depends on neither: their
 * SHA-256 digests are compared.  An empty SECRET matches nothing.
 */
static int
secret_ok(const char *given, const char *secret)
{
	unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
	unsigned int na = 0, nb = 0;

	if (secret == NULL || secret[0] == '\0' || given == NULL)
		return 0;
	if (EVP_Digest(given, strlen(given), a, &na, digest_sha256(),
	    NULL) != 1 || EVP_Digest(secret, strlen(secret), b, &nb,
	    digest_sha256(), NULL) != 1 || na != nb)
		return 0;
	return CRYPTO_memcmp(a, b, na) == 0;
}

enum feedback_sms_error
feedback_sms_twilio_inbound(const struct feedback_sms_form *f,
    struct feedback_sms_inbound *in)
{
	enum feedback_sms_error e;
	const char *from, *type;

	memset(in, 0, sizeof(*in));
	if ((e = need(f, "From", &from)) != FEEDBACK_SMS_OK ||
	    (e = need(f, "To", &in->to)) != FEEDBACK_SMS_OK ||
	    (e = need(f, "Body", &in->text)) != FEEDBACK_SMS_OK ||
	    (e = need(f, "MessageSid", &in->sid)) != FEEDBACK_SMS_OK ||
	    (e = may(f, "OptOutType", &type)) != FEEDBACK_SMS_OK)
		return e;
	if ((e = customer_phone(from, in->from, sizeof(in->from))) !=
	    FEEDBACK_SMS_OK)
		return e;
	/* Advanced Opt-Out's own words (custom ones too) decide */
	if (strcmp(type, "STOP") == 0)
		in->keyword = FEEDBACK_SMS_KW_OPT_OUT;
	else if (strcmp(type, "START") == 0)
		in->keyword = FEEDBACK_SMS_KW_OPT_IN;
	else if (strcmp(type, "HELP") == 0)
		in->keyword = FEEDBACK_SMS_KW_HELP;
	else
		in->keyword = feedback_sms_keyword(in->text,
		    strlen(in->text));
	return FEEDBACK_SMS_OK;
}

enum feedback_sms_error
feedback_sms_kannel_inbound(const struct feedback_sms_form *q,
    const char *secret, struct feedback_sms_inbound *in)
{
	enum feedback_sms_error e;
	const char *given, *from;

	memset(in, 0, sizeof(*in));
	/* the secret first: nothing else is told to whoever lacks it */
	if ((e = need(q, "secret", &given)) != FEEDBACK_SMS_OK)
		return e == FEEDBACK_SMS_E_MISSING ? FEEDBACK_SMS_E_SECRET : e;
	if (!secret_ok(given, secret))
		return FEEDBACK_SMS_E_SECRET;
	if ((e = need(q, "sender", &from)) != FEEDBACK_SMS_OK ||
	    (e = need(q, "receiver", &in->to)) != FEEDBACK_SMS_OK ||
	    (e = need(q, "text", &in->text)) != FEEDBACK_SMS_OK ||
	    (e = may(q, "id", &in->sid)) != FEEDBACK_SMS_OK)
		return e;
	if ((e = customer_phone(from, in->from, sizeof(in->from))) !=
	    FEEDBACK_SMS_OK)
		return e;
	in->keyword = feedback_sms_keyword(in->text, strlen(in->text));
	return FEEDBACK_SMS_OK;
}

/* ---- status ----------------------------------------------------------- */

enum feedback_sms_status
feedback_sms_twilio_status_map(const char *status, const char *code)
{
	static const char *const invalid[] = {
		/* blocked, unknown destination, landline or unreachable
		 * carrier; and what the outbox marks when Twilio refuses a
		 * send outright (invalid, unroutable, not SMS-capable) */
		"30004", "30005", "30006", "21211", "21612", "21614", NULL
	};
	size_t i;

	if (status == NULL)
		return FEEDBACK_SMS_ST_PENDING;
	if (strcmp(status, "delivered") == 0 || strcmp(status, "read") == 0)
		return FEEDBACK_SMS_ST_DELIVERED;
	if (strcmp(status, "undelivered") != 0 &&
	    strcmp(status, "failed") != 0)
		return FEEDBACK_SMS_ST_PENDING;
	if (code == NULL)
		return FEEDBACK_SMS_ST_FAILED;
	if (strcmp(code, "21610") == 0)
		return FEEDBACK_SMS_ST_OPTED_OUT;
	/*
	 * Not 30003: Twilio's page says the handset is "usually"
	 * switched off or out of coverage, and a mark is for good (policy
	 * never sends to an invalid number again): one night with the
	 * phone off would end a customer's SMS.  30007 (filtered) and
	 * 30008 (unknown) say nothing about the number either.
	 */
	for (i = 0; invalid[i] != NULL; i++)
		if (strcmp(code, invalid[i]) == 0)
			return FEEDBACK_SMS_ST_INVALID;
	return FEEDBACK_SMS_ST_FAILED;
}

enum feedback_sms_status
feedback_sms_kannel_dlr_map(long type)
{
	switch (type) {
	case 1:
		return FEEDBACK_SMS_ST_DELIVERED;
	case 2:			/* not delivered to the phone */
	case 16:		/* refused by the SMSC */
		/* Kannel gives no reason to mark the number for */
		return FEEDBACK_SMS_ST_FAILED;
	default:		/* 4 buffered, 8 at the SMSC, 32 interim */
		return FEEDBACK_SMS_ST_PENDING;
	}
}

/* V as a decimal in [1, MAX] into *OUT; -1 if it is not one. */
static int
decimal(const char *v, int64_t max, int64_t *out)
{
	int64_t n = 0;

	if (*v == '\0' || strlen(v) > 18)
		return -1;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		n = n * 10 + (*v - '0');
	}
	if (n < 1 || n > max)
		return -1;
	*out = n;
	return 0;
}

/* R's number from TO ("" none): required when R's status marks it. */
static enum feedback_sms_error
report_phone(struct feedback_sms_report *r, const char *to)
{
	int marks = r->status == FEEDBACK_SMS_ST_OPTED_OUT ||
	    r->status == FEEDBACK_SMS_ST_INVALID;

	if (to[0] == '\0')
		return marks ? FEEDBACK_SMS_E_MISSING : FEEDBACK_SMS_OK;
	if (customer_phone(to, r->to, sizeof(r->to)) != FEEDBACK_SMS_OK)
		return marks ? FEEDBACK_SMS_E_PHONE : FEEDBACK_SMS_OK;
	return FEEDBACK_SMS_OK;
}

enum feedback_sms_error
feedback_sms_twilio_status(const struct feedback_sms_form *f,
    struct feedback_sms_report *r)
{
	enum feedback_sms_error e;
	const char *status, *to;

	memset(r, 0, sizeof(*r));
	if ((e = need(f, "MessageSid", &r->ref)) != FEEDBACK_SMS_OK ||
	    (e = need(f, "MessageStatus", &status)) != FEEDBACK_SMS_OK ||
	    (e = may(f, "ErrorCode", &r->code)) != FEEDBACK_SMS_OK ||
	    (e = may(f, "To", &to)) != FEEDBACK_SMS_OK)
		return e;
	if (r->ref[0] == '\0')
		return FEEDBACK_SMS_E_VALUE;
	r->status = feedback_sms_twilio_status_map(status, r->code);
	return report_phone(r, to);
}

enum feedback_sms_error
feedback_sms_kannel_dlr(const struct feedback_sms_form *q,
    const char *secret, struct feedback_sms_report *r)
{
	enum feedback_sms_error e;
	const char *given, *type, *to, *job;
	int64_t t;

	memset(r, 0, sizeof(*r));
	r->ref = "";
	if ((e = need(q, "secret", &given)) != FEEDBACK_SMS_OK)
		return e == FEEDBACK_SMS_E_MISSING ? FEEDBACK_SMS_E_SECRET : e;
	if (!secret_ok(given, secret))
		return FEEDBACK_SMS_E_SECRET;
	if ((e = need(q, "type", &type)) != FEEDBACK_SMS_OK ||
	    (e = may(q, "to", &to)) != FEEDBACK_SMS_OK ||
	    (e = may(q, "job", &job)) != FEEDBACK_SMS_OK)
		return e;
	if (decimal(type, 255, &t) == -1 ||
	    (job[0] != '\0' && decimal(job, INT64_MAX / 10, &r->job) == -1))
		return FEEDBACK_SMS_E_VALUE;
	r->code = type;
	r->status = feedback_sms_kannel_dlr_map((long)t);
	return report_phone(r, to);
}

int
feedback_sms_twiml(const char *message, char *out, size_t len)
{
	struct buf b;
	const char *p;
	int rc = 0;

	buf_init(&b, len > 0 ? len - 1 : 0);
	rc |= buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<Response>");
	if (message != NULL) {
		rc |= buf_puts(&b, "<Message>");
		for (p = message; *p != '\0'; p++)
			switch (*p) {
			case '&':
				rc |= buf_puts(&b, "&amp;");
				break;
			case '<':
				rc |= buf_puts(&b, "&lt;");
				break;
			case '>':
				rc |= buf_puts(&b, "&gt;");
				break;
			case '"':
				rc |= buf_puts(&b, "&quot;");
				break;
			default:
				rc |= buf_putc(&b, *p);
			}
		rc |= buf_puts(&b, "</Message>");
	}
	rc |= buf_puts(&b, "</Response>");
	if (rc == 0)
		str_copy(out, len, buf_str(&b));
	buf_free(&b);
	return rc != 0 ? -1 : 0;
}
