/*
 * fuzz_feedback_sms.c - what anyone who can reach segfeed sends it: a
 * form body or query string (feedback_sms_form_parse), then each
 * gateway's reading of it (Twilio inbound and status, Kannel MO and
 * DLR), Twilio's signature over its fields, the keyword matcher on the
 * whole input and on every value, and TwiML built from a value.
 *
 * Beyond crashes: a parsed form holds at most FEEDBACK_SMS_PARAMS_MAX
 * named fields, each a string inside the form's own buffer; a reading
 * that succeeds has a customer number in E.164; a keyword is at most a
 * keyword long once trimmed, and does not depend on case; no signature
 * made up here is valid; TwiML's message has no bare '<' or '&'.
 *
 * libFuzzer entry point; see fuzz_render.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feedback_sms.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_phone(const char *p)
{
	size_t n;

	if (p[0] != '+')
		abort();
	n = strspn(p + 1, "0123456789");
	if (p[1 + n] != '\0' || n < 1)
		abort();
}

/* The keyword of TEXT must not change with the case of its letters. */
static void
check_keyword(const char *text, size_t len)
{
	enum feedback_sms_keyword k = feedback_sms_keyword(text, len);
	char flipped[64];
	size_t i;

	if (k >= FEEDBACK_SMS_KW_NKEYWORDS)
		abort();
	if (len > sizeof(flipped))
		return;
	for (i = 0; i < len; i++) {
		flipped[i] = text[i];
		if ((text[i] >= 'a' && text[i] <= 'z') ||
		    (text[i] >= 'A' && text[i] <= 'Z'))
			flipped[i] ^= 0x20;
	}
	if (feedback_sms_keyword(flipped, len) != k)
		abort();
}

static void
check_twiml(const char *v)
{
	char out[512];
	const char *m, *end, *p;

	if (feedback_sms_twiml(v, out, sizeof(out)) == -1)
		return;
	m = strstr(out, "<Message>");
	end = strstr(out, "</Message></Response>");
	if (m == NULL || end == NULL)
		abort();
	for (p = m + strlen("<Message>"); p < end; p++)
		if (*p == '<')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feedback_sms_inbound in;
	struct feedback_sms_report r;
	struct feedback_sms_form f;
	enum feedback_sms_form_error e;
	size_t i, blen;

	check_keyword((const char *)data, size);
	e = feedback_sms_form_parse((const char *)data, size, &f);
	if (e >= FEEDBACK_SMS_FORM_NERRORS)
		abort();
	if (e != FEEDBACK_SMS_FORM_OK) {
		if (f.n != 0 || f.buf != NULL)
			abort();
		feedback_sms_form_free(&f);
		return 0;
	}
	if (f.n > FEEDBACK_SMS_PARAMS_MAX)
		abort();
	blen = size + 2 * FEEDBACK_SMS_PARAMS_MAX + 1;
	for (i = 0; i < f.n; i++) {
		if (f.p[i].name[0] == '\0' || f.p[i].name < f.buf ||
		    f.p[i].value + strlen(f.p[i].value) >= f.buf + blen)
			abort();
		check_keyword(f.p[i].value, strlen(f.p[i].value));
	}
	if (feedback_sms_twilio_valid("fuzz token", "https://example.com:443"
	    "/sms/twilio?x=1", f.p, f.n, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=") != 0)
		abort();
	if (feedback_sms_twilio_inbound(&f, &in) == FEEDBACK_SMS_OK)
		check_phone(in.from);
	if (feedback_sms_kannel_inbound(&f, "s3cret", &in) == FEEDBACK_SMS_OK)
		check_phone(in.from);
	if (feedback_sms_twilio_status(&f, &r) == FEEDBACK_SMS_OK &&
	    r.to[0] != '\0')
		check_phone(r.to);
	if (feedback_sms_kannel_dlr(&f, "s3cret", &r) == FEEDBACK_SMS_OK &&
	    (r.job < 0 || r.status >= FEEDBACK_SMS_ST_NSTATUS))
		abort();
	if (f.n > 0)
		check_twiml(f.p[0].value);
	feedback_sms_form_free(&f);
	return 0;
}
