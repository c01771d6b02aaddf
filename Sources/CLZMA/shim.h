// The system's liblzma (Debian: liblzma-dev), for decompressing .xz kernel logs.
#include <lzma.h>
