#include <stdio.h>
#include <string.h>

/* Schoolbook addition on decimal digits, least significant first. */
#define DIGITS 128

int main(void) {
  int n;
  int sum[DIGITS] = {0};
  char number[DIGITS];
  if (scanf("%d", &n) != 1) return 1;
  for (int i = 0; i < n; i++) {
    if (scanf("%127s", number) != 1) return 1;
    int len = (int)strlen(number), carry = 0;
    for (int d = 0; d < DIGITS; d++) {
      int digit = d < len ? number[len - 1 - d] - '0' : 0;
      int total = sum[d] + digit + carry;
      sum[d] = total % 10;
      carry = total / 10;
    }
  }
  int top = DIGITS - 1;
  while (top > 0 && sum[top] == 0) top--;
  for (int d = top; d >= 0; d--) putchar('0' + sum[d]);
  putchar('\n');
  return 0;
}
