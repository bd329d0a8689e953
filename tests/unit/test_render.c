/*
 * test_render.c - whole messages through the MIME renderer: transfer
 * encodings and charsets decoded and re-encoded, attachments left byte
 * for byte, the Subject as encoded words, and the refusals (CR/LF in a
 * header value, malformed MIME, unknown encodings).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <gmime/gmime.h>

#include "buf.h"
#include "render.h"

static const char *const values[][2] = {
	{ "offer", "20% off f\xc3\xbcr Sie" },		/* für: Latin-1 can */
	{ "euro", "5 \xe2\x82\xac" },			/* €: Latin-1 can't */
	{ "plain", "Tea" },
	{ "html", "<b>Tea & Co</b>" },
	{ "evil", "x\r\nBcc: all@example.com" },
	{ "wide", "0123456789012345678901234567890123456789012345678901234567"
	    "89012345678901234567890123456789012345678901" },	/* 100 */
	/* a customer's name: an encoded word, an override, ESC */
	{ "hostile", "=?utf-8?b?QWRtaW4=?= \xe2\x80\xae\x1b[1mx" },
};

static const char *
lookup(void *arg, const char *name)
{
	size_t i;

	(void)arg;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		if (strcmp(values[i][0], name) == 0)
			return values[i][1];
	return NULL;
}

static int
flag(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "vip") == 0;
}

static const struct template_vars vars = { lookup, flag, NULL, 0 };

struct run {
	char			*in;		/* the message, kept for r->m */
	struct render_msg	*m;
	struct render_result	 res;
	struct buf		 out;
	char			*body;
	char			 err[256];
};

/* A writer that fails once LIMIT bytes were written, as a full disk. */
struct capped {
	struct buf	*b;
	size_t		 limit;
};

static int
put_capped(void *arg, const void *p, size_t n)
{
	struct capped *c = arg;

	if (c->b->len + n > c->limit)
		return -1;
	return buf_append(c->b, p, n);
}

/* Parses and renders MSG; 0 with r->body, or -1 with r->err. */
static int
run_capped(struct run *r, const char *msg, size_t limit)
{
	struct capped c;
	int rc;

	memset(r, 0, sizeof(*r));
	r->in = strdup(msg);
	buf_init(&r->out, 16 << 20);
	c.b = &r->out;
	c.limit = limit;
	r->m = render_parse(r->in, strlen(r->in), r->err, sizeof(r->err));
	if (r->m == NULL)
		return -1;
	rc = render_apply(r->m, &vars, put_capped, &c, &r->res, r->err,
	    sizeof(r->err));
	r->body = (char *)buf_str(&r->out);
	return rc;
}

static int
run(struct run *r, const char *msg)
{
	return run_capped(r, msg, SIZE_MAX);
}

static void
run_free(struct run *r)
{
	render_result_free(&r->res);
	render_free(r->m);
	buf_free(&r->out);
	free(r->in);
}

