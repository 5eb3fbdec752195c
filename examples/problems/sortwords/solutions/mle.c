#include <stdlib.h>
#include <string.h>

/* Allocates (and touches) a megabyte per word... per imagined word, forever. */
int main(void) {
  for (;;) {
    char *block = malloc(1 << 20);
    memset(block, 1, 1 << 20);
  }
}
