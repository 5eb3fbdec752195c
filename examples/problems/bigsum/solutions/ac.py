import sys

n, *numbers = sys.stdin.read().split()
print(sum(map(int, numbers[: int(n)])))
