/*
 * test_feedback_sms.c - what segfeed reads from the SMS gateways and
 * what it does to the store: forms (escapes, repeats, bounds, errors),
 * Twilio's signature (its documented vector, a bad one, a tampered
 * parameter, the wrong URL, the port either way), every keyword and
 * replies that are none, each gateway's fields, the status mappings,
 * TwiML, and on a real store: a STOP that opts the number out and
 * withdraws its queued SMS (after which policy sends it none), a START
 * that grants consent again only to those who had it, and delivery
 * reports that mark the number or not, each audited in a chain that
 * verifies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "audit.h"
#include "conf.h"
#include "feedback_sms.h"
#include "policy.h"
#include "store_audit.h"
#include "store_feedback.h"
#include "store_lookup.h"
#include "store_outbox.h"
#include "store_record.h"
#include "tstore.h"

#define DAY	86400
#define NOW	((int64_t)1795000000)
#define PHONE	"+15550001111"

/* ---- forms ------------------------------------------------------------ */

static enum feedback_sms_form_error
parse(const char *s, struct feedback_sms_form *f)
{
	return feedback_sms_form_parse(s, strlen(s), f);
}

static void
test_form_decoding(void **state)
{
	struct feedback_sms_form f;
	const char *v;

	(void)state;
	assert_int_equal(parse("Body=Stop+it%21&From=%2B15550001111"
	    "&Empty=&Bare&x=%e2%82%ac", &f), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(f.n, 5);
	assert_string_equal(f.p[0].name, "Body");
	assert_string_equal(f.p[0].value, "Stop it!");
	assert_string_equal(f.p[1].value, "+15550001111");
	assert_string_equal(f.p[2].name, "Empty");
	assert_string_equal(f.p[2].value, "");
	assert_string_equal(f.p[3].name, "Bare");
	assert_string_equal(f.p[3].value, "");
	assert_string_equal(f.p[4].value, "\xe2\x82\xac");
	assert_int_equal(feedback_sms_form_get(&f, "From", &v),
	    FEEDBACK_SMS_FOUND);
	assert_string_equal(v, "+15550001111");
	assert_int_equal(feedback_sms_form_get(&f, "from", &v),
	    FEEDBACK_SMS_ABSENT);
	assert_null(v);
	feedback_sms_form_free(&f);

	/* '=' in a value, names escaped too, empty pairs skipped */
	assert_int_equal(parse("&&a%3Db=c=d&&", &f), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.p[0].name, "a=b");
	assert_string_equal(f.p[0].value, "c=d");
	feedback_sms_form_free(&f);

	assert_int_equal(parse("", &f), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(f.n, 0);
	feedback_sms_form_free(&f);

	/* repeated names: all kept, a lookup calls them ambiguous */
	assert_int_equal(parse("To=1&To=2&Body=x", &f), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(f.n, 3);
	assert_int_equal(feedback_sms_form_get(&f, "To", &v),
	    FEEDBACK_SMS_REPEATED);
	assert_int_equal(feedback_sms_form_get(&f, "Body", &v),
	    FEEDBACK_SMS_FOUND);
	feedback_sms_form_free(&f);
}

static void
test_form_errors(void **state)
{
	static const struct {
		const char *in;
		enum feedback_sms_form_error e;
	} cases[] = {
		{ "a=%", FEEDBACK_SMS_FORM_BAD_ESCAPE },
		{ "a=%4", FEEDBACK_SMS_FORM_BAD_ESCAPE },
		{ "a=%4g", FEEDBACK_SMS_FORM_BAD_ESCAPE },
		{ "a%zz=1", FEEDBACK_SMS_FORM_BAD_ESCAPE },
		{ "a=%00", FEEDBACK_SMS_FORM_NUL },
		{ "a=1&=2", FEEDBACK_SMS_FORM_NO_NAME },
		{ "=", FEEDBACK_SMS_FORM_NO_NAME },
	};
	struct feedback_sms_form f;
	char *big;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].in, &f), cases[i].e);
		assert_int_equal(f.n, 0);
		assert_null(f.buf);
		feedback_sms_form_free(&f);
	}
	/* a raw NUL inside the bytes */
	assert_int_equal(feedback_sms_form_parse("a=b\0c", 5, &f),
	    FEEDBACK_SMS_FORM_NUL);
	feedback_sms_form_free(&f);

	/* the size bound, and one byte under it */
	big = malloc(FEEDBACK_SMS_FORM_MAX + 1);
	assert_non_null(big);
	memset(big, 'x', FEEDBACK_SMS_FORM_MAX + 1);
	big[0] = 'a';
	big[1] = '=';
	assert_int_equal(feedback_sms_form_parse(big, FEEDBACK_SMS_FORM_MAX + 1,
	    &f), FEEDBACK_SMS_FORM_TOO_LONG);
	feedback_sms_form_free(&f);
	assert_int_equal(feedback_sms_form_parse(big, FEEDBACK_SMS_FORM_MAX,
	    &f), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(strlen(f.p[0].value), FEEDBACK_SMS_FORM_MAX - 2);
	feedback_sms_form_free(&f);

	/* the field bound: 128 fit, 129 do not */
	for (i = 0; i < 2 * FEEDBACK_SMS_PARAMS_MAX + 1; i += 2) {
		big[i] = 'a';
		big[i + 1] = '&';
	}
	assert_int_equal(feedback_sms_form_parse(big,
	    2 * FEEDBACK_SMS_PARAMS_MAX, &f), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(f.n, FEEDBACK_SMS_PARAMS_MAX);
	feedback_sms_form_free(&f);
	assert_int_equal(feedback_sms_form_parse(big,
	    2 * FEEDBACK_SMS_PARAMS_MAX + 1, &f), FEEDBACK_SMS_FORM_TOO_MANY);
	feedback_sms_form_free(&f);
	free(big);

	assert_string_equal(feedback_sms_form_error_name(
	    FEEDBACK_SMS_FORM_BAD_ESCAPE), "bad_escape");
	assert_string_equal(feedback_sms_form_error_name(
	    FEEDBACK_SMS_FORM_NERRORS), "?");
}

/* ---- Twilio's signature ----------------------------------------------- */

/* Twilio's documented example (twilio-python's validator tests) */
#define VEC_TOKEN	"12345"
#define VEC_URL		"https://mycompany.com/myapp.php?foo=1&bar=2"
#define VEC_SIG		"RSOYDt4T1cUTdK1PDd93/VVr8B8="

static const struct feedback_sms_param vec[] = {
	{ "To", "+18005551212" },	/* unsorted on purpose */
	{ "CallSid", "CA1234567890ABCDE" },
	{ "Digits", "1234" },
	{ "From", "+14158675309" },
	{ "Caller", "+14158675309" },
};
#define NVEC	(sizeof(vec) / sizeof(vec[0]))

static void
test_signature(void **state)
{
	struct feedback_sms_param p[NVEC + 1];
	struct feedback_sms_form f;

	(void)state;
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN, VEC_URL, vec,
	    NVEC, VEC_SIG), 1);
	/* another token, signature, or one byte changed */
	assert_int_equal(feedback_sms_twilio_valid("12346", VEC_URL, vec,
	    NVEC, VEC_SIG), 0);
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN, VEC_URL, vec,
	    NVEC, "RSOYDt4T1cUTdK1PDd93/VVr8B8A"), 0);
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN, VEC_URL, vec,
	    NVEC, "RSOYDt4T1cUTdK1PDd93/VVr8B8"), 0);
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN, VEC_URL, vec,
	    NVEC, ""), 0);
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN, VEC_URL, vec,
	    NVEC, NULL), 0);
	assert_int_equal(feedback_sms_twilio_valid("", VEC_URL, vec, NVEC,
	    VEC_SIG), 0);
	/* a tampered parameter, one added, one dropped */
	memcpy(p, vec, sizeof(vec));
	p[2].value = "1235";
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN, VEC_URL, p,
	    NVEC, VEC_SIG), 0);
	memcpy(p, vec, sizeof(vec));
	p[NVEC].name = "Body";
	p[NVEC].value = "STOP";
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN, VEC_URL, p,
	    NVEC + 1, VEC_SIG), 0);
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN, VEC_URL, vec,
	    NVEC - 1, VEC_SIG), 0);
	/*
	 * Twilio's scheme has no separators: a name and value that move
	 * the boundary between them sign alike.  Harmless to the handlers,
	 * which read fields by their exact names (Digits1 is none), but
	 * written down here so nobody counts on more.
	 */
	memcpy(p, vec, sizeof(vec));
	p[2].name = "Digits1";
	p[2].value = "234";
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN, VEC_URL, p,
	    NVEC, VEC_SIG), 1);
	/* ... but one that moves a field in the sort order does not */
	p[2].name = "Z";
	p[2].value = "Digits1234";
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN, VEC_URL, p,
	    NVEC, VEC_SIG), 0);
	/* the wrong URL: path, query, scheme, a trailing slash */
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN,
	    "https://mycompany.com/myapp.php?foo=1&bar=3", vec, NVEC,
	    VEC_SIG), 0);
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN,
	    "https://mycompany.com/myapp.php", vec, NVEC, VEC_SIG), 0);
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN,
	    "http://mycompany.com/myapp.php?foo=1&bar=2", vec, NVEC,
	    VEC_SIG), 0);
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN,
	    "https://mycompany.com/myapp.php/?foo=1&bar=2", vec, NVEC,
	    VEC_SIG), 0);
	/* the port, as Twilio's SDK: the default one added or dropped */
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN,
	    "https://mycompany.com:443/myapp.php?foo=1&bar=2", vec, NVEC,
	    VEC_SIG), 1);
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN,
	    "https://mycompany.com:8443/myapp.php?foo=1&bar=2", vec, NVEC,
	    VEC_SIG), 1);
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN,
	    "https://mycompany.org:443/myapp.php?foo=1&bar=2", vec, NVEC,
	    VEC_SIG), 0);

	/* from a form body, as the listener will call it; a repeat of the
	 * same name and value counts once (the SDK's set) */
	assert_int_equal(parse("CallSid=CA1234567890ABCDE&Caller=%2B14158675309"
	    "&Digits=1234&From=%2B14158675309&To=%2B18005551212"
	    "&Digits=1234", &f), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN, VEC_URL, f.p,
	    f.n, VEC_SIG), 1);
	feedback_sms_form_free(&f);
	/* ... but a second, different value does count */
	assert_int_equal(parse("CallSid=CA1234567890ABCDE&Caller=%2B14158675309"
	    "&Digits=1234&From=%2B14158675309&To=%2B18005551212"
	    "&Digits=9", &f), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(feedback_sms_twilio_valid(VEC_TOKEN, VEC_URL, f.p,
	    f.n, VEC_SIG), 0);
	feedback_sms_form_free(&f);
}

