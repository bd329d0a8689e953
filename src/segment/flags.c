/*
 * flags.c - a materialised segment as the names campaigns use.
 *
 * Locale names are lowercased slugs ("country_de", "language_en_us") so
 * that every name a campaign file or template may use is a slug, like
 * category names.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "segment.h"

static void
add(struct segment_flags *out, const char *prefix, const char *value)
{
	char *p;

	if (value[0] == '\0' || out->n == SEGMENT_FLAGS_MAX)
		return;
	p = out->name[out->n];
	snprintf(p, CONF_NAME_MAX, "%s%s", prefix, value);
	/* a slug, as campaign files spell names: en-US -> en_us */
	for (; *p != '\0'; p++)
		*p = isalnum((unsigned char)*p) ?
		    (char)tolower((unsigned char)*p) : '_';
	out->ptr[out->n] = out->name[out->n];
	out->n++;
}

void
segment_flags(const struct segment_result *res, struct segment_flags *out)
{
	size_t i;

	out->n = 0;
	add(out, "", conf_lifecycle_name(res->lifecycle));
	if (res->cart_abandoner)
		add(out, "", "cart_abandoner");
	for (i = 0; i < res->ninterests; i++)
		add(out, "", res->interests[i].category);
	add(out, "country_", res->country);
	add(out, "language_", res->language);
	add(out, "currency_", res->currency);
}
