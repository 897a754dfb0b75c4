/**
 * The vector codecs of the compressed indexes (Faiss's names): SQ8 (per-dimension int8), SQ4
 * (per-dimension 4-bit), F16 (IEEE half) and PQ<m> (product quantisation, m bytes per vector). A codec turns float32 vectors
 * into codes, and, per query, scores codes approximately; SQ8, SQ4 and F16 also bound the error of each
 * code (its `radius`, ||x - decode(code)||), which is what lets a search on codes stay exact.
 */

/** Codec names. */
export type CodecKind = "sq8" | "f16" | "pq" | "sq4";

/** A query prepared for one codec (per-query tables and constants). */
export interface Prepared {
  /** ||q||: the score error of a code with radius r is at most qnorm * r (Cauchy-Schwarz). */
  qnorm: number;
  /**
   * Bound on |scoreAll's approximation - q . decode(code)| for any code (0 when scoreAll is exact
   * on the decoded code, Infinity when there is no bound: PQ).
   */
  slack: number;
}

/** A trained or untrained codec over `dim`-dimensional vectors. */
export interface Codec {
  readonly kind: CodecKind;
  readonly dim: number;
  /** Bytes per code. */
  readonly codeBytes: number;
  /** True when codes can be made (PQ and SQ8 need `train`). */
  readonly trained: boolean;
  /** Largest radius of any code made so far (an upper bound: removals do not lower it). */
  readonly maxRadius: number;
  /** Learns the codec's parameters from `n` rows of `xs`. */
  train(xs: Float32Array, n: number, threads?: number): void;
  /** Encodes `n` rows of `xs` into `codes` (n * codeBytes) and their radii into `radius` (rounded up). */
  encode(xs: Float32Array, n: number, codes: Uint8Array, radius: Float32Array, threads?: number): void;
  /** Per-query preparation. */
  prepare(q: Float32Array): Prepared;
  /** Approximate q . decode(code) of `rows` rows of `codes` into `out` (within `slack`). */
  scoreAll(p: Prepared, codes: Uint8Array, rows: number, out: Float64Array): void;
  /** q . decode(code) of one code, accurate to float64 rounding (SQ8 and F16; PQ: same as scoreAll). */
  score(p: Prepared, codes: Uint8Array, row: number): number;
  /** The codec's trained state as floats (saved in index files). */
  state(): Float32Array;
}

/** Rounds a non-negative bound up so that storing it as float32 never makes it smaller. */
export function roundUp(r: number): number {
  return Math.fround(r * (1 + 1e-5) + 1e-9);
}
