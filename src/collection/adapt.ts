/**
 * Query adapters kept in a collection's store, so they work the same on SQLite and on Postgres:
 * the setting `adapter` (JSON: what was trained, on which pairs, and what it measured) and one
 * blob per direction, `adapter/t2i` and `adapter/i2t` (U then V, float32 little-endian).
 */
import { ClipdbError } from "../core/errors.js";
import type { Modality } from "../core/types.js";
import type { CollectionStore, StoreReader } from "../store/index.js";
import {
  applyAdapter,
  firstHitRanks,
  recallFromRanks,
  runAdapt,
  type Adapter,
  type AdaptOptions,
  type AdaptOutcome,
  type Direction,
  type Recalls,
} from "../query/index.js";

/** The setting that describes the stored adapters. */
export const ADAPTER_SETTING = "adapter";

/** What is recorded of one stored direction. */
export interface StoredDirection {
  rank: number;
  blob: string;
  trainedAt: string;
  trainPairs: number;
  heldOutQueries: number;
  before: Recalls;
  after: Recalls;
  r1Gain: { delta: number; lo: number; hi: number };
}

/** The `adapter` setting. */
export interface AdapterSetting {
  version: 1;
  modelId: string;
  dim: number;
  seed: number;
  holdout: number;
  /** Image offsets held out when each direction was trained (their pairs were never trained on). */
  heldOutImages: Partial<Record<Direction, number[]>>;
  directions: Partial<Record<Direction, StoredDirection>>;
}

/** The loaded adapters of a collection. */
export type Adapters = Partial<Record<Direction, Adapter>>;

const blobOf = (a: Adapter): Buffer => {
  const all = new Float32Array(a.u.length + a.v.length);
  all.set(a.u);
  all.set(a.v, a.u.length);
  return Buffer.from(all.buffer);
};

function adapterOf(buf: Buffer, dim: number, rank: number, key: string): Adapter {
  if (buf.byteLength !== 2 * dim * rank * 4) {
    throw new ClipdbError("STORE_CORRUPT", { path: `blob ${key}`, reason: `${buf.byteLength} bytes, expected ${2 * dim * rank * 4} for a rank-${rank} adapter of dim ${dim}`, hint: "Run 'clipdb adapt --drop', then 'clipdb adapt' again." });
  }
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return { dim, rank, u: all.subarray(0, dim * rank), v: all.subarray(dim * rank) };
}

/** The options and outcome of {@link adaptCollection}. */
export interface AdaptRunOptions extends AdaptOptions {
  /** Measure only: store nothing even when a direction passes. Default false. */
  dryRun?: boolean;
}

/** Every live vector of a modality, with its offset. */
async function gallery(r: StoreReader, m: Modality): Promise<{ offsets: Uint32Array; xs: Float32Array }> {
  return r.vectors(m);
}

/**
 * Trains, measures and (when they pass, see AdaptOptions.minGain) stores query adapters from the
 * collection's pairs. A direction that does not pass stores nothing and leaves any adapter stored
 * earlier for that direction as it was. INVALID_ARGUMENT for an empty or unpaired collection.
 */
export async function adaptCollection(store: CollectionStore, opts: AdaptRunOptions = {}): Promise<AdaptOutcome & { stored: Direction[] }> {
  const model = await store.model();
  if (!model) throw new ClipdbError("INVALID_ARGUMENT", { name: "collection", reason: "it is empty", hint: "Add captioned images first." });
  const { pairs, image, text } = await store.read(async (r) => ({ pairs: await r.pairs(), image: await gallery(r, "image"), text: await gallery(r, "text") }));
  const outcome = runAdapt({ dim: model.dim, pairs, gallery: { image, text } }, opts);
  const stored: Direction[] = [];
  const kept = outcome.directions.filter((d) => d.kept && d.adapter);
  if (!opts.dryRun && kept.length) {
    const prev = await store.getSetting<AdapterSetting>(ADAPTER_SETTING);
    const same = prev && prev.modelId === model.modelId && prev.dim === model.dim;
    const setting: AdapterSetting = {
      version: 1,
      modelId: model.modelId,
      dim: model.dim,
      seed: outcome.seed,
      holdout: outcome.holdout,
      heldOutImages: same ? { ...prev.heldOutImages } : {},
      directions: same ? { ...prev.directions } : {},
    };
    const held = outcome.heldOut;
    for (const d of kept) {
      const blob = `adapter/${d.direction}`;
      await store.putBlob(blob, blobOf(d.adapter!));
      setting.directions[d.direction] = {
        rank: d.adapter!.rank,
        blob,
        trainedAt: new Date().toISOString(),
        trainPairs: d.trainPairs,
        heldOutQueries: d.heldOutQueries,
        before: d.before,
        after: d.after,
        r1Gain: { delta: d.r1Gain.delta, lo: d.r1Gain.lo, hi: d.r1Gain.hi },
      };
      setting.heldOutImages[d.direction] = held;
      stored.push(d.direction);
    }
    await store.setSetting(ADAPTER_SETTING, setting);
  }
  return { ...outcome, stored };
}

/** Removes the stored adapters (the setting; the blobs are emptied). Returns the directions removed. */
export async function dropAdapters(store: CollectionStore): Promise<Direction[]> {
  const s = await store.getSetting<AdapterSetting>(ADAPTER_SETTING);
  if (!s) return [];
  await store.setSetting(ADAPTER_SETTING, undefined);
  for (const d of Object.values(s.directions)) if (d) await store.putBlob(d.blob, Buffer.alloc(0));
  return Object.keys(s.directions) as Direction[];
}

