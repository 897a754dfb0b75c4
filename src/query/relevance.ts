/**
 * Calibrated relevance (issue 12): a number in [0, 1] beside each hit's cosine, meaning the same
 * across models and collections.
 *
 * The feature is the hit's z-score against its query's own background: the query is scored
 * against a fixed sample of the target modality, and z = (score − mean) / sd of those scores. A
 * cosine of 0.3 is a strong match for one model and noise for another; a z of 4 against the
 * query's own background means the same thing for both.
 *
 * z is mapped to relevance by a curve fitted per collection and per direction (t2i, i2t, i2i,
 * t2t). Relevance is a precision: **of all (query, item) pairs at least this strong, the fraction
 * that are true matches** (one minus the tail false discovery rate, i.e. 1 − q-value), so
 * `minRelevance: 0.8` keeps hits whose cohort is expected to be 80% true matches. Two ways to fit it:
 * - pairs-free ("null-fdr"): pool the z-scores of sample queries of the collection against the
 *   target sample; fit an empirical null (median and IQR of the pool, as Efron's empirical null),
 *   then precision(z) = 1 − P0(Z ≥ z) / P(Z ≥ z) (π0 = 1, conservative). Needs no labels;
 *   it assumes the null tail is Gaussian, so real but unlabelled near-matches count as true.
 * - pairs-based ("pairs"): the same precision, counted on labelled pairs (captions and their
 *   images are true, every other sampled item is false, weighted up to the collection's size).
 *   Stricter: a second image that also fits a caption counts as wrong.
 * Both curves are made monotone (non-decreasing in z) and stored as knots.
 */
import { ClipdbError } from "../core/errors.js";
import { kernelTop, ownedCopy } from "../index/kernel.js";

/**
 * Scores of `q` against every row of `xs` (`dim` each), by the SIMD kernel (one exact top-n
 * call), in row order. `xs` must own its buffer (see ownedCopy).
 */
export function allScores(q: Float32Array, xs: Float32Array, dim: number): Float64Array {
  const n = xs.length / dim;
  const out = new Float64Array(n);
  if (n === 0) return out;
  const m = kernelTop(xs, n, dim, ownedCopy(q), n);
  for (let i = 0; i < m.rows.length; i++) out[m.rows[i]] = 1 - m.dists[i];
  return out;
}

/** A search direction: query modality → target modality. */
export type SearchDirection = "t2i" | "i2t" | "i2i" | "t2t";

/** The fitted z → relevance curve of one direction. */
export interface RelevanceCurve {
  /** "null-fdr" (pairs-free), "pairs" (labelled pairs) or "null-tail" (nothing to fit on: Bonferroni). */
  method: "null-fdr" | "pairs" | "null-tail";
  /** z of each knot, ascending (Z_GRID). */
  z: number[];
  /** Relevance at each knot, non-decreasing; linear in between, clamped outside. */
  r: number[];
  /** Sample queries and (query, item) pairs it was fitted on. */
  queries: number;
  pairs: number;
  /** Empirical null of the pooled z (pairs-free only). */
  null?: { mu: number; sd: number; pi0: number };
}

/** Knots of every curve: z from −2 to 10 in steps of 0.25. */
export const Z_GRID: number[] = Array.from({ length: 49 }, (_, i) => -2 + i * 0.25);

/** Vectors a query's background is scored against, per target modality; default 1000 (0.8M multiply-adds per query at 768-d). */
export const BACKGROUND_SAMPLE = 1000;

/** Sample queries a calibration uses per direction; default 200. */
export const CALIBRATION_QUERIES = 200;

/**
 * Mean and standard deviation of the scores of `q` against the rows of `sample` (`dim` each),
 * leaving out `skip` rows (the query itself, for same-modality searches). sd is at least 1e-6.
 */
export function background(q: Float32Array, sample: Float32Array, dim: number, skip?: (row: number) => boolean): { mu: number; sd: number; n: number } {
  const scores = allScores(q, ownedCopy(sample), dim);
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (let r = 0; r < scores.length; r++) {
    if (skip?.(r)) continue;
    n++;
    sum += scores[r];
    sq += scores[r] * scores[r];
  }
  if (n === 0) return { mu: 0, sd: 1, n };
  const mu = sum / n;
  return { mu, sd: Math.max(1e-6, Math.sqrt(Math.max(0, sq / n - mu * mu))), n };
}

