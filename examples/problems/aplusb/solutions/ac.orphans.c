#include <stdio.h>
#include <unistd.h>

/* Right answer, bad manners: it leaves children behind that hold stdout open and never end,
   one spinning, one asleep, one in a session of its own. The test ends when main exits. */
int main(void) {
  long long a, b;
  if (scanf("%lld %lld", &a, &b) != 2) return 1;
  if (fork() == 0) for (;;) {}
  if (fork() == 0) for (;;) pause();
  if (fork() == 0) {
    setsid();
    for (;;) sleep(1000);
  }
  printf("%lld\n", a + b);
  return 0;
}
