/**
 * Near-duplicate images (issue 12): re-encodes, resizes, small crops and EXIF-rotated copies of
 * one picture. Two images are near-duplicates when BOTH hold:
 * - their perceptual hashes (`meta.phash`, recorded at ingest) differ in at most `maxDistance`
 *   of 64 bits (default DEFAULT_HASH_DISTANCE): this keeps precision, also with a weak or
 *   random-weight model, since similar but distinct photos (the same scene shot twice) differ in
 *   many more bits than a copy does;
 * - their embeddings' cosine is at least `threshold` (default DEFAULT_DUPE_THRESHOLD).
 * The score of a pair is its cosine. Precision is favoured over recall (a flagged pair may be
 * deleted by a user); measured in bench/dupes.ts (see the README table).
 */
import { ClipdbError } from "../core/errors.js";
import type { StoreReader } from "../store/index.js";
import { PHASH_KEY } from "./capture.js";

/** Default embedding cosine a pair must reach; measured with bench/dupes.ts. */
export const DEFAULT_DUPE_THRESHOLD = 0.9;

/** Default most perceptual-hash bits (of 64) two near-duplicates may differ in; measured with bench/dupes.ts. */
export const DEFAULT_HASH_DISTANCE = 10;

/** Options of near-duplicate searches. */
export interface DupeOptions {
  /** Least cosine of the embeddings, 0..1; default DEFAULT_DUPE_THRESHOLD. Higher is stricter. */
  threshold?: number;
  /** Most differing hash bits, 0..64; default DEFAULT_HASH_DISTANCE. Lower is stricter. */
  maxDistance?: number;
}

/** A group of near-identical images: ids in offset order, and the least pair score that joined them. */
export interface DupeGroup {
  ids: string[];
  score: number;
}

/** One near-duplicate of an item: its id, the cosine, and the hash distance in bits. */
export interface DupeMatch {
  id: string;
  score: number;
  distance: number;
}

/** The answer of a whole-collection search: the groups, and images that have no hash (not compared). */
export interface DupeReport {
  groups: DupeGroup[];
  /** Images compared. */
  images: number;
  /** Ids of images with no perceptual hash that could not be hashed now (their files are gone). */
  unhashed: string[];
}

/** Reads the hash of an image whose record has none (items added before hashes were recorded). */
export type HashFallback = (id: string) => Promise<string | undefined>;

interface Hashed {
  id: string;
  offset: number;
  hi: number;
  lo: number;
}

/** Checked options with defaults. */
export function dupeOptions(o: DupeOptions = {}): Required<DupeOptions> {
  const threshold = o.threshold ?? DEFAULT_DUPE_THRESHOLD;
  const maxDistance = o.maxDistance ?? DEFAULT_HASH_DISTANCE;
  if (typeof threshold !== "number" || !(threshold >= -1 && threshold <= 1)) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "threshold", reason: `expected a cosine from -1 to 1, got ${String(threshold)}`, hint: `The default is ${DEFAULT_DUPE_THRESHOLD}; raise it for fewer, surer groups.` });
  }
  if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > 64) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "maxDistance", reason: `expected an integer from 0 to 64, got ${String(maxDistance)}` });
  }
  return { threshold, maxDistance };
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** A valid 64-bit hash as two words, or undefined. */
function words(h: unknown): [number, number] | undefined {
  if (typeof h !== "string" || !/^[0-9a-f]{16}$/.test(h)) return undefined;
  return [parseInt(h.slice(0, 8), 16), parseInt(h.slice(8), 16)];
}

async function hashedImages(store: StoreReader, fallback?: HashFallback): Promise<{ hashed: Hashed[]; unhashed: string[] }> {
  const recs = await store.getManyByOffsets(await store.liveOffsets("image"));
  const hashed: Hashed[] = [];
  const unhashed: string[] = [];
  for (const r of recs) {
    let w = words(r.meta[PHASH_KEY]);
    if (!w && fallback) w = words(await fallback(r.id).catch(() => undefined));
    if (w) hashed.push({ id: r.id, offset: r.offset, hi: w[0], lo: w[1] });
    else unhashed.push(r.id);
  }
  return { hashed, unhashed };
}

function dot(xs: Float32Array, i: number, j: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += xs[i * dim + d] * xs[j * dim + d];
  return s;
}

/**
 * All groups of near-duplicate images in the store (pairs joined transitively, union-find),
 * largest score first. Cost: all image records read once, n²/2 hash comparisons (about a second
 * at 30k images), and one vector read of the images that have a close hash.
 */
