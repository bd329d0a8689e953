/*
 * tz - time zones from the system tz database, without the C library's
 * global time-zone state.
 *
 * SMS quiet hours are kept in the recipient's local time, from many
 * threads at once, each with its own zone; TZ, tzset(), localtime() and
 * mktime() are process-wide, so this module reads the TZif files itself
 * (RFC 8536, /usr/share/zoneinfo on Debian) and never touches them.
 *
 * A struct tz is immutable once loaded and may be shared between threads
 * freely.  Instants are seconds since the epoch, UTC, ignoring leap
 * seconds; files under right/ load, but their leap-second table is
 * ignored, so they are off by those seconds (use the plain zones).
 * Instants beyond about +-9 billion years are clamped.
 */
#ifndef SEGM_TZ_H
#define SEGM_TZ_H

#include <stddef.h>
#include <stdint.h>

#define TZ_DIR		"/usr/share/zoneinfo"
#define TZ_FILE_MAX	(1024 * 1024)	/* larger TZif or zone.tab: refused */

struct tz;	/* one zone, immutable once loaded */

/*
 * Parses a TZif file (version 1, 2, 3 or 4; for v2+ the 64-bit section)
 * held in DATA, LEN bytes.  Instants after the last transition follow the
 * POSIX TZ string in the footer ("EST5EDT,M3.2.0,M11.1.0",
 * "<+0545>-5:45", "IST-2IDT,M3.4.4/26,M10.5.0", the Jn and n day forms,
 * rule times from -167 to 167 hours), so slim TZif files work.  0 and
 * *OUT (caller frees with tz_free()), or -1 and *WHY (a static string).
 * Pure.
 */
int	 tz_parse(const void *data, size_t len, struct tz **out,
	    const char **why);

/*
 * Reads DIR/NAME, e.g. "/usr/share/zoneinfo" + "America/New_York".  NAME
 * is refused unless it is made of [A-Za-z0-9_+-] components separated by
 * '/', none of them "." or "..", not starting with '/'.  0 and *OUT, or
 * -1 with a message in ERR naming the file.
 */
int	 tz_load(const char *dir, const char *name, struct tz **out,
	    char *err, size_t errlen);

void	 tz_free(struct tz *z);

/* Offset from UTC in seconds (east positive) in force at instant T. */
int32_t	 tz_offset(const struct tz *z, int64_t t);

/*
 * The instant at which the wall clock in Z reads LOCAL (the wall-clock
 * time expressed as seconds since 1970-01-01T00:00 as if it were UTC).  A
 * wall time skipped by a forward change (a gap) gives the instant of the
 * change plus how far LOCAL is into the gap (02:30 on a spring-forward
 * day in New York -> 03:30 EDT); a wall time that happens twice (an
 * overlap) gives the earlier instant.
 */
int64_t	 tz_from_local(const struct tz *z, int64_t local);

/*
 * A process-wide cache of zones plus zone.tab, shared by threads (a mutex
 * inside, held while a file is read for the first time; zones are never
 * freed before tzdb_free(), so returned pointers stay valid).
 */
struct tzdb;

/*
 * DIR: the zoneinfo directory (TZ_DIR).  Reads nothing yet.  Caller frees
 * with tzdb_free().  NULL only if the mutex cannot be made.
 */
struct tzdb	*tzdb_new(const char *dir);
void		 tzdb_free(struct tzdb *db);

/*
 * The zone NAME, loaded on first use and kept; NULL with ERR when it
 * cannot be loaded (also remembered, so a bad name is not re-read each
 * time; past TZDB_MAX_BAD remembered failures, new ones are only
 * reported, so junk names from customer data cannot grow the cache
 * without bound).
 */
#define TZDB_MAX_BAD	1024
const struct tz	*tzdb_zone(struct tzdb *db, const char *name, char *err,
		    size_t errlen);

/*
 * The zones zone.tab lists for COUNTRY (ISO 3166 alpha-2, any case), in
 * zone.tab's order, loaded; 0 and *ZONES / *N (the array lives as long as
 * DB; *N is 0 and *ZONES NULL for a country zone.tab does not know,
 * including anything that is not two letters), or -1 with ERR if zone.tab
 * or one of the zones cannot be read.
 */
int	 tzdb_country(struct tzdb *db, const char *country,
	    const struct tz *const **zones, size_t *n, char *err,
	    size_t errlen);

#endif
