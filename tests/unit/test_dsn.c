/*
 * test_dsn.c - the DSN and ARF reader on reports in the shapes Postfix,
 * Sendmail, Exim, Gmail, Microsoft and Yahoo send (tests/fixtures/dsn/):
 * one and several recipients, with and without the original, 7bit and
 * base64; what each recipient's bounce is, its code and diagnostic
 * (controls masked), the token from the envelope or the original; and
 * malformed input refused with a reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dsn.h"
#include "render.h"

#define ENV	"bounces+envtoken@shop.example"

/* The fixture NAME, read whole; the caller frees it. */
static char *
fixture(const char *name, size_t *len)
{
	const char *src = getenv("SEGM_SRCDIR");
	char path[512], *data;
	FILE *fp;
	long n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/dsn/%s",
	    src ? src : ".", name);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	data = malloc((size_t)n + 1);
	assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
	data[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return data;
}

/* Parses fixture NAME into *R; dsn_parse's rc. */
static int
parse(const char *name, const char *env, struct dsn_report *r)
{
	size_t len;
	char *m = fixture(name, &len);
	int rc;

	rc = dsn_parse(m, len, env, "X-Campaign-ID", r);
	free(m);
	return rc;
}

static void
want_rcpt(const struct dsn_report *r, size_t i, enum dsn_kind kind,
    const char *rcpt, const char *status, const char *diag)
{
	assert_true(i < r->nrcpts);
	assert_int_equal(r->rcpts[i].kind, kind);
	assert_string_equal(r->rcpts[i].recipient, rcpt);
	assert_string_equal(r->rcpts[i].status, status);
	assert_string_equal(r->rcpts[i].diagnostic, diag);
}

static void
test_postfix(void **state)
{
	struct dsn_report r;

	(void)state;
	assert_int_equal(parse("postfix-hard.eml", ENV, &r), 0);
	assert_int_equal(r.type, DSN_DELIVERY);
	assert_int_equal(r.nrcpts, 1);
	assert_int_equal(r.skipped, 0);
	want_rcpt(&r, 0, DSN_HARD, "sue@example.com", "5.1.1",
	    "550 5.1.1 <sue@example.com>: Recipient address rejected: User"
	    " unknown");
	assert_string_equal(r.env_token, "envtoken");
	assert_string_equal(r.orig_token, "");	/* no Return-Path yet */
	assert_string_equal(r.campaign, "launch");

	/* delayed: soft; CRLF; the original's headers only */
	assert_int_equal(parse("postfix-delayed.eml", NULL, &r), 0);
	assert_int_equal(r.nrcpts, 1);
	want_rcpt(&r, 0, DSN_SOFT, "fred@example.com", "4.4.1",
	    "connect to mx.example.com[192.0.2.1]:25: Connection timed out");
	assert_string_equal(r.env_token, "");
	assert_string_equal(r.orig_token, "XTOKENX");
	assert_string_equal(r.campaign, "launch");
}

static void
test_sendmail_several(void **state)
{
	struct dsn_report r;

	(void)state;
	assert_int_equal(parse("sendmail-multi.eml", ENV, &r), 0);
	assert_int_equal(r.nrcpts, 2);
	assert_int_equal(r.skipped, 1);		/* delivered */
	want_rcpt(&r, 0, DSN_HARD, "sue@example.com", "5.2.1",
	    "550 5.2.1 Mailbox disabled");
	want_rcpt(&r, 1, DSN_SOFT, "rita@example.com", "4.2.2",
	    "452 4.2.2 Mailbox full");
	assert_string_equal(r.orig_token, "XTOKENX");
}

static void
test_exim_base64(void **state)
{
	struct dsn_report r;

	(void)state;
	/* no Status field: the code is the diagnostic's */
	assert_int_equal(parse("exim-base64.eml", ENV, &r), 0);
	assert_int_equal(r.nrcpts, 1);
	want_rcpt(&r, 0, DSN_HARD, "sue@example.com", "5.1.1",
	    "550 5.1.1 <sue@example.com>: user unknown");
}

