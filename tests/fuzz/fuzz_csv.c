/*
 * fuzz_csv.c - the CSV reader on whatever a store export may contain:
 * every record read to the end, its fields walked.  A bad record is an
 * answer (row->error); crashes, leaks, reads past a field, or a row whose
 * fields do not lie within row->size are the bugs looked for.
 *
 * libFuzzer entry point; see fuzz_render.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_reader *r;
	struct csv_row row;
	size_t i, used;
	FILE *fp;

	if (size == 0 || (fp = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	if ((r = csv_open_fp(fp, "fuzz")) != NULL) {
		while (csv_next(r, &row) == 1) {
			if (row.error != NULL)
				continue;
			for (used = 0, i = 0; i < row.nfields; i++)
				used += strlen(row.fields[i]) + 1;
			if (row.nfields > 0 && used != row.size)
				abort();
		}
		csv_close(r);
	}
	fclose(fp);
	return 0;
}
