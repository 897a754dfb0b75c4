/**
 * One cost model for the choice every filtered search makes: score the allowed offsets exactly, or
 * run the index's own search and filter as it goes. Cost is counted in vectors scored. Scanning a
 * known list of L offsets exactly costs about L (plus a gather, see GATHER_COST); an index search
 * costs its `work`: IVF the vectors in the probed lists (nprobe · n / nlist), HNSW about ef · M
 * (what one graph search scores), a full flat scan n / GATHER_COST (it reads rows in order, a
 * list gathers them). Below EXACT_SCAN_FLOOR a list is always scanned exactly: that costs well under
 * a millisecond, and is exact.
 */

/**
 * Lists of at most this many offsets are always scanned exactly, whatever the index (4096: under
 * 1 ms at 512-d on one core, see bench/auto.ts). Raising it makes more filtered queries exact and
 * slower; lowering it sends small filters through the approximate index, which may return fewer.
 */
export const EXACT_SCAN_FLOOR = 4096;

/**
 * What gathering one listed row costs against reading one row of an in-order scan (about 4: random
 * reads and a copy). A flat index scans a list instead of every row when the list is under n / 4.
 */
export const GATHER_COST = 4;

/**
 * True when scanning `listed` offsets exactly costs no more than a search that scores `work`
 * vectors, or the list is under EXACT_SCAN_FLOOR. Every index and the query planner decide with this.
 *
 * @param listed how many offsets the filter's list holds
 * @param work vectors the alternative scores (0 when there is nothing cheaper to compare with)
 */
export function scanListed(listed: number, work: number): boolean {
  return listed <= Math.max(EXACT_SCAN_FLOOR, work);
}
