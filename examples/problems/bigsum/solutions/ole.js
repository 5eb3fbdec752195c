// Prints the running sum after every step... of a loop that never ends.
let sum = 0n
for (;;) process.stdout.write(`${sum++}\n`)
