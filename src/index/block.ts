/**
 * A growable contiguous block of (offset, vector) rows and the exact top-k scan over it. Flat is
 * one block; IVF's inverted lists are one block each. Both scan through `scanBlock`, which runs the
 * SIMD kernel and makes the result exact and deterministic (see its TSDoc).
 */
import type { TopK } from "../core/topk.js";
import { KERNEL_EPS, TINY_BLOCK_ROWS, gatherRows, kernelTop, rowDot } from "./kernel.js";

/** Options of one block scan. */
export interface ScanOptions {
  /** Keeps only offsets for which it returns true. */
  allow?: (offset: number) => boolean;
  /** Native threads for the kernel; default 1. */
  threads?: number;
  /**
   * Offsets already pushed into the same TopK (IVF with spill stores a vector in several lists);
   * a duplicate is skipped, and every pushed offset is added.
   */
  seen?: Set<number>;
}

/**
 * Rows of `dim` floats with their offsets, stored contiguously (`data` always starts at byte 0 of
 * its own buffer, as the kernel requires). Capacity grows by doubling; removal swaps the last
 * row into the hole, so the block stays dense.
 */
export class VectorBlock {
  /** Row-major vectors, `capacity * dim` floats; rows `[0, size)` are live. */
  data: Float32Array;
  /** Offset of each row; entries `[0, size)` are live. */
  offsets: Uint32Array;
  /** Number of live rows. */
  size = 0;

  /** `capacity`: rows to allocate up front; default 0 (grows on demand). */
  constructor(
    readonly dim: number,
    capacity = 0,
  ) {
    this.data = allocFloats(capacity * dim);
    this.offsets = new Uint32Array(capacity);
  }

  /** A block of exactly `size` rows with uninitialised contents, for the caller to fill (file loads). */
  static sized(dim: number, size: number): VectorBlock {
    const b = new VectorBlock(dim, size);
    b.size = size;
    return b;
  }

  /**
   * A block whose offsets are known but whose vectors are not read yet (lazy file loads): `size`
   * is offsets.length and `data` is empty until the caller assigns it. Never scan it before that.
   */
  static withOffsets(dim: number, offsets: Uint32Array): VectorBlock {
    const b = new VectorBlock(dim);
    b.offsets = offsets;
    b.size = offsets.length;
    return b;
  }

  /** Number of rows allocated. */
  get capacity(): number {
    return this.offsets.length;
  }

  /**
   * Makes room for at least `rows` rows: doubling (so appends are amortised O(dim)), or exactly
   * `rows` with `exact` (bulk adds that know their final size, so no memory is left unused).
   */
  reserve(rows: number, exact = false): void {
    if (rows <= this.capacity) return;
    const cap = exact ? rows : Math.max(rows, this.capacity * 2, 16);
    const data = allocFloats(cap * this.dim);
    data.set(this.data.subarray(0, this.size * this.dim));
    const offsets = new Uint32Array(cap);
    offsets.set(this.offsets.subarray(0, this.size));
    this.data = data;
    this.offsets = offsets;
  }

  /** Appends one row copied from `xs[xRow * dim ..]`; returns its row number. */
  append(offset: number, xs: Float32Array, xRow: number): number {
    this.reserve(this.size + 1);
    const r = this.size++;
    this.data.set(xs.subarray(xRow * this.dim, (xRow + 1) * this.dim), r * this.dim);
    this.offsets[r] = offset;
    return r;
  }

  /** Overwrites the vector of an existing row with `xs[xRow * dim ..]`. */
  overwrite(row: number, xs: Float32Array, xRow: number): void {
    this.data.set(xs.subarray(xRow * this.dim, (xRow + 1) * this.dim), row * this.dim);
  }

  /**
   * Removes row `row` by moving the last row into it. Returns the offset that now sits at `row`,
   * or -1 when the removed row was the last one.
   */
  removeRow(row: number): number {
    const last = --this.size;
    if (row === last) return -1;
    const d = this.dim;
    this.data.copyWithin(row * d, last * d, (last + 1) * d);
    this.offsets[row] = this.offsets[last];
    return this.offsets[row];
  }

  /** Row number of `offset`, or -1 (linear scan of the offsets, native speed). */
  find(offset: number): number {
    const i = this.offsets.subarray(0, this.size).indexOf(offset);
    return i;
  }

  /** A view of one row's vector (valid until the block grows). */
  row(r: number): Float32Array {
    return this.data.subarray(r * this.dim, (r + 1) * this.dim);
  }

  /** Exact top-k of this block into `top`; see `scanBlock`. */
  scan(q: Float32Array, top: TopK, opts: ScanOptions = {}): number {
    return scanBlock(this.data, this.size, this.dim, this.offsets, q, top, opts);
  }
}

/**
 * A Float32Array of `n` values that owns its buffer from byte 0 (as the kernel requires), without
 * the zero-fill of `new Float32Array` (it matters at 2 GB: about 0.4 s). Contents are unspecified.
 */
export function allocFloats(n: number): Float32Array {
  if (n === 0) return new Float32Array(0);
  return new Float32Array(Buffer.allocUnsafeSlow(n * 4).buffer, 0, n);
}

/**
 * Collects rows from one or more blocks into a new contiguous block, then scans it exactly. Used
 * for filters with an explicit candidate list: cost proportional to the candidates, not the index.
 */
export class RowGather {
  private data: Float32Array;
  private offs: Uint32Array;
  private n = 0;

