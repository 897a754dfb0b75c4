import type { Modality } from "../core/types.js";

/** An item to add: the user's stable `id`, what it is, where it came from, and its metadata. */
export interface NewItem {
  /** The user's stable string key; unique in the collection. */
  id: string;
  modality: Modality;
  /** Source path or URI (images), or null. */
  source: string | null;
  /** The text (captions and text items), or null. */
  text: string | null;
  /** Free metadata, stored as JSON; filterable with `Store.offsetsWhere`. */
  meta: Record<string, unknown>;
  /** Content hash of the source (for incremental adds), or null. */
  hash: string | null;
}

/** An item as stored: a NewItem plus its index offset and creation time. */
export interface ItemRecord extends NewItem {
  /** The index's integer key: assigned on add, monotonic, never reused after removal. */
  offset: number;
  /** ISO 8601 time of the write transaction that added it. */
  createdAt: string;
}

/** One caption pair: the text `textId` describes the image `imageId`. */
export interface Pair {
  imageId: string;
  textId: string;
}

/** Options of `Store.open`. */
export interface StoreOpenOptions {
  /** Create the directory and database when missing; default true. False gives NOT_FOUND instead. */
  create?: boolean;
  /** Open read-only (another process may write at the same time); default false. Writes give INVALID_ARGUMENT. */
  readonly?: boolean;
  /**
   * SQLite `synchronous` level; default "full": every commit is fsynced, so a committed batch
   * survives power loss too. "normal" skips that fsync (in WAL mode still safe against a
   * process kill, and never corrupt, but the last commits can roll back after an OS crash);
   * it only matters for many tiny transactions.
   */
  synchronous?: "full" | "normal";
  /** How long a write waits for another process's write lock, in ms; default 5000. */
  busyTimeoutMs?: number;
  /**
   * Vectors per storage block, for a new database only (an existing one keeps its own);
   * default 64. Larger blocks load faster and cost more to rewrite on a small add or remove.
   */
  blockSize?: number;
}

/** The result of `Store.verify`: ok, or the list of problems found. */
export interface VerifyReport {
  ok: boolean;
  problems: string[];
}
