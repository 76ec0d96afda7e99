/*
 * progcheck: read a program's ELF headers (or its #! line) to tell whether LD_PRELOAD can reach
 * its sockets (progcheck.h). <elf.h> only: the tables are small and every read is checked
 * against the file's size first.
 */
#include "progcheck.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TABLE_MAX (16u << 20) /* the most bytes of one header table or note segment read */
#define GO_NOTE_BUILDID 4 /* Go's linker: note "Go", type 4, the build id (cmd/link elf.go) */
#define HOST_MACHINE EM_X86_64 /* dpsock is built for x86-64 only (README: Requirements) */

static void msgf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void msgf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (buf == NULL || len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Is [off, off + n) inside a file of size bytes? (No overflow whatever the values.) */
static bool inside(uint64_t off, uint64_t n, uint64_t size)
{
	return off <= size && n <= size - off;
}

/* Read n bytes at off; the caller checked inside(). */
static int read_at(int fd, uint64_t off, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;
		got += (size_t)r;
	}
	return 0;
}

/* A table of count entries of entsize bytes at off, read into a new buffer (*out, free it). */
static int read_table(int fd, uint64_t size, uint64_t off, uint64_t count, uint64_t entsize,
		      const char *what, void **out, char *err, size_t errlen)
{
	uint64_t n = count * entsize; /* callers: count 1, or 16-bit count and entry size */
	void *buf;
	int rc;

	*out = NULL;
	if (!inside(off, n, size)) {
		msgf(err, errlen,
		     "malformed ELF file: the %s (%llu bytes at offset %llu) end past the end "
		     "of the file (%llu bytes)",
		     what, (unsigned long long)n, (unsigned long long)off,
		     (unsigned long long)size);
		return -EINVAL;
	}
	if (n > TABLE_MAX) {
		msgf(err, errlen, "malformed ELF file: the %s take %llu bytes (at most %u read)",
		     what, (unsigned long long)n, TABLE_MAX);
		return -EINVAL;
	}
	buf = malloc(n > 0 ? n : 1);
	if (buf == NULL)
		return -ENOMEM;
	rc = read_at(fd, off, buf, n);
	if (rc < 0) {
		free(buf);
		msgf(err, errlen, "cannot read the %s", what);
		return rc;
	}
	*out = buf;
	return 0;
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

/* Does the note segment buf[n] hold Go's build id? Entries past a malformed one are ignored. */
static bool notes_have_go(const unsigned char *buf, size_t n, size_t align)
{
	size_t pos = 0;

	while (n - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr h;
		size_t name, desc;

		memcpy(&h, buf + pos, sizeof(h));
		pos += sizeof(h);
		name = align_up(h.n_namesz, align);
		desc = align_up(h.n_descsz, align);
		if (name > n - pos || desc > n - pos - name)
			return false;
		if (h.n_namesz == 3 && memcmp(buf + pos, "Go", 3) == 0 &&
		    h.n_type == GO_NOTE_BUILDID)
			return true;
		pos += name + desc;
	}
	return false;
}

static int scan_phdrs(int fd, uint64_t size, const Elf64_Ehdr *eh, struct dps_elf_info *info,
		      char *err, size_t errlen)
{
	Elf64_Phdr *ph;
	int rc;

	if (eh->e_phnum == 0) {
		msgf(err, errlen, "malformed ELF file: no program headers (not an executable)");
		return -EINVAL;
	}
	if (eh->e_phnum == PN_XNUM || eh->e_phentsize != sizeof(Elf64_Phdr)) {
		msgf(err, errlen,
		     "malformed ELF file: program header entries of %u bytes, %u of them",
		     eh->e_phentsize, eh->e_phnum);
		return -EINVAL;
	}
	rc = read_table(fd, size, eh->e_phoff, eh->e_phnum, sizeof(*ph), "program headers",
			(void **)&ph, err, errlen);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < eh->e_phnum && rc == 0; i++) {
		unsigned char *notes;

		if (ph[i].p_type == PT_INTERP)
			info->has_interp = true;
		if (ph[i].p_type == PT_DYNAMIC)
			info->has_dynamic = true;
		if (ph[i].p_type != PT_NOTE || info->is_go || ph[i].p_filesz == 0)
			continue;
		rc = read_table(fd, size, ph[i].p_offset, 1, ph[i].p_filesz, "note segment",
				(void **)&notes, err, errlen);
		if (rc < 0)
			break;
		info->is_go = notes_have_go(notes, ph[i].p_filesz, ph[i].p_align == 8 ? 8 : 4);
		free(notes);
	}
	free(ph);
	return rc;
}

