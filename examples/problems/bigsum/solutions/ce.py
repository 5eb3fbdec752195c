import sys

def total(numbers)
    return sum(numbers)

print(total(map(int, sys.stdin.read().split()[1:])))
