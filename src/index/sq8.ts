/**
 * SQ8 (Faiss `ScalarQuantizer` QT_8bit, per-dimension): each dimension d is stored as a signed
 * byte c with x_d ~ center_d + step_d * c, where center and step come from the trained range of
 * that dimension (values outside it are clamped; their larger error is in their radius). 1 byte
 * per dimension, a quarter of float32.
 *
 * Scoring runs on the SIMD int8 kernel: the query is folded into w = q * step, quantised to int8
 * with one scale, and the kernel's integer dot products (exact integers) give
 * q . decode(c) within `slack` = ||w - scale * w8|| * (largest code norm). `score` computes the
 * exact q . decode(c) for a candidate in float64.
 */
import { ClipdbError } from "../core/errors.js";
import { roundUp, type Codec, type Prepared } from "./codec.js";

/** A query prepared for SQ8. */
export interface Sq8Query extends Prepared {
  /** q . center. */
  base: number;
  /** q * step (float64). */
  w: Float64Array;
  /** w quantised to int8 (owns its buffer, as the kernel requires). */
  w8: Int8Array;
  /** Scale of w8: w ~ scale * w8. */
  scale: number;
}

/** Per-dimension int8 codec. */
export class Sq8Codec implements Codec {
  readonly kind = "sq8" as const;
  readonly codeBytes: number;
  center: Float32Array;
  step: Float32Array;
  trained = false;
  maxRadius = 0;
  /** Largest L2 norm of any code made so far (bounds the query-quantisation error). */
  maxCodeNorm = 0;

  constructor(readonly dim: number) {
    this.codeBytes = dim;
    this.center = new Float32Array(dim);
    this.step = new Float32Array(dim);
  }

  /** From `state()`. */
  static fromState(dim: number, s: Float32Array): Sq8Codec {
    const c = new Sq8Codec(dim);
    c.maxRadius = s[0];
    c.maxCodeNorm = s[1];
    c.center.set(s.subarray(2, 2 + dim));
    c.step.set(s.subarray(2 + dim, 2 + 2 * dim));
    c.trained = s[2 + 2 * dim] === 1;
    return c;
  }

  state(): Float32Array {
    const s = new Float32Array(3 + 2 * this.dim);
    s[0] = this.maxRadius;
    s[1] = this.maxCodeNorm;
    s.set(this.center, 2);
    s.set(this.step, 2 + this.dim);
    s[2 + 2 * this.dim] = this.trained ? 1 : 0;
    return s;
  }

  /** Learns each dimension's [min, max] over the `n` rows. */
  train(xs: Float32Array, n: number): void {
    if (n < 1) throw new ClipdbError("INVALID_ARGUMENT", { name: "train", reason: "SQ8 needs at least one training vector" });
    const d = this.dim;
    const lo = new Float64Array(d).fill(Infinity);
    const hi = new Float64Array(d).fill(-Infinity);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      for (let t = 0; t < d; t++) {
        const v = xs[o + t];
        if (v < lo[t]) lo[t] = v;
        if (v > hi[t]) hi[t] = v;
      }
    }
    for (let t = 0; t < d; t++) {
      this.center[t] = (lo[t] + hi[t]) / 2;
      this.step[t] = Math.max((hi[t] - lo[t]) / 254, 1e-9);
    }
    this.trained = true;
  }

  encode(xs: Float32Array, n: number, codes: Uint8Array, radius: Float32Array): void {
    const d = this.dim;
    const c8 = new Int8Array(codes.buffer, codes.byteOffset, n * d);
    const { center, step } = this;
    for (let i = 0; i < n; i++) {
      const o = i * d;
      let err = 0;
      let norm = 0;
      for (let t = 0; t < d; t++) {
        const x = xs[o + t];
        let c = Math.round((x - center[t]) / step[t]);
        if (c > 127) c = 127;
        else if (c < -127) c = -127;
        c8[o + t] = c;
        const e = x - (center[t] + step[t] * c);
        err += e * e;
        norm += c * c;
      }
      const r = roundUp(Math.sqrt(err));
      radius[i] = r;
      if (r > this.maxRadius) this.maxRadius = r;
      const cn = roundUp(Math.sqrt(norm));
      if (cn > this.maxCodeNorm) this.maxCodeNorm = cn;
    }
  }

  prepare(q: Float32Array): Sq8Query {
    const d = this.dim;
    const w = new Float64Array(d);
    let base = 0;
    let qq = 0;
    let mx = 0;
    for (let t = 0; t < d; t++) {
      base += q[t] * this.center[t];
      qq += q[t] * q[t];
      w[t] = q[t] * this.step[t];
      const a = Math.abs(w[t]);
      if (a > mx) mx = a;
    }
    const scale = mx > 0 ? mx / 127 : 1;
    const w8 = new Int8Array(d);
    let ee = 0;
    for (let t = 0; t < d; t++) {
      const v = Math.max(-127, Math.min(127, Math.round(w[t] / scale)));
      w8[t] = v;
      const e = w[t] - scale * v;
      ee += e * e;
    }
    // The kernel's integer dot is exact below 2^24; above (dim > 1040) add one float32 ulp of it.
    const ulp = d * 127 * 127 >= 2 ** 24 ? scale * d * 127 * 127 * 2 ** -23 : 0;
    return { qnorm: Math.sqrt(qq), slack: Math.sqrt(ee) * this.maxCodeNorm * (1 + 1e-9) + ulp, base, w, w8, scale };
  }

  /** Not used by the indexes (they run the int8 kernel, see `kernelScores`); the exact decoded score of each row. */
  scoreAll(p: Prepared, codes: Uint8Array, rows: number, out: Float64Array): void {
    for (let r = 0; r < rows; r++) out[r] = this.score(p, codes, r);
  }

  score(p: Prepared, codes: Uint8Array, row: number): number {
    const { w, base } = p as Sq8Query;
    const d = this.dim;
    const c8 = new Int8Array(codes.buffer, codes.byteOffset + row * d, d);
    let s = 0;
    for (let t = 0; t < d; t++) s += w[t] * c8[t];
    return base + s;
  }
}
