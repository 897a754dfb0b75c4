/**
 * PQ<m> (Faiss `ProductQuantizer`, 8 bits per sub-quantiser): the vector is cut into m
 * sub-vectors of dim / m values, and each is replaced by the nearest of 256 centroids learnt by
 * k-means on that sub-space, so a code is m bytes (PQ64 at 512-d: 64 bytes, 1/32 of float32).
 * Scores are asymmetric (ADC): per query, a table of q_j . centroid_j,c (m * 256 floats), then
 * each code's score is m table look-ups. PQ has no per-code error bound here; searches that must
 * be exact re-score in float32 (`refine`).
 *
 * The nearest-centroid steps (training and encoding) are plain JS loops over
 * argmin ||c||^2 / 2 - x . c: 256 * dim multiply-adds per vector, about 0.25 ms per 512-d vector
 * on the 2-core dev VM. usearch's exactSearch was measured 15 us per query at 8 dimensions (its
 * per-query overhead dominates), 60x slower here. Encoding is the slow part of building IVF-PQ.
 */
import { ClipdbError } from "../core/errors.js";
import type { Codec, Prepared } from "./codec.js";
import { seededRandom } from "./kmeans.js";

const KSUB = 256;
/** Training rows used per sub-space (Faiss warns below 39 per centroid). */
const TRAIN_ROWS = 40 * KSUB;
const NITER = 10;

/** A query prepared for PQ: its ADC table. */
export interface PqQuery extends Prepared {
  table: Float32Array;
}

/** Product quantiser with m sub-quantisers of 256 centroids. */
export class PqCodec implements Codec {
  readonly kind = "pq" as const;
  readonly codeBytes: number;
  readonly dsub: number;
  /** m * 256 * dsub centroid values (sub-space j, centroid c at (j * 256 + c) * dsub). */
  centroids: Float32Array;
  trained = false;
  readonly maxRadius = Infinity;

  /** `m` must divide `dim` (INVALID_ARGUMENT otherwise). */
  constructor(
    readonly dim: number,
    readonly m: number,
  ) {
    if (!Number.isInteger(m) || m < 1 || dim % m !== 0) {
      throw new ClipdbError("INVALID_ARGUMENT", { name: "PQ m", reason: `m = ${m} must be a positive divisor of the dimension ${dim}`, hint: `Use e.g. PQ${dim / 8} or PQ${dim / 16}.` });
    }
    this.codeBytes = m;
    this.dsub = dim / m;
    this.centroids = new Float32Array(m * KSUB * this.dsub);
  }

  static fromState(dim: number, m: number, s: Float32Array): PqCodec {
    const c = new PqCodec(dim, m);
    c.centroids.set(s.subarray(0, c.centroids.length));
    c.trained = s[c.centroids.length] === 1;
    return c;
  }

  state(): Float32Array {
    const s = new Float32Array(this.centroids.length + 1);
    s.set(this.centroids);
    s[this.centroids.length] = this.trained ? 1 : 0;
    return s;
  }