/**
 * The adapters of a collection, read from its store and re-read only when the setting changes
 * (one cheap settings read per search), so every process sees an `adapt` run by another.
 */
export class AdapterCache {
  private raw: string | undefined;
  private loaded: Adapters = {};
  private info: AdapterSetting | undefined;

  /** The current adapters (empty when none is stored, or when they were trained for another model). */
  async get(store: StoreReader): Promise<{ adapters: Adapters; setting?: AdapterSetting }> {
    const raw = await store.getSettingRaw(ADAPTER_SETTING);
    if (raw === this.raw) return { adapters: this.loaded, setting: this.info };
    const s = raw === undefined ? undefined : (JSON.parse(raw) as AdapterSetting);
    const model = await store.model();
    const out: Adapters = {};
    if (s && model && s.modelId === model.modelId && s.dim === model.dim) {
      for (const [dir, d] of Object.entries(s.directions) as [Direction, StoredDirection][]) {
        const buf = await store.getBlob(d.blob);
        if (buf) out[dir] = adapterOf(buf, s.dim, d.rank, d.blob);
      }
    }
    this.raw = raw;
    this.loaded = out;
    this.info = s;
    return { adapters: out, setting: s };
  }
}

/**
 * The direction whose adapter applies to a query: a text (or text item) searching images only is
 * t2i, an image (or image item) searching texts only is i2t; anything else (a vector, or a search
 * of the same modality or of both) is left as it is.
 */
export function directionOf(query: Modality | undefined, targets: Modality[]): Direction | undefined {
  if (targets.length !== 1 || !query || targets[0] === query) return undefined;
  return query === "text" ? "t2i" : "i2t";
}

/** Applies the adapter of a direction to one query vector (a new, normalised array). */
export function adaptQuery(adapters: Adapters, dir: Direction | undefined, q: Float32Array): { q: Float32Array; adapted?: Direction } {
  const a = dir && adapters[dir];
  if (!a || !dir) return { q };
  return { q: applyAdapter(a, q), adapted: dir };
}

/** Exact Recall@1/5/10 of one direction with and without its adapter, on all pairs and on the held-out ones. */
export interface AdaptedEval {
  direction: Direction;
  queries: number;
  without: Recalls;
  with: Recalls;
  heldOut: { queries: number; without: Recalls; with: Recalls };
}

/**
 * What `eval` reports for the stored adapters: exact search (brute force over every live target)
 * with and without each, on every query, and on the queries of the images held out when it was
 * trained (the all-pairs figure includes the pairs it was trained on, so it is optimistic).
 */
export async function evalAdapters(store: CollectionStore, cache: AdapterCache, limit?: number): Promise<AdaptedEval[]> {
  const { adapters, setting } = await cache.get(store);
  if (!setting || !Object.keys(adapters).length) return [];
  const { pairs, image, text } = await store.read(async (r) => ({ pairs: await r.pairs(), image: await r.vectors("image"), text: await r.vectors("text") }));
  const g = { image, text };
  const dim = setting.dim;
  const out: AdaptedEval[] = [];
  for (const dir of ["t2i", "i2t"] as const) {
    const a = adapters[dir];
    if (!a) continue;
    const [qm, tm]: Modality[] = dir === "t2i" ? ["text", "image"] : ["image", "text"];
    const groups = new Map<number, number[]>();
    const imgOfQuery = new Map<number, Set<number>>();
    for (let i = 0; i < pairs.image.length; i++) {
      const [q, t] = dir === "t2i" ? [pairs.text[i], pairs.image[i]] : [pairs.image[i], pairs.text[i]];
      groups.set(q, [...(groups.get(q) ?? []), t]);
      imgOfQuery.set(q, new Set([...(imgOfQuery.get(q) ?? []), pairs.image[i]]));
    }
    const tAt = new Map<number, number>();
    g[tm].offsets.forEach((o, i) => tAt.set(o, i));
    const qAt = new Map<number, number>();
    g[qm].offsets.forEach((o, i) => qAt.set(o, i));
    const qs = [...groups.keys()].filter((q) => qAt.has(q)).sort((x, y) => x - y).slice(0, limit ?? Infinity);
    const qv = new Float32Array(qs.length * dim);
    qs.forEach((q, i) => qv.set(g[qm].xs.subarray(qAt.get(q)! * dim, (qAt.get(q)! + 1) * dim), i * dim));
    const positives = qs.map((q) => groups.get(q)!.filter((t) => tAt.has(t)).map((t) => tAt.get(t)!));
    const before = firstHitRanks(qv, g[tm].xs, dim, positives);
    const after = firstHitRanks(applyAdapter(a, qv), g[tm].xs, dim, positives);
    const held = new Set(setting.heldOutImages[dir] ?? []);
    const heldIdx = qs.map((q, i) => ([...imgOfQuery.get(q)!].every((o) => held.has(o)) ? i : -1)).filter((i) => i >= 0);
    const sub = (r: Int32Array) => Int32Array.from(heldIdx, (i) => r[i]);
    const rec = (r: Int32Array): Recalls => ({ "R@1": round(recallFromRanks(r, 1)), "R@5": round(recallFromRanks(r, 5)), "R@10": round(recallFromRanks(r, 10)) });
    out.push({ direction: dir, queries: qs.length, without: rec(before), with: rec(after), heldOut: { queries: heldIdx.length, without: rec(sub(before)), with: rec(sub(after)) } });
  }
  return out;
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
