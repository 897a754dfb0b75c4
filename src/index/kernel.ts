/**
 * The inner-product kernel every index scans with: usearch's `exactSearch` (SIMD, numkong, float64
 * accumulation) over a contiguous block of float32 rows, wrapped so that callers see row numbers and
 * distances `1 - ip`, plus a batched int8 pre-selection used for bulk assignment (k-means, IVF add).
 *
 * Measured on the 2-core AMD EPYC (AVX2) dev box, 100k x 512: exactSearch 25-29 ms per query,
 * a plain JS loop 83-130 ms, so the JS loop is only used for blocks of a few rows where the
 * call overhead (about 10 us) dominates.
 *
 * Caveat found while measuring: the native `exactSearch` reads the typed arrays from the start
 * of their ArrayBuffer and ignores `byteOffset`. Every block and query handed to it here must
 * therefore own its buffer from byte 0 (`ownsBuffer`). Views with an offset are copied first.
 */
import { exactSearch, MetricKind } from "usearch";
import { ClipdbError } from "../core/errors.js";
import { dot } from "../core/vectors.js";

/**
 * Margin between two kernel distances that is certainly larger than the kernel's rounding error
 * (the distance is float64-accumulated and stored as float32, so its error is about 6e-8).
 */
export const KERNEL_EPS = 1e-6;

/**
 * Blocks of at most this many rows are scored by a plain JS loop instead of the native kernel.
 * Default 8. Below it the native call overhead is larger than the work.
 */
export const TINY_BLOCK_ROWS = 8;

/** Top rows of one kernel call: row numbers and distances `1 - ip`, best (smallest) first. */
export interface RowMatches {
  rows: Uint32Array;
  dists: Float32Array;
}

/** True when `a` starts at byte 0 of its buffer, as the native kernel requires. */
export function ownsBuffer(a: ArrayBufferView): boolean {
  return a.byteOffset === 0;
}

/** Returns `a` itself if it starts at byte 0 of its buffer, else a copy that does. */
export function ownedCopy<T extends Float32Array | Int8Array>(a: T): T {
  return (ownsBuffer(a) ? a : a.slice()) as T;
}

/**
 * Exact top `want` rows of `data[0 .. rows*dim)` for query `q`, by distance `1 - ip`.
 * `want` must be in [1, rows]. `threads`: native threads; default 1, because one scan is
 * memory-bound and the machines this targets have few cores; raise it on big servers.
 * Cost: one pass over `rows * dim` floats plus a partial sort of `rows` entries.
 */
export function kernelTop(data: Float32Array, rows: number, dim: number, q: Float32Array, want: number, threads = 1): RowMatches {
  if (!ownsBuffer(data) || !ownsBuffer(q)) {
    throw new ClipdbError("INTERNAL", { reason: "kernel input does not start at byte 0 of its buffer" });
  }
  const ds = data.length === rows * dim ? data : data.subarray(0, rows * dim);
  const m = exactSearch(ds, q, dim, want, MetricKind.IP, threads);
  const keys = m.keys as BigUint64Array;
  const out = new Uint32Array(keys.length);
  for (let i = 0; i < keys.length; i++) out[i] = Number(keys[i]);
  return { rows: out, dists: m.distances as Float32Array };
}

/** Exact inner product of row `row` of `data` with `q`, accumulated in float64 (plain JS). */
export function rowDot(data: Float32Array, row: number, dim: number, q: Float32Array): number {
  return dot(data, q, dim, row * dim, 0);
}

/** Copies the given rows of `data` into a new contiguous block (which owns its buffer). */
export function gatherRows(data: Float32Array, dim: number, rows: ArrayLike<number>, count = rows.length): Float32Array {
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    const r = rows[i];
    out.set(data.subarray(r * dim, (r + 1) * dim), i * dim);
  }
  return out;
}

/** Queries per native call in `nearestRows`: 256 int8 rows (128 KiB at 512-d) stay in L2 cache. */
const ASSIGN_CHUNK = 256;

/** Extra candidates the int8 pre-selection keeps for the exact re-rank. */
const ASSIGN_SLACK = 4;

/**
 * Batch nearest-row search for bulk work (k-means assignment, IVF add): for each of the `nq`
 * queries in `qs`, the `want` rows of `data` with the highest inner product, best first, ties by
 * smaller row. The scan runs on int8-quantised copies through the SIMD kernel (about 4x faster
 * than float32 here: 8-10 vs 2.6 GMAC/s), keeps `want + 4` candidates, and re-ranks them exactly in
 * float64, so results match an exact search except in near-ties far below int8 resolution.
 * `threads`: native threads; default 0 = all cores. `rerank`: default true; false returns the
 * int8 ranking as is (k-means iterations, where an occasional near-tie swap does not matter).
 * Returns `nq * want` row numbers.
 */
