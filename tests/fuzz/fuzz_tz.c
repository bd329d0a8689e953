/*
 * fuzz_tz.c - the time-zone reader on whatever a zoneinfo directory may
 * hold: the input parsed as a TZif file (tz_parse), then, through a
 * tzdb over a directory of our own, read as a zone file from disk and
 * as zone.tab.  A file is outside input here: a package, an image or an
 * operator fills /usr/share/zoneinfo (sms.zoneinfo), and every SMS's
 * quiet hours read it.
 *
 * Beyond crashes, leaks, reads past the input and hangs, what a loaded
 * zone answers must be sane: every offset within the 26 hours RFC 8536
 * and POSIX allow, the same offset twice for one instant, and the
 * instant tz_from_local gives never further from the wall time than
 * one such offset.  From disk the input must load exactly when
 * tz_parse takes it, and a country of zone.tab must come back only
 * with the zones that load.
 *
 * The directory is made once per process and removed at exit; each
 * input overwrites its two files.  libFuzzer entry point; see
 * fuzz_render.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tz.h"

#define OFF_MAX	(26 * 3600 - 1)	/* tz.c's TZ_MAX_OFF, 25:59:59 */
#define YEAR	((int64_t)31556952)

int	 LLVMFuzzerInitialize(int *argc, char ***argv);
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char zone_path[96], tab_path[96];

static void
cleanup(void)
{
	unlink(zone_path);
	unlink(tab_path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/segm-fuzz-tz-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(zone_path, sizeof(zone_path), "%s/Fuzz", dir);
	snprintf(tab_path, sizeof(tab_path), "%s/zone.tab", dir);
	atexit(cleanup);
	return 0;
}

static void
check_instant(const struct tz *z, int64_t t)
{
	int32_t off = tz_offset(z, t);
	int64_t local, back;

	if (off < -OFF_MAX || off > OFF_MAX || tz_offset(z, t) != off)
		abort();
	/* as a wall time too: tz_from_local clamps, then walks */
	local = t;
	back = tz_from_local(z, local);
	if (local > ((int64_t)1 << 58))
		local = (int64_t)1 << 58;
	if (local < -((int64_t)1 << 58))
		local = -((int64_t)1 << 58);
	if (back - local > OFF_MAX || local - back > OFF_MAX)
		abort();
}

/* Instants around the ones the milter asks about, and the extremes. */
static void
check_zone(const struct tz *z)
{
	static const int64_t edges[] = {
		INT64_MIN, INT64_MIN + 1, -((int64_t)1 << 59) - 1,
		-((int64_t)1 << 58), -(int64_t)1e12, -2147483649LL,
		-2147483648LL, -1, 0, 1, 2147483647LL, 2147483648LL,
		(int64_t)1e12, (int64_t)1 << 58, ((int64_t)1 << 59) + 1,
		INT64_MAX - 1, INT64_MAX
	};
	int64_t t;
	size_t i;

	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		check_instant(z, edges[i]);
	/* 1950 to 2070, 47 days and an hour or so apart: each month's
	 * changes met at several times of day over the years */
	for (t = -20 * YEAR; t < 100 * YEAR; t += YEAR / 8 + 3593)
		check_instant(z, t);
}

static int
write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *fp;
	size_t n;

	if ((fp = fopen(path, "wb")) == NULL)
		return -1;
	n = fwrite(data, 1, size, fp);
	if (fclose(fp) != 0 || n != size)
		return -1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct tz *const *zones;
	const struct tz *cz;
	struct tzdb *db;
	struct tz *z;
	const char *why;
	char err[512], cc[3];
	size_t i, n;
	int parsed;

	if ((parsed = tz_parse(data, size, &z, &why)) == 0) {
		check_zone(z);
		tz_free(z);
	} else if (why == NULL || *why == '\0') {
		abort();
	}

	/*
	 * The same bytes from disk, as zone "Fuzz" and as zone.tab: a
	 * zone.tab line naming Fuzz loads the input itself, any other
	 * name fails to load, as a missing file does.
	 */
	if (write_file(zone_path, data, size) == -1 ||
	    write_file(tab_path, data, size) == -1)
		abort();
	if ((db = tzdb_new(dir)) == NULL)
		abort();
	/* read from disk it is the same zone, or refused the same way */
	cz = tzdb_zone(db, "Fuzz", err, sizeof(err));
	if (size <= TZ_FILE_MAX && (cz != NULL) != (parsed == 0))
		abort();
	/* the country of the first line, if it names one, and another */
	cc[0] = size > 0 ? (char)data[0] : 'D';
	cc[1] = size > 1 ? (char)data[1] : 'E';
	cc[2] = '\0';
	if (tzdb_country(db, cc, &zones, &n, err, sizeof(err)) == 0)
		for (i = 0; i < n; i++)
			if (zones[i] != cz)	/* only Fuzz can load */
				abort();
	(void)tzdb_country(db, "de", &zones, &n, err, sizeof(err));
	tzdb_free(db);
	return 0;
}
