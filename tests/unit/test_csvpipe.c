/*
 * test_csvpipe.c - the read-ahead reader gives exactly what csv_next()
 * gives, across batch boundaries, with bad records and a fatal error in
 * place, and can be stopped at any point.
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
#include "csvpipe.h"

/* N records, every 97th with a stray quote, ending as TAIL says. */
static char *
make_input(int n, const char *tail, size_t *len)
{
	char *s = NULL;
	FILE *fp = open_memstream(&s, len);
	int i;

	assert_non_null(fp);
	fputs("a,b,c\n", fp);
	for (i = 1; i <= n; i++) {
		if (i % 97 == 0)
			fprintf(fp, "x\"%d,2,3\n", i);
		else if (i % 31 == 0)
			fprintf(fp, "\"multi\nline %d\",2,3\n", i);
		else
			fprintf(fp, "r%d,\"q,%d\",%d\n", i, i, i * 7);
	}
	fputs(tail, fp);
	fclose(fp);
	return s;
}

/* Reads IN both ways and compares row by row. */
static void
compare(const char *in, size_t len, int want_rc)
{
	struct csv_reader *a, *b;
	struct csv_pipe *p;
	struct csv_row ra, rb;
	FILE *fa, *fb;
	int rca, rcb;
	size_t i, rows = 0;

	fa = fmemopen((void *)in, len, "r");
	fb = fmemopen((void *)in, len, "r");
	a = csv_open_fp(fa, "t.csv");
	b = csv_open_fp(fb, "t.csv");
	/* the pipe takes over after the header, as imports do */
	assert_int_equal(csv_next(b, &rb), 1);
	assert_non_null(p = csv_pipe_start(b));
	assert_int_equal(csv_next(a, &ra), 1);
	for (;;) {
		rca = csv_next(a, &ra);
		rcb = csv_pipe_next(p, &rb);
		assert_int_equal(rca, rcb);
		if (rca != 1)
			break;
		rows++;
		assert_int_equal(ra.line, rb.line);
		assert_int_equal(ra.nfields, rb.nfields);
		assert_int_equal(ra.size, rb.size);
		if (ra.error == NULL)
			assert_null(rb.error);
		else
			assert_string_equal(ra.error, rb.error);
		for (i = 0; i < ra.nfields; i++)
			assert_string_equal(ra.fields[i], rb.fields[i]);
	}
	assert_int_equal(rca, want_rc);
	if (want_rc == -1)
		assert_string_equal(csv_strerror(a), csv_pipe_strerror(p));
	assert_true(rows > 0);
	assert_int_equal(csv_pipe_offset(p), csv_offset(a));
	csv_pipe_stop(p);
	csv_close(a);
	csv_close(b);
	fclose(fa);
	fclose(fb);
}

static void
test_same_rows_as_csv_next(void **state)
{
	size_t len;
	char *in;

	(void)state;
	in = make_input(5000, "", &len);	/* several batches */
	compare(in, len, 0);
	free(in);
	in = make_input(3, "", &len);		/* less than one */
	compare(in, len, 0);
	free(in);
}

static void
test_fatal_error_in_place(void **state)
{
	size_t len;
	char *in;

	(void)state;
	in = make_input(2000, "last,\"never closed\n", &len);
	compare(in, len, -1);
	free(in);
}

static void
test_stop_early(void **state)
{
	struct csv_reader *r;
	struct csv_pipe *p;
	struct csv_row row;
	size_t len;
	char *in;
	FILE *fp;

	(void)state;
	in = make_input(20000, "", &len);
	fp = fmemopen(in, len, "r");
	r = csv_open_fp(fp, "t.csv");
	assert_non_null(p = csv_pipe_start(r));
	assert_int_equal(csv_pipe_next(p, &row), 1);
	assert_string_equal(row.fields[0], "a");
	csv_pipe_stop(p);	/* the reader is mid-file: it must not hang */
	csv_close(r);
	fclose(fp);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_rows_as_csv_next),
		cmocka_unit_test(test_fatal_error_in_place),
		cmocka_unit_test(test_stop_early),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
