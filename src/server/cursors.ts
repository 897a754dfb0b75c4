/**
 * "Load more" for the HTTP API: every search page that may have a next one carries a `next`
 * cursor, and POST /api/v1/search with `{ "cursor": next }` returns the page after it.
 *
 * What is kept, and so not recomputed: the query's embedding (a text query is not embedded again,
 * an uploaded image is neither re-sent nor re-decoded and embedded), its words for keyword and
 * hybrid ranking, and its options. What is recomputed: the index search, at depth offset + k
 * (an exact scan costs about the same at any depth; IVF and HNSW a little more per page), so a
 * page reflects writes made since the first one. Cursors live in this server process's memory:
 * the latest MAX_CURSORS searches, each for CURSOR_TTL_MS after its last use; an expired or
 * unknown cursor is NOT_FOUND, saying to search again.
 */
import { randomBytes } from "node:crypto";
import type { QueryInput, SearchParams, SearchResult } from "../collection/types.js";
import { ClipdbError } from "../core/errors.js";

/** Searches whose cursors are kept; default 256 (the oldest is dropped first). */
export const MAX_CURSORS = 256;
/** How long a cursor stays valid after its last use; default 15 minutes. */
export const CURSOR_TTL_MS = 15 * 60 * 1000;

interface Entry {
  query: QueryInput;
  params: SearchParams;
  usedAt: number;
}

/** The cursors of one server: an LRU map from cursor id to the search it continues. */
export class Cursors {
  private readonly entries = new Map<string, Entry>();

  /**
   * The cursor of the page after `result` (searched with `query` and `params`), or null when this
   * page came back short of k (nothing more to load).
   */
  next(query: QueryInput, params: SearchParams, result: SearchResult): string | null {
    const k = params.k ?? 10;
    if (result.results.length < k || result.queryVector === undefined) return null;
    // Keep the vector, not the text or image: the next page then skips the embedding. An item
    // query stays an item query, so the item itself is still left out of its own results.
    // (A combined query, with plus or minus terms, is kept as its combined vector.)
    const plain = !query.plus?.length && !query.minus?.length;
    const kept: QueryInput = query.item !== undefined && plain ? { item: query.item } : { vector: result.queryVector };
    const keywords = params.keywords ?? query.text;
    const id = randomBytes(9).toString("base64url");
    // The vector is the one searched with, after any query adapter: it is not adapted twice.
    const more: SearchParams = kept.vector ? { adapt: false } : {};
    this.put(id, { query: kept, params: { ...params, ...more, keywords, offset: undefined }, usedAt: Date.now() });
    return `${id}.${(params.offset ?? 0) + result.results.length}`;
  }

  /**
   * The query and params of the page a cursor points to (k from `k` when given, else the first
   * page's), and the cursor's id, to hand on.
   *
   * @throws ClipdbError NOT_FOUND for an expired, evicted or malformed cursor
   */
  resume(cursor: string, k: number | undefined): { query: QueryInput; params: SearchParams } {
    const m = /^([A-Za-z0-9_-]{12})\.(\d{1,9})$/.exec(cursor);
    const e = m ? this.entries.get(m[1]) : undefined;
    if (!m || !e || Date.now() - e.usedAt > CURSOR_TTL_MS) {
      if (m) this.entries.delete(m[1]);
      throw new ClipdbError("NOT_FOUND", { what: "page", id: cursor.slice(0, 40), hint: "Pages of a search are kept for 15 minutes; search again to start over." });
    }
    e.usedAt = Date.now();
    this.put(m[1], e);
    return { query: e.query, params: { ...e.params, offset: Number(m[2]), ...(k === undefined ? {} : { k }) } };
  }

  /** The cursor of the page after a resumed one: the same search, further on. */
  after(cursor: string, params: SearchParams, result: SearchResult): string | null {
    if (result.results.length < (params.k ?? 10)) return null;
    return `${cursor.split(".")[0]}.${(params.offset ?? 0) + result.results.length}`;
  }

  private put(id: string, e: Entry): void {
    this.entries.delete(id);
    this.entries.set(id, e);
    while (this.entries.size > MAX_CURSORS) this.entries.delete(this.entries.keys().next().value!);
  }
}
