/*
 * progcheck: dps_elf_inspect on ELF images built here (dynamic, static, Go by note, Go by
 * section, 32-bit, not ELF), on malformed ones (tables past the end, bad entry sizes, notes
 * whose sizes overflow, every truncation and many byte changes of a good image: an error or an
 * answer, never a read past the file, which the ASan build checks), and dps_prog_resolve.
 */
#include "progcheck.h"
#include "test/unit/check.h"

#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[512];

/* An image: header, program headers, interpreter, one note, section names, section headers. */
struct image {
	unsigned char b[4096];
	size_t len;
};

enum {
	WITH_INTERP = 1,
	WITH_GO_NOTE = 2,
	WITH_GNU_NOTE = 4,
	WITH_SECTIONS = 8,
	WITH_GO_SECTION = 16,
};

static size_t put(struct image *im, const void *p, size_t n)
{
	size_t at = (im->len + 7) & ~(size_t)7;

	memset(im->b + im->len, 0, at - im->len);
	memcpy(im->b + at, p, n);
	im->len = at + n;
	return at;
}

static Elf64_Ehdr *ehdr(struct image *im)
{
	return (Elf64_Ehdr *)im->b;
}

static Elf64_Phdr *phdr(struct image *im, unsigned i)
{
	return (Elf64_Phdr *)(im->b + ehdr(im)->e_phoff) + i;
}

static void build(struct image *im, unsigned flags)
{
	static const char interp[] = "/lib64/ld-linux-x86-64.so.2";
	static const char names[] = "\0.text\0.shstrtab\0.go.buildinfo\0.note.go.buildid.x";
	struct {
		Elf64_Nhdr h;
		char name[4];
		char desc[8];
	} note = { { 3, 8, 4 }, "Go", "buildid" };
	Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT };
	Elf64_Phdr ph[4] = { { .p_type = PT_LOAD, .p_align = 4096 } };
	unsigned nph = 1;
	size_t at;

	memset(im, 0, sizeof(*im));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	put(im, &eh, sizeof(eh));
	if (flags & WITH_INTERP) {
		ph[nph++] = (Elf64_Phdr){ .p_type = PT_INTERP };
		ph[nph++] = (Elf64_Phdr){ .p_type = PT_DYNAMIC };
	}
	if (flags & (WITH_GO_NOTE | WITH_GNU_NOTE))
		ph[nph++] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_align = 4 };
	ehdr(im)->e_phnum = (uint16_t)nph;
	ehdr(im)->e_phoff = put(im, ph, nph * sizeof(ph[0]));
	if (flags & WITH_INTERP) {
		at = put(im, interp, sizeof(interp));
		phdr(im, 1)->p_offset = at;
		phdr(im, 1)->p_filesz = sizeof(interp);
	}
	if (flags & (WITH_GO_NOTE | WITH_GNU_NOTE)) {
		if (flags & WITH_GNU_NOTE) { /* a GNU build id: name "GNU", type 3 */
			note.h.n_namesz = 4;
			note.h.n_type = NT_GNU_BUILD_ID;
			memcpy(note.name, "GNU", 4);
		}
		at = put(im, &note, sizeof(note));
		phdr(im, nph - 1)->p_offset = at;
		phdr(im, nph - 1)->p_filesz = sizeof(note);
	}
	if (flags & WITH_SECTIONS) {
		Elf64_Shdr sh[4] = { { 0 } };
		size_t names_at = put(im, names, sizeof(names) - 1); /* the last name: no NUL */

		sh[1].sh_name = 1; /* .text */
		sh[2].sh_name = 7; /* .shstrtab */
		sh[2].sh_type = SHT_STRTAB;
		sh[2].sh_offset = names_at;
		sh[2].sh_size = sizeof(names) - 1;
		/* .go.buildinfo, or .note.go.buildid.x: a name that only begins like Go's, and
		 * runs to the end of the table without its NUL. */
		sh[3].sh_name = (flags & WITH_GO_SECTION) ? 17 : 31;
		ehdr(im)->e_shentsize = sizeof(Elf64_Shdr);
		ehdr(im)->e_shnum = 4;
		ehdr(im)->e_shstrndx = 2;
		ehdr(im)->e_shoff = put(im, sh, sizeof(sh));
	}
}

/* Inspect the first n bytes of im from a memory file. */
static int inspect_n(const struct image *im, size_t n, struct dps_elf_info *info)
{
	int fd = memfd_create("elf", MFD_CLOEXEC), rc;

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, im->b, n), (long)n);
	err[0] = '\0';
	rc = dps_elf_inspect(fd, n, info, err, sizeof(err));
	close(fd);
	return rc;
}