static void
test_single_part_gains_8bit(void **state)
{
	struct run r;

	(void)state;
	assert_int_equal(run(&r, "From: a@example.com\r\nSubject: hi\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "{{#vip}}\r\nDear VIP,\r\n{{/vip}}\r\nGet {{offer}} now.\r\n"), 0);
	assert_string_equal(r.body, "Dear VIP,\r\nGet 20% off f=C3=BCr Sie"
	    " now.\r\n");
	/* the top-level headers say so: the milter must change them */
	assert_string_equal(r.res.transfer_encoding, "quoted-printable");
	assert_string_equal(r.res.content_type, "text/plain; charset=utf-8");
	assert_null(r.res.subject);
	assert_int_equal(r.res.parts, 1);
	run_free(&r);
}

static void
test_qp_soft_break_in_placeholder(void **state)
{
	struct run r;

	(void)state;
	assert_int_equal(run(&r, "Subject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=iso-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "Caf=E9 {{of=\r\nfer}} and {{pl=\r\nain}}\r\n"), 0);
	/* still Latin-1, still QP: the headers need no change */
	assert_string_equal(r.body, "Caf=E9 20% off f=FCr Sie and Tea\r\n");
	assert_null(r.res.transfer_encoding);
	assert_null(r.res.content_type);
	run_free(&r);
}

static void
test_latin1_cannot_hold_value(void **state)
{
	struct run r;

	(void)state;
	assert_int_equal(run(&r, "Subject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=ISO-8859-1\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n"
	    "Caf\xe9 {{euro}}\r\n"), 0);
	assert_string_equal(r.body, "Caf\xc3\xa9 5 \xe2\x82\xac\r\n");
	assert_string_equal(r.res.content_type, "text/plain; charset=utf-8");
	assert_null(r.res.transfer_encoding);
	run_free(&r);
}

static const char mixed_head[] = "From: a@example.com\r\n"
    "Subject: =?ISO-8859-1?Q?Caf=E9?= {{offer}}\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"MIX\"\r\n\r\n";

/* base64 of "<p>{{html}} {{offer}}</p>\r\n<p>{{{html}}}</p>\r\n" */
static const char html_b64[] =
    "PHA+e3todG1sfX0ge3tvZmZlcn19PC9wPg0KPHA+e3t7aHRtbH19fTwvcD4NCg==\r\n";

static const char attachment[] =
    "Content-Type: text/plain; name=\"notes.txt\"\r\n"
    "Content-Disposition: attachment; filename=\"notes.txt\"\r\n\r\n"
    "{{offer}} stays as written in an attachment\r\n";

static const char binary[] =
    "Content-Type: application/octet-stream\r\n"
    "Content-Disposition: attachment; filename=\"a.bin\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n"
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v\r\n"
    "MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f\r\n";

static void
test_nested_multipart(void **state)
{
	char msg[8192], *p, *html;
	gsize n;
	struct run r;
	unsigned plain, nhtml;

	(void)state;
	snprintf(msg, sizeof(msg), "%spreamble\r\n--MIX\r\n"
	    "Content-Type: multipart/alternative; boundary=\"ALT\"\r\n\r\n"
	    "--ALT\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "Hi =E2=82=AC {{offer}}\r\n"
	    "--ALT\r\nContent-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n%s"
	    "--ALT--\r\n\r\n--MIX\r\n%s--MIX\r\n%s--MIX--\r\nepilogue\r\n",
	    mixed_head, html_b64, attachment, binary);
	assert_int_equal(run(&r, msg), 0);
	render_count(r.m, &plain, &nhtml);
	assert_int_equal(plain, 1);
	assert_int_equal(nhtml, 1);
	assert_string_equal(render_subject(r.m), "Caf\xc3\xa9 {{offer}}");

	assert_non_null(strstr(r.body, "preamble\r\n--MIX\r\n"));
	assert_non_null(strstr(r.body, "Hi =E2=82=AC 20% off f=C3=BCr Sie\r\n"));
	/* both attachments byte for byte, the text one not rendered */
	assert_non_null(strstr(r.body, attachment));
	assert_non_null(strstr(r.body, binary));
	assert_non_null(strstr(r.body, "--MIX--\r\nepilogue\r\n"));
	assert_null(r.res.content_type);
	assert_null(r.res.transfer_encoding);

	/* the HTML part: still base64, escaped except the raw value */
	p = strstr(r.body, "Content-Transfer-Encoding: base64\r\n\r\n");
	assert_non_null(p);
	p += strlen("Content-Transfer-Encoding: base64\r\n\r\n");
	*strstr(p, "\r\n\r\n--ALT--") = '\0';
	html = (char *)g_base64_decode(p, &n);
	assert_string_equal(html, "<p>&lt;b&gt;Tea &amp; Co&lt;/b&gt; 20% off"
	    " f\xc3\xbcr Sie</p>\r\n<p><b>Tea & Co</b></p>\r\n");
	g_free(html);

	/* the Subject: encoded words that decode to the rendered text */
	assert_non_null(r.res.subject);
	html = g_mime_utils_header_decode_text(NULL, r.res.subject);
	assert_string_equal(html, "Caf\xc3\xa9 20% off f\xc3\xbcr Sie");
	g_free(html);
	run_free(&r);
}

static void
test_header_injection_refused(void **state)
{
	struct run r;

	(void)state;
	assert_int_equal(run(&r, "Subject: News {{evil}}\r\n"
	    "Content-Type: text/plain\r\n\r\nbody\r\n"), -1);
	assert_string_equal(r.err, "Subject: line 1: the value of {{evil}}"
	    " holds a line break, refused in a header");
	run_free(&r);
	/* the same value is fine in a body */
	assert_int_equal(run(&r, "Subject: News\r\n"
	    "Content-Type: text/plain\r\n\r\n{{evil}}\r\n"), 0);
	run_free(&r);
}

static void
test_unknown_placeholder_names_part(void **state)
{
	char msg[4096];
	struct run r;

	(void)state;
	snprintf(msg, sizeof(msg), "%s--MIX\r\nContent-Type: text/plain\r\n"
	    "\r\nfine\r\n--MIX\r\nContent-Type: text/html\r\n\r\n<p>\r\n"
	    "{{nope}}</p>\r\n--MIX--\r\n", mixed_head);
	assert_int_equal(run(&r, msg), -1);
	assert_string_equal(r.err, "part 2 (text/html): line 2: unknown"
	    " placeholder {{nope}}");
	run_free(&r);
}

/*
 * A part without header fields gains some when its text needs another
 * charset and encoding: the new block goes where its blank line was, the
 * boundaries around it stay.  Line ends come out CRLF, also from a file
 * written with LF alone.
 */
static void
test_headerless_part_gains_headers(void **state)
{
	struct run r;

	(void)state;
	assert_int_equal(run(&r, "Subject: x\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"B\"\n\n"
	    "first\n--B\n\nno headers {{offer}}\n--B\n"
	    "Content-Type: text/plain\n\n{{plain}}\n--B--\nlast\n"), 0);
	assert_string_equal(r.body, "first\r\n--B\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "no headers 20% off f=C3=BCr Sie\r\n--B\r\n"
	    "Content-Type: text/plain\r\n\r\nTea\r\n--B--\r\nlast\r\n");
	assert_int_equal(r.res.parts, 2);
	run_free(&r);
}

/* The writer's failure (a full disk) fails the rendering, and says so. */
static void
test_writer_failure(void **state)
{
	struct run r;

	(void)state;
	assert_int_equal(run_capped(&r, "Subject: x\r\n\r\n{{plain}} and"
	    " more than ten bytes\r\n", 10), -1);
	assert_string_equal(r.err, "writing the body failed");
	assert_null(r.res.subject);
	run_free(&r);
}

static void
test_malformed_refused(void **state)
{
	static const struct {
		const char *msg, *why;
	} bad[] = {
		{ "Subject: x\r\nContent-Type: multipart/mixed\r\n\r\n"
		    "--X\r\nContent-Type: text/plain\r\n\r\n{{offer}}\r\n",
		    "multipart without a boundary" },
		{ "Subject: x\r\nContent-Type: text/plain\r\n"
		    "Content-Transfer-Encoding: x-rot13\r\n\r\n{{offer}}\r\n",
		    "unknown transfer encoding 'x-rot13'" },
		{ "Subject: x\r\nContent-Type: text/plain; charset=x-klingon"
		    "\r\n\r\n{{offer}}\r\n", "cannot decode charset"
		    " 'x-klingon'" },
		{ "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n"
		    "\r\n\xff\xfe{{offer}}\r\n", "text part is not valid"
		    " utf-8" },
		/* a type that cannot be written back as it came: GMime's
		 * encoder grew a string until GLib aborted on the first */
		{ "Content-Type: text/plain; aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=\334\r\n\r\nbody\r\n",
		    "parameter name 'aaaaaaaa" },
		{ "Content-Type: text/plain; name=\334\r\n\r\nbody\r\n",
		    "parameter 'name' is not short printable ASCII" },
		{ "Content-Type: text/plain; name*=utf-8''%C3%BC\r\n\r\n"
		    "body\r\n", "parameter 'name' is not short printable" },
		{ "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n"
		    "Content-Type: text/html; x=\"\033[2J\"\r\n\r\nb\r\n--B--\r\n",
		    "parameter 'x' is not short printable ASCII" },
	};
	struct run r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(run(&r, bad[i].msg), -1);
		assert_null(r.m);
		assert_non_null(strstr(r.err, bad[i].why));
		run_free(&r);
	}
}

/*
 * A text part's other parameters survive a change of charset, written
 * by segmilter rather than GMime's encoder: in order, quoted where they
 * must be, folded near 76 columns; the part's other header fields stay
 * as they came, the replaced field's continuation lines go with it.
 */
static void
test_parameters_kept(void **state)
{
	struct run r;

	(void)state;
	assert_int_equal(run(&r, "Subject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; format=flowed; delsp=yes;\r\n"
	    "\tcharset=us-ascii\r\n\r\n{{offer}}\r\n"), 0);
	assert_string_equal(r.res.content_type, "text/plain; format=flowed;"
	    " delsp=yes; charset=utf-8");
	run_free(&r);

	assert_int_equal(run(&r, "Subject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n"
	    "X-Before: 1\r\n"
	    "Content-Type: text/plain; name=\"a b;c \\\"d\\\".txt\";\r\n"
	    " charset=us-ascii; x-a-rather-long-parameter-name=and-its-value\r\n"
	    "X-After: 2\r\n\r\n{{offer}}\r\n--B--\r\n"), 0);
	assert_string_equal(r.body, "--B\r\nX-Before: 1\r\n"
	    "Content-Type: text/plain; name=\"a b;c \\\"d\\\".txt\";"
	    " charset=utf-8;\r\n"
	    "\tx-a-rather-long-parameter-name=and-its-value\r\n"
	    "X-After: 2\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "20% off f=C3=BCr Sie\r\n--B--\r\n");
	run_free(&r);
}

/*
 * One rendering's text is bounded by the message's size (eight times, 4
 * MiB at least), whatever its parts: a short message of long values is
 * refused with a reason instead of growing without limit.
 */
static void
test_render_budget(void **state)
{
	const size_t n = 60000;		/* 480 KB in, 6 MB out */
	struct buf msg;
	struct run r;
	size_t i;

	(void)state;
	buf_init(&msg, 1 << 20);
	assert_int_equal(buf_puts(&msg, "Subject: x\r\n\r\n"), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_puts(&msg, "{{wide}}"), 0);
	assert_int_equal(run(&r, buf_str(&msg)), -1);
	assert_non_null(r.m);
	assert_non_null(strstr(r.err, "rendered text over"));
	run_free(&r);

	/* half as many fit */
	msg.len = strlen("Subject: x\r\n\r\n") + n / 2 * strlen("{{wide}}");
	msg.data[msg.len] = '\0';
	if (run(&r, buf_str(&msg)) != 0)
		fail_msg("%s", r.err);
	run_free(&r);
	buf_free(&msg);
}

/* A line of N x's and {{plain}}, in a 7bit part. */
static char *
long_line_msg(size_t n)
{
	char *msg = malloc(n + 256), *p;

	p = msg + sprintf(msg, "From: a@example.com\r\nSubject: hi\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "\r\n");
	memset(p, 'x', n);
	strcpy(p + n, "{{plain}}\r\nend\r\n");
	return msg;
}

/*
 * The scans that run over every byte: 8-bit text past the first
 * eight-byte word, lines at the RFC 5322 limit and one over, bare CRs
 * kept and CRLFs made LF.
 */
static void
test_byte_scans(void **state)
{
	struct run r;
	char *msg;

	(void)state;
	assert_int_equal(run(&r, "From: a@example.com\r\nSubject: hi\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "\r\nabcdefg\xff{{plain}}\r\n"), -1);	/* the word's last byte */
	assert_non_null(strstr(r.err, "not valid"));
	run_free(&r);

	msg = long_line_msg(998 - 3);	/* with "Tea": 998 */
	assert_int_equal(run(&r, msg), 0);
	assert_null(r.res.transfer_encoding);
	run_free(&r);
	free(msg);
	msg = long_line_msg(998 - 2);	/* 999: quoted-printable */
	assert_int_equal(run(&r, msg), 0);
	assert_string_equal(r.res.transfer_encoding, "quoted-printable");
	run_free(&r);
	free(msg);

	assert_int_equal(run(&r, "From: a@example.com\r\nSubject: hi\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "\r\na\rb {{plain}}\r\n\r\nc\r"), 0);
	assert_string_equal(r.body, "a\rb Tea\r\n\r\nc\r");
	run_free(&r);
}

static void
test_render_header(void **state)
{
	char *out, err[256], *dec;

	(void)state;
	assert_int_equal(render_header("Plain {{plain}}", &vars, &out, err,
	    sizeof(err)), 0);
	assert_string_equal(out, "Plain Tea");
	free(out);
	/* long: folded, every line short, and it decodes back */
	assert_int_equal(render_header("{{offer}} {{offer}} {{offer}}"
	    " {{offer}} {{offer}} {{offer}}", &vars, &out, err, sizeof(err)),
	    0);
	assert_non_null(strchr(out, '\n'));
	assert_null(strchr(out, '\r'));
	dec = g_mime_utils_header_decode_text(NULL, out);
	assert_non_null(strstr(dec, "Sie 20% off"));
	g_free(dec);
	/* folded before a blank, which stays a blank: no TAB */
	assert_null(strchr(out, '\t'));
	assert_non_null(strstr(out, "\n "));
	free(out);
	/* one charset, UTF-8, whatever the words: no windows-1251 for
	 * the Cyrillic, no iso-8859-1 for the accent */
	assert_int_equal(render_header("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2"
	    "\xd0\xb5\xd1\x82 Caf\xc3\xa9 \xe2\x82\xac", &vars, &out,
	    err, sizeof(err)), 0);
	assert_non_null(strstr(out, "=?UTF-8?"));
	assert_null(strcasestr(out, "windows-"));
	assert_null(strcasestr(out, "iso-8859"));
	dec = g_mime_utils_header_decode_text(NULL, out);
	assert_string_equal(dec, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5"
	    "\xd1\x82 Caf\xc3\xa9 \xe2\x82\xac");
	g_free(dec);
	free(out);
}

/*
 * A customer's encoded-word look-alike reaches the Subject as text a
 * reader shows, not as an encoded word it decodes ("Admin"); the
 * override and the ESC do not reach it at all.
 */
static void
test_render_header_hostile(void **state)
{
	char *out, err[256], *dec;

	(void)state;
	assert_int_equal(render_header("Hi {{hostile}}", &vars, &out, err,
	    sizeof(err)), 0);
	dec = g_mime_utils_header_decode_text(NULL, out);
	assert_null(strstr(dec, "Admin"));
	assert_string_equal(dec, "Hi = ?utf-8?b?QWRtaW4=?= [1mx");
	g_free(dec);
	free(out);
}

static int
setup(void **state)
{
	(void)state;
	render_init();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_part_gains_8bit),
		cmocka_unit_test(test_qp_soft_break_in_placeholder),
		cmocka_unit_test(test_latin1_cannot_hold_value),
		cmocka_unit_test(test_nested_multipart),
		cmocka_unit_test(test_header_injection_refused),
		cmocka_unit_test(test_unknown_placeholder_names_part),
		cmocka_unit_test(test_headerless_part_gains_headers),
		cmocka_unit_test(test_writer_failure),
		cmocka_unit_test(test_malformed_refused),
		cmocka_unit_test(test_parameters_kept),
		cmocka_unit_test(test_render_budget),
		cmocka_unit_test(test_byte_scans),
		cmocka_unit_test(test_render_header),
		cmocka_unit_test(test_render_header_hostile),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