  /**
   * k-means (L2, 10 iterations, seeded) per sub-space on a sample of at most 10,240 rows. Fewer
   * than 256 rows give a codebook with repeated centroids: valid, but coarse (use 10,000 or more).
   */
  train(xs: Float32Array, n: number): void {
    if (n < 1) throw new ClipdbError("INVALID_ARGUMENT", { name: "train", reason: "PQ needs at least one training vector" });
    const rand = seededRandom(4321);
    const rows = Math.min(n, TRAIN_ROWS);
    const pick = Uint32Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < rows; i++) {
      const j = i + Math.floor(rand() * (n - i));
      [pick[i], pick[j]] = [pick[j], pick[i]];
    }
    const ds = this.dsub;
    const sub = new Float32Array(rows * ds);
    for (let j = 0; j < this.m; j++) {
      for (let i = 0; i < rows; i++) sub.set(xs.subarray(pick[i] * this.dim + j * ds, pick[i] * this.dim + (j + 1) * ds), i * ds);
      this.centroids.set(kmeansL2(sub, rows, ds, rand), j * KSUB * ds);
    }
    this.trained = true;
  }

  encode(xs: Float32Array, n: number, codes: Uint8Array, radius: Float32Array): void {
    const ds = this.dsub;
    const m = this.m;
    const half = halfNorms(this.centroids, m * KSUB, ds);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) codes[i * m + j] = nearest(xs, i * this.dim + j * ds, this.centroids, half, j * KSUB, ds);
    }
    radius.fill(0, 0, n);
  }

  prepare(q: Float32Array): PqQuery {
    const ds = this.dsub;
    const table = new Float32Array(this.m * KSUB);
    const c = this.centroids;
    for (let j = 0; j < this.m; j++) {
      for (let k = 0; k < KSUB; k++) {
        let s = 0;
        const o = (j * KSUB + k) * ds;
        for (let t = 0; t < ds; t++) s += q[j * ds + t] * c[o + t];
        table[j * KSUB + k] = s;
      }
    }
    return { qnorm: NaN, slack: Infinity, table };
  }

  scoreAll(p: Prepared, codes: Uint8Array, rows: number, out: Float64Array): void {
    const table = (p as PqQuery).table;
    const m = this.m;
    for (let r = 0, o = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < m; j++, o++) s += table[j * KSUB + codes[o]];
      out[r] = s;
    }
  }

  score(p: Prepared, codes: Uint8Array, row: number): number {
    const table = (p as PqQuery).table;
    let s = 0;
    for (let j = 0, o = row * this.m; j < this.m; j++, o++) s += table[j * KSUB + codes[o]];
    return s;
  }
}

/** ||c||^2 / 2 of each of `k` centroids of `ds` values. */
function halfNorms(c: Float32Array, k: number, ds: number): Float64Array {
  const h = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = 0;
    for (let t = 0; t < ds; t++) s += c[i * ds + t] * c[i * ds + t];
    h[i] = s / 2;
  }
  return h;
}

/** The centroid (of the 256 from `first`) nearest in L2 to xs[xo .. xo + ds). */
function nearest(xs: Float32Array, xo: number, c: Float32Array, half: Float64Array, first: number, ds: number): number {
  let best = Infinity;
  let bi = 0;
  if (ds === 8) {
    const x0 = xs[xo], x1 = xs[xo + 1], x2 = xs[xo + 2], x3 = xs[xo + 3], x4 = xs[xo + 4], x5 = xs[xo + 5], x6 = xs[xo + 6], x7 = xs[xo + 7];
    for (let k = 0, co = first * 8; k < KSUB; k++, co += 8) {
      const d = half[first + k] - (x0 * c[co] + x1 * c[co + 1] + x2 * c[co + 2] + x3 * c[co + 3] + x4 * c[co + 4] + x5 * c[co + 5] + x6 * c[co + 6] + x7 * c[co + 7]);
      if (d < best) {
        best = d;
        bi = k;
      }
    }
    return bi;
  }
  for (let k = 0, co = first * ds; k < KSUB; k++, co += ds) {
    let dot = 0;
    for (let t = 0; t < ds; t++) dot += xs[xo + t] * c[co + t];
    const d = half[first + k] - dot;
    if (d < best) {
      best = d;
      bi = k;
    }
  }
  return bi;
}

/** Plain L2 k-means of `n` rows of `xs` (dim ds) into 256 centroids; seeded, 10 iterations. */
function kmeansL2(xs: Float32Array, n: number, ds: number, rand: () => number): Float32Array {
  const c = new Float32Array(KSUB * ds);
  for (let i = 0; i < KSUB; i++) {
    const r = Math.floor(rand() * n);
    c.set(xs.subarray(r * ds, (r + 1) * ds), i * ds);
  }
  const sums = new Float64Array(KSUB * ds);
  const counts = new Uint32Array(KSUB);
  for (let it = 0; it < NITER; it++) {
    const half = halfNorms(c, KSUB, ds);
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const l = nearest(xs, i * ds, c, half, 0, ds);
      counts[l]++;
      for (let t = 0; t < ds; t++) sums[l * ds + t] += xs[i * ds + t];
    }
    for (let l = 0; l < KSUB; l++) {
      if (counts[l] === 0) {
        // An empty centroid restarts at a random training row.
        const r = Math.floor(rand() * n);
        c.set(xs.subarray(r * ds, (r + 1) * ds), l * ds);
        continue;
      }
      for (let t = 0; t < ds; t++) c[l * ds + t] = sums[l * ds + t] / counts[l];
    }
  }
  return c;
}
