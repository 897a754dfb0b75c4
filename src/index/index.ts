/**
 * The index layer: vector indexes over (offset, vector) pairs, inner product on L2-normalised
 * float32. Flat (exact), IVF-Flat, HNSW and the compressed Flat,SQ8/F16 and IVF,SQ8/SQ4/F16/PQ
 * implement core's `VectorIndex`; specs and `loadIndex`
 * create and reopen them. This layer knows nothing of records (see the architecture page).
 */
export { FlatIndex, type FlatOptions } from "./flat.js";
export { IvfIndex, type IvfOptions, type IvfLoadOptions } from "./ivf.js";
export { HnswIndex, type HnswOptions, type HnswLoadOptions } from "./hnsw.js";
export { CompressedFlatIndex, type CompressedFlatOptions, type CompressedFlatLoadOptions } from "./flatq.js";
export { CompressedIvfIndex, type CompressedIvfOptions, type CompressedIvfSearchOptions } from "./ivfq.js";
export type { CodecKind } from "./codec.js";
export { SPILL_BYTES, type VectorFileOptions } from "./vecfile.js";
export { tempPathFor } from "./fileio.js";
export { DeltaIndex, type BaseIndex } from "./delta.js";
export { crossModalCentroids, type CrossModalOptions } from "./xmodal.js";
export { kmeans, seededRandom, type KMeansOptions, type KMeansResult } from "./kmeans.js";
export { parseSpec, formatSpec, createIndex, loadIndex, checkIndexFile, specOf, residentBytesOf } from "./spec.js";
export { registerSpecKind, specKinds, specKind, type SpecKind, type KindMagic, type IndexSpecs, type IndexSpec, type AnyIndex } from "./kinds.js";
export { flatKind, type FlatSpec } from "./kind-flat.js";
export { ivfKind, type IvfSpec } from "./kind-ivf.js";
export { hnswKind, type HnswSpec } from "./kind-hnsw.js";
export { flatCodesKind, ivfCodesKind, type FlatCodesSpec, type IvfCodesSpec } from "./kind-compressed.js";
export { VectorBlock, scanBlock, type ScanOptions } from "./block.js";
export { kernelTop, nearestRows, KERNEL_EPS } from "./kernel.js";
