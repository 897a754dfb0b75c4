import type { Modality } from "../core/types.js";
import type { ClipdbError } from "../core/errors.js";

/** One extra input of a combined query (plus or minus): exactly one of text, image, item or vector. */
export interface QueryTerm {
  text?: string;
  image?: string | Buffer;
  item?: string;
  vector?: Float32Array;
  /** Default 1; > 0 (the sign comes from plus or minus). */
  weight?: number;
}

/**
 * What to search with: one of text, image, item or vector, optionally combined with `plus` and
 * `minus` terms into q = normalize(e + Σ w·e_plus − Σ w·e_minus) (each input L2-normalised, weights
 * default 1; see src/query/combine.ts). The main input may be left out when `plus` is given.
 * Inputs that cancel out (`a − a`) are refused with INVALID_ARGUMENT.
 */
export interface QueryInput {
  /** Free text, embedded with the collection's model. */
  text?: string;
  /** An image file path or its bytes, embedded with the collection's model. */
  image?: string | Buffer;
  /** The id of an item already in the collection (item -> item, no embedding). */
  item?: string;
  /** A raw query vector of the collection's dim; normalised before use. */
  vector?: Float32Array;
  /** Inputs added to the query (weight default 1). */
  plus?: QueryTerm[];
  /** Inputs subtracted from the query (weight default 1). */
  minus?: QueryTerm[];
}

import type { IndexChoice, IndexKind } from "../query/plan.js";
import type { SortOrder } from "../query/sort.js";
import type { WhereInput } from "../query/where.js";
import type { DupeMatch, DupeOptions, DupeReport } from "./dupes.js";
import type { SearchMode } from "../query/fuse.js";

export type { SearchMode };

/** Which index answers a query. "exact" scans everything (Flat); "ivf" and "hnsw" need a built index. */
export type { IndexChoice, IndexKind };

/** Options of Collection.search. */
export interface SearchParams {
  /** Results returned; default 10. */
  k?: number;
  /** Which items are searched; default "any" (images and texts merged by score). */
  modality?: Modality | "any";
  /**
   * Index used; default "auto" (or the collection's stored default): the built HNSW, else IVF,
   * index of each modality holding more than AUTO_EXACT_BELOW (10,000) vectors, exact otherwise.
   * "exact" always scans everything; "ivf"/"hnsw" need that index built.
   */
  index?: IndexChoice;
  /** IVF lists probed; default: the collection's tuned value, else 16. Higher is slower and more exact. */
  nprobe?: number;
  /** HNSW search breadth; default: the tuned value, else 64. Higher is slower and more exact. */
  ef?: number;
  /**
   * Metadata filter; default none. An object is equality (every key equals its value as a
   * string); a list holds typed conditions (`{ key: "taken", op: ">=", value: "2020-01-01" }`)
   * or expressions (`"camera in (Canon,Nikon)"`), all of which must hold (see query/where.ts).
   * A filtered search still returns k results when k items pass, on every index.
   */
  where?: WhereInput;
  /**
   * Order of the returned top-k: "relevance" (default, best first), "taken" (oldest first) or
   * "-taken" (newest first); items without a date taken go last. It reorders the top matches, it
   * does not search by date.
   */
  sort?: SortOrder;
  /**
   * Drops hits whose `relevance` is below this (a number in [0, 1], or "auto" for
   * AUTO_MIN_RELEVANCE, 0.3); default: off. The search may then return fewer than k hits.
   */
  minRelevance?: number | "auto";
  /**
   * Apply the collection's stored query adapter (`clipdb adapt`) when one fits the search: a text
   * (or text item) searching images only, an image (or image item) searching texts only. Default
   * true; false searches with the model's own vector.
   */
  adapt?: boolean;
  /**
   * How hits are ranked; default "vector" (cosine of the embeddings). "keyword" ranks text items
   * by the query's words (stemmed, BM25 in SQLite, ts_rank in Postgres; "quoted phrases" whole);
   * "hybrid" fuses both rankings by reciprocal rank fusion (query/fuse.ts), so an exact phrase or a
   * rare name in a caption is found even when the embedding misses it. Both need a text query (or
   * `keywords`) and a text target (modality text or any); images can only come from the vector side.
   */
  mode?: SearchMode;
  /** The words of the keyword ranking; default the query's text. Lets a vector query (a cached page) keep them. */
  keywords?: string;
  /**
   * Best hits skipped before the k returned (paging); default 0. Ranks continue from offset + 1.
   * The search still ranks offset + k hits, so deep pages cost more; reuse `queryVector` to skip re-embedding.
   */
  offset?: number;
}

