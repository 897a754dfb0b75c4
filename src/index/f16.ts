/**
 * F16 (Faiss `ScalarQuantizer` QT_fp16): each value stored as an IEEE 754 half (round to
 * nearest even), 2 bytes per dimension, half of float32. The relative error is at most 2^-11, so
 * a code's radius ||x - decode(x)|| is tiny (about 3e-4 for a unit vector) and an exact search
 * re-scores only a few candidates. Scoring is a plain JS loop over a 65,536-entry decode table:
 * Node 20 has no half-float SIMD path (usearch's exactSearch takes f32, f64 and i8 only), so this
 * codec saves memory, not time.
 */
import { roundUp, type Codec, type Prepared } from "./codec.js";

/** float32 value of every half bit pattern. */
const DECODE = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** The half bit pattern nearest to the float32 value `x` (ties to even; overflow to infinity). */
export function toHalf(x: number): number {
  F32[0] = x;
  const b = U32[0];
  const s = (b >>> 16) & 0x8000;
  const e = (b >>> 23) & 0xff;
  let m = b & 0x7fffff;
  if (e === 255) return s | 0x7c00 | (m ? 0x200 : 0);
  let he = e - 112;
  if (he >= 31) return s | 0x7c00;
  if (he <= 0) {
    // Subnormal half: hm * 2^-24. A carry out of 10 bits lands on the smallest normal, as it should.
    if (he < -10) return s;
    m |= 0x800000;
    const shift = 14 - he;
    let hm = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && hm & 1)) hm++;
    return s | hm;
  }
  let hm = m >>> 13;
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && hm & 1)) {
    hm++;
    if (hm === 0x400) {
      hm = 0;
      he++;
      if (he >= 31) return s | 0x7c00;
    }
  }
  return s | (he << 10) | hm;
}

/** The float value of half bits `h`. */
export function fromHalf(h: number): number {
  return DECODE[h];
}

/** IEEE half codec (no training). */
export class F16Codec implements Codec {
  readonly kind = "f16" as const;
  readonly codeBytes: number;
  readonly trained = true;
  maxRadius = 0;

  constructor(readonly dim: number) {
    this.codeBytes = 2 * dim;
  }

  static fromState(dim: number, s: Float32Array): F16Codec {
    const c = new F16Codec(dim);
    c.maxRadius = s[0];
    return c;
  }

  state(): Float32Array {
    return Float32Array.of(this.maxRadius);
  }

  train(): void {}

  encode(xs: Float32Array, n: number, codes: Uint8Array, radius: Float32Array): void {
    const d = this.dim;
    const h = new Uint16Array(codes.buffer, codes.byteOffset, n * d);
    for (let i = 0; i < n; i++) {
      let err = 0;
      for (let t = i * d; t < (i + 1) * d; t++) {
        const v = xs[t];
        const b = toHalf(v > 65504 ? 65504 : v < -65504 ? -65504 : v);
        h[t] = b;
        const e = xs[t] - DECODE[b];
        err += e * e;
      }
      const r = roundUp(Math.sqrt(err));
      radius[i] = r;
      if (r > this.maxRadius) this.maxRadius = r;
    }
  }

  prepare(q: Float32Array): Prepared & { q: Float32Array } {
    let qq = 0;
    for (let t = 0; t < this.dim; t++) qq += q[t] * q[t];
    return { qnorm: Math.sqrt(qq), slack: 0, q };
  }

  scoreAll(p: Prepared, codes: Uint8Array, rows: number, out: Float64Array): void {
    const q = (p as Prepared & { q: Float32Array }).q;
    const d = this.dim;
    const h = new Uint16Array(codes.buffer, codes.byteOffset, rows * d);
    for (let r = 0, o = 0; r < rows; r++) {
      let s = 0;
      for (let t = 0; t < d; t++, o++) s += q[t] * DECODE[h[o]];
      out[r] = s;
    }
  }

  score(p: Prepared, codes: Uint8Array, row: number): number {
    const q = (p as Prepared & { q: Float32Array }).q;
    const d = this.dim;
    const h = new Uint16Array(codes.buffer, codes.byteOffset + row * 2 * d, d);
    let s = 0;
    for (let t = 0; t < d; t++) s += q[t] * DECODE[h[t]];
    return s;
  }
}