/* ---- keywords --------------------------------------------------------- */

static enum feedback_sms_keyword
kw(const char *s)
{
	return feedback_sms_keyword(s, strlen(s));
}

static void
test_keywords(void **state)
{
	static const char *const out[] = {
		"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
		"REVOKE", "OPTOUT", NULL
	};
	static const char *const in[] = { "START", "UNSTOP", "YES", NULL };
	static const char *const help[] = { "HELP", "INFO", NULL };
	static const char *const other[] = {
		"", "   ", "...", "please stop", "STOP STOP", "STOPP",
		"ST OP", "S.T.O.P", "stop\xc2\xa0", "\xef\xbc\xb3TOP", "NO",
		"ok", "yes please", "HELP ME", "Thanks!", "UNSUBSCRIBEX",
		"STOP123", "1STOP", "ENDS", "stopall now", NULL
	};
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; out[i] != NULL; i++) {
		assert_int_equal(kw(out[i]), FEEDBACK_SMS_KW_OPT_OUT);
		snprintf(buf, sizeof(buf), "  %c%s.!\r\n", out[i][0] + 32,
		    out[i] + 1);
		assert_int_equal(kw(buf), FEEDBACK_SMS_KW_OPT_OUT);
	}
	for (i = 0; in[i] != NULL; i++) {
		assert_int_equal(kw(in[i]), FEEDBACK_SMS_KW_OPT_IN);
		snprintf(buf, sizeof(buf), "\"%s\"", in[i]);
		assert_int_equal(kw(buf), FEEDBACK_SMS_KW_OPT_IN);
	}
	for (i = 0; help[i] != NULL; i++) {
		assert_int_equal(kw(help[i]), FEEDBACK_SMS_KW_HELP);
		snprintf(buf, sizeof(buf), "%s?", help[i]);
		assert_int_equal(kw(buf), FEEDBACK_SMS_KW_HELP);
	}
	for (i = 0; other[i] != NULL; i++)
		if (kw(other[i]) != FEEDBACK_SMS_KW_OTHER)
			fail_msg("'%s' taken for a keyword", other[i]);
	assert_int_equal(kw("sToP"), FEEDBACK_SMS_KW_OPT_OUT);
	assert_int_equal(kw("\t(stop)\t"), FEEDBACK_SMS_KW_OPT_OUT);
	/* the length given counts, not a NUL */
	assert_int_equal(feedback_sms_keyword("STOP\0x", 6),
	    FEEDBACK_SMS_KW_OTHER);
	assert_int_equal(feedback_sms_keyword("STOPALL", 4),
	    FEEDBACK_SMS_KW_OPT_OUT);
	assert_int_equal(feedback_sms_keyword(NULL, 0),
	    FEEDBACK_SMS_KW_OTHER);
	assert_string_equal(feedback_sms_keyword_name(FEEDBACK_SMS_KW_OPT_OUT),
	    "opt_out");
}

