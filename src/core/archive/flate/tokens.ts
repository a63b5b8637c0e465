/**
 * LZ77 token packing and the deflate length/distance code tables (RFC 1951 3.2.5).
 * A token is a literal (0..256, where 256 ends a block) or a match:
 * MATCH_FLAG | (length - 3) << 22 | (distance - 1). Matching Go's packing is not required for
 * byte identity, but it keeps one token per 32-bit slot with no allocation.
 */

/** Flag bit marking a match token; literals are plain byte values below it. */
export const MATCH_FLAG = 1 << 30;
/** Shift of the (length - 3) field inside a match token. */
export const LENGTH_SHIFT = 22;
/** Mask of the (distance - 1) field inside a match token. */
export const OFFSET_MASK = (1 << LENGTH_SHIFT) - 1;
/** Symbol that terminates every block. */
export const END_BLOCK = 256;
/** First length symbol in the literal/length alphabet. */
export const LENGTH_CODES_START = 257;
/** Size of the literal/length alphabet Go builds codes over (symbols 286/287 are never used). */
export const NUM_LITERALS = 286;
/** Size of the distance alphabet. */
export const NUM_OFFSETS = 30;

/** Extra bits per length code (index = symbol - 257). */
export const LENGTH_EXTRA_BITS = Uint8Array.from([
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
]);

/** Smallest (length - 3) of each length code. */
export const LENGTH_BASE = Uint16Array.from([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 255,
]);

/** Extra bits per distance code. */
export const OFFSET_EXTRA_BITS = Uint8Array.from([
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
]);

/** Smallest (distance - 1) of each distance code. */
export const OFFSET_BASE = Uint32Array.from([
  0x0000, 0x0001, 0x0002, 0x0003, 0x0004, 0x0006, 0x0008, 0x000c, 0x0010, 0x0018, 0x0020, 0x0030, 0x0040, 0x0060,
  0x0080, 0x00c0, 0x0100, 0x0180, 0x0200, 0x0300, 0x0400, 0x0600, 0x0800, 0x0c00, 0x1000, 0x1800, 0x2000, 0x3000,
  0x4000, 0x6000,
]);

/** Length code (0..28) for each (length - 3) in 0..255, derived from LENGTH_BASE. */
export const LENGTH_CODE = buildLengthCodes();
/** Distance code (0..29) for each (distance - 1) in 0..32767, derived from OFFSET_BASE. */
export const OFFSET_CODE = buildOffsetCodes();

function buildLengthCodes(): Uint8Array {
  const t = new Uint8Array(256);
  for (let code = 0; code < 29; code++) {
    const start = LENGTH_BASE[code]!;
    const end = code === 28 ? 256 : Math.min(start + (1 << LENGTH_EXTRA_BITS[code]!), 256);
    for (let x = start; x < end; x++) t[x] = code;
  }
  // 255 (length 258) has its own zero-extra-bit code; length 257 stays in code 27.
  t[255] = 28;
  return t;
}

function buildOffsetCodes(): Uint8Array {
  const t = new Uint8Array(1 << 15);
  for (let code = 0; code < 30; code++) {
    const start = OFFSET_BASE[code]!;
    const end = start + (1 << OFFSET_EXTRA_BITS[code]!);
    for (let x = start; x < end && x < t.length; x++) t[x] = code;
  }
  return t;
}
