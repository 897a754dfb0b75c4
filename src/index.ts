/**
 * clipdb's library entry. The usual start is `Collection.open(dir)`; the layers below it are
 * exported for code that wants an index, the store or an embedder on its own.
 */
export * from "./collection/index.js";
export { ClipdbError, isClipdbError, ERROR_CODES, type ErrorCode } from "./core/errors.js";
export type { Modality, SearchOptions, VectorIndex, Hits } from "./core/types.js";
export { FlatIndex, IvfIndex, HnswIndex, parseSpec, formatSpec, createIndex, loadIndex } from "./index/index.js";
export { Store } from "./store/index.js";
export { loadEmbedder, type Embedder } from "./embed/index.js";
