/* SPDX-License-Identifier: MIT */
/*
 * Stand-alone driver for a libFuzzer harness, for compilers without
 * -fsanitize=fuzzer (gcc): runs LLVMFuzzerTestOneInput once per file named
 * on the command line, or per file in a named directory (sorted, so a run
 * is reproducible), and prints how many inputs it ran.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0, or -1 when the file cannot be read */
static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		perror(path);
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	/* an exact-size copy, so that ASan sees reads past the input */
	uint8_t *exact = malloc(len ? len : 1);
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned ran = 0, bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent **ents;
		int n;

		if (argv[i][0] == '-')
			continue;    /* libFuzzer flags: meaningless here */
		if (stat(argv[i], &st) || !S_ISDIR(st.st_mode)) {
			bad += run_file(argv[i]) != 0;
			ran++;
			continue;
		}
		n = scandir(argv[i], &ents, NULL, alphasort);
		if (n < 0) {
			perror(argv[i]);
			bad++;
			continue;
		}
		for (int j = 0; j < n; j++) {
			char path[4096];

			if (ents[j]->d_name[0] != '.') {
				snprintf(path, sizeof(path), "%s/%s", argv[i], ents[j]->d_name);
				bad += run_file(path) != 0;
				ran++;
			}
			free(ents[j]);
		}
		free(ents);
	}
	printf("replayed %u inputs, %u unreadable\n", ran, bad);
	return bad ? 1 : 0;
}
