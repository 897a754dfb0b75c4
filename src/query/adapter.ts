/**
 * Query-side adapters on frozen embeddings (after Chroma's embedding adapters): a map applied to
 * a query vector only, q' = normalise(W q) with W = I + U V^T (rank r, U and V d x r), so stored
 * vectors and indexes never change. W starts at the identity (U = 0, V seeded random, as LoRA
 * starts) and is trained with a contrastive (InfoNCE) loss on a collection's own image-caption
 * pairs, with weight decay on U and V pulling W back towards the identity. One adapter per
 * direction: t2i maps caption queries searching images, i2t image queries searching captions.
 *
 * Why low rank rather than a full d x d matrix: a full matrix has d^2 parameters (590,000 at
 * d = 768) against a few hundred or thousand pairs, and each full-batch step costs about
 * 4 * n * d^2 multiply-adds (seconds per step in plain JS). At rank r the step costs about
 * 4 * n * d * r + n * m * r (with the n x m cosine matrix of the frozen vectors computed once), so
 * training takes seconds, and the adapter can only move queries within an r-dimensional subspace.
 *
 * Everything here is plain TypeScript on Float32Arrays (full-batch Adam).
 */
import { ClipdbError } from "../core/errors.js";
import { seededRandom } from "../index/kmeans.js";

/** A trained adapter: W = I + U V^T, with `u` and `v` each `dim * rank` values, row-major (row = input dimension). */
export interface Adapter {
  dim: number;
  rank: number;
  u: Float32Array;
  v: Float32Array;
}

/**
 * Applies the adapter to each row of `qs` (n * dim) and L2-normalises the result:
 * q' = normalise(q + U (V^T q)). Returns a new array. Cost: 2 * n * dim * rank multiply-adds.
 */
export function applyAdapter(a: Adapter, qs: Float32Array): Float32Array {
  const { dim, rank, u, v } = a;
  if (qs.length % dim !== 0) throw new ClipdbError("DIM_MISMATCH", { expected: `a multiple of ${dim}`, got: qs.length, where: "adapter input" });
  const n = qs.length / dim;
  const out = new Float32Array(qs.length);
  const t = new Float64Array(rank);
  for (let i = 0; i < n; i++) {
    const qo = i * dim;
    t.fill(0);
    for (let c = 0; c < dim; c++) {
      const x = qs[qo + c];
      for (let k = 0; k < rank; k++) t[k] += v[c * rank + k] * x;
    }
    let ss = 0;
    for (let r = 0; r < dim; r++) {
      let s = qs[qo + r];
      for (let k = 0; k < rank; k++) s += u[r * rank + k] * t[k];
      out[qo + r] = s;
      ss += s * s;
    }
    const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    for (let r = 0; r < dim; r++) out[qo + r] *= inv;
  }
  return out;
}

/** Hyper-parameters of {@link trainAdapter}. */
export interface TrainOptions {
  /** Rank r of W - I; default 32. Higher fits more (and overfits more). */
  rank?: number;
  /** Softmax temperature of the InfoNCE loss; default 0.01, the temperature CLIP itself was trained at (logit scale 100). Higher (0.05) measured worse on Flickr30k: it optimises a softer ranking than the one search uses. */
  temperature?: number;
  /** Weight decay towards the identity: (decay / 2) * (||U||^2 + ||V||^2) added to the mean loss; default 0.01. */
  decay?: number;
  /** Adam learning rate; default 0.003. */
  lr?: number;
  /** Most full-batch steps; default 500. */
  steps?: number;
  /** Validation is checked every this many steps; default 5. */
  every?: number;
  /** Stop when the validation loss has not improved for this many checks; default 10. */
  patience?: number;
  /** Seed of V's initialisation; default 1. */
  seed?: number;
}

/**
 * Training data of one direction: query vectors, target vectors, and for each query the indexes
 * of its correct targets. Queries are the rows of `q` (nq * dim); targets the rows of `x`.
 */
export interface ContrastiveSet {
  q: Float32Array;
  x: Float32Array;
  positives: number[][];
}

/** What training did. */
export interface TrainReport {
  steps: number;
  bestStep: number;
  trainLoss: number;
  valLoss: number;
  /** Validation loss of the identity (before training). */
  valLoss0: number;
  /** ||U V^T||_F = ||W - I||_F of the kept adapter. */
  drift: number;
}

/** Rows m x k times (rows n x k) transposed: m x n. */
function abT(a: Float32Array, m: number, b: Float32Array, n: number, k: number, out = new Float32Array(m * n)): Float32Array {
  for (let i = 0; i < m; i++) {
    const ao = i * k;
    for (let j = 0; j < n; j++) {
      const bo = j * k;
      let s = 0;
      for (let c = 0; c < k; c++) s += a[ao + c] * b[bo + c];
      out[i * n + j] = s;
    }
  }
  return out;
}

