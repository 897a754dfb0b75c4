import { ClipdbError } from "./errors.js";

/**
 * Vector helpers. Vectors are Float32Array, L2-normalised, compared by inner product.
 * Batches are one contiguous Float32Array of n * dim.
 */

/** Inner product of a[aOff..aOff+dim) and b[bOff..bOff+dim). Plain JS; for hot loops use the index kernels. */
export function dot(a: Float32Array, b: Float32Array, dim: number, aOff = 0, bOff = 0): number {
  let s = 0;
  for (let i = 0; i < dim; i++) s += a[aOff + i] * b[bOff + i];
  return s;
}

/**
 * Throws INVALID_VECTOR when any value is NaN or infinite, or a row has zero norm.
 * `what` names the input in the message.
 */
export function assertFinite(xs: Float32Array, dim: number, what = "vector"): void {
  if (dim <= 0 || xs.length % dim !== 0) {
    throw new ClipdbError("DIM_MISMATCH", { expected: `a multiple of ${dim}`, got: xs.length, where: what });
  }
  const n = xs.length / dim;
  for (let r = 0; r < n; r++) {
    let ss = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) {
      const v = xs[i];
      if (!Number.isFinite(v)) throw new ClipdbError("INVALID_VECTOR", { reason: `${what} row ${r} has a non-finite value (${v}) at column ${i - r * dim}` });
      ss += v * v;
    }
    if (ss === 0) throw new ClipdbError("INVALID_VECTOR", { reason: `${what} row ${r} is all zeros` });
  }
}

/**
 * L2-normalises every row of a batch in place and returns it. Rows must be finite and non-zero
 * (checked: INVALID_VECTOR). Cost: one pass over the data.
 */
export function normalizeRows(xs: Float32Array, dim: number, what = "vector"): Float32Array {
  assertFinite(xs, dim, what);
  const n = xs.length / dim;
  for (let r = 0; r < n; r++) {
    const o = r * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += xs[o + i] * xs[o + i];
    const inv = 1 / Math.sqrt(ss);
    for (let i = 0; i < dim; i++) xs[o + i] *= inv;
  }
  return xs;
}

/** Returns a normalised copy of one vector (INVALID_VECTOR on NaN, Inf or zero). */
export function normalized(v: Float32Array): Float32Array {
  return normalizeRows(Float32Array.from(v), v.length);
}

/** Throws DIM_MISMATCH unless `xs.length` is `dim` (or a multiple when `batch`). */
export function assertDim(xs: Float32Array, dim: number, where: string, batch = false): void {
  const ok = batch ? xs.length % dim === 0 : xs.length === dim;
  if (!ok) throw new ClipdbError("DIM_MISMATCH", { expected: dim, got: batch ? `${xs.length} values` : xs.length, where });
}
