/*
 * parse - pure parsers for the values that arrive in store exports.
 *
 * Each returns 0 on success and -1 on failure; on failure the output is
 * untouched and, where an ERR pointer is taken, *err points at a static
 * reason ("missing @", "bad month") fit for a FILE:LINE: message.
 * None of them allocate or touch global state.
 */
#ifndef SEGM_PARSE_H
#define SEGM_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define PARSE_EMAIL_MAX	254	/* RFC 5321 path limit, less the <> */
#define PARSE_PHONE_MAX	16	/* "+" and at most 15 digits (E.164) */

/*
 * Normalises an email address: surrounding blanks removed, lowercased.
 * Sub-addresses (+tag) and dots are kept, since they may be different
 * mailboxes.  Refuses blanks or controls inside, a missing or repeated @,
 * an empty local part, a domain without a dot, or more than 254 bytes.
 */
int	parse_email(const char *in, char *out, size_t outlen, const char **err);

/*
 * Normalises a phone number to E.164 ("+4915112345678").  Accepts an
 * international form ("+1 (613) 555-0123", "00 49 151 ...", Shopify's
 * quoted "'+1613...") or a national one interpreted in COUNTRY (ISO 3166
 * alpha-2, may be NULL), dropping the national trunk 0 where the country
 * uses one.  An empty input is an error: callers treat blank as absent.
 */
int	parse_phone(const char *in, const char *country, char *out,
	    size_t outlen, const char **err);

/*
 * Parses a timestamp to seconds since the epoch, UTC:
 *   2024-03-05T14:22:10Z, 2024-03-05T14:22:10+01:00, 2024-03-05 14:22:10,
 *   2024-03-05 14:22:10 -0500 (Shopify), 2024-03-05 (midnight UTC).
 * A time without an offset is taken as UTC.
 */
int	parse_time(const char *in, int64_t *out, const char **err);

/* Formats T as 2024-03-05T14:22:10Z into OUT (at least 21 bytes). */
void	format_time(int64_t t, char *out, size_t outlen);

/*
 * Parses a decimal amount ("12", "12.5", "-3.99", "1234.567" rounds half
 * away from zero) into minor units (cents).  Thousands separators and
 * currency symbols are refused rather than guessed at.
 */
int	parse_money(const char *in, int64_t *cents, const char **err);

/* yes/no, true/false, y/n, 1/0, in any case. */
int	parse_bool(const char *in, int *out, const char **err);

/* A base-10 integer within [MIN, MAX]. */
int	parse_int(const char *in, int64_t min, int64_t max, int64_t *out,
	    const char **err);

/*
 * Turns a category or segment label into a template-safe name:
 * "Coffee Beans" -> "coffee_beans", "Food > Tea & Infusions" -> the last
 * component, "tea_infusions".  Lowercase ASCII letters, digits and single
 * underscores only; -1 if nothing is left.
 */
int	parse_slug(const char *in, char *out, size_t outlen);

/* 1 if the NUL-terminated S is valid UTF-8 (no overlongs, no surrogates). */
int	parse_utf8_valid(const char *s, size_t len);

#endif
