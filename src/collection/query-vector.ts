/** Turns a (possibly combined) query into one unit vector: see src/query/combine.ts for the formula. */
import { ClipdbError } from "../core/errors.js";
import { normalizeRows } from "../core/vectors.js";
import type { Modality } from "../core/types.js";
import type { Embedder } from "../embed/index.js";
import type { StoreReader } from "../store/index.js";
import { combineVectors, type ParsedTerm } from "../query/index.js";

/** The query vector, the offset to leave out of the results (an item query's own item), and the query's modality when known. */
export interface QueryVector {
  q: Float32Array;
  exclude?: number;
  modality?: Modality;
}

/**
 * Embeds (or reads) every term and combines them. A single term of weight 1 is the plain query
 * (an item query leaves its own item out). Texts are embedded in one batch, images in another.
 * The modality is known for a single text, image or item, and for several terms that are all of
 * one modality; otherwise it is left to the relevance scorer to infer.
 */
export async function queryVector(store: StoreReader, embedder: () => Promise<Embedder>, terms: ParsedTerm[], dim: number): Promise<QueryVector> {
  const rows = new Float32Array(terms.length * dim);
  const modalities = new Set<Modality | "vector">();
  let exclude: number | undefined;
  const texts: number[] = [];
  const images: number[] = [];
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i].input;
    if (t.kind === "text") texts.push(i);
    else if (t.kind === "image") images.push(i);
    else if (t.kind === "item") {
      const rec = await store.get(t.item);
      if (!rec) throw new ClipdbError("NOT_FOUND", { id: t.item });
      rows.set((await store.vector(rec.offset))!, i * dim);
      modalities.add(rec.modality);
      if (i === 0) exclude = rec.offset;
    } else {
      if (t.vector.length !== dim) throw new ClipdbError("DIM_MISMATCH", { expected: dim, got: t.vector.length, where: "query vector" });
      rows.set(normalizeRows(t.vector, dim, "query vector"), i * dim);
      modalities.add("vector");
    }
  }
  if (texts.length) {
    const xs = await (await embedder()).embedTexts(texts.map((i) => (terms[i].input as { text: string }).text));
    texts.forEach((i, j) => rows.set(xs.subarray(j * dim, (j + 1) * dim), i * dim));
    modalities.add("text");
  }
  if (images.length) {
    const xs = await (await embedder()).embedImages(images.map((i) => (terms[i].input as { image: string | Buffer }).image));
    images.forEach((i, j) => rows.set(xs.subarray(j * dim, (j + 1) * dim), i * dim));
    modalities.add("image");
  }
  const one = modalities.size === 1 ? [...modalities][0] : undefined;
  const modality = one === "vector" ? undefined : one;
  if (terms.length === 1 && terms[0].weight === 1) return { q: rows.subarray(0, dim), exclude, modality };
  return { q: combineVectors(rows, terms.map((t) => t.weight), dim), exclude: terms[0].weight > 0 ? exclude : undefined, modality };
}
