// Prints the running sum after every step... of a loop that never ends.
// (writeSync: a process.stdout.write loop that never yields would only queue the output in memory.)
const fs = require('fs')
let sum = 0n
for (;;) {
  let chunk = ''
  for (let i = 0; i < 1000; i++) chunk += `${sum++}\n`
  fs.writeSync(1, chunk)
}