/* ---- requests --------------------------------------------------------- */

static enum feedback_sms_error
twilio_in(const char *body, struct feedback_sms_form *f,
    struct feedback_sms_inbound *in)
{
	assert_int_equal(parse(body, f), FEEDBACK_SMS_FORM_OK);
	return feedback_sms_twilio_inbound(f, in);
}

static void
test_twilio_inbound(void **state)
{
	struct feedback_sms_inbound in;
	struct feedback_sms_form f;

	(void)state;
	assert_int_equal(twilio_in("MessageSid=SM1&AccountSid=AC1"
	    "&From=%2B15550001111&To=%2B15559990000&Body=Stop.&NumMedia=0",
	    &f, &in), FEEDBACK_SMS_OK);
	assert_string_equal(in.from, PHONE);
	assert_string_equal(in.to, "+15559990000");
	assert_string_equal(in.sid, "SM1");
	assert_string_equal(in.text, "Stop.");
	assert_int_equal(in.keyword, FEEDBACK_SMS_KW_OPT_OUT);
	feedback_sms_form_free(&f);

	assert_int_equal(twilio_in("MessageSid=SM2&From=%2B15550001111"
	    "&To=12345&Body=When+is+the+sale%3F", &f, &in), FEEDBACK_SMS_OK);
	assert_int_equal(in.keyword, FEEDBACK_SMS_KW_OTHER);
	feedback_sms_form_free(&f);

	/* Advanced Opt-Out's custom keyword: Twilio's word decides */
	assert_int_equal(twilio_in("MessageSid=SM3&From=%2B15550001111"
	    "&To=1&Body=ARRET&OptOutType=STOP", &f, &in), FEEDBACK_SMS_OK);
	assert_int_equal(in.keyword, FEEDBACK_SMS_KW_OPT_OUT);
	feedback_sms_form_free(&f);
	assert_int_equal(twilio_in("MessageSid=SM3&From=%2B15550001111"
	    "&To=1&Body=go&OptOutType=START", &f, &in), FEEDBACK_SMS_OK);
	assert_int_equal(in.keyword, FEEDBACK_SMS_KW_OPT_IN);
	feedback_sms_form_free(&f);
	assert_int_equal(twilio_in("MessageSid=SM3&From=%2B15550001111"
	    "&To=1&Body=aide&OptOutType=HELP", &f, &in), FEEDBACK_SMS_OK);
	assert_int_equal(in.keyword, FEEDBACK_SMS_KW_HELP);
	feedback_sms_form_free(&f);

	/* missing, repeated, or a sender that is no number */
	assert_int_equal(twilio_in("MessageSid=SM4&To=1&Body=STOP", &f, &in),
	    FEEDBACK_SMS_E_MISSING);
	feedback_sms_form_free(&f);
	assert_int_equal(twilio_in("MessageSid=SM4&From=%2B15550001111"
	    "&From=%2B15550002222&To=1&Body=STOP", &f, &in),
	    FEEDBACK_SMS_E_REPEATED);
	feedback_sms_form_free(&f);
	assert_int_equal(twilio_in("MessageSid=SM4&From=CARRIER&To=1"
	    "&Body=STOP", &f, &in), FEEDBACK_SMS_E_PHONE);
	feedback_sms_form_free(&f);
	assert_int_equal(twilio_in("MessageSid=SM4&From=5550001111&To=1"
	    "&Body=STOP", &f, &in), FEEDBACK_SMS_E_PHONE);
	feedback_sms_form_free(&f);
	assert_string_equal(feedback_sms_error_name(FEEDBACK_SMS_E_PHONE),
	    "bad_phone");
}

