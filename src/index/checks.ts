/**
 * Argument checks shared by every index, so that all of them fail the same way:
 * DIM_MISMATCH for a wrong length, INVALID_VECTOR for NaN/Inf/zero, INVALID_ARGUMENT for the rest.
 */
import { ClipdbError } from "../core/errors.js";
import { assertDim, assertFinite } from "../core/vectors.js";
import type { Hits } from "../core/topk.js";
import { ownedCopy } from "./kernel.js";

/**
 * Validates a query and returns it ready for the kernel (a copy when `q` is a view that does not
 * start at byte 0 of its buffer). Throws DIM_MISMATCH or INVALID_VECTOR.
 */
export function checkQuery(q: Float32Array, dim: number): Float32Array {
  if (!(q instanceof Float32Array)) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "q", reason: "a query must be a Float32Array" });
  }
  assertDim(q, dim, "query");
  assertFinite(q, dim, "query");
  return ownedCopy(q);
}

/** Validates k: an integer >= 0 (INVALID_ARGUMENT otherwise). */
export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 0) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "k", reason: `must be an integer >= 0, got ${k}` });
  }
}

/** Validates a positive integer option such as nprobe or ef. */
export function checkPositive(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) {
    throw new ClipdbError("INVALID_ARGUMENT", { name, reason: `must be an integer >= 1, got ${v}` });
  }
}

/** Validates an add batch: Uint32Array offsets, Float32Array of offsets.length * dim finite values. */
export function checkBatch(offsets: Uint32Array, xs: Float32Array, dim: number): void {
  if (!(offsets instanceof Uint32Array)) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "offsets", reason: "offsets must be a Uint32Array" });
  }
  if (!(xs instanceof Float32Array)) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "xs", reason: "vectors must be one contiguous Float32Array of n * dim" });
  }
  if (xs.length !== offsets.length * dim) {
    throw new ClipdbError("DIM_MISMATCH", { expected: `${offsets.length} x ${dim} = ${offsets.length * dim} values`, got: `${xs.length} values`, where: "add" });
  }
  if (xs.length > 0) assertFinite(xs, dim, "vector");
}

/** Validates a training batch: a non-empty Float32Array of n * dim finite values. */
export function checkTrain(xs: Float32Array, dim: number): number {
  if (!(xs instanceof Float32Array)) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "xs", reason: "training vectors must be one contiguous Float32Array of n * dim" });
  }
  assertDim(xs, dim, "train", true);
  assertFinite(xs, dim, "training vector");
  return xs.length / dim;
}

/** Validates a remove batch. */
export function checkOffsets(offsets: Uint32Array): void {
  if (!(offsets instanceof Uint32Array)) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "offsets", reason: "offsets must be a Uint32Array" });
  }
}

/** Empty search result. */
export function noHits(): Hits {
  return { offsets: new Uint32Array(0), scores: new Float32Array(0), scanned: 0 };
}
