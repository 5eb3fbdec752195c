#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

int main() {
  std::ios::sync_with_stdio(false);
  int n;
  std::cin >> n;
  std::vector<std::string> words(n);
  for (auto &word : words) std::cin >> word;
  std::sort(words.begin(), words.end());
  for (const auto &word : words) std::cout << word << '\n';
}
