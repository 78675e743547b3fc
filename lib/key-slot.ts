/**
 * Redis Cluster key slots: which of the 16384 slots a key (or shard channel) hashes to, and the
 * hash tag that makes several keys share one slot. The slot is CRC16 (XMODEM) of the key, or of
 * the part between the first `{` and the next `}` when that part is not empty.
 */

/** CRC16-XMODEM lookup table (polynomial 0x1021). */
const TABLE = Array.from({ length: 256 }, (_, byte) => {
  let crc = byte << 8
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  return crc
})

export const SLOTS = 16384

/** The slot of `key` in a Redis Cluster. */
export function keySlot (key: string): number {
  let bytes = Buffer.from(key)
  const open = bytes.indexOf(0x7b) // {
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1) // }
    if (close > open + 1) bytes = bytes.subarray(open + 1, close)
  }
  let crc = 0
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ b) & 0xff]!
  return crc % SLOTS
}

/** `{id}`: every key that embeds it this way hashes to the slot of `id` alone. */
export function hashTag (id: string): string {
  return `{${id}}`
}
