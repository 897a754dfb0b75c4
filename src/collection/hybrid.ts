/**
 * Keyword and hybrid ranking of a search (issue 12): the store's keyword index (FTS5 or
 * tsvector, see store/fts.ts) ranks text items by the query's words, and reciprocal rank fusion
 * (query/fuse.ts) merges that ranking with the vector ranking. Every hit keeps its true cosine
 * `score`; the fused RRF score orders them.
 */
import { ClipdbError } from "../core/errors.js";
import type { Modality } from "../core/types.js";
import { type SearchMode, SEARCH_MODES, reciprocalRankFusion } from "../query/fuse.js";
import type { StoreReader } from "../store/api.js";

/**
 * How deep each ranking is read before fusing, at least: default 50 (or k + offset when larger).
 * Deeper lists let an item ranked moderately in both lists rise above one ranked first in one;
 * the cost is one keyword query of that many rows and a top-depth vector search.
 */
export const HYBRID_DEPTH = 50;

/** A ranked hit before hydration: its offset, modality, true cosine, and (keyword/hybrid) its RRF score. */
export interface RankedHit {
  offset: number;
  modality: Modality;
  score: number;
  rrf?: number;
}

/**
 * Checks a search's mode against its query and modality: keyword and hybrid need words (the
 * query's text, or `keywords`) and a target that holds texts (modality text or any).
 *
 * @throws ClipdbError INVALID_ARGUMENT naming `mode`
 */
export function checkMode(mode: unknown, keywords: string | undefined, modality: Modality | "any"): SearchMode {
  if (!SEARCH_MODES.includes(mode as SearchMode)) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "mode", reason: `'${String(mode)}' is not vector, keyword or hybrid` });
  }
  if (mode === "vector") return mode;
  if (keywords === undefined || keywords.trim() === "") {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "mode", reason: `${mode} search matches words, and this query has none`, hint: "Search by text, or use mode vector." });
  }
  if (modality === "image") {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "mode", reason: `${mode} search ranks text items by their words, and this search targets images only`, hint: "Search texts (or any), or use mode vector." });
  }
  return mode as SearchMode;
}

/**
 * The keyword (mode "keyword") or fused (mode "hybrid") ranking, best first, `depth` hits at
 * most. `vectorHits` is the vector ranking (ignored for "keyword"); `allowText`, when set, is the
 * text offsets a filter lets through. Hits that only the keyword ranking found get their cosine
 * from their stored vectors, so `score` is the true cosine for every hit.
 */
export async function rankByKeywords(
  store: StoreReader,
  o: { mode: "keyword" | "hybrid"; q: Float32Array; keywords: string; depth: number; vectorHits: RankedHit[]; allowText?: Uint32Array },
): Promise<RankedHit[]> {
  const allow = o.allowText ? new Set(o.allowText) : undefined;
  // A filter drops keyword matches after ranking; read deeper so `depth` survive it more often.
  const limit = allow ? o.depth * 8 : o.depth;
  let kw = Array.from((await store.keywordSearch(o.keywords, limit)).offsets);
  if (allow) kw = kw.filter((off) => allow.has(off)).slice(0, o.depth);
  const lists: number[][] = o.mode === "hybrid" ? [o.vectorHits.map((h) => h.offset), kw] : [kw];
  const fused = reciprocalRankFusion(lists);
  const cos = new Map(o.vectorHits.map((h) => [h.offset, h.score]));
  const top = fused.offsets.slice(0, o.depth);
  const missing = top.filter((off) => !cos.has(off));
  if (missing.length > 0) {
    const xs = await store.vectorsAt(missing);
    const dim = o.q.length;
    missing.forEach((off, i) => {
      let s = 0;
      for (let j = 0; j < dim; j++) s += xs[i * dim + j] * o.q[j];
      cos.set(off, s);
    });
  }
  const modality = new Map(o.vectorHits.map((h) => [h.offset, h.modality]));
  return top.map((off, i) => ({ offset: off, modality: modality.get(off) ?? "text", score: cos.get(off)!, rrf: fused.scores[i] }));
}
