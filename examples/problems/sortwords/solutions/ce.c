#include <stdio.h>

int main(void) {
  printf("%d\n", words_sorted);
  return 0;
}
