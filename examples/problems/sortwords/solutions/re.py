import sys

n, *words = sys.stdin.read().split()
words.sort(key=lambda word: int(word))  # words are not numbers: ValueError
print('\n'.join(words))