export function nearestRows(data: Float32Array, rows: number, dim: number, qs: Float32Array, nq: number, want: number, threads = 0, rerank = true): Uint32Array {
  want = Math.min(want, rows);
  const out = new Uint32Array(nq * want);
  if (want === 0 || nq === 0) return out;
  const d8 = quantizeGlobal(data.subarray(0, rows * dim));
  const keep = rerank ? Math.min(rows, want + ASSIGN_SLACK) : want;
  const candS = new Float64Array(keep);
  const candR = new Uint32Array(keep);
  for (let q0 = 0; q0 < nq; q0 += ASSIGN_CHUNK) {
    const cn = Math.min(ASSIGN_CHUNK, nq - q0);
    const q8 = quantizeRows(qs.subarray(q0 * dim, (q0 + cn) * dim), dim);
    const m = exactSearch(d8, q8, dim, keep, MetricKind.IP, threads);
    const keys = m.keys as BigUint64Array;
    if (!rerank) {
      for (let i = 0; i < cn * want; i++) out[q0 * want + i] = Number(keys[i]);
      continue;
    }
    for (let j = 0; j < cn; j++) {
      const qi = q0 + j;
      for (let c = 0; c < keep; c++) {
        const r = Number(keys[j * keep + c]);
        candR[c] = r;
        candS[c] = dot(data, qs, dim, r * dim, qi * dim);
      }
      pickBest(candR, candS, keep, want, out, qi * want);
    }
  }
  return out;
}

/** Writes the `want` best of `n` (row, score) candidates into out[at..], best first, ties by row. */
function pickBest(rows: Uint32Array, scores: Float64Array, n: number, want: number, out: Uint32Array, at: number): void {
  for (let w = 0; w < want; w++) {
    let b = -1;
    for (let c = 0; c < n; c++) {
      if (scores[c] === -Infinity) continue;
      if (b < 0 || scores[c] > scores[b] || (scores[c] === scores[b] && rows[c] < rows[b])) b = c;
    }
    out[at + w] = rows[b];
    scores[b] = -Infinity;
  }
}

/** int8 copy of a block with one global scale (ranking of rows for one query is preserved). */
function quantizeGlobal(xs: Float32Array): Int8Array {
  let mx = 0;
  for (let i = 0; i < xs.length; i++) {
    const a = Math.abs(xs[i]);
    if (a > mx) mx = a;
  }
  const s = mx > 0 ? 127 / mx : 1;
  const out = new Int8Array(xs.length);
  // Int8Array stores truncate toward zero; |x * s| <= 127 so nothing wraps.
  for (let i = 0; i < xs.length; i++) out[i] = xs[i] * s;
  return out;
}

/** int8 copy of query rows, each scaled to use the full range (a per-query scale keeps its ranking). */
function quantizeRows(xs: Float32Array, dim: number): Int8Array {
  const out = new Int8Array(xs.length);
  for (let o = 0; o < xs.length; o += dim) {
    let mx = 0;
    for (let i = o; i < o + dim; i++) {
      const a = Math.abs(xs[i]);
      if (a > mx) mx = a;
    }
    const s = mx > 0 ? 127 / mx : 1;
    for (let i = o; i < o + dim; i++) out[i] = xs[i] * s;
  }
  return out;
}

/**
 * Top `want` rows of the int8 block `codes[0 .. rows*dim)` by integer dot product with the int8
 * query `q8` (usearch's SIMD kernel, exact integer sums), best first. Returns the rows and their
 * dot products (exact below 2^24, i.e. for dim <= 1040 at full range). Both arrays must start at
 * byte 0 of their buffers.
 */
export function kernelTopI8(codes: Int8Array, rows: number, dim: number, q8: Int8Array, want: number, threads = 1): { rows: Uint32Array; dots: Float64Array } {
  if (!ownsBuffer(codes) || !ownsBuffer(q8)) {
    throw new ClipdbError("INTERNAL", { reason: "kernel input does not start at byte 0 of its buffer" });
  }
  const ds = codes.length === rows * dim ? codes : codes.subarray(0, rows * dim);
  const m = exactSearch(ds, q8, dim, want, MetricKind.IP, threads);
  const keys = m.keys as BigUint64Array;
  const d = m.distances as Float32Array;
  const out = new Uint32Array(keys.length);
  const dots = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    out[i] = Number(keys[i]);
    dots[i] = 1 - d[i];
  }
  return { rows: out, dots };
}
