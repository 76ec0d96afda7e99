/*
 * Replay driver: runs a fuzz target over the files (or the files in the directories) given on the
 * command line, for builds without libFuzzer. Same entry points as libFuzzer, so the targets need no
 * change.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	int rc = -1;

	if (f == NULL)
		goto out;
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0)
		goto out;
	rewind(f);
	buf = malloc(len ? (size_t)len : 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len)
		goto out;
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "cannot read %s\n", path);
	if (f != NULL)
		fclose(f);
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	int runs = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *de;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) &&
		    (d = opendir(argv[i])) != NULL) {
			while ((de = readdir(d)) != NULL) {
				char path[4096];

				if (de->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
				if (replay_file(path) < 0)
					return 1;
				runs++;
			}
			closedir(d);
		} else {
			if (replay_file(argv[i]) < 0)
				return 1;
			runs++;
		}
	}
	printf("replayed %d inputs\n", runs);
	return runs > 0 ? 0 : 1;
}