/** Rows m x k times k x r (row-major): m x r. */
function ab(a: Float32Array | Float64Array, m: number, b: Float32Array | Float64Array, k: number, r: number): Float64Array {
  const out = new Float64Array(m * r);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < k; c++) {
      const x = a[i * k + c];
      if (x === 0) continue;
      const bo = c * r;
      const oo = i * r;
      for (let t = 0; t < r; t++) out[oo + t] += x * b[bo + t];
    }
  }
  return out;
}

/** (rows m x k) transposed times rows m x r: k x r, added into `out`. */
function aTbAdd(a: Float32Array | Float64Array, m: number, k: number, b: Float64Array, r: number, out: Float64Array, scale = 1): void {
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < k; c++) {
      const x = a[i * k + c] * scale;
      if (x === 0) continue;
      const oo = c * r;
      const bo = i * r;
      for (let t = 0; t < r; t++) out[oo + t] += x * b[bo + t];
    }
  }
}

/** A contrastive set with its frozen cosines q_i . x_j computed once. */
interface Prepared extends ContrastiveSet {
  nq: number;
  nx: number;
  qx: Float32Array;
  qq: Float64Array;
  samples: number;
}

function prepare(set: ContrastiveSet, dim: number): Prepared {
  const nq = set.q.length / dim;
  const nx = set.x.length / dim;
  const qq = new Float64Array(nq);
  for (let i = 0; i < nq; i++) for (let c = 0; c < dim; c++) qq[i] += set.q[i * dim + c] ** 2;
  let samples = 0;
  for (const p of set.positives) samples += p.length;
  return { ...set, nq, nx, qx: abT(set.q, nq, set.x, nx, dim), qq, samples };
}

/**
 * The mean InfoNCE loss of W = I + U V^T on a set and, when `grads` is given, its gradients with
 * respect to U and V added into them. For each (query, positive) sample the softmax runs over the
 * positive and every target that is not a positive of that query (other positives are masked out).
 */
function lossAndGrad(u: Float64Array, v: Float64Array, dim: number, rank: number, p: Prepared, tau: number, grads?: { u: Float64Array; v: Float64Array }): number {
  const { nq, nx } = p;
  if (!p.samples) return 0;
  const a = ab(p.q, nq, v, dim, rank); // a_i = V^T q_i
  const qu = ab(p.q, nq, u, dim, rank); // U^T q_i
  const xu = ab(p.x, nx, u, dim, rank); // U^T x_j
  const utu = new Float64Array(rank * rank);
  aTbAdd(u, dim, rank, u, rank, utu);
  const norm = new Float64Array(nq);
  const s = new Float64Array(nq * nx);
  for (let i = 0; i < nq; i++) {
    let n2 = p.qq[i];
    for (let t = 0; t < rank; t++) {
      n2 += 2 * qu[i * rank + t] * a[i * rank + t];
      let w = 0;
      for (let t2 = 0; t2 < rank; t2++) w += utu[t * rank + t2] * a[i * rank + t2];
      n2 += a[i * rank + t] * w;
    }
    norm[i] = Math.sqrt(Math.max(n2, 1e-12));
    for (let j = 0; j < nx; j++) {
      let d = p.qx[i * nx + j];
      for (let t = 0; t < rank; t++) d += a[i * rank + t] * xu[j * rank + t];
      s[i * nx + j] = d / norm[i];
    }
  }
  let loss = 0;
  const g = grads ? new Float64Array(nq * nx) : undefined;
  const isPos = new Uint8Array(nx);
  const e = new Float64Array(nx);
  for (let i = 0; i < nq; i++) {
    const pos = p.positives[i];
    if (!pos.length) continue;
    const row = i * nx;
    for (const k of pos) isPos[k] = 1;
    let max = -Infinity;
    for (let j = 0; j < nx; j++) max = Math.max(max, s[row + j] / tau);
    let negSum = 0;
    for (let j = 0; j < nx; j++) {
      e[j] = Math.exp(s[row + j] / tau - max);
      if (!isPos[j]) negSum += e[j];
    }
    for (const k of pos) {
      const denom = e[k] + negSum;
      loss -= Math.log(e[k] / denom);
      if (g) {
        g[row + k] += (e[k] / denom - 1) / tau / p.samples;
        for (let j = 0; j < nx; j++) if (!isPos[j]) g[row + j] += e[j] / denom / tau / p.samples;
      }
    }
    for (const k of pos) isPos[k] = 0;
  }
  if (!grads || !g) return loss / p.samples;
  // With u_i = q_i + U a_i, z_i = u_i / |u_i|, s_ij = z_i . x_j and dz_i = sum_j g_ij x_j:
  // du_i = (dz_i - c_i z_i) / |u_i| with c_i = dz_i . z_i = sum_j g_ij s_ij;
  // dL/dU = sum_i du_i a_i^T = X^T M - Q^T N - U (A^T N), M_j = sum_i g_ij a_i / |u_i|, N_i = c_i a_i / |u_i|^2;
  // dL/dV = Q^T E with E_i = U^T du_i = (sum_j g_ij U^T x_j - c_i (U^T q_i + U^T U a_i) / |u_i|) / |u_i|.
  const m = new Float64Array(nx * rank);
  const nn = new Float64Array(nq * rank);
  const ee = new Float64Array(nq * rank);
  for (let i = 0; i < nq; i++) {
    const row = i * nx;
    let c = 0;
    for (let j = 0; j < nx; j++) c += g[row + j] * s[row + j];
    const inv = 1 / norm[i];
    for (let j = 0; j < nx; j++) {
      const gij = g[row + j] * inv;
      if (gij === 0) continue;
      for (let t = 0; t < rank; t++) {
        m[j * rank + t] += gij * a[i * rank + t];
        ee[i * rank + t] += gij * xu[j * rank + t];
      }
    }
    for (let t = 0; t < rank; t++) {
      nn[i * rank + t] = c * a[i * rank + t] * inv * inv;
      let uz = qu[i * rank + t];
      for (let t2 = 0; t2 < rank; t2++) uz += utu[t * rank + t2] * a[i * rank + t2];
      ee[i * rank + t] -= c * uz * inv * inv;
    }
  }
  aTbAdd(p.x, nx, dim, m, rank, grads.u);
  aTbAdd(p.q, nq, dim, nn, rank, grads.u, -1);
  const atn = new Float64Array(rank * rank);
  aTbAdd(a, nq, rank, nn, rank, atn);
  const uatn = ab(u, dim, atn, rank, rank);
  for (let k = 0; k < dim * rank; k++) grads.u[k] -= uatn[k];
  aTbAdd(p.q, nq, dim, ee, rank, grads.v);
  return loss / p.samples;
}

