/**
 * Retrieval metrics over ranked lists. A query's ranked list is an array of target offsets,
 * best first; its ground truth is the set of offsets that count as correct.
 */

/**
 * Recall@K, the standard COCO/Flickr protocol: the fraction of queries with at least one correct
 * target among their first K results. For t2i each caption has one correct image; for i2t each
 * image's correct targets are all its captions.
 */
export function recallAtK(ranked: ArrayLike<number>[], truth: Set<number>[], k: number): number {
  if (ranked.length === 0) return 0;
  let hits = 0;
  for (let q = 0; q < ranked.length; q++) {
    const list = ranked[q];
    const n = Math.min(k, list.length);
    for (let i = 0; i < n; i++) {
      if (truth[q].has(list[i])) {
        hits++;
        break;
      }
    }
  }
  return hits / ranked.length;
}

/**
 * hit@k, the seed study's measure: over every (query, paired target) pair, the fraction whose own
 * paired target is among the query's first k results. For t2i (one image per caption) it equals
 * Recall@K; for i2t an image with 5 captions contributes 5 pairs, each counted on its own.
 */
export function hitAtK(ranked: ArrayLike<number>[], truth: Set<number>[], k: number): number {
  let pairs = 0;
  let hits = 0;
  for (let q = 0; q < ranked.length; q++) {
    const top = new Set(Array.from(ranked[q]).slice(0, k));
    for (const t of truth[q]) {
      pairs++;
      if (top.has(t)) hits++;
    }
  }
  return pairs ? hits / pairs : 0;
}

/** Mean overlap of each approximate top-k with the exact top-k (|A ∩ E| / |E|), the recall against exact. */
export function recallVsExact(approx: ArrayLike<number>[], exact: ArrayLike<number>[], k: number): number {
  if (exact.length === 0) return 0;
  let sum = 0;
  for (let q = 0; q < exact.length; q++) {
    const e = Array.from(exact[q]).slice(0, k);
    if (e.length === 0) {
      sum += 1;
      continue;
    }
    const a = new Set(Array.from(approx[q]).slice(0, k));
    sum += e.filter((x) => a.has(x)).length / e.length;
  }
  return sum / exact.length;
}

/** The p-th percentile (0..100) of values, by nearest rank; 0 for an empty list. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
