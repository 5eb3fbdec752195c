import sys

# Writes every number out in unary, as a string of that many characters.
n, *numbers = sys.stdin.read().split()
unary = ['1' * min(int(x), 10**12) for x in numbers]
print(sum(len(u) for u in unary))
