import { describe, expect, it } from 'vitest'
import { check } from '../../src/judge/index.js'

const out = (text: string) => Buffer.from(text, 'utf8')

describe('exact checker', () => {
  it('accepts only byte-identical output', () => {
    expect(check('exact', out('1 2\n3\n'), '1 2\n3\n').ok).toBe(true)
    expect(check('exact', out('1 2\n3'), '1 2\n3\n').ok).toBe(false)
    expect(check('exact', out('1 2 \n3\n'), '1 2\n3\n').ok).toBe(false)
    expect(check('exact', out('1 2\r\n3\r\n'), '1 2\n3\n').ok).toBe(false)
    expect(check('exact', out(''), '').ok).toBe(true)
  })

  it('compares bytes, not characters', () => {
    expect(check('exact', out('héllo\n'), 'héllo\n').ok).toBe(true)
    expect(check('exact', Buffer.from('h\xe9llo\n', 'latin1'), 'héllo\n').ok).toBe(false)
  })

  it('says where the difference is without revealing the expected answer', () => {
    const result = check('exact', out('abcX'), 'abcdSECRET')
    expect(result.detail).toMatch(/byte 3/)
    expect(result.detail).not.toMatch(/SECRET/)
  })
})

describe('lines checker', () => {
  it('ignores trailing whitespace on each line and trailing blank lines', () => {
    expect(check('lines', out('a b  \nc\t\n\n\n'), 'a b\nc\n').ok).toBe(true)
    expect(check('lines', out('a b\r\nc\r\n'), 'a b\nc').ok).toBe(true)
    expect(check('lines', out('a b\nc'), 'a b\nc\n\n').ok).toBe(true)
  })

  it('keeps leading whitespace, inner whitespace and line structure', () => {
    expect(check('lines', out(' a b\nc\n'), 'a b\nc\n').ok).toBe(false)
    expect(check('lines', out('a  b\nc\n'), 'a b\nc\n').ok).toBe(false)
    expect(check('lines', out('a b c\n'), 'a b\nc\n').ok).toBe(false)
    expect(check('lines', out('a b\n\nc\n'), 'a b\nc\n').ok).toBe(false)
  })

  it('reports the first differing line, or the line counts', () => {
    expect(check('lines', out('1\n2\n4\n'), '1\n2\n3\n').detail).toBe('line 3 differs')
    expect(check('lines', out('1\n2\n'), '1\n2\n3\n').detail).toBe('got 2 lines, expected 3')
    expect(check('lines', out(''), '\n\n').ok).toBe(true)
  })
})

describe('tokens checker (the default)', () => {
  it('compares whitespace-separated tokens, however they are spaced', () => {
    expect(check('tokens', out('1   2\n\n3\t4  \r\n'), '1 2 3 4\n').ok).toBe(true)
    expect(check('tokens', out('  1 2 3 4'), '1\n2\n3\n4').ok).toBe(true)
    expect(check('tokens', out(''), '   \n').ok).toBe(true)
  })

  it('compares tokens as strings: no numeric tolerance', () => {
    expect(check('tokens', out('1.0'), '1').ok).toBe(false)
    expect(check('tokens', out('01'), '1').ok).toBe(false)
    expect(check('tokens', out('Yes'), 'YES').ok).toBe(false)
  })

  it('reports missing, extra and differing tokens', () => {
    expect(check('tokens', out('1 2'), '1 2 3').detail).toBe('got 2 tokens, expected 3')
    expect(check('tokens', out('1 2 3 4'), '1 2 3').detail).toBe('got 4 tokens, expected 3')
    expect(check('tokens', out('1 5 3'), '1 2 3').detail).toBe('token 2 differs')
  })
})
