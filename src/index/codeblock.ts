/**
 * A growable block of compressed rows: per row an offset, the id of its float32 vector in a
 * `VectorFile`, an error radius and `codeBytes` bytes of code. Flat,SQ8 / Flat,F16 are one block;
 * compressed IVF lists are one block each. Removal moves the last row into the hole.
 */

/** Rows of codes with their offsets, vector ids and error radii (`codes` owns its buffer from byte 0). */
export class CodeBlock {
  /** Row-major codes, `capacity * codeBytes` bytes; rows `[0, size)` are live. */
  codes: Uint8Array;
  /** Offset of each row. */
  offsets: Uint32Array;
  /** Id of each row's float32 vector in the index's VectorFile. */
  vids: Uint32Array;
  /** Error radius of each row: an upper bound of ||x - decode(code)|| (0 when the codec keeps none). */
  radius: Float32Array;
  /** Live rows. */
  size = 0;

  /**
   * `capacity`: rows allocated up front (default 0). `withCodes` false leaves `codes` empty for a
   * block read lazily: whoever reads its codes assigns them (see PendingCodes) before any use.
   */
  constructor(
    readonly codeBytes: number,
    capacity = 0,
    withCodes = true,
  ) {
    this.codes = new Uint8Array(withCodes ? capacity * codeBytes : 0);
    this.offsets = new Uint32Array(capacity);
    this.vids = new Uint32Array(capacity);
    this.radius = new Float32Array(capacity);
  }

  /** Rows allocated. */
  get capacity(): number {
    return this.offsets.length;
  }

  /** Makes room for `rows` rows (doubling, or exactly `rows` with `exact`). */
  reserve(rows: number, exact = false): void {
    if (rows <= this.capacity) return;
    const cap = exact ? rows : Math.max(rows, this.capacity * 2, 16);
    const grow = <T extends Uint8Array | Uint32Array | Float32Array>(a: T, n: number, per: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n * per);
      b.set(a.subarray(0, this.size * per));
      return b;
    };
    this.codes = grow(this.codes, cap, this.codeBytes);
    this.offsets = grow(this.offsets, cap, 1);
    this.vids = grow(this.vids, cap, 1);
    this.radius = grow(this.radius, cap, 1);
  }

  /** Appends a row (code copied from `code`); returns its row number. */
  append(offset: number, vid: number, radius: number, code: Uint8Array): number {
    this.reserve(this.size + 1);
    const r = this.size++;
    this.codes.set(code, r * this.codeBytes);
    this.offsets[r] = offset;
    this.vids[r] = vid;
    this.radius[r] = radius;
    return r;
  }

  /** Removes row `row` (the last row moves into it); returns the offset now at `row`, or -1. */
  removeRow(row: number): number {
    const last = --this.size;
    if (row === last) return -1;
    const c = this.codeBytes;
    this.codes.copyWithin(row * c, last * c, (last + 1) * c);
    this.offsets[row] = this.offsets[last];
    this.vids[row] = this.vids[last];
    this.radius[row] = this.radius[last];
    return this.offsets[row];
  }

  /** Row of `offset`, or -1 (linear scan of the offsets). */
  find(offset: number): number {
    return this.offsets.subarray(0, this.size).indexOf(offset);
  }

  /** The code of row `r` (a view). */
  code(r: number): Uint8Array {
    return this.codes.subarray(r * this.codeBytes, (r + 1) * this.codeBytes);
  }

  /** Resident bytes of the live rows (codes, offsets, vector ids, radii). */
  get bytes(): number {
    return this.size * (this.codeBytes + 12);
  }
}
