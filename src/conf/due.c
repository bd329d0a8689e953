/*
 * due.c - when a campaign's copy is due, as written in a campaign file:
 * a time, or a fact of the recipient's and an offset (conf.h,
 * conf_due_parse), the local time it waits for (send_local), and the
 * goals that stop it (stop_if).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "parse.h"

static const char *const from_names[DUE_NFROM] = {
	[DUE_FIXED] = "",
	[DUE_CART] = "cart_at",
	[DUE_FIRST_ORDER] = "first_order_at",
	[DUE_LAST_ORDER] = "last_order_at",
};

const char *
conf_due_from_name(enum conf_due_from f)
{
	return f < DUE_NFROM ? from_names[f] : "";
}

/* "24h", "90m", "7d" into seconds; -1 when it is none of them. */
static int
due_offset(const char *s, int64_t *secs)
{
	static const struct { char unit; int64_t secs; } units[] = {
		{ 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }
	};
	int64_t n;
	size_t i;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	n = strtoll(s, &end, 10);
	/* a year of days is more than any sequence waits */
	if (n > 366 * 24 * 60 || end[0] == '\0' || end[1] != '\0')
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (*end == units[i].unit) {
			*secs = n * units[i].secs;
			return *secs <= 366 * 86400 ? 0 : -1;
		}
	return -1;
}

int
conf_due_parse(const char *s, struct conf_due *d, const char **err)
{
	struct conf_due v = { DUE_FIXED, 0 };
	char name[32];
	size_t n;
	int i;

	for (i = DUE_FIXED + 1; i < DUE_NFROM; i++) {
		n = strlen(from_names[i]);
		if (strncmp(s, from_names[i], n) != 0 ||
		    (s[n] != '\0' && s[n] != ' ' && s[n] != '+'))
			continue;
		v.from = (enum conf_due_from)i;
		s += n;
		while (*s == ' ')
			s++;
		if (*s == '\0') {
			*d = v;
			return 0;
		}
		if (*s++ != '+')
			break;
		while (*s == ' ')
			s++;
		if (due_offset(s, &v.at) == -1) {
			*err = "expected an offset such as 90m, 24h or 7d (at"
			    " most a year)";
			return -1;
		}
		*d = v;
		return 0;
	}
	if (v.from == DUE_FIXED) {
		if (parse_time(s, &v.at, err) == 0) {
			*d = v;
			return 0;
		}
		/* a fact misspelt reads better than a bad date */
		if (sscanf(s, "%31[a-z_]", name) == 1 &&
		    strchr(name, '_') != NULL) {
			*err = "expected cart_at, first_order_at or"
			    " last_order_at";
			return -1;
		}
	}
	*err = "expected a time such as \"2026-12-01T09:00:00Z\" or a fact"
	    " and an offset such as \"cart_at + 24h\"";
	return -1;
}

int
conf_local_parse(const char *s, struct conf_window *w)
{
	unsigned h, m;
	char tail;

	if (strlen(s) != 5)
		return conf_window_parse(s, w);
	/* digits only: sscanf would take a sign */
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]) ||
	    sscanf(s, "%2u:%2u%c", &h, &m, &tail) != 2 || h > 23 || m > 59)
		return -1;
	w->start = (int)(h * 60 + m);
	w->end = w->start + 1;
	return 0;
}

unsigned
conf_goal_parse(const char *name)
{
	return strcmp(name, "ordered") == 0 ? CONF_GOAL_ORDERED : 0;
}
