import sys

words = sys.stdin.read().split()[1:]
while True:
    print('\n'.join(words))
