/**
 * SQ4 (Faiss `ScalarQuantizer` QT_4bit, per-dimension): each dimension is stored as a 4-bit
 * level c in [0, 15] with x_d ~ lo_d + (c + 1/2) * step_d, two dimensions per byte (dimension
 * 2j in the low nibble of byte j, 2j + 1 in the high one), so a 512-d code is 256 bytes: an
 * eighth of float32, and with the 12 bytes of row metadata under 300 bytes per vector.
 *
 * The range of each dimension is trimmed, not min/max: [lo, hi] spans its 0.4%..99.6% quantiles
 * of the training sample (about +-2.7 sigma, where a uniform 16-level quantiser of a Gaussian has
 * its smallest error). Values outside are clamped; their larger error is in their radius, so the
 * bound of an exact search stays true. The trade-off: 4 bits rank coarsely (use it with a float32
 * `refine`, or expect many re-scored candidates on the exact path).
 *
 * Scoring is asymmetric, as PQ: per query a table of 256 partial scores per byte (both nibbles of
 * that byte against q), then one look-up per byte of the code (256 per 512-d vector).
 */
import { ClipdbError } from "../core/errors.js";
import { roundUp, type Codec, type Prepared } from "./codec.js";

/** Quantile of each tail that training trims (see the module TSDoc). */
const TRIM = 0.004;
const LEVELS = 16;

/** A query prepared for SQ4: the per-byte table and the constant part of every score. */
export interface Sq4Query extends Prepared {
  /** (dim / 2 rounded up) * 256 partial scores: byte j with value b at j * 256 + b. */
  table: Float32Array;
  /** q . (lo + step / 2). */
  base: number;
  /** q * step (float64), for exact `score`. */
  w: Float64Array;
}

/** Per-dimension 4-bit codec. */
export class Sq4Codec implements Codec {
  readonly kind = "sq4" as const;
  readonly codeBytes: number;
  lo: Float32Array;
  step: Float32Array;
  trained = false;
  maxRadius = 0;

  constructor(readonly dim: number) {
    this.codeBytes = Math.ceil(dim / 2);
    this.lo = new Float32Array(dim);
    this.step = new Float32Array(dim);
  }

  /** From `state()`. */
  static fromState(dim: number, s: Float32Array): Sq4Codec {
    const c = new Sq4Codec(dim);
    c.maxRadius = s[0];
    c.lo.set(s.subarray(1, 1 + dim));
    c.step.set(s.subarray(1 + dim, 1 + 2 * dim));
    c.trained = s[1 + 2 * dim] === 1;
    return c;
  }

  state(): Float32Array {
    const s = new Float32Array(2 + 2 * this.dim);
    s[0] = this.maxRadius;
    s.set(this.lo, 1);
    s.set(this.step, 1 + this.dim);
    s[1 + 2 * this.dim] = this.trained ? 1 : 0;
    return s;
  }

  /** Learns each dimension's trimmed range over the `n` rows (see the module TSDoc). */
  train(xs: Float32Array, n: number): void {
    if (n < 1) throw new ClipdbError("INVALID_ARGUMENT", { name: "train", reason: "SQ4 needs at least one training vector" });
    const d = this.dim;
    const col = new Float32Array(n);
    const cut = Math.floor(TRIM * (n - 1));
    for (let t = 0; t < d; t++) {
      for (let i = 0; i < n; i++) col[i] = xs[i * d + t];
      col.sort();
      const lo = col[cut];
      const hi = col[n - 1 - cut];
      this.step[t] = Math.max((hi - lo) / LEVELS, 1e-9);
      this.lo[t] = lo;
    }
    this.trained = true;
  }

  encode(xs: Float32Array, n: number, codes: Uint8Array, radius: Float32Array): void {
    const d = this.dim;
    const cb = this.codeBytes;
    const { lo, step } = this;
    codes.fill(0, 0, n * cb);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      let err = 0;
      for (let t = 0; t < d; t++) {
        const x = xs[o + t];
        let c = Math.floor((x - lo[t]) / step[t]);
        if (c > LEVELS - 1) c = LEVELS - 1;
        else if (!(c >= 0)) c = 0;
        codes[i * cb + (t >> 1)] |= t & 1 ? c << 4 : c;
        const e = x - (lo[t] + step[t] * (c + 0.5));
        err += e * e;
      }
      const r = roundUp(Math.sqrt(err));
      radius[i] = r;
      if (r > this.maxRadius) this.maxRadius = r;
    }
  }

  prepare(q: Float32Array): Sq4Query {
    const d = this.dim;
    const cb = this.codeBytes;
    const w = new Float64Array(cb * 2);
    let base = 0;
    let qq = 0;
    for (let t = 0; t < d; t++) {
      base += q[t] * (this.lo[t] + this.step[t] / 2);
      qq += q[t] * q[t];
      w[t] = q[t] * this.step[t];
    }
    const table = new Float32Array(cb * 256);
    // Each float32 entry is within half an ulp of its float64 value: the sum of those bounds is the slack.
    let slack = 0;
    for (let j = 0; j < cb; j++) {
      const w0 = w[2 * j];
      const w1 = w[2 * j + 1];
      let mx = 0;
      for (let b = 0; b < 256; b++) {
        const v = w0 * (b & 15) + w1 * (b >> 4);
        table[j * 256 + b] = v;
        if (Math.abs(v) > mx) mx = Math.abs(v);
      }
      slack += mx * 2 ** -24;
    }
    return { qnorm: Math.sqrt(qq), slack: slack * (1 + 1e-6) + 1e-12 * cb, table, base, w };
  }

  /** Table look-ups: base + sum of table[j][code byte j] of each of `rows` codes. */
  scoreAll(p: Prepared, codes: Uint8Array, rows: number, out: Float64Array): void {
    const { table, base } = p as Sq4Query;
    const cb = this.codeBytes;
    const quads = cb & ~3;
    for (let r = 0, o = 0; r < rows; r++) {
      let s0 = 0;
      let s1 = 0;
      let j = 0;
      for (; j < quads; j += 4, o += 4) {
        s0 += table[(j << 8) | codes[o]] + table[((j + 1) << 8) | codes[o + 1]];
        s1 += table[((j + 2) << 8) | codes[o + 2]] + table[((j + 3) << 8) | codes[o + 3]];
      }
      for (; j < cb; j++, o++) s0 += table[(j << 8) | codes[o]];
      out[r] = base + s0 + s1;
    }
  }

  /** q . decode(code) of one code in float64. */
  score(p: Prepared, codes: Uint8Array, row: number): number {
    const { w, base } = p as Sq4Query;
    const cb = this.codeBytes;
    let s = 0;
    for (let j = 0, o = row * cb; j < cb; j++, o++) {
      const b = codes[o];
      s += w[2 * j] * (b & 15) + w[2 * j + 1] * (b >> 4);
    }
    return base + s;
  }
}
