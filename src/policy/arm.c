/*
 * arm.c - the draws that put a recipient in an arm (policy.h): an HMAC,
 * so that they are fixed per customer and experiment, independent
 * between experiments, and out of reach of anyone without the key.
 */
#include <inttypes.h>
#include <stdio.h>

#include "digest.h"
#include "policy.h"

static const char *const arm_names[ARM_COUNT] = {
	[ARM_UNSET] = "",
	[ARM_TAILORED] = "tailored",
	[ARM_BROAD] = "broad",
	[ARM_NONE] = "none",
	[ARM_GLOBAL] = "global",
};

const char *
policy_arm_name(enum policy_arm a)
{
	return a < ARM_COUNT ? arm_names[a] : "?";
}

double
policy_arm_draw(const unsigned char *key, size_t keylen,
    const char *experiment, int64_t customer_id)
{
	unsigned char mac[32];
	char data[256];
	uint64_t v = 0;
	int n, i;

	/* the experiment's name cannot run into the id: NUL between */
	n = snprintf(data, sizeof(data), "%s%c%" PRId64,
	    experiment != NULL ? experiment : "", '\0', customer_id);
	if (n < 0 || (size_t)n >= sizeof(data) ||
	    digest_hmac_derived(key, keylen, experiment != NULL ?
	    "segmilter arm" : "segmilter global holdout", data, (size_t)n,
	    mac) == -1)
		return -1;
	for (i = 0; i < 8; i++)
		v = v << 8 | mac[i];
	return (double)(v >> 11) * 0x1.0p-53;
}
