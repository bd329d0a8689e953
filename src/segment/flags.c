/*
 * flags.c - a materialised segment as the names campaigns use.
 *
 * Locale names are lowercased slugs ("country_de", "language_en_us") so
 * that every name a campaign file or template may use is a slug, like
 * category names.
 */
#include <ctype.h>
#include <string.h>

#include "segment.h"

/* The slug of C, as campaign files spell names: en-US -> en_us. */
static char
slug(unsigned char c)
{
	return isalnum(c) ? (char)tolower(c) : '_';
}

/*
 * PREFIX and VALUE as one slug, cut at CONF_NAME_MAX - 1 bytes; no
 * printf, since this runs for every recipient of every message.
 */
static void
add(struct segment_flags *out, const char *prefix, const char *value)
{
	char *p, *end;
	const char *s;

	if (value[0] == '\0' || out->n == SEGMENT_FLAGS_MAX)
		return;
	p = out->name[out->n];
	end = p + CONF_NAME_MAX - 1;
	for (s = prefix; *s != '\0' && p < end; s++)
		*p++ = slug((unsigned char)*s);
	for (s = value; *s != '\0' && p < end; s++)
		*p++ = slug((unsigned char)*s);
	*p = '\0';
	out->ptr[out->n] = out->name[out->n];
	out->n++;
}

void
segment_flags(const struct segment_result *res, struct segment_flags *out)
{
	size_t i, states = 0;
	unsigned s;

	out->n = 0;
	add(out, "", conf_lifecycle_name(res->lifecycle));
	if (res->cart_abandoner)
		add(out, "", "cart_abandoner");
	for (i = 0; i < res->ninterests; i++)
		if (res->interests[i].sources & SEG_INTEREST_SEEN)
			add(out, "", res->interests[i].category);
	for (i = 0; i < res->ninterests && states < SEGMENT_CATEGORY_FLAGS;
	    i++) {
		s = res->interests[i].sources;
		if (s & (SEG_INTEREST_DUE | SEG_INTEREST_LAPSED)) {
			add(out, s & SEG_INTEREST_DUE ? "due_" : "lapsed_",
			    res->interests[i].category);
			states++;
		}
	}
	add(out, "country_", res->country);
	add(out, "language_", res->language);
	add(out, "currency_", res->currency);
}

int
segment_flags_has(const struct segment_flags *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->ptr[i], name) == 0)
			return 1;
	return 0;
}
