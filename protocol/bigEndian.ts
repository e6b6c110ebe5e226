// Big-endian integers read and written byte by byte. Buffer's readInt32BE/writeInt32BE are
// not inlined on the per-message paths (they showed as their own frames in the broker's
// profile); these small functions are, and skip the argument checks a caller has already done
// (every caller checks the bounds first; out-of-bounds typed-array reads give undefined → 0).

export function readInt16(bytes: Uint8Array, at: number): number {
  return (((bytes[at] << 8) | bytes[at + 1]) << 16) >> 16;
}

export function readInt32(bytes: Uint8Array, at: number): number {
  return (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
}

/** Writes the low 16 bits of `value`; returns the offset after it. */
export function writeInt16(bytes: Uint8Array, at: number, value: number): number {
  bytes[at] = value >>> 8;
  bytes[at + 1] = value;
  return at + 2;
}

/** Writes the low 32 bits of `value`; returns the offset after it. */
export function writeInt32(bytes: Uint8Array, at: number, value: number): number {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
  return at + 4;
}

/** A safe integer (|value| < 2^53) as a Java long; returns the offset after it. */
export function writeInt64(bytes: Uint8Array, at: number, value: number): number {
  writeInt32(bytes, at, Math.floor(value / 0x1_0000_0000));
  return writeInt32(bytes, at + 4, value >>> 0);
}