static int inspect(const struct image *im, struct dps_elf_info *info)
{
	return inspect_n(im, im->len, info);
}

static void test_kinds(void)
{
	struct image im;
	struct dps_elf_info info;

	build(&im, WITH_INTERP | WITH_GNU_NOTE | WITH_SECTIONS);
	CHECK_EQ(inspect(&im, &info), 0);
	CHECK(info.elf64 && info.has_interp && info.has_dynamic && !info.is_go);

	build(&im, 0); /* static: no PT_INTERP */
	CHECK_EQ(inspect(&im, &info), 0);
	CHECK(info.elf64 && !info.has_interp && !info.has_dynamic && !info.is_go);

	build(&im, WITH_INTERP | WITH_GO_NOTE); /* Go by its note, no section headers */
	CHECK_EQ(inspect(&im, &info), 0);
	CHECK(info.has_interp && info.is_go);

	build(&im, WITH_SECTIONS | WITH_GO_SECTION); /* Go by .go.buildinfo, static */
	CHECK_EQ(inspect(&im, &info), 0);
	CHECK(!info.has_interp && info.is_go);

	build(&im, WITH_INTERP); /* 32-bit: nothing past the class is read */
	im.b[EI_CLASS] = ELFCLASS32;
	CHECK_EQ(inspect(&im, &info), 0);
	CHECK(!info.elf64 && info.elf_class == ELFCLASS32 && info.machine == EM_X86_64);

	build(&im, WITH_INTERP);
	ehdr(&im)->e_machine = EM_AARCH64;
	CHECK_EQ(inspect(&im, &info), 0);
	CHECK(!info.elf64 && info.machine == EM_AARCH64);

	memcpy(im.b, "#!/bin/sh\necho hi\n", 18);
	CHECK_EQ(inspect_n(&im, 18, &info), -ENOEXEC);
	build(&im, 0);
	CHECK_EQ(inspect_n(&im, 10, &info), -ENOEXEC); /* shorter than e_ident */
}

static void test_malformed(void)
{
	struct image im;
	struct dps_elf_info info;

	build(&im, WITH_INTERP);
	ehdr(&im)->e_phoff = im.len - 8;
	CHECK_EQ(inspect(&im, &info), -EINVAL);
	CHECK(strstr(err, "malformed ELF file: the program headers") != NULL);

	build(&im, WITH_INTERP);
	ehdr(&im)->e_phoff = UINT64_MAX - 8; /* off + size wraps around */
	CHECK_EQ(inspect(&im, &info), -EINVAL);

	build(&im, WITH_INTERP);
	ehdr(&im)->e_phentsize = 32;
	CHECK_EQ(inspect(&im, &info), -EINVAL);
	CHECK(strstr(err, "program header entries of 32 bytes") != NULL);

	build(&im, WITH_INTERP);
	ehdr(&im)->e_phnum = 0;
	CHECK_EQ(inspect(&im, &info), -EINVAL);

	build(&im, WITH_INTERP);
	ehdr(&im)->e_phnum = 0xffff; /* PN_XNUM */
	CHECK_EQ(inspect(&im, &info), -EINVAL);

	build(&im, WITH_GO_NOTE); /* a note segment past the end */
	phdr(&im, 1)->p_filesz = 1u << 20;
	CHECK_EQ(inspect(&im, &info), -EINVAL);
	CHECK(strstr(err, "note segment") != NULL);

	build(&im, WITH_GO_NOTE); /* a note whose name size runs past its segment */
	{
		Elf64_Nhdr *h = (Elf64_Nhdr *)(im.b + phdr(&im, 1)->p_offset);

		h->n_namesz = UINT32_MAX;
		CHECK_EQ(inspect(&im, &info), 0);
		CHECK(!info.is_go);
		h->n_namesz = 3;
		h->n_descsz = UINT32_MAX - 2;
		CHECK_EQ(inspect(&im, &info), 0);
		CHECK(!info.is_go);
	}

	build(&im, WITH_SECTIONS | WITH_GO_SECTION);
	ehdr(&im)->e_shoff = im.len;
	CHECK_EQ(inspect(&im, &info), -EINVAL);
	CHECK(strstr(err, "section headers") != NULL);

	build(&im, WITH_SECTIONS | WITH_GO_SECTION);
	ehdr(&im)->e_shentsize = 40;
	CHECK_EQ(inspect(&im, &info), -EINVAL);

	build(&im, WITH_SECTIONS | WITH_GO_SECTION); /* the names' table past the end */
	((Elf64_Shdr *)(im.b + ehdr(&im)->e_shoff))[2].sh_offset = im.len;
	CHECK_EQ(inspect(&im, &info), -EINVAL);
	CHECK(strstr(err, "section names") != NULL);

	build(&im, WITH_SECTIONS | WITH_GO_SECTION); /* a name offset past the table */
	((Elf64_Shdr *)(im.b + ehdr(&im)->e_shoff))[3].sh_name = 100000;
	CHECK_EQ(inspect(&im, &info), 0);
	CHECK(!info.is_go);

	build(&im, WITH_SECTIONS); /* ".note.go.buildid.x" without NUL at the table's end */
	CHECK_EQ(inspect(&im, &info), 0);
	CHECK(!info.is_go);
}

