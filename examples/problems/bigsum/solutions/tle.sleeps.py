import sys
import time

# Waits for the numbers to add themselves up: uses no CPU at all, stopped by the wall clock.
numbers = sys.stdin.read().split()
time.sleep(3600)
print(sum(map(int, numbers[1:])))
