/*
 * arm.c - the draws that put a recipient in an arm (policy.h): an HMAC,
 * so that they are fixed per customer and experiment, independent
 * between experiments, and out of reach of anyone without the key.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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

enum policy_arm
policy_arm_parse(const char *name)
{
	int a;

	for (a = ARM_TAILORED; name != NULL && a < ARM_COUNT; a++)
		if (strcmp(name, arm_names[a]) == 0)
			return a;
	return ARM_UNSET;
}

struct digest_hmac *
policy_arm_key(const unsigned char *key, size_t keylen)
{
	return digest_hmac_new(key, keylen, "segmilter arms");
}

double
policy_arm_draw(const struct digest_hmac *draws, const char *experiment,
    int64_t customer_id)
{
	unsigned char mac[32];
	char data[256];
	uint64_t v = 0;
	int n, i;

	/*
	 * "arm", the experiment and the id, NUL between: an experiment's
	 * name cannot run into the id, nor a draw of one kind pass for the
	 * other's
	 */
	n = experiment != NULL ? snprintf(data, sizeof(data), "arm%c%s%c%"
	    PRId64, '\0', experiment, '\0', customer_id) :
	    snprintf(data, sizeof(data), "global%c%" PRId64, '\0',
	    customer_id);
	if (n < 0 || (size_t)n >= sizeof(data))
		n = (int)sizeof(data) - 1;	/* ids are short: unreached */
	digest_hmac_run(draws, data, (size_t)n, mac);
	for (i = 0; i < 8; i++)
		v = v << 8 | mac[i];
	return (double)(v >> 11) * 0x1.0p-53;
}
