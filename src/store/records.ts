import { ClipdbError } from "../core/errors.js";
import type { Modality } from "../core/types.js";
import { assertFinite } from "../core/vectors.js";
import type { ItemRecord, NewItem } from "./types.js";

/** An items row as read with .raw(), in COLS order. */
export type Row = [offset: number, id: string, modality: Modality, source: string | null, text: string | null, meta: string, hash: string | null, createdAt: string];

/** The items columns, in Row order. */
export const COLS = "offset, id, modality, source, text, meta, hash, created_at";

/** Allowed gap between a row's L2 norm and 1. */
const NORM_TOLERANCE = 1e-3;

/** Turns a raw items row into an ItemRecord (undefined stays undefined). */
export function toRecord(row: Row | undefined): ItemRecord | undefined {
  if (row === undefined) return undefined;
  const [offset, id, modality, source, text, meta, hash, createdAt] = row;
  return { id, modality, source, text, meta: JSON.parse(meta) as Record<string, unknown>, hash, offset, createdAt };
}

/** INVALID_ARGUMENT unless `it` is a well-formed NewItem (`i` names it in the message). */
export function validateItem(it: NewItem, i: number): void {
  const bad = (reason: string): never => {
    throw new ClipdbError("INVALID_ARGUMENT", { name: `items[${i}]`, reason });
  };
  if (it === null || typeof it !== "object") bad("it is not an object");
  if (typeof it.id !== "string" || it.id.length === 0) bad("id must be a non-empty string");
  if (it.modality !== "image" && it.modality !== "text") bad(`modality must be "image" or "text", not ${JSON.stringify(it.modality)}`);
  for (const k of ["source", "text", "hash"] as const) {
    if (it[k] !== null && typeof it[k] !== "string") bad(`${k} must be a string or null`);
  }
  if (it.meta === null || typeof it.meta !== "object" || Array.isArray(it.meta)) bad("meta must be a plain object");
}

/** meta as JSON text; INVALID_ARGUMENT when it cannot be serialised. */
export function encodeMeta(meta: Record<string, unknown>, id: string): string {
  try {
    return JSON.stringify(meta);
  } catch (e) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: `meta of '${id}'`, reason: `it is not JSON-serialisable (${(e as Error).message})` }, { cause: e });
  }
}

/** INVALID_VECTOR unless every row is finite and has an L2 norm within NORM_TOLERANCE of 1. */
export function checkNormalised(xs: Float32Array, dim: number): void {
  assertFinite(xs, dim, "vectors");
  const n = xs.length / dim;
  for (let r = 0; r < n; r++) {
    let ss = 0;
    for (let i = r * dim, end = i + dim; i < end; i++) ss += xs[i] * xs[i];
    const norm = Math.sqrt(ss);
    if (Math.abs(norm - 1) > NORM_TOLERANCE) {
      throw new ClipdbError("INVALID_VECTOR", { reason: `vectors row ${r} has L2 norm ${norm.toPrecision(6)}, not 1; L2-normalise rows (normalizeRows) before adding` });
    }
  }
}

/**
 * The checks every store runs before `addItems` writes anything: a model is recorded, `vectors`
 * is one Float32Array of items.length * dim normalised rows (INVALID_ARGUMENT, DIM_MISMATCH,
 * INVALID_VECTOR), every item is well formed and its id unique in the batch (DUPLICATE_ID).
 * `each` adds a store's own per-item check (it gets the item, its index and its meta JSON).
 * Returns the items' meta as JSON text, in order.
 */
export function checkBatch(
  model: { dim: number } | null,
  items: NewItem[],
  vectors: Float32Array,
  each?: (it: NewItem, i: number, meta: string) => void,
): string[] {
  if (model === null) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "vectors", reason: "the collection has no model yet", hint: "Call setModel(modelId, dim) before adding items." });
  }
  const { dim } = model;
  if (!(vectors instanceof Float32Array)) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "vectors", reason: "it must be one contiguous Float32Array of items.length * dim values" });
  }
  if (vectors.length !== items.length * dim) {
    const per = items.length > 0 && vectors.length % items.length === 0 ? vectors.length / items.length : `${vectors.length} values for ${items.length} items`;
    throw new ClipdbError("DIM_MISMATCH", { expected: dim, got: per, where: "addItems" });
  }
  if (items.length > 0) checkNormalised(vectors, dim);
  const seen = new Set<string>();
  return items.map((it, i) => {
    validateItem(it, i);
    if (seen.has(it.id)) throw new ClipdbError("DUPLICATE_ID", { id: it.id });
    seen.add(it.id);
    const meta = encodeMeta(it.meta, it.id);
    each?.(it, i, meta);
    return meta;
  });
}
