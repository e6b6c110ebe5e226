// The newest bytes of a DLedger file space (data or index) kept in memory: appends go into a
// slab, are handed to write() later in one piece (writeOut), and reads of recent entries
// (pushes to followers, ConsumeQueue dispatch, term lookups) come from the slab instead of a
// pread. Positions are flat offsets over the rolling files; a slab never crosses a file end.
// Slab memory is reused once `keepSlabs` newer slabs exist (a new 4 MiB allocation per slab
// made V8 run a full GC every few hundred ms for the external memory), so a view a read
// returns stays valid only until then: callers use it at once or copy it.

interface Slab {
  /** Flat offset of buf[0]. */
  start: number;
  buf: Buffer;
  /** The whole allocation buf is a view of (reused once the slab leaves the cache). */
  whole: Buffer;
  /** Bytes filled. */
  end: number;
}

export interface PendingSpan {
  buf: Buffer;
  at: number;
  length: number;
  /** Flat offset where buf[at] goes. */
  pos: number;
}

export class TailCache {
  private slabs: Slab[] = [];
  private spare: Buffer | null = null;
  /** Flat offset below which every byte has been handed to write(). */
  writtenPos = 0;

  constructor(private readonly slabBytes: number, private readonly keepSlabs: number) {}

  /** Forgets every slab (after a truncation or at start); the file holds everything below `pos`. */
  reset(pos: number): void {
    this.slabs = [];
    this.writtenPos = pos;
  }

  private get current(): Slab | undefined {
    return this.slabs[this.slabs.length - 1];
  }

  /** True if `size` bytes at `pos` go into the current slab; false means writeOut() first, then reserve starts a new one. */
  fits(pos: number, size: number): boolean {
    const cur = this.current;
    return cur !== undefined && cur.start + cur.end === pos && cur.end + size <= cur.buf.length;
  }

  /**
   * Room for `size` bytes at `pos` (the end of what was appended), in a slab that ends at or
   * before `fileEnd`; null when it is larger than a slab (the caller writes it directly).
   * Starting a new slab requires nothing pending (see fits).
   */
  reserve(pos: number, size: number, fileEnd: number): { buf: Buffer; at: number } | null {
    if (size > this.slabBytes) return null;
    let cur = this.current;
    if (!this.fits(pos, size)) {
      const whole = this.spare ?? Buffer.allocUnsafeSlow(this.slabBytes);
      this.spare = null;
      cur = { start: pos, buf: whole.subarray(0, Math.min(this.slabBytes, fileEnd - pos)), whole, end: 0 };
      this.slabs.push(cur);
      if (this.slabs.length > this.keepSlabs) this.spare = (this.slabs.shift() as Slab).whole;
    }
    return { buf: (cur as Slab).buf, at: (cur as Slab).end };
  }

  /** The `size` bytes reserved last are filled. */
  commit(size: number): void {
    (this.current as Slab).end += size;
  }

  /** What was appended but not yet handed to write(), or null. */
  pending(): PendingSpan | null {
    const cur = this.current;
    if (!cur || cur.start + cur.end <= this.writtenPos) return null;
    const at = this.writtenPos - cur.start;
    return { buf: cur.buf, at, length: cur.end - at, pos: this.writtenPos };
  }

  markWritten(): void {
    const cur = this.current;
    if (cur) this.writtenPos = Math.max(this.writtenPos, cur.start + cur.end);
  }

  /** A view of [pos, pos + length) if one slab holds all of it, else null. */
  read(pos: number, length: number): Buffer | null {
    for (let i = this.slabs.length - 1; i >= 0; i--) {
      const slab = this.slabs[i];
      if (pos >= slab.start && pos + length <= slab.start + slab.end) return slab.buf.subarray(pos - slab.start, pos - slab.start + length);
    }
    return null;
  }

  /** End of the filled part of the slab holding `pos`, or -1 when no slab does. */
  slabEndAt(pos: number): number {
    for (let i = this.slabs.length - 1; i >= 0; i--) {
      const slab = this.slabs[i];
      if (pos >= slab.start && pos < slab.start + slab.end) return slab.start + slab.end;
    }
    return -1;
  }
}
