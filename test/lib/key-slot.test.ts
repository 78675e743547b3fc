import t from 'tap'
import { hashTag, keySlot } from '../../lib/key-slot.js'

t.test('keySlot: the slots Redis Cluster computes (values from CLUSTER KEYSLOT)', async (t) => {
  t.equal(keySlot('123456789'), 12739, 'the CRC16-XMODEM check value, 0x31C3')
  t.equal(keySlot('foo'), 12182)
  t.equal(keySlot('bar'), 5061)
  t.equal(keySlot('{user1000}.following'), 3443, 'a hash tag hashes alone')
  t.equal(keySlot('user1000'), 3443)
  t.equal(keySlot('foo{}{bar}'), 8363, 'an empty tag: the whole key')
  t.equal(keySlot('foo{{bar}}zap'), 4015, 'the tag runs from the first { to the next }')
  t.equal(keySlot('foo{bar'), 15278, 'no closing brace: the whole key')
  t.equal(keySlot('Łódź'), 462, 'UTF-8 bytes')
})

t.test('hashTag: keys of one id share its slot', async (t) => {
  t.equal(hashTag('m1'), '{m1}')
  t.equal(keySlot(`mc:match:${hashTag('m1')}:events`), 6916)
  t.equal(keySlot(`mc:match:${hashTag('m1')}`), 6916)
  t.equal(keySlot('m1'), 6916)
})
