#include <iostream>
#include <vector>

// Keeps every partial sum it ever computed: grows until allocation fails.
int main() {
  long long a, b;
  std::cin >> a >> b;
  std::vector<long long> memo;
  for (;;) memo.push_back(a + b);
}
