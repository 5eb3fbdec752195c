#include <iostream>
#include <string>
#include <vector>

// Off by one: asks for the word after the last.
int main() {
  int n;
  std::cin >> n;
  std::vector<std::string> words(n);
  for (auto &word : words) std::cin >> word;
  std::cout << words.at(n) << '\n';
}
