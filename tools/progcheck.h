/*
 * progcheck: can dpsock see the program `dpsock run` is about to start? (issue 13 item 10)
 *
 * LD_PRELOAD works through the dynamic loader and catches calls that go through libc. A program
 * escapes it when
 *   - it is statically linked (no PT_INTERP: the kernel starts it without ld.so, static-pie too);
 *   - it is a Go program (gc toolchain: a .note.go.buildid note or a .go.buildinfo section): Go
 *     makes its system calls itself, socket/connect/read/write/epoll included, even when it is
 *     dynamically linked through cgo (cgo only sends DNS and user lookups through libc);
 *   - it is not a 64-bit little-endian program for this machine (ld.so refuses libdpsock.so).
 * Its sockets then stay the kernel's. A script (#!) is judged by its interpreter (through
 * `/usr/bin/env NAME` too), up to the kernel's four levels of interpreters.
 *
 * Every read is bounded by the file's size: a malformed ELF file is reported, never read past.
 */
#ifndef DPS_PROGCHECK_H
#define DPS_PROGCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the ELF headers say. */
struct dps_elf_info {
	bool elf64; /* ELFCLASS64, little-endian, for this machine (else nothing below is read) */
	uint8_t elf_class; /* e_ident[EI_CLASS] */
	uint8_t data; /* e_ident[EI_DATA] */
	uint16_t machine; /* e_machine */
	bool has_interp; /* a PT_INTERP program header: started through the dynamic loader */
	bool has_dynamic; /* a PT_DYNAMIC program header */
	bool
	    is_go; /* a Go build id (note "Go", type 4, or section .note.go.buildid) or .go.buildinfo */
};

/*
 * Read the ELF headers of the open file fd, whose size is size bytes, into info.
 * Returns 0; -ENOEXEC when the file is no ELF file; -EINVAL when it is a malformed one (a header
 * or table outside the file, a bad entry size; err says which); -EIO on a short read or a read
 * error.
 */
int dps_elf_inspect(int fd, uint64_t size, struct dps_elf_info *info, char *err, size_t errlen);

/*
 * Find prog as execvp() would: as given when it holds a '/', else in each directory of PATH
 * ("/bin:/usr/bin" when PATH is unset; an empty entry is the current directory), the first
 * regular file there that we may execute. Returns 0 with the path in out, -ENOENT, -ENAMETOOLONG.
 */
int dps_prog_resolve(const char *prog, char *out, size_t len);

/*
 * Will dpsock see the program at path (resolved)? Returns 0 (yes, or nothing known against it:
 * not an ELF file nor a script), 1 when it will not, with why in msg ("is statically linked:
 * ..."; the caller prefixes the name), or -errno when the file cannot be read or is a malformed
 * ELF file (msg says why).
 */
int dps_prog_check(const char *path, char *msg, size_t len);

#endif
