// lazycopy: system calls that copy to or from memory sbrk has promised
// but the program has never touched (lazy allocation lab).
//
// It grows the heap by four pages without touching them, then:
//  1. write()s 1024 bytes from the first page: the kernel's copyin must
//     make the page first (the bytes are zeros);
//  2. read()s 100 bytes into the middle of the second page: copyout must
//     make that page;
//  3. read()s 1024 bytes to 512 bytes before the end of the third page,
//     so one copy covers the end of page 3 and the start of page 4,
//     neither of them touched yet. A kernel that makes only the page
//     where a copy starts fails this read.
// It prints what each call returned and whether it matches.
//
// Written for the xv6vm project (not part of xv6). Build: copy to
// user/lazycopy.c and add $U/_lazycopy to UPROGS in the Makefile.

#include "kernel/types.h"
#include "kernel/fcntl.h"
#include "user/user.h"

#define PG 4096

static char *name = "lazycopy.tmp";

int
main(void)
{
  char *base;
  int fd, w, r1, r2;

  base = sbrk(4 * PG);
  if(base == (char*)-1){
    printf("lazycopy: sbrk failed\n");
    exit(1);
  }
  fd = open(name, O_CREATE | O_RDWR);
  if(fd < 0){
    printf("lazycopy: cannot make %s\n", name);
    exit(1);
  }
  w = write(fd, base, 1024);
  close(fd);

  fd = open(name, O_RDONLY);
  r1 = read(fd, base + PG + 0x100, 100);
  close(fd);

  fd = open(name, O_RDONLY);
  r2 = read(fd, base + 3 * PG - 512, 1024);
  close(fd);
  unlink(name);

  printf("lazycopy: write %d, read %d, read across pages %d: %s\n",
         w, r1, r2, (w == 1024 && r1 == 100 && r2 == 1024) ? "OK" : "FAIL");
  exit(0);
}
