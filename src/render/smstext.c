/*
 * smstext.c - counting an SMS text in GSM-7 septets or UCS-2 units.
 *
 * Pure.  The alphabet is GSM 03.38's default table and its extension
 * table, as Unicode code points.
 */
#include <stdint.h>
#include <string.h>

#include "render.h"
#include "utf8.h"

/* The default alphabet, in table order (0x00..0x7f), less ESC (0x1b). */
static const uint32_t gsm_basic[] = {
	'@', 0xa3, '$', 0xa5, 0xe8, 0xe9, 0xf9, 0xec, 0xf2, 0xc7, '\n', 0xd8,
	0xf8, '\r', 0xc5, 0xe5, 0x394, '_', 0x3a6, 0x393, 0x39b, 0x3a9, 0x3a0,
	0x3a8, 0x3a3, 0x398, 0x39e, 0xc6, 0xe6, 0xdf, 0xc9, ' ', '!', '"',
	'#', 0xa4, '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/',
	'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=',
	'>', '?', 0xa1, 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K',
	'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y',
	'Z', 0xc4, 0xd6, 0xd1, 0xdc, 0xa7, 0xbf, 'a', 'b', 'c', 'd', 'e', 'f',
	'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't',
	'u', 'v', 'w', 'x', 'y', 'z', 0xe4, 0xf6, 0xf1, 0xfc, 0xe0,
};

/* Sent as ESC and a second septet. */
static const uint32_t gsm_extension[] = {
	'\f', '^', '{', '}', '\\', '[', '~', ']', '|', 0x20ac,
};

static int
in_table(const uint32_t *t, size_t n, uint32_t cp)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i] == cp)
			return 1;
	return 0;
}

/* Septets for CP in GSM-7: 1, 2, or 0 when it has none. */
static int
gsm_septets(uint32_t cp)
{
	/* ASCII, most of any text, without walking the tables */
	if (cp < 0x80) {
		switch (cp) {
		case '^': case '{': case '}': case '\\': case '[': case ']':
		case '~': case '|': case '\f':
			return 2;
		case '\n': case '\r':
			return 1;
		case '`': case 0x7f:
			return 0;
		default:
			return cp >= 0x20;
		}
	}
	if (in_table(gsm_basic, sizeof(gsm_basic) / sizeof(gsm_basic[0]), cp))
		return 1;
	if (in_table(gsm_extension, sizeof(gsm_extension) /
	    sizeof(gsm_extension[0]), cp))
		return 2;
	return 0;
}

/*
 * Parts for a text whose characters take the unit counts in W, packed
 * greedily so that no character is split: SINGLE units fit one part,
 * MULTI each part of several.
 */
static size_t
count_parts(const unsigned char *w, size_t n, size_t total, size_t single,
    size_t multi)
{
	size_t i, parts = 1, used = 0;

	if (total <= single)
		return 1;
	for (i = 0; i < n; i++) {
		if (used + w[i] > multi) {
			parts++;
			used = 0;
		}
		used += w[i];
	}
	return parts;
}

int
render_sms_size(const char *text, size_t len, struct render_sms_size *out)
{
	unsigned char gsm[1600], ucs[1600];
	size_t i = 0, n, chars = 0, septets = 0, units = 0;
	int all_gsm = 1, sep;
	uint32_t cp;

	memset(out, 0, sizeof(*out));
	while (i < len) {
		if ((n = utf8_decode(text + i, len - i, &cp)) == 0)
			return -1;
		i += n;
		sep = gsm_septets(cp);
		if (sep == 0)
			all_gsm = 0;
		if (chars < sizeof(gsm)) {
			gsm[chars] = (unsigned char)sep;
			ucs[chars] = cp > 0xffff ? 2 : 1;
		}
		septets += (size_t)sep;
		units += cp > 0xffff ? 2 : 1;
		chars++;
	}
	out->chars = chars;
	n = chars < sizeof(gsm) ? chars : sizeof(gsm);
	if (all_gsm) {
		out->coding = RENDER_SMS_GSM7;
		out->units = septets;
		out->parts = count_parts(gsm, n, septets, 160, 153);
	} else {
		out->coding = RENDER_SMS_UCS2;
		out->units = units;
		out->parts = count_parts(ucs, n, units, 70, 67);
	}
	/* far over any limit (10 parts): an estimate will do */
	if (chars > sizeof(gsm))
		out->parts = (out->units + (all_gsm ? 152 : 66)) /
		    (all_gsm ? 153 : 67);
	return 0;
}

const char *
render_sms_coding_name(enum render_sms_coding c)
{
	return c == RENDER_SMS_GSM7 ? "GSM-7" : "UCS-2";
}