static void
test_gmail_microsoft(void **state)
{
	struct dsn_report r;

	(void)state;
	assert_int_equal(parse("gmail-hard.eml", ENV, &r), 0);
	assert_int_equal(r.nrcpts, 1);
	/* unfolded, the escape masked, cut to DSN_DIAG_MAX - 1 at most */
	assert_int_equal(r.rcpts[0].kind, DSN_HARD);
	assert_string_equal(r.rcpts[0].status, "5.1.1");
	assert_non_null(strstr(r.rcpts[0].diagnostic,
	    "does not exist. Please try?[31m double-checking"));
	assert_null(strchr(r.rcpts[0].diagnostic, '\033'));
	assert_true(strlen(r.rcpts[0].diagnostic) < DSN_DIAG_MAX);
	assert_string_equal(r.campaign, "launch");

	assert_int_equal(parse("microsoft-hard.eml", ENV, &r), 0);
	want_rcpt(&r, 0, DSN_HARD, "sue@example.com", "5.4.1",
	    "550 5.4.1 Recipient address rejected: Access denied."
	    " [AM0PR01MB1234.eurprd01.prod.outlook.com]");
}

static void
test_complaints(void **state)
{
	struct dsn_report r;

	(void)state;
	assert_int_equal(parse("yahoo-arf.eml", NULL, &r), 0);
	assert_int_equal(r.type, DSN_FEEDBACK);
	assert_int_equal(r.nrcpts, 1);
	want_rcpt(&r, 0, DSN_COMPLAINT, "rita@example.com", "",
	    "feedback-type abuse; user-agent Yahoo!-Mail-Feedback/2.0");
	assert_string_equal(r.orig_token, "XTOKENX");
	assert_string_equal(r.campaign, "launch");

	/* base64, headers only, no Original-Rcpt-To: the token says who */
	assert_int_equal(parse("arf-headers-base64.eml", ENV, &r), 0);
	assert_int_equal(r.nrcpts, 1);
	want_rcpt(&r, 0, DSN_COMPLAINT, "", "",
	    "feedback-type abuse; user-agent SomeGenerator/1.0");
	assert_string_equal(r.orig_token, "XTOKENX");

	/* JMRP, not ARF */
	assert_int_equal(parse("microsoft-jmrp.eml", ENV, &r), 0);
	assert_int_equal(r.type, DSN_FEEDBACK);
	want_rcpt(&r, 0, DSN_COMPLAINT, "rita@example.com", "",
	    "feedback-type abuse; user-agent JMRP");

	/* an authentication failure report is no complaint */
	assert_int_equal(parse("arf-auth-failure.eml", ENV, &r), 0);
	assert_int_equal(r.nrcpts, 0);
	assert_int_equal(r.skipped, 1);
}

static void
test_malformed(void **state)
{
	static const struct {
		const char	*name;
		enum dsn_error	 error;
	} bad[] = {
		{ "malformed-not-mime.eml", DSN_ERR_NOT_MIME },
		{ "malformed-no-report.eml", DSN_ERR_NOT_REPORT },
		{ "malformed-no-recipient.eml", DSN_ERR_NO_RECIPIENT },
		{ "malformed-truncated.eml", DSN_ERR_NO_RECIPIENT },
		{ "malformed-arf-no-type.eml", DSN_ERR_NO_TYPE },
	};
	struct dsn_report r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].name, ENV, &r), -1);
		assert_int_equal(r.error, bad[i].error);
		assert_true(r.reason[0] != '\0');
		assert_int_equal(r.nrcpts, 0);
	}
	assert_int_equal(dsn_parse("", 0, NULL, NULL, &r), -1);
	assert_int_equal(dsn_parse("x", DSN_INPUT_MAX + 1u, NULL, NULL, &r),
	    -1);
	assert_int_equal(r.error, DSN_ERR_TOO_BIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_postfix),
		cmocka_unit_test(test_sendmail_several),
		cmocka_unit_test(test_exim_base64),
		cmocka_unit_test(test_gmail_microsoft),
		cmocka_unit_test(test_complaints),
		cmocka_unit_test(test_malformed),
	};

	render_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