/**
 * One search result. `score` is the true cosine between query and item; `relevance` in [0, 1] is
 * calibrated per collection and direction (src/query/relevance.ts): the estimated share of true
 * matches among all hits at least this strong, comparable across models and collections.
 */
export interface SearchHit {
  rank: number;
  id: string;
  modality: Modality;
  score: number;
  relevance: number;
  path: string | null;
  text: string | null;
  meta: Record<string, unknown>;
  /** Keyword and hybrid modes: the reciprocal-rank-fusion score that ordered the hits (higher is better). */
  rrf?: number;
}

/** The answer of Collection.search. */
export interface SearchResult {
  results: SearchHit[];
  /** Wall time of the whole search, embedding included, in milliseconds. */
  ms: number;
  /** The index that answered ("exact" when a filter made an exact scan cheaper; "keyword" in keyword mode). */
  index: IndexKind | "keyword";
  /** Vectors scored for this query (0 in keyword mode; HNSW does not count them, so 0 there too). */
  scanned: number;
  /** The adapter direction applied to the query ("t2i" or "i2t"), when one was. */
  adapted?: "t2i" | "i2t";
  /** Set when the results are empty for a reason worth saying (a filter key no item has). */
  hint?: string;
  /** How the hits were ranked. */
  mode: SearchMode;
  /** The normalised query vector searched with, after any adapter (unset for an empty collection): pass it as `{ vector }`, with `adapt: false`, to page on without embedding again. */
  queryVector?: Float32Array;
}

/** An item as the collection shows it. */
export interface ItemView {
  id: string;
  modality: Modality;
  path: string | null;
  text: string | null;
  meta: Record<string, unknown>;
  hash: string | null;
  /** Ids of paired items: captions of an image, or the image of a caption. */
  pairs: string[];
  createdAt: string;
}

/** A per-file failure reported by an ingest, which goes on with the other files. */
export interface AddError {
  path: string;
  code: string;
  message: string;
  /** The error itself, when it was a ClipdbError (its code, details and cause); not enumerable, so JSON output leaves it out. */
  error?: ClipdbError;
}

/** Summary of an ingest. */
export interface AddSummary {
  added: number;
  skipped: number;
  failed: number;
  errors: AddError[];
  /** Ids added, in input order. */
  ids: string[];
  /** Ids skipped because the same content is already stored under them (re-adds, concurrent uploads). */
  skippedIds: string[];
  /** With `skipDuplicates`: images not added because they are near-duplicates of an image stored (or added just before), counted in `skipped`. */
  duplicates?: { path: string; id: string; of: string; score: number }[];
}

/** State of one persisted index. */
export interface IndexStatus {
  /** The kind's name, as queries ask for it ("ivf", "hnsw"). */
  type: string;
  /** The registered kind's id: "ivf", "hnsw" (clipdb files), "pgvector-hnsw", "pgvector-ivfflat". */
  kind: string;
  modality: Modality;
  spec: string;
  size: number;
  /**
   * Changes (items added or removed) since the index file was written: they are served from an
   * exact in-memory delta, and folded into a new file by compaction.
   */
  pending: number;
  bytes: number;
  /**
   * Resident bytes per vector of the index once loaded (codes and metadata for the compressed
   * kinds, whose float32 vectors stay in the file; the whole file for IVF-Flat and HNSW).
   * Absent when the file cannot be read.
   */
  bytesPerVector?: number;
  /** Set when the index file is damaged or missing: what is wrong. Search with it fails; rebuild or drop it. */
  damaged?: string;
}

/** Counts and state of a collection. */
export interface CollectionStats {
  images: number;
  texts: number;
  pairs: number;
  dim: number | null;
  model: string | null;
  indexes: IndexStatus[];
  /**
   * The index kinds this collection's store can build and search (from the registry, by auto
   * rank): the name queries use, the kind's id, its search parameter and default, one line about it.
   */
  kinds: KindInfo[];
  bytes: number;
}

