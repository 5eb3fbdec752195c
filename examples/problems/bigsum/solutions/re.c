#include <stdio.h>

/* Reads the count into a NULL pointer. */
int main(void) {
  int *n = NULL;
  if (scanf("%d", n) != 1) return 1;
  printf("%d\n", *n);
  return 0;
}
