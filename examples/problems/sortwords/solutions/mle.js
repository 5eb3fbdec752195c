// Keeps a fresh copy of the word list for every comparison it might make.
const words = require('fs').readFileSync(0, 'utf8').trim().split(/\s+/).slice(1)
const copies = []
for (;;) copies.push(new Array(1e6).fill(words.length))