export async function findDuplicates(store: StoreReader, opts: DupeOptions = {}, fallback?: HashFallback): Promise<DupeReport> {
  const { threshold, maxDistance } = dupeOptions(opts);
  const { hashed, unhashed } = await hashedImages(store, fallback);
  const close: [number, number, number][] = [];
  for (let i = 0; i < hashed.length; i++) {
    const a = hashed[i];
    for (let j = i + 1; j < hashed.length; j++) {
      const b = hashed[j];
      const d = popcount(a.hi ^ b.hi) + popcount(a.lo ^ b.lo);
      if (d <= maxDistance) close.push([i, j, d]);
    }
  }
  const involved = [...new Set(close.flatMap(([i, j]) => [i, j]))].sort((x, y) => hashed[x].offset - hashed[y].offset);
  const row = new Map(involved.map((i, r) => [i, r]));
  const model = await store.model();
  const xs = involved.length && model ? await store.vectorsAt(involved.map((i) => hashed[i].offset)) : new Float32Array(0);
  const dim = model?.dim ?? 0;
  const parent = hashed.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const minScore = new Map<number, number>();
  for (const [i, j] of close) {
    const s = Math.fround(dot(xs, row.get(i)!, row.get(j)!, dim));
    if (s < threshold) continue;
    const ri = find(i);
    const rj = find(j);
    const m = Math.min(s, minScore.get(ri) ?? 1, minScore.get(rj) ?? 1);
    if (ri !== rj) parent[rj] = ri;
    minScore.set(ri, m);
  }
  const groups = new Map<number, number[]>();
  for (let i = 0; i < hashed.length; i++) {
    const r = find(i);
    if (r === i && !minScore.has(r)) continue;
    const g = groups.get(r) ?? [];
    g.push(i);
    groups.set(r, g);
  }
  const out: DupeGroup[] = [];
  for (const [r, members] of groups) {
    if (members.length < 2) continue;
    members.sort((x, y) => hashed[x].offset - hashed[y].offset);
    out.push({ ids: members.map((i) => hashed[i].id), score: minScore.get(r) ?? 1 });
  }
  out.sort((a, b) => b.score - a.score || (a.ids[0] < b.ids[0] ? -1 : 1));
  return { groups: out, images: hashed.length, unhashed };
}

/**
 * The near-duplicates of one image among the stored images, best first (score, then distance).
 * `hash` and `vector` describe the image (stored or not: ingest checks new files with it);
 * `self` is left out. Cost: one pass over the image records and one vector read of the close ones.
 */
export async function duplicatesOfHash(
  store: StoreReader,
  hash: string,
  vector: Float32Array,
  opts: DupeOptions = {},
  self?: number,
  fallback?: HashFallback,
): Promise<DupeMatch[]> {
  const { threshold, maxDistance } = dupeOptions(opts);
  const w = words(hash);
  if (!w) return [];
  const { hashed } = await hashedImages(store, fallback);
  const close = hashed
    .filter((h) => h.offset !== self)
    .map((h) => ({ h, d: popcount(h.hi ^ w[0]) + popcount(h.lo ^ w[1]) }))
    .filter((x) => x.d <= maxDistance);
  if (!close.length) return [];
  const dim = vector.length;
  const xs = await store.vectorsAt(close.map((x) => x.h.offset));
  const out: DupeMatch[] = [];
  close.forEach((x, r) => {
    let s = 0;
    for (let d = 0; d < dim; d++) s += xs[r * dim + d] * vector[d];
    s = Math.fround(s);
    if (s >= threshold) out.push({ id: x.h.id, score: s, distance: x.d });
  });
  return out.sort((a, b) => b.score - a.score || a.distance - b.distance || (a.id < b.id ? -1 : 1));
}

/**
 * Checks new images against the stored ones and against those accepted earlier in the same ingest
 * (`clipdb add --skip-duplicates`). The stored hashes are read once, when the first image is
 * checked; the vectors of close hashes only. Items without a stored hash are not compared.
 */
export class DupeChecker {
  private stored?: Hashed[];
  private readonly fresh: { id: string; hi: number; lo: number; v: Float32Array }[] = [];
  private readonly o: Required<DupeOptions>;

  constructor(private readonly store: StoreReader, opts: DupeOptions = {}) {
    this.o = dupeOptions(opts);
  }

  /** The best stored or accepted near-duplicate of an image, or undefined. */
  async match(hash: string | undefined, vector: Float32Array, id?: string): Promise<DupeMatch | undefined> {
    const w = words(hash);
    if (!w) return undefined;
    this.stored ??= (await hashedImages(this.store)).hashed;
    const best: DupeMatch[] = [];
    const close = this.stored.map((h) => ({ h, d: popcount(h.hi ^ w[0]) + popcount(h.lo ^ w[1]) })).filter((x) => x.d <= this.o.maxDistance);
    if (close.length) {
      const dim = vector.length;
      const xs = await this.store.vectorsAt(close.map((x) => x.h.offset));
      close.forEach((x, r) => {
        let s = 0;
        for (let d = 0; d < dim; d++) s += xs[r * dim + d] * vector[d];
        if (Math.fround(s) >= this.o.threshold) best.push({ id: x.h.id, score: Math.fround(s), distance: x.d });
      });
    }
    for (const f of this.fresh) {
      const d = popcount(f.hi ^ w[0]) + popcount(f.lo ^ w[1]);
      if (d > this.o.maxDistance) continue;
      let s = 0;
      for (let i = 0; i < vector.length; i++) s += f.v[i] * vector[i];
      if (Math.fround(s) >= this.o.threshold) best.push({ id: f.id, score: Math.fround(s), distance: d });
    }
    return best.filter((m) => m.id !== id).sort((a, b) => b.score - a.score || a.distance - b.distance)[0];
  }

  /** Records an image accepted in this ingest, so later ones are checked against it. */
  accept(id: string, hash: string | undefined, vector: Float32Array): void {
    const w = words(hash);
    if (w) this.fresh.push({ id, hi: w[0], lo: w[1], v: vector.slice() });
  }
}
