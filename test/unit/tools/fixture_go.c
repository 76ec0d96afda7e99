/*
 * A stand-in for a Go program (no Go toolchain needed): an ordinary dynamic C program that
 * carries the note Go's linker writes into every binary, owner "Go", type 4, the build id, in a
 * section named .note.go.buildid (cmd/link/internal/ld/elf.go). dpsock run must call it a Go
 * program although it is dynamically linked.
 */
#include <stdint.h>
#include <stdio.h>

struct go_note {
	uint32_t namesz, descsz, type;
	char name[4]; /* "Go\0", padded to 4 */
	char desc[20];
};

__attribute__((section(".note.go.buildid"), used,
	       aligned(4))) static const struct go_note go_buildid = { 3, 20, 4, "Go",
								       "fixture/build-id-01" };

int main(void)
{
	puts("fixture ran");
	return 0;
}