/** The loss of (U, V) on a set; exported for the gradient check in the tests. */
export function adapterLoss(a: Adapter, set: ContrastiveSet, temperature = 0.05): { loss: number; du: Float64Array; dv: Float64Array } {
  const du = new Float64Array(a.dim * a.rank);
  const dv = new Float64Array(a.dim * a.rank);
  const loss = lossAndGrad(Float64Array.from(a.u), Float64Array.from(a.v), a.dim, a.rank, prepare(set, a.dim), temperature, { u: du, v: dv });
  return { loss, du, dv };
}

/**
 * Trains an adapter from the identity with full-batch Adam on `fit`, checking the loss on `val`
 * every `every` steps and keeping the adapter of the best validation loss (early stopping; the
 * identity itself when training never beats it). The loss is mean InfoNCE plus the weight decay.
 */
export function trainAdapter(dim: number, fit: ContrastiveSet, val: ContrastiveSet, opts: TrainOptions = {}): { adapter: Adapter; report: TrainReport } {
  const rank = Math.max(1, Math.min(dim, opts.rank ?? 32));
  const tau = opts.temperature ?? 0.01;
  const decay = opts.decay ?? 0.01;
  const lr = opts.lr ?? 0.003;
  const steps = opts.steps ?? 500;
  const every = opts.every ?? 5;
  const patience = opts.patience ?? 10;
  const pf = prepare(fit, dim);
  const pv = prepare(val, dim);
  const size = dim * rank;
  const u = new Float64Array(size);
  const v = new Float64Array(size);
  const rand = seededRandom(opts.seed ?? 1);
  // V ~ N(0, 1/d) (Box-Muller), U = 0: W = I at the start.
  for (let k = 0; k < size; k++) v[k] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()) / Math.sqrt(dim);
  const params = [u, v];
  const mom = params.map(() => new Float64Array(size));
  const vel = params.map(() => new Float64Array(size));
  const grads = { u: new Float64Array(size), v: new Float64Array(size) };
  const b1 = 0.9;
  const b2 = 0.999;
  const valLoss0 = lossAndGrad(u, v, dim, rank, pv, tau);
  let best = { loss: valLoss0, step: 0, u: Float64Array.from(u), v: Float64Array.from(v) };
  let trainLoss = NaN;
  let bad = 0;
  let t = 0;
  for (t = 1; t <= steps; t++) {
    grads.u.fill(0);
    grads.v.fill(0);
    trainLoss = lossAndGrad(u, v, dim, rank, pf, tau, grads);
    [grads.u, grads.v].forEach((gr, pi) => {
      const w = params[pi];
      const mo = mom[pi];
      const ve = vel[pi];
      for (let k = 0; k < size; k++) {
        const gi = gr[k] + decay * w[k];
        mo[k] = b1 * mo[k] + (1 - b1) * gi;
        ve[k] = b2 * ve[k] + (1 - b2) * gi * gi;
        w[k] -= (lr * (mo[k] / (1 - b1 ** t))) / (Math.sqrt(ve[k] / (1 - b2 ** t)) + 1e-8);
      }
    });
    if (t % every === 0) {
      const vl = lossAndGrad(u, v, dim, rank, pv, tau);
      if (vl < best.loss - 1e-6) {
        best = { loss: vl, step: t, u: Float64Array.from(u), v: Float64Array.from(v) };
        bad = 0;
      } else if (++bad >= patience) break;
    }
  }
  // ||U V^T||_F^2 = trace((U^T U)(V^T V)).
  const utu = new Float64Array(rank * rank);
  const vtv = new Float64Array(rank * rank);
  aTbAdd(best.u, dim, rank, best.u, rank, utu);
  aTbAdd(best.v, dim, rank, best.v, rank, vtv);
  let drift = 0;
  for (let k = 0; k < rank * rank; k++) drift += utu[k] * vtv[k];
  return {
    adapter: { dim, rank, u: Float32Array.from(best.u), v: Float32Array.from(best.v) },
    report: { steps: Math.min(t, steps), bestStep: best.step, trainLoss, valLoss: best.loss, valLoss0, drift: Math.sqrt(Math.max(0, drift)) },
  };
}