/** The relevance of a z-score under a curve (linear between knots, clamped to the ends). */
export function relevanceAt(curve: RelevanceCurve, z: number): number {
  const { z: zs, r } = curve;
  if (!Number.isFinite(z)) return z > 0 ? r[r.length - 1] : r[0];
  if (z <= zs[0]) return r[0];
  if (z >= zs[zs.length - 1]) return r[r.length - 1];
  const step = zs[1] - zs[0];
  const i = Math.min(zs.length - 2, Math.floor((z - zs[0]) / step));
  const t = (z - zs[i]) / step;
  return r[i] + t * (r[i + 1] - r[i]);
}

/** Standard normal upper tail P(Z ≥ x) (Abramowitz–Stegun 7.1.26 via erfc; error < 1.5e-7). */
export function normalTail(x: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(x) / Math.SQRT2));
  const y = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erfc = y * Math.exp(-(x * x) / 2);
  return x >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/** Makes `r` non-decreasing by pool-adjacent-violators (weights `w`), clamped to [0, 1]. */
function isotonic(r: number[], w: number[]): number[] {
  const blocks: { v: number; w: number; n: number }[] = [];
  for (let i = 0; i < r.length; i++) {
    blocks.push({ v: r[i], w: Math.max(w[i], 1e-12), n: 1 });
    while (blocks.length > 1 && blocks[blocks.length - 2].v > blocks[blocks.length - 1].v) {
      const b = blocks.pop()!;
      const a = blocks.pop()!;
      blocks.push({ v: (a.v * a.w + b.v * b.w) / (a.w + b.w), w: a.w + b.w, n: a.n + b.n });
    }
  }
  const out: number[] = [];
  for (const b of blocks) for (let i = 0; i < b.n; i++) out.push(Math.min(1, Math.max(0, b.v)));
  return out;
}

