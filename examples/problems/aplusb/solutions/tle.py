a, b = map(int, input().split())
# Spins forever: stopped by the CPU time limit.
while True:
    a += 1
