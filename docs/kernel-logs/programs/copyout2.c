// copyout2: one read() whose kernel copy crosses into a page that is
// still shared copy-on-write with the parent.
//
// The parent fills three pages with 'P' and forks. The child reads
// 6000 bytes from a file to an address 512 bytes before the end of the
// first page. The file system hands the bytes to copyout in 1024-byte
// pieces, so the first piece covers the last 512 bytes of page 0 and
// the first 512 of page 1, and the fifth covers the end of page 1 and
// the start of page 2. A kernel that un-shares only the page where a
// copyout starts writes those bytes into frames the parent still maps.
// The parent then finds its own buffer changed.
//
// Written for the xv6vm project (not part of xv6). Build: copy to
// user/copyout2.c and add $U/_copyout2 to UPROGS in the Makefile.

#include "kernel/types.h"
#include "kernel/fcntl.h"
#include "user/user.h"

#define PG 4096
#define NPAGES 3
#define LEN 6000
#define START (PG - 512)

static char area[NPAGES * PG] __attribute__((aligned(PG)));
static char *name = "copyout2.tmp";

static char
filebyte(int i)
{
  return 'a' + i % 26;
}

// Writes LEN pattern bytes to the file, using area as the source.
static int
makefile(void)
{
  int fd, i;

  for(i = 0; i < LEN; i++)
    area[i] = filebyte(i);
  fd = open(name, O_CREATE | O_WRONLY);
  if(fd < 0)
    return -1;
  if(write(fd, area, LEN) != LEN){
    close(fd);
    return -1;
  }
  close(fd);
  return 0;
}

// The child: one read() into the shared pages, then its own check.
static void
child(void)
{
  int fd, n, i;

  fd = open(name, O_RDONLY);
  if(fd < 0)
    exit(2);
  n = read(fd, area + START, LEN);
  close(fd);
  if(n != LEN)
    exit(3);
  for(i = 0; i < LEN; i++)
    if(area[START + i] != filebyte(i))
      exit(4);
  exit(0);
}

int
main(void)
{
  int pid, status, i, changed, first;

  if(makefile() < 0){
    printf("copyout2: cannot make %s\n", name);
    exit(1);
  }
  memset(area, 'P', sizeof(area));

  pid = fork();
  if(pid < 0){
    printf("copyout2: fork failed\n");
    exit(1);
  }
  if(pid == 0)
    child();

  status = -1;
  wait(&status);
  unlink(name);

  changed = 0;
  first = -1;
  for(i = 0; i < sizeof(area); i++){
    if(area[i] != 'P'){
      if(first < 0)
        first = i;
      changed++;
    }
  }
  if(changed == 0 && status == 0){
    printf("copyout2: OK\n");
  } else {
    printf("copyout2: FAIL child %d, parent %d bytes changed",
           status, changed);
    if(first >= 0)
      printf(" from offset %x", first);
    printf("\n");
  }
  exit(0);
}