/**
 * Rank (0-based) of the best-ranked correct target of each query among all rows of `gallery`
 * (ties count against the query: a correct target is ranked below every target of equal score).
 */
export function firstHitRanks(q: Float32Array, gallery: Float32Array, dim: number, positives: number[][]): Int32Array {
  const nq = q.length / dim;
  const ng = gallery.length / dim;
  const s = abT(q, nq, gallery, ng, dim);
  const ranks = new Int32Array(nq);
  for (let i = 0; i < nq; i++) {
    const row = i * ng;
    let bestPos = -Infinity;
    for (const p of positives[i]) bestPos = Math.max(bestPos, s[row + p]);
    const pos = new Set(positives[i]);
    let above = 0;
    for (let j = 0; j < ng; j++) if (!pos.has(j) && s[row + j] >= bestPos) above++;
    ranks[i] = above;
  }
  return ranks;
}

/** Recall@k from first-hit ranks: the fraction of queries whose first correct target is within the first k. */
export function recallFromRanks(ranks: Int32Array, k: number): number {
  let hits = 0;
  for (const r of ranks) if (r < k) hits++;
  return ranks.length ? hits / ranks.length : 0;
}

/** A paired bootstrap interval of the change in Recall@1. */
export interface BootstrapInterval {
  /** After minus before, on the queries themselves. */
  delta: number;
  /** 2.5th and 97.5th percentiles of the resampled deltas (a 95% interval). */
  lo: number;
  hi: number;
  resamples: number;
}

/**
 * Paired bootstrap over queries of R@1(after) - R@1(before): the queries are resampled with
 * replacement `resamples` times (default 2000, seeded), each resample's delta computed on the same
 * queries for both, and the 2.5th / 97.5th percentiles reported.
 */
export function pairedBootstrapR1(before: Int32Array, after: Int32Array, resamples = 2000, seed = 1): BootstrapInterval {
  const n = before.length;
  const d = new Int8Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    d[i] = (after[i] === 0 ? 1 : 0) - (before[i] === 0 ? 1 : 0);
    sum += d[i];
  }
  const rand = seededRandom(seed);
  const deltas = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[Math.floor(rand() * n)];
    deltas[b] = n ? s / n : 0;
  }
  deltas.sort();
  const at = (p: number) => deltas[Math.min(resamples - 1, Math.max(0, Math.floor(p * resamples)))];
  return { delta: n ? sum / n : 0, lo: at(0.025), hi: at(0.975), resamples };
}

/**
 * Splits the images of a set of pairs into held-out and training images, seeded: every pair of a
 * held-out image is held out, so no caption of a held-out image is ever trained on.
 * Returns the held-out image offsets. `fraction` in (0, 1); at least one image on each side.
 */
export function holdOutImages(images: ArrayLike<number>, fraction: number, seed: number): Set<number> {
  if (!(fraction > 0 && fraction < 1)) throw new ClipdbError("INVALID_ARGUMENT", { name: "holdout", reason: `must be between 0 and 1 (exclusive), got ${fraction}` });
  const distinct = [...new Set(Array.from(images))].sort((a, b) => a - b);
  const rand = seededRandom(seed);
  for (let i = distinct.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [distinct[i], distinct[j]] = [distinct[j], distinct[i]];
  }
  const n = Math.min(distinct.length - 1, Math.max(1, Math.round(fraction * distinct.length)));
  return new Set(distinct.slice(0, n));
}
