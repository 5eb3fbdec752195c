#include <stdio.h>

/* 32-bit int: 10^9 + 10^9 wraps around on test 3 (added as unsigned so the wrap is defined). */
int main(void) {
  int a, b;
  if (scanf("%d %d", &a, &b) != 2) return 1;
  printf("%d\n", (int)((unsigned)a + (unsigned)b));
  return 0;
}
