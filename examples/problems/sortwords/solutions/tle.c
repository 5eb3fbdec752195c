#include <stdio.h>

/* "Sorts" by waiting for the words to sort themselves. */
int main(void) {
  volatile unsigned long spins = 0;
  for (;;) spins++;
}
