import { randomBytes } from 'node:crypto'
import t from 'tap'
import { FULL_CODE, codePrefixOf, parseShortCode, shortCodeOf } from '../../../plugins/certificates/codes.js'

t.test('a short code is the first 60 bits of the signature, in Crockford base32 groups of four', async (t) => {
  t.equal(shortCodeOf('A'.repeat(86)), '0000-0000-0000')
  t.equal(shortCodeOf('_'.repeat(86)), 'ZZZZ-ZZZZ-ZZZZ')
  // 'B' is 1 in base64url: 000001 in the 60th bit position from the top → the last symbol is 1.
  t.equal(shortCodeOf('AAAAAAAAAB' + 'A'.repeat(76)), '0000-0000-0001')
  t.equal(shortCodeOf('short'), shortCodeOf('shortAAAAA'), 'a code shorter than ten characters reads as zero-padded')
  for (let i = 0; i < 200; i++) {
    const code = randomBytes(64).toString('base64url')
    t.ok(FULL_CODE.test(code))
    const short = shortCodeOf(code)
    t.match(short, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/)
    t.equal(codePrefixOf(short), code.slice(0, 10), 'the short code and the code\'s first ten characters are the same bits')
  }
})

t.test('a short code as a person types it: case, hyphens and the look-alikes I, L, O do not matter; anything else is not one', async (t) => {
  t.equal(parseShortCode('7K3M-Q9XD-2HWP'), '7K3M-Q9XD-2HWP')
  t.equal(parseShortCode('7k3m-q9xd-2hwp'), '7K3M-Q9XD-2HWP')
  t.equal(parseShortCode('7K3MQ9XD2HWP'), '7K3M-Q9XD-2HWP')
  t.equal(parseShortCode('7K3M-Q9XD2HWP'), '7K3M-Q9XD-2HWP')
  t.equal(parseShortCode('IL0O-0000-0000'), '1100-0000-0000')
  for (const bad of ['', '7K3M-Q9XD-2HW', '7K3M-Q9XD-2HWPX', '7K3M-Q9XD-2HWU', '7K3M Q9XD 2HWP', '7K3M--Q9XD-2HWP', '-7K3MQ9XD2HWP', '7K3M_Q9XD_2HWP', 'Ж'.repeat(12)]) {
    t.equal(parseShortCode(bad), undefined, JSON.stringify(bad))
  }
})
