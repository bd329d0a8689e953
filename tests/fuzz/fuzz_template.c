/*
 * fuzz_template.c - the template language on whatever a campaign file or
 * a broadcast may carry: template_check, then template_render in each
 * context, and the SMS size of the text result; template_errors finds
 * an error exactly when the rendering fails (but for its size), each at
 * an offset inside the template.  Errors are answers;
 * crashes, leaks and reads outside the input are the bugs looked for,
 * and a control character or bidirectional override in the output of a
 * UTF-8 template that held none (values never bring one; pieces of
 * invalid UTF-8 joined where a tag was removed may make one).
 *
 * libFuzzer entry point; see fuzz_render.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "parse.h"
#include "render.h"
#include "template.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
value(void *arg, const char *name)
{
	(void)arg;
	if (strcmp(name, "offer") == 0)
		return "<15% off> & \"more\" \xe2\x82\xac";
	if (strcmp(name, "crlf") == 0)
		return "a\r\nBcc: x@example.com";
	/* what the value filter drops or breaks: controls, overrides,
	 * encoded-word look-alikes whole and in halves, bytes not UTF-8 */
	if (strcmp(name, "hostile") == 0)
		return "\x1b[31m\x07\x7f\xc2\x9b\t\xe2\x80\xae"
		    "=?utf-8?b?QWRtaW4=?=\xe2\x81\xa6=\x01?=?=\xff\xc3";
	if (strcmp(name, "eq") == 0)
		return "x=";
	if (strcmp(name, "q") == 0)
		return "?utf-8?q?A?=";
	return NULL;
}

static int
flag(void *arg, const char *name)
{
	(void)arg;
	return name[0] == 'v';
}

/*
 * 1 when the N bytes at S hold a control character other than tab and
 * line breaks, or an explicit bidirectional formatting character.
 */
static int
has_hostile(const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' &&
		    s[i] != '\r') || s[i] == 0x7f)
			return 1;
		if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 &&
		    s[i + 1] <= 0x9f)
			return 1;
		if (i + 2 < n && ((s[i] == 0xe2 && s[i + 1] == 0x80 &&
		    s[i + 2] >= 0xaa && s[i + 2] <= 0xae) || (s[i] == 0xe2 &&
		    s[i + 1] == 0x81 && s[i + 2] >= 0xa6 && s[i + 2] <= 0xa9)))
			return 1;
	}
	return 0;
}

/* Each error is about a tag in the template: its offset is inside. */
static void
error_seen(void *arg, size_t pos, const char *why)
{
	if (pos >= *(size_t *)arg || strlen(why) == 0)
		abort();
}

/* Reads every name the check reports, so that ASan sees each one. */
static void
name_seen(void *arg, const char *name, int is_section)
{
	(void)is_section;
	*(size_t *)arg += strlen(name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum template_context ctx[] = {
		TEMPLATE_TEXT, TEMPLATE_HTML, TEMPLATE_HEADER
	};
	struct template_vars vars;
	struct render_sms_size sz;
	struct buf out;
	char err[256];
	size_t i, n, names = 0;
	int hostile, rc;

	(void)template_check((const char *)data, size, name_seen, &names, err,
	    sizeof(err));
	memset(&vars, 0, sizeof(vars));
	vars.value = value;
	vars.flag = flag;
	/* each context with unknown names refused, then rendered empty */
	hostile = has_hostile(data, size) ||
	    !parse_utf8_valid((const char *)data, size);
	for (i = 0; i < 2 * sizeof(ctx) / sizeof(ctx[0]); i++) {
		vars.unknown_empty = (int)(i % 2);
		buf_init(&out, 1 << 20);
		err[0] = '\0';
		rc = template_render((const char *)data, size, ctx[i / 2],
		    &vars, &out, err, sizeof(err));
		n = size;
		n = template_errors((const char *)data, size, ctx[i / 2],
		    &vars, error_seen, &n);
		if ((rc == 0) != (n == 0) && strstr(err, "size limit") == NULL)
			abort();
		if (rc == 0) {
			if (!hostile && has_hostile((const uint8_t *)
			    buf_str(&out), out.len))
				abort();
			if (ctx[i / 2] == TEMPLATE_TEXT)
				(void)render_sms_size(buf_str(&out), out.len,
				    &sz);
		}
		buf_free(&out);
	}
	return 0;
}