static void
test_kannel(void **state)
{
	struct feedback_sms_inbound in;
	struct feedback_sms_report r;
	struct feedback_sms_form q;

	(void)state;
	assert_int_equal(parse("secret=s3cret&sender=0015550001111"
	    "&receiver=%2B15559990000&text=unstop&id=k1", &q),
	    FEEDBACK_SMS_FORM_OK);
	assert_int_equal(feedback_sms_kannel_inbound(&q, "s3cret", &in),
	    FEEDBACK_SMS_OK);
	assert_string_equal(in.from, PHONE);
	assert_string_equal(in.sid, "k1");
	assert_int_equal(in.keyword, FEEDBACK_SMS_KW_OPT_IN);
	/* the wrong secret, a prefix of it, none configured */
	assert_int_equal(feedback_sms_kannel_inbound(&q, "s3creT", &in),
	    FEEDBACK_SMS_E_SECRET);
	assert_int_equal(feedback_sms_kannel_inbound(&q, "s3cret!", &in),
	    FEEDBACK_SMS_E_SECRET);
	assert_int_equal(feedback_sms_kannel_inbound(&q, "", &in),
	    FEEDBACK_SMS_E_SECRET);
	assert_int_equal(feedback_sms_kannel_inbound(&q, NULL, &in),
	    FEEDBACK_SMS_E_SECRET);
	feedback_sms_form_free(&q);
	/* no secret at all, and no text */
	assert_int_equal(parse("sender=%2B15550001111&receiver=1&text=STOP",
	    &q), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(feedback_sms_kannel_inbound(&q, "s3cret", &in),
	    FEEDBACK_SMS_E_SECRET);
	feedback_sms_form_free(&q);
	assert_int_equal(parse("secret=s3cret&sender=%2B15550001111"
	    "&receiver=1", &q), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(feedback_sms_kannel_inbound(&q, "s3cret", &in),
	    FEEDBACK_SMS_E_MISSING);
	feedback_sms_form_free(&q);

	/* delivery reports */
	assert_int_equal(parse("secret=s3cret&type=1&to=%2B15550001111"
	    "&job=42", &q), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(feedback_sms_kannel_dlr(&q, "s3cret", &r),
	    FEEDBACK_SMS_OK);
	assert_int_equal(r.status, FEEDBACK_SMS_ST_DELIVERED);
	assert_int_equal(r.job, 42);
	assert_string_equal(r.to, PHONE);
	assert_string_equal(r.code, "1");
	assert_int_equal(feedback_sms_kannel_dlr(&q, "other", &r),
	    FEEDBACK_SMS_E_SECRET);
	feedback_sms_form_free(&q);
	assert_int_equal(parse("secret=s3cret&type=x1", &q),
	    FEEDBACK_SMS_FORM_OK);
	assert_int_equal(feedback_sms_kannel_dlr(&q, "s3cret", &r),
	    FEEDBACK_SMS_E_VALUE);
	feedback_sms_form_free(&q);
	assert_int_equal(parse("secret=s3cret&type=2&job=-1", &q),
	    FEEDBACK_SMS_FORM_OK);
	assert_int_equal(feedback_sms_kannel_dlr(&q, "s3cret", &r),
	    FEEDBACK_SMS_E_VALUE);
	feedback_sms_form_free(&q);
	assert_int_equal(parse("secret=s3cret&type=16", &q),
	    FEEDBACK_SMS_FORM_OK);
	assert_int_equal(feedback_sms_kannel_dlr(&q, "s3cret", &r),
	    FEEDBACK_SMS_OK);
	assert_int_equal(r.status, FEEDBACK_SMS_ST_FAILED);
	assert_int_equal(r.job, 0);
	feedback_sms_form_free(&q);
}

static void
test_status_map(void **state)
{
	static const struct {
		const char *status, *code;
		enum feedback_sms_status want;
	} cases[] = {
		{ "delivered", "", FEEDBACK_SMS_ST_DELIVERED },
		{ "read", NULL, FEEDBACK_SMS_ST_DELIVERED },
		{ "queued", "", FEEDBACK_SMS_ST_PENDING },
		{ "sending", "", FEEDBACK_SMS_ST_PENDING },
		{ "sent", "", FEEDBACK_SMS_ST_PENDING },
		{ "accepted", "", FEEDBACK_SMS_ST_PENDING },
		{ "scheduled", "", FEEDBACK_SMS_ST_PENDING },
		{ "canceled", "", FEEDBACK_SMS_ST_PENDING },
		{ "no-such-status", "30005", FEEDBACK_SMS_ST_PENDING },
		{ "undelivered", "21610", FEEDBACK_SMS_ST_OPTED_OUT },
		{ "failed", "21610", FEEDBACK_SMS_ST_OPTED_OUT },
		{ "undelivered", "30004", FEEDBACK_SMS_ST_INVALID },
		{ "undelivered", "30005", FEEDBACK_SMS_ST_INVALID },
		{ "undelivered", "30006", FEEDBACK_SMS_ST_INVALID },
		{ "failed", "21211", FEEDBACK_SMS_ST_INVALID },
		{ "failed", "21612", FEEDBACK_SMS_ST_INVALID },
		{ "failed", "21614", FEEDBACK_SMS_ST_INVALID },
		/* a phone switched off says nothing lasting */
		{ "undelivered", "30003", FEEDBACK_SMS_ST_FAILED },
		{ "undelivered", "30007", FEEDBACK_SMS_ST_FAILED },
		{ "undelivered", "30008", FEEDBACK_SMS_ST_FAILED },
		{ "undelivered", "", FEEDBACK_SMS_ST_FAILED },
		{ "failed", NULL, FEEDBACK_SMS_ST_FAILED },
		{ "undelivered", "300050", FEEDBACK_SMS_ST_FAILED },
		{ "Delivered", "", FEEDBACK_SMS_ST_PENDING },
		{ NULL, "21610", FEEDBACK_SMS_ST_PENDING },
	};
	struct feedback_sms_report r;
	struct feedback_sms_form f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (feedback_sms_twilio_status_map(cases[i].status,
		    cases[i].code) != cases[i].want)
			fail_msg("%s %s", cases[i].status, cases[i].code);
	assert_int_equal(feedback_sms_kannel_dlr_map(1),
	    FEEDBACK_SMS_ST_DELIVERED);
	assert_int_equal(feedback_sms_kannel_dlr_map(2),
	    FEEDBACK_SMS_ST_FAILED);
	assert_int_equal(feedback_sms_kannel_dlr_map(16),
	    FEEDBACK_SMS_ST_FAILED);
	assert_int_equal(feedback_sms_kannel_dlr_map(4),
	    FEEDBACK_SMS_ST_PENDING);
	assert_int_equal(feedback_sms_kannel_dlr_map(8),
	    FEEDBACK_SMS_ST_PENDING);
	assert_int_equal(feedback_sms_kannel_dlr_map(32),
	    FEEDBACK_SMS_ST_PENDING);
	assert_string_equal(feedback_sms_status_name(FEEDBACK_SMS_ST_INVALID),
	    "invalid");

	/* a callback: To is needed only when the number is marked */
	assert_int_equal(parse("MessageSid=SM9&MessageStatus=undelivered"
	    "&ErrorCode=30006&To=%2B15550001111", &f), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(feedback_sms_twilio_status(&f, &r), FEEDBACK_SMS_OK);
	assert_int_equal(r.status, FEEDBACK_SMS_ST_INVALID);
	assert_string_equal(r.to, PHONE);
	assert_string_equal(r.ref, "SM9");
	assert_string_equal(r.code, "30006");
	feedback_sms_form_free(&f);
	assert_int_equal(parse("MessageSid=SM9&MessageStatus=undelivered"
	    "&ErrorCode=30006", &f), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(feedback_sms_twilio_status(&f, &r),
	    FEEDBACK_SMS_E_MISSING);
	feedback_sms_form_free(&f);
	assert_int_equal(parse("MessageSid=SM9&MessageStatus=delivered",
	    &f), FEEDBACK_SMS_FORM_OK);
	assert_int_equal(feedback_sms_twilio_status(&f, &r), FEEDBACK_SMS_OK);
	assert_int_equal(r.status, FEEDBACK_SMS_ST_DELIVERED);
	assert_string_equal(r.to, "");
	feedback_sms_form_free(&f);
	assert_int_equal(parse("MessageSid=&MessageStatus=delivered", &f),
	    FEEDBACK_SMS_FORM_OK);
	assert_int_equal(feedback_sms_twilio_status(&f, &r),
	    FEEDBACK_SMS_E_VALUE);
	feedback_sms_form_free(&f);
}

static void
test_twiml(void **state)
{
	char out[128];

	(void)state;
	assert_int_equal(feedback_sms_twiml(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<Response></Response>");
	assert_int_equal(feedback_sms_twiml("Shop & \"Co\" <help>", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "<Response><Message>Shop &amp; &quot;Co&quot; &lt;help&gt;"
	    "</Message></Response>");
	assert_int_equal(feedback_sms_twiml("x", out, 40), -1);
}

/* ---- the store -------------------------------------------------------- */

struct fx {
	char		 dir[64];
	char		 db[256];
	struct store	*st;
	int64_t		 sam;		/* PHONE, consented */
	int64_t		 ann;		/* PHONE too, never consented */
	int64_t		 job;		/* sam's queued SMS, campaign c1 */
	int64_t		 sent;		/* sam's sent SMS, c2, ref SMout */
};

static int64_t
fx_customer(struct fx *x, const char *email, const char *phone)
{
	struct store_customer c;
	enum store_change ch;
	int64_t id = 0;

	memset(&c, 0, sizeof(c));
	c.email = email;
	c.phone = phone;
	c.time_zone = "America/New_York";
	c.country = "US";
	if (store_customer_upsert(x->st, &c, &id, &ch) != 0)
		fail_msg("%s", store_error(x->st));
	return id;
}

static int64_t
fx_job(struct fx *x, int64_t id, const char *campaign)
{
	struct store_job j;
	char key[64];
	int64_t job = 0;

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
	j.not_before = NOW - DAY;
	j.created_at = NOW - DAY;
	j.customer_id = id;
	j.time_zone = "America/New_York";
	j.country = "US";
	j.region = "";
	if (store_outbox_add(x->st, &j, &job) != 0)
		fail_msg("%s", store_error(x->st));
	return job;
}

static int
fx_setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct store_consent c;
	enum store_change ch;
	char err[512];

	assert_non_null(x);
	snprintf(x->dir, sizeof(x->dir), "/tmp/segm-feedback-XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	tstore_name(x->dir, x->db, sizeof(x->db));
	if (store_open(x->db, STORE_CREATE, 5000, &x->st, err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	x->sam = fx_customer(x, "sam@example.com", PHONE);
	x->ann = fx_customer(x, "ann@example.com", PHONE);
	memset(&c, 0, sizeof(c));
	c.customer_id = x->sam;
	c.channel = CHANNEL_SMS;
	c.granted = 1;
	c.source = "checkout";
	c.recorded_at = NOW - 10 * DAY;
	c.evidence = "ticked 'Text me offers' at checkout";
	if (store_consent_record(x->st, &c, 0, &ch) != 0)
		fail_msg("%s", store_error(x->st));
	x->job = fx_job(x, x->sam, "c1");
	x->sent = fx_job(x, x->sam, "c2");
	if (store_outbox_update(x->st, x->sent, JOB_SENT, NOW - DAY, NULL,
	    NOW - DAY) != 0 || store_outbox_set_ref(x->st, x->sent,
	    "SMout") != 0)
		fail_msg("%s", store_error(x->st));
	*state = x;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *x = *state;
	char cmd[160];

	store_close(x->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", x->dir);
	assert_int_equal(system(cmd), 0);
	free(x);
	return 0;
}

/* What policy decides for ID now, from the store's facts. */
static enum policy_sms_reason
fx_decide(struct fx *x, int64_t id)
{
	struct store_sms_facts f;
	struct policy_sms_facts p;
	struct policy_sms_decision d;
	struct conf_sms s;

	if (store_sms_facts_get(x->st, id, "c9", NOW + DAY, &f) != 0)
		fail_msg("%s", store_error(x->st));
	memset(&p, 0, sizeof(p));
	p.has_consent = f.has_consent;
	p.consent_granted = f.consent_granted;
	p.consent_at = f.consent_at;
	p.has_evidence = f.has_evidence;
	p.phone = f.phone;
	p.phone_status = f.phone_status;
	p.phone_status_at = f.phone_status_at;
	p.parts = 1;
	p.has_place = 1;
	memset(&s, 0, sizeof(s));
	s.max_parts = 3;
	s.cap_day = 10;
	s.cap_month = 10;
	policy_sms_decide(&s, &p, &d);
	return d.reason;
}

/* The audit rows, as "decision customer campaign" lines. */
struct rows {
	char	 text[4096];
	int	 n;
};

static int
row_fn(const struct store_audit *a, void *arg)
{
	struct rows *r = arg;
	size_t len = strlen(r->text);

	snprintf(r->text + len, sizeof(r->text) - len, "%s %lld %s\n",
	    a->decision, (long long)a->customer_id, a->campaign_id);
	r->n++;
	return 0;
}

static struct rows
fx_rows(struct fx *x)
{
	struct audit_report rep;
	struct rows r;

	memset(&r, 0, sizeof(r));
	if (store_audit_scan(x->st, 0, row_fn, &r) != 0)
		fail_msg("%s", store_error(x->st));
	/* every apply appends to one intact chain */
	assert_int_equal(audit_verify(x->st, NULL, NULL, 0, &rep), 0);
	return r;
}

static struct feedback_sms_inbound
reply(const char *text, const char *sid)
{
	struct feedback_sms_inbound in;

	memset(&in, 0, sizeof(in));
	snprintf(in.from, sizeof(in.from), "%s", PHONE);
	in.to = "+15559990000";
	in.text = text;
	in.sid = sid;
	in.keyword = feedback_sms_keyword(text, strlen(text));
	return in;
}

static void
test_apply_optout(void **state)
{
	struct fx *x = *state;
	struct feedback_sms_inbound in = reply("Stop", "SMstop1");
	struct feedback_sms_applied a;
	struct store_sms_facts f;
	struct store_job *j;
	char anchor[AUDIT_ANCHOR_MAX];
	struct rows r;
	char want[256];

	assert_int_equal(fx_decide(x, x->sam), POLICY_SMS_QUEUE);
	assert_int_equal(feedback_sms_apply_optout(x->st, &in, NOW, "cfg",
	    anchor, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.changed, 1);
	assert_int_equal(a.customers, 2);
	assert_int_equal(a.withdrawn, 1);
	assert_non_null(strstr(anchor, "audit="));

	/* opted out at once: no SMS decision for the number any more */
	assert_int_equal(fx_decide(x, x->sam), POLICY_SMS_OPTED_OUT);
	assert_int_equal(fx_decide(x, x->ann), POLICY_SMS_OPTED_OUT);
	assert_int_equal(store_sms_facts_get(x->st, x->sam, "c9", NOW, &f), 0);
	assert_string_equal(f.phone_status, "opted_out");
	assert_int_equal(f.phone_status_at, NOW);
	assert_int_equal(f.consent_granted, 0);
	assert_non_null(strstr(f.consent_evidence, "reply 'Stop'"));
	assert_non_null(strstr(f.consent_evidence, "SMstop1"));

	/* the queued SMS withdrawn, the one sent left alone */
	assert_int_equal(store_outbox_get(x->st, x->job, &j), 0);
	assert_int_equal(j->state, JOB_FAILED);
	assert_non_null(strstr(j->last_error, "opted_out since it was"
	    " queued"));
	store_job_free(j);
	assert_int_equal(store_outbox_get(x->st, x->sent, &j), 0);
	assert_int_equal(j->state, JOB_SENT);
	store_job_free(j);

	r = fx_rows(x);
	snprintf(want, sizeof(want), "sms_withdrawn %lld c1\n"
	    "sms_optout %lld \nsms_optout %lld \n", (long long)x->sam,
	    (long long)x->sam, (long long)x->ann);
	assert_string_equal(r.text, want);

	/* the gateway's retry: nothing new, nothing audited */
	assert_int_equal(feedback_sms_apply_optout(x->st, &in, NOW, "cfg",
	    anchor, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.repeated, 1);
	assert_int_equal(a.changed, 0);
	assert_int_equal(a.withdrawn, 0);
	assert_string_equal(anchor, "");
	assert_int_equal(fx_rows(x).n, 3);

	/* a number nobody has: noted, audited against customer 0 */
	snprintf(in.from, sizeof(in.from), "+15557770000");
	in.sid = "SMstop2";
	assert_int_equal(feedback_sms_apply_optout(x->st, &in, NOW, "cfg",
	    NULL, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.changed, 1);
	assert_int_equal(a.customers, 0);
	r = fx_rows(x);
	assert_int_equal(r.n, 4);
	assert_non_null(strstr(r.text, "sms_optout 0 \n"));
}

static void
test_apply_optin(void **state)
{
	struct fx *x = *state;
	struct feedback_sms_inbound stop = reply("STOP", "SMa");
	struct feedback_sms_inbound start = reply("start", "SMb");
	struct feedback_sms_inbound late, again;
	struct feedback_sms_applied a;
	struct store_sms_facts f;
	struct rows r;
	char want[128];

	/* START while consent stands: nothing to grant */
	assert_int_equal(feedback_sms_apply_optin(x->st, &start, NOW, "cfg",
	    NULL, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.changed, 0);
	assert_int_equal(a.customers, 0);
	assert_int_equal(a.skipped, 1);		/* ann */
	assert_int_equal(fx_rows(x).n, 0);

	assert_int_equal(feedback_sms_apply_optout(x->st, &stop, NOW, "cfg",
	    NULL, &a), FEEDBACK_SMS_OK);
	assert_int_equal(fx_decide(x, x->sam), POLICY_SMS_OPTED_OUT);
	/* START again, a new message */
	start = reply("start", "SMe");
	assert_int_equal(feedback_sms_apply_optin(x->st, &start, NOW + 60,
	    "cfg", NULL, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.changed, 1);
	assert_int_equal(a.customers, 1);
	assert_int_equal(a.skipped, 1);

	/* sam had consented: granted again, the reply as evidence */
	assert_int_equal(fx_decide(x, x->sam), POLICY_SMS_QUEUE);
	assert_int_equal(store_sms_facts_get(x->st, x->sam, "c9", NOW, &f), 0);
	assert_int_equal(f.consent_granted, 1);
	assert_int_equal(f.consent_at, NOW + 60);
	assert_non_null(strstr(f.consent_evidence, "granted sms_reply:"
	    " reply 'start' (message SMe) at 2026-"));
	/* ann never had: START is no consent to marketing */
	assert_int_equal(fx_decide(x, x->ann), POLICY_SMS_OPTED_OUT);

	r = fx_rows(x);
	snprintf(want, sizeof(want), "sms_optin %lld \n", (long long)x->sam);
	assert_non_null(strstr(r.text, want));

	/* the first STOP again, as Twilio retries a webhook it thinks
	 * failed: the same message id, taken once */
	assert_int_equal(feedback_sms_apply_optout(x->st, &stop, NOW + 90,
	    "cfg", NULL, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.repeated, 1);
	assert_int_equal(a.changed, 0);
	assert_int_equal(fx_decide(x, x->sam), POLICY_SMS_QUEUE);
	/* a STOP that came in before the START (delayed) changes nothing:
	 * the later word stands */
	late = reply("STOP", "SMc");
	assert_int_equal(feedback_sms_apply_optout(x->st, &late, NOW + 30,
	    "cfg", NULL, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.repeated, 0);
	assert_int_equal(fx_decide(x, x->sam), POLICY_SMS_QUEUE);
	/* a new STOP after it opts out again */
	again = reply("STOP", "SMd");
	assert_int_equal(feedback_sms_apply_optout(x->st, &again, NOW + 120,
	    "cfg", NULL, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.changed, 1);
	assert_int_equal(fx_decide(x, x->sam), POLICY_SMS_OPTED_OUT);
}

static struct feedback_sms_report
report(enum feedback_sms_status s, const char *to, const char *ref,
    int64_t job, const char *code)
{
	struct feedback_sms_report r;

	memset(&r, 0, sizeof(r));
	r.status = s;
	snprintf(r.to, sizeof(r.to), "%s", to);
	r.ref = ref;
	r.job = job;
	r.code = code;
	return r;
}

static void
test_apply_report(void **state)
{
	struct fx *x = *state;
	struct feedback_sms_applied a;
	struct feedback_sms_report r;
	struct store_sms_facts f;
	char anchor[AUDIT_ANCHOR_MAX], want[128];
	struct rows rows;

	/* pending: nothing written */
	r = report(FEEDBACK_SMS_ST_PENDING, PHONE, "SMout", 0, "");
	assert_int_equal(feedback_sms_apply_report(x->st, &r, NOW, "cfg",
	    anchor, &a), FEEDBACK_SMS_OK);
	assert_string_equal(anchor, "");
	assert_int_equal(fx_rows(x).n, 0);

	/* delivered: audited against the job the MessageSid names */
	r = report(FEEDBACK_SMS_ST_DELIVERED, PHONE, "SMout", 0, "");
	assert_int_equal(feedback_sms_apply_report(x->st, &r, NOW, "cfg",
	    anchor, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.job, x->sent);
	assert_int_equal(a.changed, 0);
	assert_non_null(strstr(anchor, "audit="));
	rows = fx_rows(x);
	snprintf(want, sizeof(want), "sms_delivered %lld c2\n",
	    (long long)x->sam);
	assert_string_equal(rows.text, want);

	/* failed for a passing reason (30003): no mark */
	r = report(FEEDBACK_SMS_ST_FAILED, PHONE, "SMout", 0, "30003");
	assert_int_equal(feedback_sms_apply_report(x->st, &r, NOW, "cfg",
	    NULL, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.changed, 0);
	assert_int_equal(fx_decide(x, x->sam), POLICY_SMS_QUEUE);

	/* a landline (30006): the number marked invalid, as the outbox
	 * marks a refusal; an unknown MessageSid is audited bare */
	r = report(FEEDBACK_SMS_ST_INVALID, PHONE, "SMunknown", 0, "30006");
	assert_int_equal(feedback_sms_apply_report(x->st, &r, NOW, "cfg",
	    NULL, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.changed, 1);
	assert_int_equal(a.job, 0);
	assert_int_equal(store_sms_facts_get(x->st, x->sam, "c9", NOW, &f), 0);
	assert_string_equal(f.phone_status, "invalid");
	assert_int_equal(fx_decide(x, x->sam), POLICY_SMS_BAD_NUMBER);
	rows = fx_rows(x);
	assert_int_equal(rows.n, 3);
	assert_non_null(strstr(rows.text, "sms_undelivered 0 \n"));

	/* 21610: opted out, consent revoked */
	r = report(FEEDBACK_SMS_ST_OPTED_OUT, PHONE, "SMout", 0, "21610");
	assert_int_equal(feedback_sms_apply_report(x->st, &r, NOW + 1, "cfg",
	    NULL, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.changed, 1);
	assert_int_equal(a.customers, 2);
	assert_int_equal(fx_decide(x, x->sam), POLICY_SMS_OPTED_OUT);

	/* Kannel: the job by its id, the number checked against it */
	r = report(FEEDBACK_SMS_ST_DELIVERED, "", "", x->sent, "1");
	assert_int_equal(feedback_sms_apply_report(x->st, &r, NOW, "cfg",
	    NULL, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.job, x->sent);
	r = report(FEEDBACK_SMS_ST_DELIVERED, "+15557770000", "", x->sent,
	    "1");
	assert_int_equal(feedback_sms_apply_report(x->st, &r, NOW, "cfg",
	    NULL, &a), FEEDBACK_SMS_OK);
	assert_int_equal(a.job, 0);
	assert_int_equal(fx_rows(x).n, 6);
}

/* The store functions alone: lookups by number. */
static void
test_store_lookups(void **state)
{
	struct fx *x = *state;
	int64_t ids[STORE_FEEDBACK_MAX], id;
	size_t n;

	assert_int_equal(store_feedback_customers(x->st, PHONE, ids,
	    STORE_FEEDBACK_MAX, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], x->sam);
	assert_int_equal(ids[1], x->ann);
	assert_int_equal(store_feedback_customers(x->st, PHONE, ids, 1, &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(store_feedback_customers(x->st, "+15557770000", ids,
	    STORE_FEEDBACK_MAX, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_feedback_sms_queued(x->st, PHONE, ids,
	    STORE_FEEDBACK_MAX, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], x->job);
	assert_int_equal(store_feedback_sms_job(x->st, PHONE, "SMout", 0, &id),
	    0);
	assert_int_equal(id, x->sent);
	assert_int_equal(store_feedback_sms_job(x->st, "+15557770000", "SMout",
	    0, &id), 1);
	assert_int_equal(store_feedback_sms_job(x->st, PHONE, "", 0, &id), 1);
	assert_int_equal(store_feedback_sms_job(x->st, "", "", x->job, &id),
	    0);
	assert_int_equal(id, x->job);
	assert_int_equal(store_feedback_sms_job(x->st, "", "", x->job + 99,
	    &id), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form_decoding),
		cmocka_unit_test(test_form_errors),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_twilio_inbound),
		cmocka_unit_test(test_kannel),
		cmocka_unit_test(test_status_map),
		cmocka_unit_test(test_twiml),
		cmocka_unit_test_setup_teardown(test_store_lookups,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_optout,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_optin,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_apply_report,
		    fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
