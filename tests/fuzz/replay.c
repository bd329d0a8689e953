/*
 * replay.c - runs a fuzz target over files, without libFuzzer: every
 * file named, and every file in each directory named.  `make check`
 * replays the corpus in tests/fuzz/corpus/ this way (under ASan and
 * UBSan in its second pass); `make fuzz` links the same targets with
 * libFuzzer instead to look for new inputs.
 *
 *   replay FILE|DIR ...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int	 LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One input, read whole; 0, or -1 when it cannot be read. */
static int
replay_file(const char *path)
{
	unsigned char *data;
	struct stat sb;
	size_t n;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL || fstat(fileno(fp), &sb) == -1) {
		perror(path);
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	/* exactly the input's size, as libFuzzer gives it: a read one byte
	 * past the end is then out of bounds for ASan too */
	data = malloc((size_t)sb.st_size);
	n = data != NULL ? fread(data, 1, (size_t)sb.st_size, fp) : 0;
	fclose(fp);
	if ((data == NULL && sb.st_size > 0) || n != (size_t)sb.st_size) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(data);
		return -1;
	}
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 0;
}

int
main(int argc, char **argv)
{
	char path[4096];
	struct dirent *de;
	struct stat sb;
	int i, files = 0, bad = 0;
	DIR *d;

	if (argc < 2) {
		fprintf(stderr, "usage: replay FILE|DIR ...\n");
		return 64;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &sb) == -1 || !S_ISDIR(sb.st_mode)) {
			bad += replay_file(argv[i]) == -1;
			files++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL) {
			perror(argv[i]);
			bad++;
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i],
			    de->d_name);
			bad += replay_file(path) == -1;
			files++;
		}
		closedir(d);
	}
	printf("%s: %d inputs replayed, %d unreadable\n", argv[0], files, bad);
	return bad == 0 && files > 0 ? 0 : 1;
}
