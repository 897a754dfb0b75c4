/**
 * Spherical k-means for IVF training: k-means++ initialisation with a seeded PRNG, then a bounded
 * number of Lloyd iterations. Assignment runs through the batched SIMD kernel (`nearestRows`), and
 * centroids are L2-normalised means, so "nearest" is "highest inner product".
 */
import { ClipdbError } from "../core/errors.js";
import { kernelTop, nearestRows } from "./kernel.js";

/** Options of `kmeans`. */
export interface KMeansOptions {
  /** Lloyd iterations (stops early when no point changes cluster); default 10, as Faiss's IVF training. */
  niter?: number;
  /** PRNG seed for sampling and k-means++; default 1234. Same seed and data, same centroids. */
  seed?: number;
  /**
   * Training points: a seeded random sample of at most this many vectors; default
   * max(64 * k, 50000). The upper bound that stays useful is 256 * k (Faiss's); more points cost
   * time linearly and change recall little.
   */
  maxPoints?: number;
  /**
   * Points used by the k-means++ seeding (it costs one pass over them per centroid); default
   * min(sample, max(16 * k, 4096)).
   */
  initPoints?: number;
  /** Native threads for the assignment step; default 0 = all cores. */
  threads?: number;
}

/** Result of `kmeans`. */
export interface KMeansResult {
  /** k * dim L2-normalised centroids. */
  centroids: Float32Array;
  /** Points per centroid in the last assignment of the training sample. */
  sizes: Uint32Array;
  /** Lloyd iterations run. */
  iterations: number;
  /** Training points used. */
  points: number;
}

/** A small seeded PRNG (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Clusters the n rows of `xs` (n * dim, L2-normalised) into `k` spherical clusters.
 * Needs n >= k (INVALID_ARGUMENT otherwise). Cost: niter * sample * k * dim multiply-adds on the
 * int8 kernel (about 8 GMAC/s per core here), plus k-means++ seeding over `initPoints`.
 */
export function kmeans(xs: Float32Array, dim: number, k: number, opts: KMeansOptions = {}): KMeansResult {
  const n = xs.length / dim;
  if (!Number.isInteger(k) || k < 1) throw new ClipdbError("INVALID_ARGUMENT", { name: "nlist", reason: `must be an integer >= 1, got ${k}` });
  if (n < k) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "train", reason: `k-means needs at least ${k} training vectors (one per list), got ${n}`, hint: "Add more vectors before training, or use a smaller nlist." });
  }
  const rand = seededRandom(opts.seed ?? 1234);
  const threads = opts.threads ?? 0;
  const m = Math.min(n, opts.maxPoints ?? Math.max(64 * k, 50000));
  const sample = samplePoints(xs, n, dim, m, rand);
  const mi = Math.min(m, opts.initPoints ?? Math.max(16 * k, 4096));
  const centroids = kmeansPlusPlus(sample, mi, dim, k, rand);
  const labels = new Int32Array(m).fill(-1);
  const sizes = new Uint32Array(k);
  const niter = opts.niter ?? 10;
  let it = 0;
  while (it < niter) {
    it++;
    const assigned = nearestRows(centroids, k, dim, sample, m, 1, threads, false);
    let changed = 0;
    for (let i = 0; i < m; i++) {
      if (labels[i] !== assigned[i]) changed++;
      labels[i] = assigned[i];
    }
    updateCentroids(sample, m, dim, labels, centroids, k, sizes, rand);
    if (changed === 0) break;
  }
  return { centroids, sizes, iterations: it, points: m };
}

/** Copies a seeded random sample of m distinct rows (all rows when m == n). */
function samplePoints(xs: Float32Array, n: number, dim: number, m: number, rand: () => number): Float32Array {
  if (m === n) return xs.byteOffset === 0 ? xs : xs.slice();
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const out = new Float32Array(m * dim);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
    out.set(xs.subarray(idx[i] * dim, (idx[i] + 1) * dim), i * dim);
  }
  return out;
}

/**
 * k-means++ seeding over the first `mi` sample rows: each next centroid is drawn with probability
 * proportional to its distance 1 - ip to the nearest centroid chosen so far (for unit vectors the
 * squared Euclidean distance is 2 * (1 - ip)). One kernel pass over the rows per centroid.
 */
function kmeansPlusPlus(sample: Float32Array, mi: number, dim: number, k: number, rand: () => number): Float32Array {
  const pts = sample.subarray(0, mi * dim);
  const c = new Float32Array(k * dim);
  const d = new Float64Array(mi).fill(Infinity);
  let pick = Math.floor(rand() * mi);
  for (let j = 0; j < k; j++) {
    c.set(pts.subarray(pick * dim, (pick + 1) * dim), j * dim);
    if (j === k - 1) break;
    const q = c.slice(j * dim, (j + 1) * dim);
    const m = kernelTop(pts, mi, dim, q, mi);
    let total = 0;
    for (let i = 0; i < mi; i++) {
      const r = m.rows[i];
      const dist = Math.max(0, m.dists[i]);
      if (dist < d[r]) d[r] = dist;
    }
    for (let i = 0; i < mi; i++) total += d[i];
    pick = total > 0 ? drawWeighted(d, total, rand) : Math.floor(rand() * mi);
  }
  return c;
}

/** Index drawn with probability weights[i] / total. */
function drawWeighted(weights: Float64Array, total: number, rand: () => number): number {
  let x = rand() * total;
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i];
    if (x < 0) return i;
  }
  for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
  return 0;
}

/**
 * Sets each centroid to the normalised mean of its points. An empty cluster takes half of the
 * largest one (Faiss's split: the big centroid and the empty one become it plus and minus a small
 * random perturbation), so every list is used.
 */
function updateCentroids(sample: Float32Array, m: number, dim: number, labels: Int32Array, c: Float32Array, k: number, sizes: Uint32Array, rand: () => number): void {
  const sums = new Float64Array(k * dim);
  sizes.fill(0);
  for (let i = 0; i < m; i++) {
    const l = labels[i];
    sizes[l]++;
    const so = l * dim;
    const xo = i * dim;
    for (let t = 0; t < dim; t++) sums[so + t] += sample[xo + t];
  }
  for (let j = 0; j < k; j++) {
    if (sizes[j] === 0) continue;
    let ss = 0;
    for (let t = 0; t < dim; t++) ss += sums[j * dim + t] ** 2;
    if (ss === 0) continue; // points cancel out exactly: keep the previous centroid
    const inv = 1 / Math.sqrt(ss);
    for (let t = 0; t < dim; t++) c[j * dim + t] = sums[j * dim + t] * inv;
  }
  for (let j = 0; j < k; j++) {
    if (sizes[j] > 0) continue;
    let big = 0;
    for (let i = 1; i < k; i++) if (sizes[i] > sizes[big]) big = i;
    const eps = 1 / 1024;
    for (let t = 0; t < dim; t++) {
      const p = eps * (rand() * 2 - 1);
      const v = c[big * dim + t];
      c[j * dim + t] = v + p;
      c[big * dim + t] = v - p;
    }
    normalizeRow(c, j, dim);
    normalizeRow(c, big, dim);
    sizes[j] = sizes[big] >> 1;
    sizes[big] -= sizes[j];
  }
}

function normalizeRow(c: Float32Array, j: number, dim: number): void {
  let ss = 0;
  for (let t = 0; t < dim; t++) ss += c[j * dim + t] ** 2;
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  for (let t = 0; t < dim; t++) c[j * dim + t] *= inv;
}