/* Section names: Go's build id note and its build information (both survive `strip`). */
static int scan_sections(int fd, uint64_t size, const Elf64_Ehdr *eh, struct dps_elf_info *info,
			 char *err, size_t errlen)
{
	static const char *const go_sections[] = { ".note.go.buildid", ".go.buildinfo" };
	Elf64_Shdr *sh;
	char *names;
	uint64_t nsize;
	int rc;

	if (eh->e_shnum == 0 || eh->e_shoff == 0)
		return 0; /* no section headers (sstrip): the notes alone tell */
	if (eh->e_shentsize != sizeof(Elf64_Shdr)) {
		msgf(err, errlen, "malformed ELF file: section header entries of %u bytes",
		     eh->e_shentsize);
		return -EINVAL;
	}
	if (eh->e_shstrndx == SHN_UNDEF || eh->e_shstrndx >= eh->e_shnum)
		return 0; /* no names (or SHN_XINDEX, which executables do not need) */
	rc = read_table(fd, size, eh->e_shoff, eh->e_shnum, sizeof(*sh), "section headers",
			(void **)&sh, err, errlen);
	if (rc < 0)
		return rc;
	nsize = sh[eh->e_shstrndx].sh_size;
	rc = read_table(fd, size, sh[eh->e_shstrndx].sh_offset, 1, nsize, "section names",
			(void **)&names, err, errlen);
	for (unsigned i = 0; rc == 0 && i < eh->e_shnum && !info->is_go; i++) {
		uint64_t at = sh[i].sh_name;

		for (size_t k = 0; k < sizeof(go_sections) / sizeof(go_sections[0]); k++) {
			size_t l = strlen(go_sections[k]) + 1; /* with its NUL */

			if (inside(at, l, nsize) && memcmp(names + at, go_sections[k], l) == 0)
				info->is_go = true;
		}
	}
	if (rc == 0)
		free(names);
	free(sh);
	return rc;
}

int dps_elf_inspect(int fd, uint64_t size, struct dps_elf_info *info, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	int rc;

	memset(info, 0, sizeof(*info));
	if (size < EI_NIDENT)
		return -ENOEXEC;
	rc = read_at(fd, 0, eh.e_ident, EI_NIDENT);
	if (rc < 0)
		return rc;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return -ENOEXEC;
	info->elf_class = eh.e_ident[EI_CLASS];
	info->data = eh.e_ident[EI_DATA];
	/* e_type and e_machine sit right after e_ident in both classes. */
	if (size < EI_NIDENT + 4) {
		msgf(err, errlen, "malformed ELF file: %llu bytes, shorter than its header",
		     (unsigned long long)size);
		return -EINVAL;
	}
	rc = read_at(fd, EI_NIDENT + 2, &info->machine, sizeof(info->machine));
	if (rc < 0)
		return rc;
	if (info->data == ELFDATA2MSB)
		info->machine = (uint16_t)(info->machine << 8 | info->machine >> 8);
	if (info->elf_class != ELFCLASS64 || info->data != ELFDATA2LSB ||
	    info->machine != HOST_MACHINE)
		return 0; /* not ours to load into: the caller says so */
	if (size < sizeof(eh)) {
		msgf(err, errlen, "malformed ELF file: %llu bytes, shorter than its header",
		     (unsigned long long)size);
		return -EINVAL;
	}
	rc = read_at(fd, 0, &eh, sizeof(eh));
	if (rc < 0)
		return rc;
	info->elf64 = true;
	rc = scan_phdrs(fd, size, &eh, info, err, errlen);
	if (rc == 0)
		rc = scan_sections(fd, size, &eh, info, err, errlen);
	return rc;
}

