/*
 * fuzz_anchors.c - the audit heads read back from a mail log
 * (audit_anchors_scan), whatever else the log holds: any process may
 * write to syslog.  Beyond crashes, every anchor found must be in the
 * input as written ("audit=SEQ:HASH"), with a positive sequence number
 * and 64 lowercase hex digits.
 *
 * The input is the log's bytes, not a C string.  libFuzzer entry point;
 * see fuzz_render.c.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_anchor *a = NULL;
	char text[AUDIT_ANCHOR_MAX];
	size_t n = 0, cap = 0, i;

	audit_anchors_scan((const char *)data, size, &a, &n, &cap);
	for (i = 0; i < n; i++) {
		if (a[i].seq <= 0 || strlen(a[i].hash) != AUDIT_HASH_LEN ||
		    strspn(a[i].hash, "0123456789abcdef") != AUDIT_HASH_LEN)
			abort();
		snprintf(text, sizeof(text), "audit=%" PRId64 ":%s", a[i].seq,
		    a[i].hash);
		if (memmem(data, size, text, strlen(text)) == NULL)
			abort();
	}
	free(a);
	return 0;
}
