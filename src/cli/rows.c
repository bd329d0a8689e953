/*
 * rows.c - what segctl's listings share for --format csv and json (cli.h,
 * cli_rows): a header of named columns, then rows of values, written as
 * CSV (RFC 4180, the header first) or as one JSON array of objects,
 * numbers as numbers.  The text format stays each command's own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "cli.h"
#include "csv.h"
#include "xalloc.h"

struct cli_rows {
	enum cli_format		 format;
	const struct cli_column	*cols;
	size_t			 ncols;
	JsonBuilder		*json;
};

int
cli_format_parse(const char *s, enum cli_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = CLI_TEXT;
	else if (strcmp(s, "csv") == 0)
		*out = CLI_CSV;
	else if (strcmp(s, "json") == 0)
		*out = CLI_JSON;
	else
		return -1;
	return 0;
}

int
cli_json_print(JsonBuilder *b)
{
	JsonGenerator *gen = json_generator_new();
	JsonNode *root = json_builder_get_root(b);
	char *text;

	json_generator_set_pretty(gen, TRUE);
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, NULL);
	puts(text);
	g_free(text);
	json_node_unref(root);
	g_object_unref(gen);
	return ferror(stdout) ? -1 : 0;
}

struct cli_rows *
cli_rows_begin(enum cli_format f, const struct cli_column *cols, size_t n)
{
	struct cli_rows *r = xcalloc(1, sizeof(*r));
	size_t i;

	r->format = f;
	r->cols = cols;
	r->ncols = n;
	if (f == CLI_JSON) {
		r->json = json_builder_new();
		json_builder_begin_array(r->json);
	} else {
		for (i = 0; i < n; i++) {
			if (i > 0)
				putchar(',');
			csv_write_field(stdout, cols[i].name);
		}
		putchar('\n');
	}
	return r;
}

void
cli_rows_add(struct cli_rows *r, const char *const *values)
{
	size_t i;

	if (r->format != CLI_JSON) {
		for (i = 0; i < r->ncols; i++) {
			if (i > 0)
				putchar(',');
			csv_write_field(stdout, values[i]);
		}
		putchar('\n');
		return;
	}
	json_builder_begin_object(r->json);
	for (i = 0; i < r->ncols; i++) {
		json_builder_set_member_name(r->json, r->cols[i].name);
		if (values[i] == NULL)
			json_builder_add_null_value(r->json);
		else if (r->cols[i].numeric)
			json_builder_add_int_value(r->json,
			    strtoll(values[i], NULL, 10));
		else
			json_builder_add_string_value(r->json, values[i]);
	}
	json_builder_end_object(r->json);
}

int
cli_rows_end(struct cli_rows *r)
{
	int rc = 0;

	if (r->format == CLI_JSON) {
		json_builder_end_array(r->json);
		rc = cli_json_print(r->json);
		g_object_unref(r->json);
	} else if (ferror(stdout))
		rc = -1;
	free(r);
	return rc;
}