/* Every truncation and, at every byte, a few other values: 0, -EINVAL or -ENOEXEC, no crash. */
static void test_damage(void)
{
	static const unsigned kinds[] = { WITH_INTERP | WITH_GO_NOTE | WITH_SECTIONS,
					  WITH_GNU_NOTE | WITH_SECTIONS | WITH_GO_SECTION };
	static const unsigned char vals[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
	struct dps_elf_info info;
	struct image good, im;
	unsigned runs = 0;

	for (unsigned k = 0; k < 2; k++) {
		build(&good, kinds[k]);
		for (size_t n = 0; n <= good.len; n++) {
			int rc = inspect_n(&good, n, &info);

			CHECK(rc == 0 || rc == -EINVAL || rc == -ENOEXEC);
			runs++;
		}
		for (size_t i = 0; i < good.len; i++)
			for (size_t v = 0; v < sizeof(vals); v++) {
				int rc;

				im = good;
				im.b[i] = vals[v];
				rc = inspect(&im, &info);
				CHECK(rc == 0 || rc == -EINVAL || rc == -ENOEXEC);
				runs++;
			}
	}
	printf("ok: %u damaged images\n", runs);
}

static void test_resolve(void)
{
	char out[PATH_MAX], dir[] = "/tmp/dps-progcheck.XXXXXX", cwd[PATH_MAX], prog[PATH_MAX + 8];
	struct dps_elf_info info;
	FILE *f;

	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(prog, sizeof(prog), "%s/tool", dir);
	f = fopen(prog, "w");
	CHECK(f != NULL);
	fputs("#!/bin/sh\n", f);
	fclose(f);

	setenv("PATH", "/nonexistent", 1);
	CHECK_EQ(dps_prog_resolve("tool", out, sizeof(out)), -ENOENT);
	setenv("PATH", dir, 1);
	CHECK_EQ(dps_prog_resolve("tool", out, sizeof(out)), -ENOENT); /* not executable */
	CHECK_EQ(chmod(prog, 0755), 0);
	CHECK_EQ(dps_prog_resolve("tool", out, sizeof(out)), 0);
	CHECK_STR(out, prog);
	CHECK_EQ(dps_prog_resolve("./tool", out, sizeof(out)), 0); /* a '/': as given */
	CHECK_STR(out, "./tool");
	CHECK_EQ(dps_prog_resolve("tool", out, 8), -ENOENT); /* does not fit */
	CHECK_EQ(chdir(dir), 0);
	setenv("PATH", "/nonexistent::/also-not", 1); /* an empty entry: the current directory */
	CHECK_EQ(dps_prog_resolve("tool", out, sizeof(out)), 0);
	CHECK_STR(out, "./tool");
	CHECK_EQ(chdir(cwd), 0);
	unsetenv("PATH"); /* execvp's default: /bin:/usr/bin */
	CHECK_EQ(dps_prog_resolve("sh", out, sizeof(out)), 0);
	CHECK(strcmp(out, "/bin/sh") == 0 || strcmp(out, "/usr/bin/sh") == 0);

	/* dps_prog_check on real files: this test (dynamic) and a script for /bin/sh. */
	CHECK_EQ(dps_prog_check("/proc/self/exe", err, sizeof(err)), 0);
	CHECK_EQ(dps_prog_check(prog, err, sizeof(err)), 0);
	CHECK_EQ(dps_prog_check("/nonexistent/x", err, sizeof(err)), -ENOENT);
	(void)info;
	unlink(prog);
	rmdir(dir);
}

int main(void)
{
	test_kinds();
	test_malformed();
	test_damage();
	test_resolve();
	printf("progcheck: %u checks passed\n", check_count);
	return 0;
}
