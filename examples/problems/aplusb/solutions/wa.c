#include <stdio.h>

/* 32-bit int: 2·10^9 + 2·10^9 wraps around on test 3 (added as unsigned so the wrap is defined). */
int main(void) {
  int a, b;
  if (scanf("%d %d", &a, &b) != 2) return 1;
  printf("%d\n", (int)((unsigned)a + (unsigned)b));
  return 0;
}
