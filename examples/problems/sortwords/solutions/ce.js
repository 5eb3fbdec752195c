const words = require('fs').readFileSync(0, 'utf8').trim().split(/\s+/).slice(1)
console.log(words.sort().join('\n')
