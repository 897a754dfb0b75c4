/** The types of the collection's index kinds (kinds.ts) and of a build's options. */
import type { Modality } from "../core/types.js";
import type { BaseIndex } from "../index/index.js";
import type { AnnKind } from "../query/index.js";
import type { CollectionStore, PgCollectionStore, PgIndexType } from "../store/index.js";

/**
 * How to build an approximate index. Each kind reads the options that apply to it (IVF: nlist,
 * trainOn, spill, route; HNSW: m; pgvector IVFFlat: nlist as its lists) and ignores the others.
 */
export interface BuildOptions {
  /** The kind's name, as registered (kinds.ts): "ivf" or "hnsw". */
  type: string;
  /** IVF lists; default clamp(4·√n, 1, n/39) per modality, so each list trains on ≥ 39 points. */
  nlist?: number;
  /** HNSW graph degree; default 32 (pgvector's HNSW: 16). Higher is more exact, bigger and slower to build. */
  m?: number;
  /** IVF: which vectors train the centroids; default "self" (the index's own modality). */
  trainOn?: Modality | "all" | "self";
  /**
   * IVF: lists each vector is stored in; default 1. Higher costs `spill` times the memory; measured
   * on Flickr30k-500 it lowers cross-modal recall at equal scanned fraction (bench/crossmodal.ts).
   */
  spill?: number;
  /**
   * IVF: how the lists are formed for the queries they will serve.
   * - "query" (the DEFAULT when the collection holds both images and texts and `trainOn` is
   *   "self"): query-aware lists (`crossModalCentroids`), k-means on each vector's scores against
   *   a sample of the other modality, so text queries over the image index (and image queries
   *   over the text index) find their neighbours in fewer lists. Measured on Flickr30k-500
   *   (IVF16, held-out queries): text to image recall@10 vs exact .59 / .84 at 10% / 25% scanned,
   *   against .50 / .76 for "none"; image to text .56 / .81 against .44 / .70. Costs one pass of
   *   dim * dim multiply-adds per k-means training vector (at most 50k, or 64 * nlist) at build
   *   time; search cost is unchanged. On the 100k synthetic gap set (a pure translation gap,
   *   where shifting queries by the gap is best) it gives text to image .967 vs .974 for "none" at
   *   2% scanned, and image to text .964 vs .743.
   * - "none": plain k-means on the `trainOn` vectors (the default with one modality).
   */
  route?: "none" | "query";
  /**
   * Compressed IVF kinds: an index spec of that kind ("IVF1024,PQ64", "IVF1024,SQ8"; see
   * parseSpec) that sets nlist and PQ's m; default nlist as above and m = dim / 8.
   */
  spec?: string;
  /**
   * Compressed IVF kinds: re-score the best k * refine candidates in float32 (read from the index
   * file). Default 16 for ivf-pq, 10 for ivf-sq4; 0 for ivf-sq8 and ivf-f16, which are then exact
   * inside the probed lists.
   */
  refine?: number;
  /** Which modalities get an index; default every modality that has items. */
  modalities?: Modality[];
}

/** A kind whose index is a file next to a SQLite collection (loaded into memory, kept up to date by a delta). */
export interface LocalKind extends AnnKind {
  readonly store: "sqlite";
  /**
   * Creates, trains and fills one index of `modality` from its vectors, with the build options
   * that apply to this kind (defaults stated by each kind). Returns it and its spec string.
   */
  make(store: CollectionStore, opts: BuildOptions, modality: Modality, offsets: Uint32Array, xs: Float32Array): Promise<{ idx: BaseIndex; spec: string }>;
}

/** A kind whose index lives inside Postgres (a pgvector index per modality). */
export interface PgKind extends AnnKind {
  readonly store: "postgres";
  /** The store's name for the index (`items_<pgType>_<modality>`; see src/store/pg-search.ts). */
  readonly pgType: PgIndexType;
  /** Builds (or rebuilds) the index over one modality holding `n` items. */
  build(store: PgCollectionStore, opts: BuildOptions, modality: Modality, n: number): Promise<void>;
}

