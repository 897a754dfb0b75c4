/**
 * Exact top-k from compressed codes. Each code's approximate score comes with a provable error
 * bound (the codec's slack plus ||q|| times the code's radius, by Cauchy-Schwarz), so
 * `upper = approx + bound` can never be below the true score. Candidates are re-scored in float32
 * (read from the index file) in decreasing `upper` order, and re-scoring stops once the next
 * `upper` is below the current k-th true score: nothing left can enter the top-k, so the result is
 * the exact top-k (ties by offset), equal to a float32 brute force.
 */
import type { TopK } from "../core/topk.js";
import type { VectorFile } from "./vecfile.js";

/**
 * Margin added to every bound: covers float64 rounding of the approximations and the float32
 * rounding of the scores kept in TopK (both far below 1e-6 for unit vectors).
 */
export const BOUND_EPS = 1e-6;

/** A growable pool of candidates: upper bound, vector id, offset and a caller's reference. */
export class Pool {
  upper: Float64Array;
  vid: Uint32Array;
  off: Uint32Array;
  ref: Uint32Array;
  n = 0;

  constructor(capacity = 64) {
    this.upper = new Float64Array(capacity);
    this.vid = new Uint32Array(capacity);
    this.off = new Uint32Array(capacity);
    this.ref = new Uint32Array(capacity);
  }

  push(upper: number, vid: number, off: number, ref = 0): void {
    if (this.n === this.upper.length) {
      const grow = <T extends Float64Array | Uint32Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.upper = grow(this.upper);
      this.vid = grow(this.vid);
      this.off = grow(this.off);
      this.ref = grow(this.ref);
    }
    this.ref[this.n] = ref;
    this.upper[this.n] = upper;
    this.vid[this.n] = vid;
    this.off[this.n++] = off;
  }

  clear(): void {
    this.n = 0;
  }
}

/**
 * Re-scores pool candidates in float32 (best upper bound first) into `top` until no remaining
 * candidate can enter it. Returns the number re-scored. `tighten(ref)`: a smaller upper bound of
 * one candidate, computed only for those reached (a candidate it rules out is not read).
 */
export function rescore(pool: Pool, q: Float32Array, vf: VectorFile, top: TopK, tighten?: (ref: number) => number): number {
  const order = new Uint32Array(pool.n);
  for (let i = 0; i < pool.n; i++) order[i] = i;
  order.sort((a, b) => pool.upper[b] - pool.upper[a]);
  let done = 0;
  for (const i of order) {
    if (top.size === top.k && pool.upper[i] < top.threshold - BOUND_EPS) break;
    const off = pool.off[i];
    if (tighten && top.size === top.k && tighten(pool.ref[i]) < top.threshold - BOUND_EPS) continue;
    top.push(off, Math.fround(vf.dot(pool.vid[i], q)));
    done++;
  }
  return done;
}

/** The k-th largest of `xs[0 .. n)` (-Infinity when n < k); `xs` is reordered. */
export function kthLargest(xs: Float64Array, n: number, k: number): number {
  if (k < 1 || n < k) return -Infinity;
  let lo = 0;
  let hi = n - 1;
  const want = k - 1;
  while (lo < hi) {
    const p = xs[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (xs[i] > p) i++;
      while (xs[j] < p) j--;
      if (i <= j) {
        const t = xs[i];
        xs[i] = xs[j];
        xs[j] = t;
        i++;
        j--;
      }
    }
    if (want <= j) hi = j;
    else if (want >= i) lo = i;
    else return xs[want];
  }
  return xs[want];
}