function quantile(sorted: Float64Array, p: number): number {
  const x = p * (sorted.length - 1);
  const i = Math.floor(x);
  return i + 1 < sorted.length ? sorted[i] + (x - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
}

/**
 * Pairs-free curve from pooled z-scores (every sample query against every background item).
 * Needs at least 50 z-scores, else the "null-tail" curve of `targets` items.
 */
export function fitNullFdr(zs: Float64Array, queries: number, targets: number): RelevanceCurve {
  if (zs.length < 50) return nullTailCurve(targets, queries, zs.length);
  const sorted = Float64Array.from(zs).sort();
  const mu = quantile(sorted, 0.5);
  const sd = Math.max(1e-6, (quantile(sorted, 0.75) - quantile(sorted, 0.25)) / 1.349);
  // π0 (the share of null pairs) is taken as 1: conservative (relevance is then a lower bound on
  // precision), and with a few thousand pooled z of a small collection its estimate is noise that
  // would give every hit of a no-signal model a floor of 1 − π0.
  const pi0 = 1;
  const n = sorted.length;
  const r: number[] = [];
  const w: number[] = [];
  let j = 0;
  for (const z of Z_GRID) {
    while (j < n && sorted[j] < z) j++;
    const above = n - j; // pooled pairs with z' >= z
    const expectedNull = pi0 * n * normalTail((z - mu) / sd);
    // With few pairs above z the ratio is noise: count at least 1 observed, so an empty tail reads as "all null".
    r.push(1 - Math.min(1, expectedNull / Math.max(above, 1, expectedNull)));
    w.push(above + 1);
  }
  return { method: "null-fdr", z: Z_GRID.slice(), r: isotonic(r, w), queries, pairs: n, null: { mu, sd, pi0 } };
}

/**
 * Pairs-based curve: z-scores of true pairs (`pos`) and of sampled other items (`neg`, each
 * standing for `negWeight` items of the collection). precision(z) = P / (P + negWeight·N) among pairs with z' ≥ z.
 */
export function fitPairs(pos: Float64Array, neg: Float64Array, negWeight: number, queries: number): RelevanceCurve {
  const ps = Float64Array.from(pos).sort();
  const ns = Float64Array.from(neg).sort();
  const r: number[] = [];
  const w: number[] = [];
  let i = 0;
  let j = 0;
  for (const z of Z_GRID) {
    while (i < ps.length && ps[i] < z) i++;
    while (j < ns.length && ns[j] < z) j++;
    const p = ps.length - i;
    const q = (ns.length - j) * negWeight;
    r.push(p + q > 0 ? p / (p + q) : NaN);
    w.push(p + (ns.length - j) + 1);
  }
  // Past the last labelled pair, keep the last estimate.
  for (let k = 0; k < r.length; k++) if (Number.isNaN(r[k])) r[k] = k > 0 ? r[k - 1] : 0;
  return { method: "pairs", z: Z_GRID.slice(), r: isotonic(r, w), queries, pairs: pos.length + neg.length };
}

/**
 * The curve used when nothing can be fitted (no sample queries of that modality): the chance
 * that none of `targets` background items would reach z under a standard normal null
 * (1 − min(1, targets·P(Z ≥ z)), a Bonferroni bound).
 */
export function nullTailCurve(targets: number, queries = 0, pairs = 0): RelevanceCurve {
  const n = Math.max(1, targets);
  const r = Z_GRID.map((z) => 1 - Math.min(1, n * normalTail(z)));
  return { method: "null-tail", z: Z_GRID.slice(), r, queries, pairs };
}

/** Pooled z-scores of each query row of `qs` against the rows of `bg` (same: skip the row equal to the query's own index `selfRow(q)`). */
export function pooledZ(qs: Float32Array, bg: Float32Array, dim: number, selfRow?: (q: number) => number | undefined): Float64Array {
  const nq = qs.length / dim;
  const nb = bg.length / dim;
  const out = new Float64Array(nq * nb);
  let k = 0;
  const owned = ownedCopy(bg);
  for (let q = 0; q < nq; q++) {
    const self = selfRow?.(q);
    const scores = allScores(qs.subarray(q * dim, (q + 1) * dim), owned, dim);
    let sum = 0;
    let sq = 0;
    let n = 0;
    for (let r = 0; r < nb; r++) {
      if (r === self) continue;
      sum += scores[r];
      sq += scores[r] * scores[r];
      n++;
    }
    if (n < 2) continue;
    const mu = sum / n;
    const sd = Math.max(1e-6, Math.sqrt(Math.max(0, sq / n - mu * mu)));
    for (let r = 0; r < nb; r++) if (r !== self) out[k++] = (scores[r] - mu) / sd;
  }
  return out.subarray(0, k);
}

/**
 * A relevance cutoff as given by a caller: a number in [0, 1], or "auto" (AUTO_MIN_RELEVANCE).
 *
 * @throws ClipdbError INVALID_ARGUMENT for anything else
 */
export function parseMinRelevance(v: unknown): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (v === "auto") return AUTO_MIN_RELEVANCE;
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "minRelevance", reason: `expected a number from 0 to 1 or "auto", got ${JSON.stringify(v)}`, hint: 'Pass e.g. 0.5, or "auto" for the default cutoff.' });
  }
  return n;
}

/**
 * The `auto` cutoff: hits below this relevance are dropped by `minRelevance: "auto"`. Default 0.3
 * (chosen with bench/relevance.ts, see the README): it keeps most true matches on the real sets
 * while the hits of a random-weight model fall below it; higher drops more weak true matches.
 */
export const AUTO_MIN_RELEVANCE = 0.3;

/** What a direction is calibrated on. */
export interface CalibrationInput {
  /** Sample query vectors, `dim` each. */
  qs: Float32Array;
  /** Background sample of the target modality, `dim` each. */
  bg: Float32Array;
  dim: number;
  /** Live items of the target modality in the collection (the background sample stands for them). */
  targets: number;
  /** For same-modality directions: the background row that is query q itself, if any. */
  selfRow?: (q: number) => number | undefined;
  /** Labelled truth, when pairs exist: the true partners of query q (vectors), and whether a background row is one. */
  partners?: (q: number) => Float32Array[];
  isPartnerRow?: (q: number, row: number) => boolean;
  /**
   * Target-side z (see zSide): a background sample of the QUERY modality; each target's scores
   * against it give that target's mean and sd, and z = (score − mean_t) / sd_t.
   */
  queryBg?: Float32Array;
  /** Fit only the pairs-based curve (the pairs-free one is then a placeholder "null-tail" curve). */
  pairsOnly?: boolean;
}

