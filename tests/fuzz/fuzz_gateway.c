/*
 * fuzz_gateway.c - what comes back from the network: an SMS gateway's
 * reply (gw_sms_classify, for each driver and an HTTP status from the
 * input, whole or cut off after its status line) and a copy marker
 * header (marker_parse, marker_verify), which anyone sending through the
 * relay can write.  Beyond crashes, the reply's id and reason go to the
 * log and the audit row: they must stay bounded and hold no control
 * characters (no forged log lines), and a cut-off reply keeps no id
 * (what arrived may end inside it).
 *
 * Input: a byte whose low 7 bits pick the driver and whose high bit says
 * the reply was cut off, two bytes of status, then the body.
 *
 * libFuzzer entry point; see fuzz_render.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "marker.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_printable(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		abort();		/* not terminated */
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum conf_sms_driver drivers[] = {
		SMS_TWILIO, SMS_KANNEL, SMS_WEBHOOK
	};
	static const unsigned char key[32] = "fuzz key, not a secret........";
	struct gw_sms_reply r;
	char digest[MARKER_DIGEST_MAX], *value;
	struct marker mk;
	const char *cut;
	long status;

	if (size < 3)
		return 0;
	status = 100 + (long)((data[1] << 8 | data[2]) % 500);
	cut = data[0] & 0x80 ? "Operation timed out" : NULL;
	gw_sms_classify(drivers[(data[0] & 0x7f) % 3], status,
	    (const char *)data + 3, size - 3, cut, &r);
	check_printable(r.ref, sizeof(r.ref));
	check_printable(r.why, sizeof(r.why));
	if (cut != NULL && r.ref[0] != '\0')
		abort();

	/* the rest as a header value: a C string, as libmilter gives it */
	if ((value = malloc(size - 2)) == NULL)
		return 0;
	memcpy(value, data + 3, size - 3);
	value[size - 3] = '\0';
	if (marker_parse(value, &mk) == 0) {
		memset(digest, '0', sizeof(digest) - 1);
		digest[sizeof(digest) - 1] = '\0';
		(void)marker_verify(key, sizeof(key), &mk, mk.rcpts, digest);
	}
	free(value);
	return 0;
}
