const [n, ...numbers] = require('fs').readFileSync(0, 'utf8').trim().split(/\s+/)
let sum = 0n
for (const x of numbers.slice(0, Number(n))) sum += BigInt(x)
console.log(sum.toString())
