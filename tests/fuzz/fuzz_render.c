/*
 * fuzz_render.c - the MIME renderer on whatever an MTA may hand the
 * milter: render_parse, then render_apply and the Subject, as the milter
 * runs them, and render_errors as segctl preview does.  A message
 * render_parse accepts must render or fail with a reason, and every
 * error render_errors finds is on a line of the message; nothing may
 * crash, leak or read outside the input.
 *
 * libFuzzer entry point; tests/fuzz/replay.c runs a corpus through it
 * without libFuzzer (make check), `make fuzz` explores with it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

int	 LLVMFuzzerInitialize(int *argc, char ***argv);
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *
value(void *arg, const char *name)
{
	(void)arg;
	if (strcmp(name, "offer") == 0)
		return "15% off <b>\"now\"</b> & \xc3\xa9t\xc3\xa9";
	if (strcmp(name, "first_name") == 0)
		return "Zo\xc3\xab";
	return NULL;
}

static int
flag(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "vip") == 0;
}

/* Counts the body's bytes; fails past 64 MiB, as a full spool would. */
static int
put(void *arg, const void *p, size_t n)
{
	size_t *total = arg;

	(void)p;
	*total += n;
	return *total > (64u << 20) ? -1 : 0;
}

/* ARG: the message's last line; an error's line must be one of them. */
static void
error_seen(void *arg, unsigned long line, const char *what)
{
	if (line < 1 || line > *(unsigned long *)arg || what[0] == '\0')
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	render_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct template_vars vars;
	struct render_result res;
	struct render_msg *m;
	char err[512], *subject = NULL;
	size_t total = 0, i;
	unsigned long lines = 1;
	int unknown_empty;

	if ((m = render_parse((const char *)data, size, err,
	    sizeof(err))) == NULL)
		return 0;
	for (unknown_empty = 0; unknown_empty <= 1; unknown_empty++) {
		memset(&vars, 0, sizeof(vars));
		vars.value = value;
		vars.flag = flag;
		vars.unknown_empty = unknown_empty;
		memset(&res, 0, sizeof(res));
		if (render_apply(m, &vars, put, &total, &res, err,
		    sizeof(err)) == 0)
			render_result_free(&res);
		if (render_header(render_subject(m), &vars, &subject, err,
		    sizeof(err)) == 0)
			free(subject);
		subject = NULL;
		for (i = 0; i < size; i++)
			lines += data[i] == '\n';
		render_errors(m, &vars, error_seen, &lines);
		lines = 1;
	}
	render_free(m);
	return 0;
}
