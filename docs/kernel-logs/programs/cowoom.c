// cowoom: copy-on-write faults that run out of memory.
//
// The parent takes 20000 pages (about 61% of a 128 MB machine), writes
// each once so they are real, and forks. The child then writes every
// page: each write is a store fault on a shared page, and each fault
// needs a new page. Memory runs out part way; the kernel should kill
// the child (exit status -1), not panic. The parent checks its own
// pages still hold what it wrote, gives them back and reports.
//
// Written for the xv6vm project (not part of xv6). Build: copy to
// user/cowoom.c and add $U/_cowoom to UPROGS in the Makefile.

#include "kernel/types.h"
#include "user/user.h"

#define PG 4096
#define NPAGES 20000

int
main(void)
{
  char *base, *q;
  int pid, status, bad;

  base = sbrk(NPAGES * PG);
  if(base == (char*)-1){
    printf("cowoom: sbrk failed\n");
    exit(1);
  }
  for(q = base; q < base + NPAGES * PG; q += PG)
    *q = 'P';

  pid = fork();
  if(pid < 0){
    printf("cowoom: fork failed\n");
    exit(1);
  }
  if(pid == 0){
    for(q = base; q < base + NPAGES * PG; q += PG)
      *q = 'C';
    exit(0);   // not reached when memory runs out
  }

  status = 0;
  wait(&status);
  bad = 0;
  for(q = base; q < base + NPAGES * PG; q += PG)
    if(*q != 'P')
      bad++;
  sbrk(-(NPAGES * PG));
  if(status == -1 && bad == 0)
    printf("cowoom: OK\n");
  else
    printf("cowoom: FAIL child %d, parent %d pages changed\n", status, bad);
  exit(0);
}
