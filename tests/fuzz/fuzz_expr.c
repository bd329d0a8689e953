/*
 * fuzz_expr.c - audience expressions (expr_parse) on whatever a
 * campaign file's include and exclude lists may hold: a marketer's
 * text, so outside input.
 *
 * Beyond crashes, leaks, reads past the input and deep recursion, what
 * a parsed expression gives back must hold together: its text is the
 * input, its names are distinct, none empty, each made of name
 * characters, and evaluating it, whoever carries which names, ends with
 * one value; an error says where, as "column N: ..." within the input
 * (or names a bound).  libFuzzer entry point; see fuzz_render.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Carries a name when its first byte is odd: any fixed rule will do. */
static int
has(const char *name, void *arg)
{
	(void)arg;
	return (unsigned char)name[0] & 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *const *names;
	struct expr *e;
	char *text, err[160];
	size_t n, i, j, col;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (expr_parse(text, &e, err, sizeof(err)) == -1) {
		if (strncmp(err, "column ", 7) == 0) {
			col = strtoul(err + 7, NULL, 10);
			if (col < 1 || col > strlen(text) + 1)
				abort();
		} else if (strncmp(err, "longer than", 11) != 0)
			abort();
		free(text);
		return 0;
	}
	if (strcmp(expr_text(e), text) != 0)
		abort();
	names = expr_names(e, &n);
	for (i = 0; i < n; i++) {
		if (names[i][0] == '\0' || strspn(names[i], "abcdefghijklm"
		    "nopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-:") !=
		    strlen(names[i]))
			abort();
		for (j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				abort();
	}
	if (expr_eval(e, has, NULL) > 1)
		abort();
	expr_free(e);
	free(text);
	return 0;
}