/**
 * Targets fewer than this are standardised on their own side: with ten class names as the only
 * texts, a query's background against ten items says nothing, while each class name's background
 * against the (many) images does. Default 50.
 */
export const MIN_BACKGROUND = 50;

/**
 * Which side a direction's z-score is taken on: "query" (the query against a sample of the
 * targets, the default) or "target" (each target against a sample of the query modality), when
 * the target modality holds fewer than MIN_BACKGROUND items and the query modality at least that many.
 */
export function zSide(targets: number, queryItems: number, same: boolean): "query" | "target" {
  return !same && targets < MIN_BACKGROUND && queryItems >= MIN_BACKGROUND ? "target" : "query";
}

/** Target-side pooled z: every query row of `qs` against every target row of `ts`, standardised by each target's background `stats`. */
export function pooledTargetZ(qs: Float32Array, ts: Float32Array, stats: { mu: number; sd: number }[], dim: number): Float64Array {
  const nq = qs.length / dim;
  const nt = ts.length / dim;
  const out = new Float64Array(nq * nt);
  const owned = ownedCopy(ts);
  for (let q = 0; q < nq; q++) {
    const scores = allScores(qs.subarray(q * dim, (q + 1) * dim), owned, dim);
    for (let t = 0; t < nt; t++) out[q * nt + t] = (scores[t] - stats[t].mu) / stats[t].sd;
  }
  return out;
}

/** Each row's background (mean, sd) against `bg`. */
export function rowStats(xs: Float32Array, bg: Float32Array, dim: number): { mu: number; sd: number }[] {
  const out: { mu: number; sd: number }[] = [];
  for (let r = 0; r < xs.length / dim; r++) out.push(background(xs.subarray(r * dim, (r + 1) * dim), bg, dim));
  return out;
}

/** Both curves of one direction: the pairs-free one always, the pairs-based one when truth is given. */
export function calibrateDirection(c: CalibrationInput): { free: RelevanceCurve; pairs?: RelevanceCurve } {
  const nq = c.qs.length / c.dim;
  const nb = c.bg.length / c.dim;
  const tStats = c.queryBg ? rowStats(c.bg, c.queryBg, c.dim) : undefined;
  let free: RelevanceCurve;
  if (c.pairsOnly) free = nullTailCurve(c.targets);
  else if (tStats) free = fitNullFdr(pooledTargetZ(c.qs, c.bg, tStats, c.dim), nq, c.targets);
  else free = nb >= 8 && nq >= 1 ? fitNullFdr(pooledZ(c.qs, c.bg, c.dim, c.selfRow), nq, c.targets) : nullTailCurve(c.targets);
  if (!c.partners || !c.isPartnerRow) return { free };
  const pos: number[] = [];
  const neg: number[] = [];
  const ownedBg = ownedCopy(c.bg);
  let used = 0;
  for (let q = 0; q < nq; q++) {
    const qv = c.qs.subarray(q * c.dim, (q + 1) * c.dim);
    const parts = c.partners(q);
    if (!parts.length) continue;
    used++;
    const self = c.selfRow?.(q);
    const { mu, sd } = background(qv, c.bg, c.dim, (r) => r === self);
    for (const p of parts) {
      let s = 0;
      for (let d = 0; d < c.dim; d++) s += qv[d] * p[d];
      const pb = c.queryBg ? background(p, c.queryBg, c.dim) : undefined;
      pos.push(pb ? (s - pb.mu) / pb.sd : (s - mu) / sd);
    }
    const scores = allScores(qv, ownedBg, c.dim);
    for (let r = 0; r < nb; r++) {
      if (r === self || c.isPartnerRow(q, r)) continue;
      neg.push(tStats ? (scores[r] - tStats[r].mu) / tStats[r].sd : (scores[r] - mu) / sd);
    }
  }
  if (used < 5 || pos.length < 5 || neg.length === 0) return { free };
  // Each sampled non-partner stands for (targets − partners) / (sampled non-partners) items of the collection.
  const perQueryNeg = neg.length / used;
  const weight = Math.max(1, (c.targets - pos.length / used) / Math.max(1, perQueryNeg));
  return { free, pairs: fitPairs(Float64Array.from(pos), Float64Array.from(neg), weight, used) };
}
