/* A program that says it ran: built statically (a program LD_PRELOAD cannot reach) by meson. */
#include <stdio.h>

int main(void)
{
	puts("fixture ran");
	return 0;
}