int dps_prog_resolve(const char *prog, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p;

	if (strchr(prog, '/') != NULL) {
		if (strlen(prog) >= len)
			return -ENAMETOOLONG;
		memcpy(out, prog, strlen(prog) + 1);
		return 0;
	}
	if (path == NULL)
		path = "/bin:/usr/bin"; /* glibc's execvp without PATH (confstr _CS_PATH) */
	for (p = path;; p++) {
		size_t n = strcspn(p, ":");
		struct stat st;
		int w = n == 0 ? snprintf(out, len, "./%s", prog)
			       : snprintf(out, len, "%.*s/%s", (int)n, p, prog);

		if (w > 0 && (size_t)w < len && stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return 0;
		p += n;
		if (*p == '\0')
			break;
	}
	return -ENOENT;
}

/* The interpreter of a #! line (buf, NUL-terminated), resolved: "/bin/sh", or NAME on PATH for
 * "/usr/bin/env [-S] NAME". Returns 0 or -ENOENT when there is none to check. */
static int script_interp(char *buf, char *out, size_t len)
{
	char *save = NULL, *interp, *word;

	buf[strcspn(buf, "\n")] = '\0';
	interp = strtok_r(buf + 2, " \t", &save);
	if (interp == NULL)
		return -ENOENT;
	word = strrchr(interp, '/');
	if (strcmp(word != NULL ? word + 1 : interp, "env") != 0)
		return dps_prog_resolve(interp, out, len);
	while ((word = strtok_r(NULL, " \t", &save)) != NULL) /* env's options, then NAME */
		if (word[0] != '-' && strchr(word, '=') == NULL)
			return dps_prog_resolve(word, out, len);
	return -ENOENT;
}

static int check_depth(const char *path, char *msg, size_t len, int depth)
{
	struct dps_elf_info info;
	char head[256], interp[PATH_MAX], why[512];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		msgf(msg, len, "cannot read it: %s", strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	n = pread(fd, head, sizeof(head) - 1, 0);
	if (n >= 2 && head[0] == '#' && head[1] == '!') {
		close(fd);
		head[n] = '\0';
		/* The kernel follows four levels of interpreters; a deeper chain fails to start. */
		if (depth >= 4 || script_interp(head, interp, sizeof(interp)) < 0)
			return 0;
		rc = check_depth(interp, why, sizeof(why), depth + 1);
		if (rc != 1)
			return 0; /* an interpreter that cannot be read: exec will say */
		msgf(msg, len, "is a script for %s, which %s", interp, why);
		return 1;
	}
	rc = dps_elf_inspect(fd, (uint64_t)st.st_size, &info, why, sizeof(why));
	close(fd);
	if (rc == -ENOEXEC)
		return 0; /* not ELF nor a script: binfmt_misc's, or exec will say */
	if (rc < 0) {
		msgf(msg, len, "%s", rc == -EINVAL ? why : strerror(-rc));
		return rc;
	}
	if (!info.elf64) {
		char what[64];

		if (info.elf_class == ELFCLASS32)
			snprintf(what, sizeof(what), "is a 32-bit program");
		else if (info.data != ELFDATA2LSB)
			snprintf(what, sizeof(what), "is not a little-endian program");
		else
			snprintf(what, sizeof(what), "is built for another machine (e_machine %u)",
				 info.machine);
		msgf(msg, len,
		     "%s: libdpsock.so (64-bit x86-64) cannot load into it, so its traffic will go "
		     "through the kernel",
		     what);
		return 1;
	}
	if (info.is_go) {
		msgf(msg, len,
		     "is a Go program: Go makes its system calls itself, not through libc (also "
		     "when cgo links it dynamically), so its sockets stay the kernel's and its "
		     "traffic will go through the kernel");
		return 1;
	}
	if (!info.has_interp) {
		const char *base = strrchr(path, '/');

		/* The dynamic loader run as a program (ld-linux-x86-64.so.2 PROG) preloads. */
		if (strncmp(base != NULL ? base + 1 : path, "ld-linux", 8) == 0)
			return 0;
		msgf(msg, len,
		     "is statically linked: no dynamic loader runs it, so LD_PRELOAD cannot load "
		     "libdpsock.so and its traffic will go through the kernel");
		return 1;
	}
	return 0;
}

int dps_prog_check(const char *path, char *msg, size_t len)
{
	return check_depth(path, msg, len, 0);
}
