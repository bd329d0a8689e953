/*
 * test_csv.c - the CSV reader on the shapes real exports take: quoted
 * commas and line breaks, CRLF, a BOM, bad records that must not derail
 * the ones after them, and the one fatal case, an unterminated quote.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csv.h"

/* A reader over the bytes S (of length N) through a memory stream. */
static struct csv_reader *
open_bytes(const char *s, size_t n, FILE **fpp)
{
	*fpp = fmemopen((void *)s, n, "r");
	assert_non_null(*fpp);
	return csv_open_fp(*fpp, "t.csv");
}

static void
expect_row(struct csv_reader *r, unsigned long line, size_t n, ...)
{
	struct csv_row row;
	va_list ap;
	size_t i, size = 0;

	assert_int_equal(csv_next(r, &row), 1);
	assert_null(row.error);
	assert_int_equal(row.line, line);
	assert_int_equal(row.nfields, n);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(row.fields[i], va_arg(ap, const char *));
		/* one after another: the row can be copied whole */
		assert_ptr_equal(row.fields[i], row.fields[0] + size);
		size += strlen(row.fields[i]) + 1;
	}
	va_end(ap);
	assert_int_equal(row.size, size);
}

static void
test_plain_and_quoted(void **state)
{
	static const char in[] = "a,b,c\n"
	    "1,\"two, with comma\",\"say \"\"hi\"\"\"\n"
	    "\"multi\nline\",,\n"
	    "last,row,here";
	struct csv_reader *r;
	struct csv_row row;
	FILE *fp;

	(void)state;
	r = open_bytes(in, sizeof(in) - 1, &fp);
	expect_row(r, 1, 3, "a", "b", "c");
	expect_row(r, 2, 3, "1", "two, with comma", "say \"hi\"");
	expect_row(r, 3, 3, "multi\nline", "", "");
	/* the line count went past the quoted line break */
	expect_row(r, 5, 3, "last", "row", "here");
	assert_int_equal(csv_next(r, &row), 0);
	assert_int_equal(csv_offset(r), sizeof(in) - 1);
	csv_close(r);
	fclose(fp);
}

static void
test_crlf_bom_blank(void **state)
{
	static const char in[] = "\xef\xbb\xbf" "Email,Name\r\n"
	    "x@example.com,X\r\n"
	    "\r\n"
	    "y@example.com,\"Y\r\nZ\"\r\n";
	struct csv_reader *r;
	struct csv_row row;
	FILE *fp;

	(void)state;
	r = open_bytes(in, sizeof(in) - 1, &fp);
	expect_row(r, 1, 2, "Email", "Name");	/* no BOM in the name */
	expect_row(r, 2, 2, "x@example.com", "X");
	expect_row(r, 3, 1, "");		/* a blank line */
	expect_row(r, 4, 2, "y@example.com", "Y\r\nZ");
	assert_int_equal(csv_next(r, &row), 0);
	csv_close(r);
	fclose(fp);
}

static void
test_bad_records_do_not_derail(void **state)
{
	static const char in[] = "a,b\n"
	    "x\"y,1\n"			/* stray quote */
	    "\"q\"z,2\n"		/* text after the closing quote */
	    "\xc3\x28,3\n"		/* invalid UTF-8 */
	    "\xe0\x80\xaf,4\n"		/* overlong */
	    "\xed\xa0\x80,5\n"		/* a surrogate */
	    "ab\0cd,6\n"			/* a NUL would cut the field */
	    "\"ab\0cd\",7\n"		/* ... quoted too */
	    "Zo\xc3\xab,8\n";		/* fine */
	struct csv_reader *r;
	struct csv_row row;
	FILE *fp;
	int i;

	(void)state;
	r = open_bytes(in, sizeof(in) - 1, &fp);
	expect_row(r, 1, 2, "a", "b");
	for (i = 2; i <= 8; i++) {
		assert_int_equal(csv_next(r, &row), 1);
		assert_int_equal(row.line, i);
		assert_non_null(row.error);
		assert_int_equal(row.nfields, 2);
	}
	assert_string_equal(row.error, "NUL byte");
	expect_row(r, 9, 2, "Zo\xc3\xab", "8");
	assert_int_equal(csv_next(r, &row), 0);
	csv_close(r);
	fclose(fp);
}

static void
test_unterminated_quote_is_fatal(void **state)
{
	static const char in[] = "a,b\n1,2\n3,\"never closed\n4,5\n";
	struct csv_reader *r;
	struct csv_row row;
	FILE *fp;

	(void)state;
	r = open_bytes(in, sizeof(in) - 1, &fp);
	expect_row(r, 1, 2, "a", "b");
	expect_row(r, 2, 2, "1", "2");
	assert_int_equal(csv_next(r, &row), -1);
	assert_string_equal(csv_strerror(r),
	    "t.csv:3: unterminated quoted field");
	csv_close(r);
	fclose(fp);
}

static void
test_limits(void **state)
{
	size_t big = CSV_MAX_RECORD + 100, i, n;
	struct csv_reader *r;
	struct csv_row row;
	char *in;
	FILE *fp;

	(void)state;
	/* a record over the cap, then one with too many fields */
	in = malloc(big + 2 * CSV_MAX_FIELDS + 64);
	assert_non_null(in);
	memset(in, 'x', big);
	n = big;
	in[n++] = '\n';
	for (i = 0; i < CSV_MAX_FIELDS + 10; i++)
		in[n++] = ',';
	in[n++] = '\n';
	n += (size_t)sprintf(in + n, "ok,row\n");
	r = open_bytes(in, n, &fp);
	assert_int_equal(csv_next(r, &row), 1);
	assert_string_equal(row.error, "record longer than 1 MiB");
	assert_int_equal(csv_next(r, &row), 1);
	assert_string_equal(row.error, "more than 512 fields");
	assert_int_equal(row.line, 2);
	expect_row(r, 3, 2, "ok", "row");
	assert_int_equal(csv_next(r, &row), 0);
	csv_close(r);
	fclose(fp);
	free(in);
}

/* The last record needs no line end, even a one-field one. */
static void
test_no_final_newline(void **state)
{
	static const char in[] = "a\n1\nlast";
	struct csv_reader *r;
	struct csv_row row;
	FILE *fp;

	(void)state;
	r = open_bytes(in, sizeof(in) - 1, &fp);
	expect_row(r, 1, 1, "a");
	expect_row(r, 2, 1, "1");
	expect_row(r, 3, 1, "last");
	assert_int_equal(csv_next(r, &row), 0);
	csv_close(r);
	fclose(fp);
}

static void
test_open_errors(void **state)
{
	char err[256];

	(void)state;
	assert_null(csv_open("/nonexistent/segm.csv", err, sizeof(err)));
	assert_string_equal(err,
	    "/nonexistent/segm.csv: No such file or directory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_quoted),
		cmocka_unit_test(test_crlf_bom_blank),
		cmocka_unit_test(test_bad_records_do_not_derail),
		cmocka_unit_test(test_unterminated_quote_is_fatal),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
