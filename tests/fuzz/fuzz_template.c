/*
 * fuzz_template.c - the template language on whatever a campaign file or
 * a broadcast may carry: template_check, then template_render in each
 * context, and the SMS size of the text result.  Errors are answers;
 * crashes, leaks and reads outside the input are the bugs looked for.
 *
 * libFuzzer entry point; see fuzz_render.c.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
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
	return NULL;
}

static int
flag(void *arg, const char *name)
{
	(void)arg;
	return name[0] == 'v';
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
	size_t i, names = 0;

	(void)template_check((const char *)data, size, name_seen, &names, err,
	    sizeof(err));
	memset(&vars, 0, sizeof(vars));
	vars.value = value;
	vars.flag = flag;
	/* each context with unknown names refused, then rendered empty */
	for (i = 0; i < 2 * sizeof(ctx) / sizeof(ctx[0]); i++) {
		vars.unknown_empty = (int)(i % 2);
		buf_init(&out, 1 << 20);
		if (template_render((const char *)data, size, ctx[i / 2], &vars,
		    &out, err, sizeof(err)) == 0 && ctx[i / 2] == TEMPLATE_TEXT)
			(void)render_sms_size(buf_str(&out), out.len, &sz);
		buf_free(&out);
	}
	return 0;
}
