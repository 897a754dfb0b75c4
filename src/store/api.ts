/**
 * The storage seam (issue 11): one async interface for a collection's durable records, implemented
 * by the embedded SQLite store (`SqliteCollectionStore`, over the synchronous `Store`) and by
 * Postgres + pgvector (`PgCollectionStore`, over the `pg` driver). The store conformance suite
 * (test/store/conformance.test.ts) runs every behaviour below against both.
 *
 * Contract, for every implementation:
 * - Offsets are assigned in commit order, monotonic, never reused. Vectors are float32,
 *   L2-normalised, `dim` per row, in one contiguous Float32Array per batch.
 * - Every committed write that changes items, vectors, pairs or the model bumps `generation()` by
 *   one and logs its change (offsets added and removed, per modality), so `changesSince(g)`
 *   replays exactly the commits after g, or returns null when the log no longer reaches back.
 *   Settings never bump the generation.
 * - `read(fn)` runs fn against one consistent snapshot; `transaction(fn)` runs fn as one atomic
 *   write (all or nothing), serialised with every other writer of the collection. Nested calls of
 *   the plain methods inside fn use the same snapshot or transaction.
 * - Errors are ClipdbErrors with the codes documented on `Store` (DIM_MISMATCH, DUPLICATE_ID,
 *   INVALID_VECTOR, NOT_FOUND, STORE_CORRUPT, ...), plus STORE_UNAVAILABLE when a server-backed
 *   store cannot be reached. Nothing is written when a write fails.
 */
import type { Modality } from "../core/types.js";
import type { StoreChanges } from "./store.js";
import type { ItemRecord, NewItem, Pair } from "./types.js";
import type { WhereFilter } from "./where.js";

/** The pairs of one item: paired ids by offset, and (for an image) its first caption's text. */
export interface ItemPairs {
  pairs: string[];
  caption: string | null;
}

/** Reads of a collection's records. All methods are async so a network store can implement them. */
export interface StoreReader {
  /** The recorded model, or null before the first setModel. */
  model(): Promise<{ modelId: string; dim: number } | null>;
  /** The item with this id, or undefined. */
  get(id: string): Promise<ItemRecord | undefined>;
  /** The live items at these offsets, in the same order (non-live offsets left out). */
  getManyByOffsets(offsets: ArrayLike<number>): Promise<ItemRecord[]>;
  /** Items whose content hash equals `hash`, by offset. */
  findByHash(hash: string): Promise<ItemRecord[]>;
  /** All live vectors of a modality (or all), offsets ascending, offsets >= `from` (default 0). */
  vectors(modality?: Modality, from?: number): Promise<{ offsets: Uint32Array; xs: Float32Array }>;
  /** The vector of a live offset (a copy), or undefined. */
  vector(offset: number): Promise<Float32Array | undefined>;
  /** Vectors of these live offsets, in order; a non-live offset is NOT_FOUND. */
  vectorsAt(offsets: ArrayLike<number>): Promise<Float32Array>;
  /** Live offsets of a modality (or all), ascending, >= `from` (default 0). */
  liveOffsets(modality?: Modality, from?: number): Promise<Uint32Array>;
  /** Offsets (ascending) passing a metadata filter: equality (object form) or typed conditions (store/where.ts). */
  offsetsWhere(where: WhereFilter, modality?: Modality): Promise<Uint32Array>;
  /**
   * Keyword search over text items: up to `limit` text offsets matching any word or "quoted
   * phrase" of `query` (stemmed), best first, with engine scores (higher is better; BM25 in
   * SQLite, ts_rank in Postgres, so not comparable across stores). See fts.ts.
   */
  keywordSearch(query: string, limit: number): Promise<{ offsets: Uint32Array; scores: Float64Array }>;
  /** Ids paired with this one, by offset. */
  pairedIds(id: string): Promise<string[]>;
  /**
   * For many items at once (one query): each one's paired ids by offset, and for an image the text
   * of its first caption. Ids without pairs (or unknown) are left out of the map.
   */
  pairsOfMany(ids: readonly string[]): Promise<Map<string, ItemPairs>>;
  /** Every pair as (image offset, text offset), sorted by image then text. */
  pairs(): Promise<{ image: Uint32Array; text: Uint32Array }>;
  /** Live items by modality, and pairs. */
  counts(): Promise<{ images: number; texts: number; pairs: number }>;
  /** Items with a source, sorted by source; optionally those under `prefix`. */
  sources(prefix?: string): Promise<{ id: string; source: string; hash: string | null }[]>;
  /** A JSON setting, parsed, or undefined. */
  getSetting<T>(key: string): Promise<T | undefined>;
  /** A setting's raw JSON text, or undefined (cheap change detection). */
  getSettingRaw(key: string): Promise<string | undefined>;
  /** The change counter (see the module contract). */
  generation(): Promise<number>;
  /** What every commit after `from` did, or null when the log does not reach back (reconcile in full). */
  changesSince(from: number): Promise<StoreChanges | null>;
  /** Items of `modality` (or both) added or removed after `from`; Infinity when the log does not reach back. */
  changedSince(from: number, modality?: Modality): Promise<number>;
  /** Bytes stored under `key` (uploaded images, thumbnails), or undefined. */
  getBlob(key: string): Promise<Buffer | undefined>;
}

/** Writes of a collection's records (each one atomic; group them with `transaction`). */
export interface StoreWriter extends StoreReader {
  /** Records the model on the first call; later calls check it (DIM_MISMATCH, MODEL_MISMATCH). */
  setModel(modelId: string, dim: number): Promise<void>;
  /** Adds items with their vectors (and pairs) and returns their records with new offsets. */
  addItems(items: NewItem[], vectors: Float32Array, pairs?: Pair[]): Promise<ItemRecord[]>;
  /** Records caption pairs (NOT_FOUND for unknown ids; nothing written then). */
  addPairs(pairs: Pair[]): Promise<void>;
  /** Removes items (unknown ids skipped unless strict), their pairs and vectors; returns removed offsets. */
  remove(ids: string[], opts?: { strict?: boolean }): Promise<Uint32Array>;
  /** Stores a JSON setting (undefined deletes it); never bumps the generation. */
  setSetting(key: string, value: unknown): Promise<void>;
  /** Stores bytes under `key`, replacing any (never bumps the generation). */
  putBlob(key: string, data: Buffer): Promise<void>;
}

/** One open collection store. */
export interface CollectionStore extends StoreWriter {
  /** Where the store lives, safe to show: a folder, or a connection string without its password. */
  readonly location: string;
  /** "sqlite" or "postgres". */
  readonly kind: "sqlite" | "postgres";
  /** Runs `fn` against one consistent snapshot. */
  read<T>(fn: (r: StoreReader) => Promise<T>): Promise<T>;
  /** Runs `fn` as one atomic write transaction, serialised with every other writer. */
  transaction<T>(fn: (w: StoreWriter) => Promise<T>): Promise<T>;
  /** The generation of this handle's latest write (-1 before the first). */
  readonly lastGeneration: number;
  /** Closes the store (idempotent). */
  close(): Promise<void>;
}
