const [n, ...words] = require('fs').readFileSync(0, 'utf8').trim().split(/\s+/)
// Default sort compares UTF-16 code units: the same as bytes for lowercase ASCII.
console.log(words.slice(0, Number(n)).sort().join('\n'))
