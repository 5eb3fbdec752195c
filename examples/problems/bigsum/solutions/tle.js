// Adds by counting up one at a time: hopeless for 60-digit numbers.
const [n, ...numbers] = require('fs').readFileSync(0, 'utf8').trim().split(/\s+/)
let sum = 0n
for (const x of numbers.slice(0, Number(n))) for (let i = 0n; i < BigInt(x); i++) sum++
console.log(sum.toString())
