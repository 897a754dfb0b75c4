import { ClipdbError } from "../core/errors.js";
import type { Modality } from "../core/types.js";
import { FlatIndex, IvfIndex, formatSpec, type BaseIndex } from "../index/index.js";
import type { CollectionStore } from "../store/index.js";
import type { BuildOptions } from "./kind-types.js";
import { countOf } from "./lazy-flat.js";
import type { LocalKind } from "./kind-types.js";

/** Vectors of the other modality needed before an IVF build uses query-aware lists. */
const MIN_ROUTE_QUERIES = 16;

/** Default IVF nlist for n vectors: about 4·√n, with at least 39 training points per list. */
export function defaultNlist(n: number): number {
  return Math.max(1, Math.min(Math.round(4 * Math.sqrt(n)), Math.floor(n / 39)));
}

/**
 * clipdb's IVF-Flat, saved as a file: build options `nlist` (default `defaultNlist`), `spill`
 * (default 1), `route` and `trainOn` (see BuildOptions); search parameter `nprobe` (default 16).
 * Ranked after HNSW under "auto".
 */
export const ivfLocal: LocalKind = {
  id: "ivf",
  name: "ivf",
  store: "sqlite",
  countsScanned: true,
  autoRank: 2,
  describe: "IVF-Flat lists in a clipdb file; about 4·√n lists by default, lists probed nprobe",
  param: { key: "nprobe", default: 16, help: "IVF lists probed; higher is slower and more exact", tune: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 2048, 4096] },
  async make(store, opts, modality, offsets, xs) {
    const dim = xs.length / offsets.length;
    const nlist = Math.min(opts.nlist ?? defaultNlist(offsets.length), offsets.length);
    const spill = opts.spill ?? 1;
    const route = await routeFor(store, opts, modality);
    const ivf = new IvfIndex({ dim, nlist, quantizer: new FlatIndex(dim), spill });
    if (route === "query") ivf.train(xs, { queries: (await store.vectors(modality === "image" ? "text" : "image")).xs });
    else ivf.train(await trainingSet(store, modality, opts.trainOn ?? "self", xs));
    const idx = ivf as unknown as BaseIndex;
    idx.add(offsets, xs);
    return { idx, spec: formatSpec({ type: "ivf", nlist, spill, route }) };
  },
};

/**
 * The route an IVF build of `modality` uses: the one asked for, else "query" when the other
 * modality has at least MIN_ROUTE_QUERIES vectors and training is on the index's own vectors,
 * else "none" (also when "query" is asked for without enough such vectors). "query" with
 * another `trainOn` is INVALID_ARGUMENT (query-aware lists train on the index's own vectors).
 */
async function routeFor(store: CollectionStore, opts: BuildOptions, modality: Modality): Promise<"none" | "query"> {
  const own = (opts.trainOn ?? "self") === "self" || opts.trainOn === modality;
  if (opts.route === "query" && !own) throw new ClipdbError("INVALID_ARGUMENT", { name: "route", reason: `'query' trains each index on its own vectors, but trainOn is '${opts.trainOn}'`, hint: "Drop --train-on, or use --route none." });
  if (opts.route !== undefined) {
    if (opts.route !== "none" && opts.route !== "query") throw new ClipdbError("INVALID_ARGUMENT", { name: "route", reason: `'${String(opts.route)}' is not none or query` });
    if (opts.route === "none") return "none";
  }
  const other = await countOf(store, modality === "image" ? "text" : "image");
  return own && other >= MIN_ROUTE_QUERIES ? "query" : "none";
}

async function trainingSet(store: CollectionStore, modality: Modality, trainOn: Modality | "all" | "self", own: Float32Array): Promise<Float32Array> {
  if (trainOn === "self" || trainOn === modality) return own;
  if (trainOn === "all") return (await store.vectors()).xs;
  return (await store.vectors(trainOn)).xs;
}
