import { ClipdbError } from "../core/errors.js";
import { testPoint } from "../core/testpoint.js";
import { normalizeRows } from "../core/vectors.js";
import type { Modality } from "../core/types.js";
import type { CollectionStore, NewItem } from "../store/index.js";
import { contentHash } from "./files.js";
import type { AddSummary } from "./types.js";

/** Precomputed vectors to import: row i gets ids[i]; with pairIds, text row i is a caption of image pairIds[i]. */
export interface VectorImport {
  /** n * dim values, row-major; normalised on import. */
  vectors: Float32Array;
  dim: number;
  ids: string[];
  modality: Modality;
  /** For text rows: the id of the image each row describes (must exist or be imported earlier). */
  pairIds?: string[];
  /** Model the vectors came from; default "imported". Recorded as the collection's model when it is new. */
  modelId?: string;
  meta?: Record<string, unknown>[];
}

/**
 * Imports precomputed vectors in one transaction: either every row is written or none is.
 * Row count, id count, pair-id count and dimension are all checked first (INVALID_ARGUMENT or
 * DIM_MISMATCH, nothing written). Rows whose id already holds the same vector are skipped.
 */
export async function importVectors(store: CollectionStore, imp: VectorImport): Promise<AddSummary> {
  const { dim, ids } = imp;
  if (!Number.isInteger(dim) || dim <= 0) throw new ClipdbError("INVALID_ARGUMENT", { name: "dim", reason: `must be a positive integer, got ${dim}` });
  if (imp.vectors.length % dim !== 0) {
    throw new ClipdbError("DIM_MISMATCH", { expected: `a multiple of ${dim} values`, got: imp.vectors.length, where: "vector file" });
  }
  const n = imp.vectors.length / dim;
  if (ids.length !== n) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "ids", reason: `${ids.length} ids for ${n} vector rows`, hint: "The ids file needs exactly one line per row." });
  }
  if (imp.pairIds && imp.pairIds.length !== n) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "pair-ids", reason: `${imp.pairIds.length} pair ids for ${n} rows`, hint: "The pair-ids file needs one image id per text row." });
  }
  if (imp.pairIds && imp.modality !== "text") {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "pair-ids", reason: "pairs are given on text rows", hint: "Use --modality text with --pair-ids." });
  }
  if (new Set(ids).size !== ids.length) throw new ClipdbError("INVALID_ARGUMENT", { name: "ids", reason: "the ids are not unique" });
  const model = await store.model();
  if (model && model.dim !== dim) throw new ClipdbError("DIM_MISMATCH", { expected: model.dim, got: dim, where: "imported vectors" });
  if (model && imp.modelId && model.modelId !== imp.modelId) throw new ClipdbError("MODEL_MISMATCH", { expected: model.modelId, got: imp.modelId });
  const xs = normalizeRows(Float32Array.from(imp.vectors), dim, "imported vector");
  const sum: AddSummary = { added: 0, skipped: 0, failed: 0, errors: [], ids: [], skippedIds: [] };
  const items: NewItem[] = [];
  const keep: number[] = [];
  const pairs: { imageId: string; textId: string }[] = [];
  for (let i = 0; i < n; i++) {
    const row = xs.subarray(i * dim, (i + 1) * dim);
    const hash = contentHash(row);
    const existing = await store.get(ids[i]);
    if (existing) {
      if (existing.hash === hash) {
        sum.skipped++;
        sum.skippedIds.push(ids[i]);
        continue;
      }
      throw new ClipdbError("DUPLICATE_ID", { id: ids[i] });
    }
    items.push({ id: ids[i], modality: imp.modality, source: null, text: null, meta: imp.meta?.[i] ?? {}, hash });
    keep.push(i);
    if (imp.pairIds) pairs.push({ imageId: imp.pairIds[i], textId: ids[i] });
  }
  if (!items.length) return sum;
  const sub = new Float32Array(keep.length * dim);
  keep.forEach((row, j) => sub.set(xs.subarray(row * dim, (row + 1) * dim), j * dim));
  const records = await store.transaction(async (tx) => {
    if (!model) {
      await tx.setModel(imp.modelId ?? "imported", dim);
      await tx.setSetting("model_source", "imported");
    }
    return tx.addItems(items, sub, pairs);
  });
  testPoint("add:batch");
  sum.added = records.length;
  sum.ids = records.map((r) => r.id);
  return sum;
}
