/**
 * A compact set of seen ids for the uniqueness check (DESIGN: flat memory
 * except a few bytes per id). A JS Set<string> costs ~50-80 bytes per id (the
 * string plus the table entry); this one stores a 64-bit hash of each id in an
 * open-addressing table of two Uint32Arrays: 8 bytes per slot, load kept
 * between 3/8 and 3/4, so 11-21 bytes per id, no GC pressure. Two different ids
 * collide with probability ~n^2/2^65 (about 4e-7 for 4M ids), which would
 * wrongly report one row as a duplicate: acceptable for a data check.
 */
export class IdHashSet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(expected = 1 << 16) {
    let capacity = 1 << 4;
    while (capacity * 0.75 < expected) capacity *= 2;
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.mask = capacity - 1;
  }

  /** Number of ids stored. */
  get size(): number {
    return this.count;
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.hi.byteLength + this.lo.byteLength;
  }

  /** Add an id; returns false when it (or a colliding hash) was already present. */
  add(id: string): boolean {
    // Two independent 32-bit FNV-1a style lanes over UTF-16 code units form the 64-bit hash.
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193 ^ id.length;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    // Final avalanche so the low bits used for the slot index are well mixed.
    h1 ^= h1 >>> 16;
    h1 = Math.imul(h1, 0x85ebca6b);
    h1 ^= h1 >>> 13;
    h1 = Math.imul(h1, 0xc2b2ae35);
    h1 ^= h1 >>> 16;
    h2 = Math.imul(h2 ^ (h2 >>> 16), 0x7feb352d);
    h2 ^= h2 >>> 15;
    // (0, 0) marks an empty slot.
    if (h1 === 0 && h2 === 0) h2 = 1;
    return this.insert(h1 >>> 0, h2 >>> 0);
  }

  private insert(a: number, b: number): boolean {
    const hi = this.hi;
    const lo = this.lo;
    let slot = (a ^ b) & this.mask;
    for (;;) {
      const x = hi[slot]!;
      const y = lo[slot]!;
      if (x === 0 && y === 0) break;
      if (x === a && y === b) return false;
      slot = (slot + 1) & this.mask;
    }
    hi[slot] = a;
    lo[slot] = b;
    this.count++;
    if (this.count > this.hi.length * 0.75) this.grow();
    return true;
  }

  private grow(): void {
    const oldHi = this.hi;
    const oldLo = this.lo;
    this.hi = new Uint32Array(oldHi.length * 2);
    this.lo = new Uint32Array(oldLo.length * 2);
    this.mask = this.hi.length - 1;
    this.count = 0;
    for (let i = 0; i < oldHi.length; i++) {
      if (oldHi[i] !== 0 || oldLo[i] !== 0) this.insert(oldHi[i]!, oldLo[i]!);
    }
  }
}
