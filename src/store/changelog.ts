/**
 * The change log's shapes: what one write transaction changed (offsets added as a range, offsets
 * removed per modality), as the SQLite store records it in its `changes` table and replays it.
 */

/** What one write transaction changed, as logged in `changes`. */
export interface Change {
  lo: number;
  hi: number;
  added: { image: number; text: number };
  removed: { image: number[]; text: number[] };
}

/** A change that changed nothing (the start of every write transaction). */
export function emptyChange(): Change {
  return { lo: 0, hi: 0, added: { image: 0, text: 0 }, removed: { image: [], text: [] } };
}

/** u32 little-endian blob of offsets, or null when there are none. */
export const u32Blob = (xs: number[]): Buffer | null => (xs.length ? Buffer.from(Uint32Array.from(xs).buffer) : null);

/** The offsets of a u32 blob (a copy). */
export const u32Of = (b: Buffer | null): Uint32Array => (b ? new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)) : new Uint32Array(0));

/**
 * Generations of change log kept (one small row each). A reader further behind than this
 * reconciles in full (compares offsets) instead of replaying, which is slower but just as correct.
 */
export const CHANGE_LOG_KEEP = 100_000;

/** What the commits after a generation did, as returned by `Store.changesSince`. */
export interface StoreChanges {
  /** The generation these changes bring a reader to. */
  to: number;
  /** Offsets added since and still live, ascending, by modality. */
  added: { image: Uint32Array; text: Uint32Array };
  /** Offsets removed since, by modality (some may never have been seen by the reader). */
  removed: { image: Uint32Array; text: Uint32Array };
}