/** What `Collection.tune` found for one kind and modality. */
export interface TuneResult {
  /** The kind's name ("ivf", "hnsw"). */
  type: string;
  /** The registered kind ("ivf", "pgvector-hnsw"). */
  kind: string;
  modality: Modality;
  /** The search parameter tuned ("nprobe", "ef"). */
  param: string;
  /** The Postgres setting it becomes ("hnsw.ef_search"), or null for clipdb's own indexes. */
  setting: string | null;
  /** The smallest value tried that reached the target (else the largest tried). */
  value: number;
  reached: boolean;
  /** Recall@10 against exact at each value tried, in order. */
  curve: { value: number; recall: number }[];
}

/** An index kind as status and the web UI describe it (see src/collection/kinds.ts). */
export interface KindInfo {
  /** What `index` and `--type` take: "hnsw", "ivf". */
  name: string;
  /** The registered kind: "hnsw", "ivf", "pgvector-hnsw", "pgvector-ivfflat". */
  kind: string;
  /** Its search parameter ("ef", "nprobe"), or null when it has none. */
  param: string | null;
  /** The parameter's default, or null. */
  default: number | null;
  describe: string;
}

/** An image to ingest: a file path or bytes, with optional id, metadata and captions. */
export interface ImageInput {
  /** Source file; its content hash makes re-adding the same file a no-op. */
  path?: string;
  /** Raw bytes (uploads); `name` is used in error messages. */
  data?: Buffer;
  name?: string;
  /** Stable id; default: the path relative to the ingest root, or the content hash for bytes. */
  id?: string;
  meta?: Record<string, unknown>;
  /** Captions, stored as text items paired with the image (ids `<image id>#<n>`). */
  captions?: string[];
}

/** A text to ingest. */
export interface TextInput {
  /** Stable id; default: "text:" + content hash. */
  id?: string;
  text: string;
  meta?: Record<string, unknown>;
}

/** Progress of an ingest: done and total inputs. */
export type ProgressFn = (done: number, total: number) => void;

/** Options shared by ingests. */
export interface AddOptions {
  /** Items embedded and committed per transaction; default 32. A kill loses at most the batch in flight. */
  batchSize?: number;
  onProgress?: ProgressFn;
  /** When aborted, stops after the current batch (committed work is kept). */
  signal?: AbortSignal;
  /**
   * Images only: skip an image that is a near-duplicate of one already stored or added earlier in
   * the same call (perceptual hash and embedding, see collection/dupes.ts), and report it in
   * `duplicates`. Default off; `true` uses the default threshold, or give the options.
   */
  skipDuplicates?: boolean | DupeOptions;
}

/** A thumbnail or full image as served. */
export interface ImageBytes {
  data: Buffer;
  mime: string;
}

/**
 * Where the embedding model stands, read without loading it: "idle" (not asked for yet), "loading",
 * "ready", or "failed" with the error of the last attempt (the next use tries again).
 */
export interface ModelState {
  state: "idle" | "loading" | "ready" | "failed";
  error?: Error;
}

/** The public surface of an open collection (implemented by Collection in collection.ts). */
export interface CollectionApi {
  readonly dir: string;
  readonly modelId: string | null;
  readonly dim: number | null;
  /** The model's state, without loading it (for health checks). */
  modelState(): ModelState;
  addImages(inputs: ImageInput[], opts?: AddOptions): Promise<AddSummary>;
  addTexts(inputs: TextInput[], opts?: AddOptions): Promise<AddSummary>;
  search(query: QueryInput, params?: SearchParams): Promise<SearchResult>;
  get(id: string): Promise<ItemView | undefined>;
  /**
   * The paired ids (by offset) of many items, and for an image its first caption's text, in one
   * store read (search hydration). Items without pairs are absent from the map.
   */
  pairsOf(ids: readonly string[]): Promise<Map<string, { pairs: string[]; caption: string | null }>>;
  /** Groups of near-duplicate images in the collection (collection/dupes.ts). */
  duplicates(opts?: DupeOptions): Promise<DupeReport>;
  /** Near-duplicates of one image, best first; NOT_FOUND for unknown ids, [] for texts. */
  duplicatesOf(id: string, opts?: DupeOptions): Promise<DupeMatch[]>;
  /** Full image bytes of an image item (NOT_FOUND for unknown ids or text items). */
  image(id: string): Promise<ImageBytes>;
  /** An EXIF-rotated JPEG thumbnail, made once and cached in the collection folder. */
  thumbnail(id: string, size?: number): Promise<ImageBytes>;
  remove(ids: string[]): Promise<number>;
  stats(): Promise<CollectionStats>;
  close(): Promise<void>;
}