  /** `capacity`: the most rows that will be added. */
  constructor(
    readonly dim: number,
    capacity: number,
  ) {
    this.data = allocFloats(capacity * dim);
    this.offs = new Uint32Array(capacity);
  }

  /** Number of rows collected. */
  get size(): number {
    return this.n;
  }

  /** Adds row `row` of `src` under `offset`. */
  add(src: Float32Array, row: number, offset: number): void {
    const d = this.dim;
    this.data.set(src.subarray(row * d, (row + 1) * d), this.n * d);
    this.offs[this.n++] = offset;
  }

  /** Exact top-k of the collected rows into `top`; returns vectors scored. */
  scan(q: Float32Array, top: TopK, threads = 1): number {
    return scanBlock(this.data, this.n, this.dim, this.offs, q, top, { threads });
  }
}

/**
 * Pushes into `top` every row of the block that can be among the block's best `top.k` (after the
 * `allow` filter), with its exact inner product (float64, rounded to float32). Returns the number
 * of vectors scored.
 *
 * How it stays exact with a float32 kernel: the kernel returns the best `want` rows (k + 8, or 4k
 * + 32 with a filter). If the last of them is worse than the k-th kept one by more than the
 * kernel's error (`KERNEL_EPS`), no row outside could tie or beat it; otherwise (ties at the
 * boundary) `want` grows 4x and the kernel runs again. A filter that keeps fewer than k of the
 * fetched rows makes the next pass fetch twice what the observed pass rate needs, or, when that
 * would be over 1/8 of the block, gathers the allowed rows and scans just those; so exactly
 * min(k, allowed) rows come back. Ties are broken by offset inside `TopK`, so results do not
 * depend on the kernel's order.
 */
export function scanBlock(
  data: Float32Array,
  rows: number,
  dim: number,
  offsets: Uint32Array,
  q: Float32Array,
  top: TopK,
  opts: ScanOptions = {},
): number {
  const k = top.k;
  if (k === 0 || rows === 0) return 0;
  const { allow, seen } = opts;
  if (rows <= TINY_BLOCK_ROWS) {
    for (let r = 0; r < rows; r++) {
      const off = offsets[r];
      if (allow && !allow(off)) continue;
      pushOnce(top, seen, off, rowDot(data, r, dim, q));
    }
    return rows;
  }
  let want = Math.min(rows, allow ? 4 * k + 32 : k + 8);
  let scanned = 0;
  for (;;) {
    const m = kernelTop(data, rows, dim, q, want, opts.threads ?? 1);
    scanned += rows;
    let kept = 0;
    let kthDist = Infinity;
    for (let i = 0; i < want && kept < k; i++) {
      if (!allow || allow(offsets[m.rows[i]])) {
        kept++;
        if (kept === k) kthDist = m.dists[i];
      }
    }
    const complete = want === rows;
    if (complete || (kept >= k && m.dists[want - 1] > kthDist + KERNEL_EPS)) {
      pushMatches(data, dim, offsets, q, m, want, top, opts);
      return scanned;
    }
    if (allow && kept < k) {
      // Fetch enough for k survivors at the observed pass rate (twice over); when that is a large
      // part of the block, gathering the allowed rows is cheaper than scanning it again.
      const need = kept === 0 ? Infinity : Math.ceil(((want * k) / kept) * 2);
      if (need * 8 >= rows) return scanned + scanAllowed(data, rows, dim, offsets, q, top, opts);
      want = Math.min(rows, need);
      continue;
    }
    want = Math.min(rows, want * 4);
  }
}

/** Gathers the allowed rows of a block and scans them exactly (no filter left to apply). */
function scanAllowed(data: Float32Array, rows: number, dim: number, offsets: Uint32Array, q: Float32Array, top: TopK, opts: ScanOptions): number {
  const allow = opts.allow!;
  const picked = new Uint32Array(rows);
  let n = 0;
  for (let r = 0; r < rows; r++) if (allow(offsets[r])) picked[n++] = r;
  if (n === 0) return 0;
  const sub = gatherRows(data, dim, picked, n);
  const subOffsets = new Uint32Array(n);
  for (let i = 0; i < n; i++) subOffsets[i] = offsets[picked[i]];
  return scanBlock(sub, n, dim, subOffsets, q, top, { threads: opts.threads, seen: opts.seen });
}

/** Pushes kernel matches (best first) with exact scores, skipping those that cannot enter `top`. */
function pushMatches(data: Float32Array, dim: number, offsets: Uint32Array, q: Float32Array, m: { rows: Uint32Array; dists: Float32Array }, want: number, top: TopK, opts: ScanOptions): void {
  const { allow, seen } = opts;
  for (let i = 0; i < want; i++) {
    // Matches come in increasing distance: once one is clearly below the threshold, all are.
    if (top.size === top.k && 1 - m.dists[i] < top.threshold - KERNEL_EPS) break;
    const r = m.rows[i];
    const off = offsets[r];
    if (allow && !allow(off)) continue;
    pushOnce(top, seen, off, rowDot(data, r, dim, q));
  }
}

/** Pushes one candidate unless `seen` says this offset was pushed already. */
function pushOnce(top: TopK, seen: Set<number> | undefined, off: number, score: number): void {
  if (seen) {
    if (seen.has(off)) return;
    seen.add(off);
  }
  // TopK keeps float32 scores: round first, so equal float32 scores tie-break by offset.
  top.push(off, Math.fround(score));
}
