/*
 * Linked into every C and C++ program (never user-controlled: our own object, our own flags).
 *
 * On a pipe glibc makes stdout fully buffered, so a prompt printed without a newline would not
 * show before the program waits for input. We make stdout line-buffered, so lines stream live, and
 * stdin line-buffered too: glibc flushes a line-buffered stdout whenever a line-buffered or
 * unbuffered input stream has to read (libio/fileops.c, _IO_new_file_underflow), so the prompt is
 * written just before the program blocks on input. C++ iostreams go through stdio by default
 * (sync_with_stdio), so the same holds for std::cout and std::cin.
 */
#include <stdio.h>

__attribute__((constructor)) static void cexec_line_buffered_stdio(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    setvbuf(stdin, NULL, _IOLBF, 0);
}
