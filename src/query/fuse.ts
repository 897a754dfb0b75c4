/**
 * Reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): combines rankings whose
 * scores are not comparable (cosine similarity and BM25) by rank alone. An item's fused score is
 * the sum over the rankings that hold it of 1 / (RRF_K + rank), rank counted from 1.
 */

/** The RRF constant; default 60, as in the paper (and Elasticsearch, OpenSearch). Higher flattens the head of each list. */
export const RRF_K = 60;

/** How a search ranks: by embedding (cosine), by keywords (text items only), or both fused by RRF. */
export type SearchMode = "vector" | "keyword" | "hybrid";

/** The search modes, for validation. */
export const SEARCH_MODES: readonly SearchMode[] = ["vector", "keyword", "hybrid"];

/**
 * Fuses rankings of offsets (each best first; an offset at most once per list) into one, best
 * first, with each offset's fused score. Ties go to the offset ranked better in the earlier
 * list, so with equal weight an item both lists hold beats one only a single list holds.
 */
export function reciprocalRankFusion(lists: ArrayLike<number>[], k = RRF_K): { offsets: number[]; scores: number[] } {
  const score = new Map<number, number>();
  const first = new Map<number, number>(); // tie-break: position of first appearance across lists
  let seen = 0;
  for (const list of lists) {
    for (let r = 0; r < list.length; r++) {
      const o = list[r];
      score.set(o, (score.get(o) ?? 0) + 1 / (k + r + 1));
      if (!first.has(o)) first.set(o, seen++);
    }
  }
  const offsets = [...score.keys()].sort((a, b) => score.get(b)! - score.get(a)! || first.get(a)! - first.get(b)!);
  return { offsets, scores: offsets.map((o) => score.get(o)!) };
}
