import sys

# Right words, right order, wrong layout: all on one line.
n, *words = sys.stdin.read().split()
print(' '.join(sorted(words[: int(n)])))
