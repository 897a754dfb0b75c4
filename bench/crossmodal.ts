/**
 * Cross-modal IVF benchmark (issue 6): how should an IVF index over one modality pick its lists
 * for queries of the other (text -> image, image -> text)? Every method is compared AT EQUAL COST:
 * recall@10 against exact at fixed fractions of the collection scanned per query, read off each
 * method's recall-vs-scanned curve over nprobe (linear interpolation), averaged over k-means seeds.
 *
 * IVF search scores the probed lists exactly, so its top-10 is the exact top-10 restricted to the
 * probed lists: recall at nprobe p is the share of the exact top-10 stored in the first p lists of
 * the routing order, and the cost is the vectors stored in them (spilled copies count). The bench
 * computes that directly for every routing method, then checks the query-aware method against a
 * real `IvfIndex.search` (the numbers must agree).
 *
 * Methods (R_L = routing centroid of list L, C_L = k-means centroid, delta = mean(target) - mean(query)):
 *   plain          lists by C_L . q
 *   spill2         each vector in its 2 nearest lists, lists by C_L . q
 *   gap-shift      lists by C_L . (q + delta)          (the issue's baseline)
 *   gap-router     R_L = normalize(C_L - delta)          (a router form of the shift)
 *   paired         R_L = normalize(mean of the query-modality partners of the vectors whose nearest
 *                  list is L); lists without partners fall back to gap-router
 *   neighbors      R_L = normalize(sum over training queries q of (# of q's exact top-10 in L) * q)
 *   query-aware    lists from k-means on each vector's centred scores against a sample of centred
 *                  training queries (src/index/xmodal.ts), probed by their member means
 *   ... +spill2    the same routers over a spill-2 index
 * Learned routers are measured on held-out queries: 5-fold cross-validation on Flickr30k-500, and
 * on the synthetic set 1,000 test queries excluded from router training.
 *
 * Usage: npx tsx bench/crossmodal.ts [--json out.json] [--seeds 5] [--synthetic-seeds 3]
 *        [--n 100000] [--nlist 316] [--skip-synthetic]
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseNpy } from "../src/core/npy.js";
import { FlatIndex, IvfIndex } from "../src/index/index.js";
import { kmeans } from "../src/index/kmeans.js";
import { crossModalCentroids } from "../src/index/xmodal.js";
import { gapPairs, prng } from "../test/fixtures/synthetic.js";

const { values: args } = parseArgs({
  options: {
    json: { type: "string" },
    seeds: { type: "string", default: "5" },
    "synthetic-seeds": { type: "string", default: "3" },
    n: { type: "string", default: "100000" },
    nlist: { type: "string", default: "316" },
    "skip-synthetic": { type: "boolean", default: false },
  },
});

const K = 10;

/** One direction's data: targets (indexed), queries (row i is the partner of target row i). */
interface Task {
  name: string;
  dim: number;
  target: Float32Array;
  query: Float32Array;
  nlist: number;
  /** Query rows evaluated, and for each, the query rows its router may learn from. */
  folds: { test: number[]; train: number[] }[];
  /** Training queries for the neighbors router (subsample of train), per fold. */
  neighborCap: number;
  fracs: number[];
}

type Curve = { frac: number[]; recall: number[] };

function rows(xs: Float32Array, dim: number, ids: number[]): Float32Array {
  const out = new Float32Array(ids.length * dim);
  ids.forEach((r, i) => out.set(xs.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

function mean(xs: Float32Array, dim: number): Float64Array {
  const m = new Float64Array(dim);
  const n = xs.length / dim;
  for (let i = 0; i < xs.length; i++) m[i % dim] += xs[i] / n;
  return m;
}

function normalizeRow(v: Float64Array | Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  return Float32Array.from(v, (x) => x * inv);
}

/** Exact top-K target rows for each query row in `ids`. */
function exactTop(flat: FlatIndex, query: Float32Array, dim: number, ids: number[]): Uint32Array[] {
  return ids.map((r) => flat.search(query.subarray(r * dim, (r + 1) * dim), K).offsets);
}

/** Router matrix (nlist x dim) from per-list sums; empty lists take `fallback` rows. */
function fromSums(sums: Float64Array[], counts: number[], fallback: Float32Array, dim: number): Float32Array {
  const R = new Float32Array(sums.length * dim);
  sums.forEach((s, l) => R.set(counts[l] > 0 ? normalizeRow(s) : fallback.subarray(l * dim, (l + 1) * dim), l * dim));
  return R;
}

/** Recall-vs-scanned curve over nprobe = 1..nlist for the given routing order per test query. */
function curve(order: (qi: number) => Int32Array, tests: number[], truth: Uint32Array[], listsOf: Uint32Array, spill: number, sizes: number[], n: number): Curve {
  const nlist = sizes.length;
  const frac = new Float64Array(nlist);
  const rec = new Float64Array(nlist);
  tests.forEach((qi, t) => {
    const ord = order(qi);
    const rank = new Int32Array(nlist);
    ord.forEach((l, i) => (rank[l] = i));
    // Each true neighbour is found at the first probe position that holds one of its lists.
    const foundAt = new Uint32Array(nlist);
    for (const o of truth[t]) {
      let best = nlist;
      for (let j = 0; j < spill; j++) best = Math.min(best, rank[listsOf[o * spill + j]]);
      foundAt[best]++;
    }
    let scanned = 0;
    let found = 0;
    for (let p = 0; p < nlist; p++) {
      scanned += sizes[ord[p]];
      found += foundAt[p];
      frac[p] += scanned / n / tests.length;
      rec[p] += found / truth[t].length / tests.length;
    }
  });
  return { frac: Array.from(frac), recall: Array.from(rec) };
}

/** Recall at scanned fraction f, interpolated linearly on the curve (0 before its first point). */
function at(c: Curve, f: number): number {
  if (f <= c.frac[0]) return (c.recall[0] * f) / c.frac[0];
  for (let i = 1; i < c.frac.length; i++) {
    if (f <= c.frac[i]) {
      const w = (f - c.frac[i - 1]) / (c.frac[i] - c.frac[i - 1]);
      return c.recall[i - 1] + w * (c.recall[i] - c.recall[i - 1]);
    }
  }
  return c.recall[c.recall.length - 1];
}

/** Scanned fraction at which the curve first reaches recall r (interpolated; 1 if never). */
function fracFor(c: Curve, r: number): number {
  if (r <= c.recall[0]) return (c.frac[0] * r) / Math.max(c.recall[0], 1e-9);
  for (let i = 1; i < c.recall.length; i++) {
    if (r <= c.recall[i]) return c.frac[i - 1] + ((r - c.recall[i - 1]) / (c.recall[i] - c.recall[i - 1])) * (c.frac[i] - c.frac[i - 1]);
  }
  return 1;
}

/** Recall at each of `fracs`, then the scanned fraction reaching recall .90, averaged over folds by weight. */
function summarize(curves: Curve[], weights: number[], fracs: number[]): number[] {
  const W = weights.reduce((a, b) => a + b, 0);
  const avg = (f: (c: Curve) => number) => curves.reduce((s, c, i) => s + (f(c) * weights[i]) / W, 0);
  return [...fracs.map((x) => avg((c) => at(c, x))), avg((c) => fracFor(c, 0.9))];
}

function scoresOrder(R: Float32Array, nlist: number, dim: number, q: Float32Array | Float64Array): Int32Array {
  const s = new Float64Array(nlist);
  for (let l = 0; l < nlist; l++) {
    let d = 0;
    const o = l * dim;
    for (let i = 0; i < dim; i++) d += R[o + i] * q[i];
    s[l] = d;
  }
  return Int32Array.from({ length: nlist }, (_, i) => i).sort((a, b) => s[b] - s[a] || a - b);
}

const METHODS = ["plain", "spill2", "gap-shift", "gap-router", "paired", "paired+spill2", "neighbors", "neighbors+spill2", "query-aware", "query-aware+spill2", "plain, same-modality queries", "query-aware, same-modality queries"] as const;
type Method = (typeof METHODS)[number];

/** Runs every method for one k-means seed; returns recall at each of task.fracs per method. */
function runSeed(task: Task, seed: number, truthAll: Map<number, Uint32Array>, neighborTruth: Map<number, Uint32Array>, selfTruth: Map<number, Uint32Array>): Record<Method, number[]> {
  const { dim, target, query, nlist } = task;
  const n = target.length / dim;
  const { centroids: C } = kmeans(target, dim, nlist, { seed });
  const quant = new FlatIndex(dim);
  quant.add(Uint32Array.from({ length: nlist }, (_, i) => i), C);
  const delta = mean(target, dim);
  const mq = mean(query, dim);
  for (let i = 0; i < dim; i++) delta[i] -= mq[i];
  const gapR = new Float32Array(nlist * dim);
  for (let l = 0; l < nlist; l++) {
    const v = new Float64Array(dim);
    for (let i = 0; i < dim; i++) v[i] = C[l * dim + i] - delta[i];
    gapR.set(normalizeRow(v), l * dim);
  }
  const out = {} as Record<Method, number[]>;
  for (const spill of [1, 2]) {
    const listsOf = quant.assign(target, spill);
    const sizes = new Array<number>(nlist).fill(0);
    for (const l of listsOf) sizes[l]++;
    const methods: Method[] = spill === 1 ? ["plain", "gap-shift", "gap-router", "paired", "neighbors"] : ["spill2", "paired+spill2", "neighbors+spill2"];
    for (const m of methods) {
      const curves: Curve[] = [];
      const weights: number[] = [];
      for (const fold of task.folds) {
        const truth = fold.test.map((r) => truthAll.get(r)!);
        let R: Float32Array = C;
        let shift: Float64Array | null = null;
        if (m === "gap-shift") shift = delta;
        if (m === "gap-router") R = gapR;
        if (m.startsWith("paired")) {
          const sums = Array.from({ length: nlist }, () => new Float64Array(dim));
          const counts = new Array<number>(nlist).fill(0);
          for (const r of fold.train) {
            const l = listsOf[r * spill];
            counts[l]++;
            for (let i = 0; i < dim; i++) sums[l][i] += query[r * dim + i];
          }
          R = fromSums(sums, counts, gapR, dim);
        }
        if (m.startsWith("neighbors")) {
          const sums = Array.from({ length: nlist }, () => new Float64Array(dim));
          const counts = new Array<number>(nlist).fill(0);
          for (const r of fold.train.slice(0, task.neighborCap)) {
            const hits = new Map<number, number>();
            for (const o of neighborTruth.get(r)!) {
              for (let j = 0; j < spill; j++) hits.set(listsOf[o * spill + j], (hits.get(listsOf[o * spill + j]) ?? 0) + 1);
            }
            for (const [l, h] of hits) {
              counts[l] += h;
              for (let i = 0; i < dim; i++) sums[l][i] += h * query[r * dim + i];
            }
          }
          R = fromSums(sums, counts, gapR, dim);
        }
        const order = (qi: number) => {
          const q = query.subarray(qi * dim, (qi + 1) * dim);
          if (!shift) return scoresOrder(R, nlist, dim, q);
          const s = Float64Array.from(q, (x, i) => x + shift![i]);
          return scoresOrder(R, nlist, dim, s);
        };
        curves.push(curve(order, fold.test, truth, listsOf, spill, sizes, n));
        weights.push(fold.test.length);
      }
      out[m] = summarize(curves, weights, task.fracs);
    }
  }
  // Query-aware partition: centroids from k-means in the space of scores against held-out-free
  // training queries (crossModalCentroids), lists assigned and probed by those centroids.
  const qa: Record<number, Curve[]> = { 1: [], 2: [] };
  const self: Record<"plain" | "aware", Curve[]> = { plain: [], aware: [] };
  const plainLists = quant.assign(target, 1);
  const plainSizes = new Array<number>(nlist).fill(0);
  for (const l of plainLists) plainSizes[l]++;
  const weights: number[] = [];
  for (const fold of task.folds) {
    const Cq = crossModalCentroids(target, rows(query, dim, fold.train), dim, nlist, { kmeans: { seed } });
    const qq = new FlatIndex(dim);
    qq.add(Uint32Array.from({ length: nlist }, (_, i) => i), Cq);
    const truth = fold.test.map((r) => truthAll.get(r)!);
    for (const spill of [1, 2]) {
      const listsOf = qq.assign(target, spill);
      const sizes = new Array<number>(nlist).fill(0);
      for (const l of listsOf) sizes[l]++;
      qa[spill].push(curve((qi) => scoresOrder(Cq, nlist, dim, query.subarray(qi * dim, (qi + 1) * dim)), fold.test, truth, listsOf, spill, sizes, n));
      if (spill === 1) {
        // Same-modality queries (the targets themselves, e.g. image -> image) over both partitions.
        const st = fold.test.map((r) => selfTruth.get(r)!);
        self.aware.push(curve((qi) => scoresOrder(Cq, nlist, dim, target.subarray(qi * dim, (qi + 1) * dim)), fold.test, st, listsOf, 1, sizes, n));
        self.plain.push(curve((qi) => scoresOrder(C, nlist, dim, target.subarray(qi * dim, (qi + 1) * dim)), fold.test, st, plainLists, 1, plainSizes, n));
      }
    }
    weights.push(fold.test.length);
  }
  out["query-aware"] = summarize(qa[1], weights, task.fracs);
  out["query-aware+spill2"] = summarize(qa[2], weights, task.fracs);
  out["plain, same-modality queries"] = summarize(self.plain, weights, task.fracs);
  out["query-aware, same-modality queries"] = summarize(self.aware, weights, task.fracs);
  return out;
}

/** Checks the curve model against a real IvfIndex trained with query-aware centroids (one seed, one fold). */
function verify(task: Task, seed: number, truthAll: Map<number, Uint32Array>): { nprobe: number; model: number; ivf: number; modelFrac: number; ivfFrac: number } {
  const { dim, target, query, nlist } = task;
  const n = target.length / dim;
  const fold = task.folds[0];
  const C = crossModalCentroids(target, rows(query, dim, fold.train), dim, nlist, { kmeans: { seed } });
  const quantizer = new FlatIndex(dim);
  quantizer.add(Uint32Array.from({ length: nlist }, (_, i) => i), C);
  const ivf = new IvfIndex({ dim, nlist, quantizer });
  ivf.add(Uint32Array.from({ length: n }, (_, i) => i), target);
  const nprobe = Math.max(1, Math.round(nlist / 8));
  let rec = 0;
  let scanned = 0;
  const tests = fold.test;
  for (const r of tests) {
    const h = ivf.search(query.subarray(r * dim, (r + 1) * dim), K, { nprobe });
    const t = new Set(truthAll.get(r));
    rec += [...h.offsets].filter((o) => t.has(o)).length / K / tests.length;
    scanned += (h.scanned ?? 0) / n / tests.length;
  }
  const c = curve((qi) => scoresOrder(C, nlist, dim, query.subarray(qi * dim, (qi + 1) * dim)), tests, tests.map((r) => truthAll.get(r)!), quantizer.assign(target, 1), 1, Array.from(ivf.listSizes()), n);
  return { nprobe, model: c.recall[nprobe - 1], ivf: rec, modelFrac: c.frac[nprobe - 1], ivfFrac: scanned };
}

function runTask(task: Task, seeds: number[]): { table: string; results: Record<Method, number[]>; verify: ReturnType<typeof verify> } {
  const t0 = performance.now();
  const { dim, target, query } = task;
  const flat = new FlatIndex(dim);
  flat.add(Uint32Array.from({ length: target.length / dim }, (_, i) => i), target);
  const tests = [...new Set(task.folds.flatMap((f) => f.test))];
  const truthAll = new Map<number, Uint32Array>();
  exactTop(flat, query, dim, tests).forEach((t, i) => truthAll.set(tests[i], t));
  const nTrain = [...new Set(task.folds.flatMap((f) => f.train.slice(0, task.neighborCap)))];
  const neighborTruth = new Map(truthAll);
  const missing = nTrain.filter((r) => !neighborTruth.has(r));
  exactTop(flat, query, dim, missing).forEach((t, i) => neighborTruth.set(missing[i], t));
  const selfTruth = new Map<number, Uint32Array>();
  exactTop(flat, target, dim, tests).forEach((t, i) => selfTruth.set(tests[i], t));
  console.error(`${task.name}: exact top-${K} of ${tests.length + missing.length} queries in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const sum = Object.fromEntries(METHODS.map((m) => [m, [...task.fracs, 0].map(() => 0)])) as Record<Method, number[]>;
  for (const seed of seeds) {
    const r = runSeed(task, seed, truthAll, neighborTruth, selfTruth);
    for (const m of METHODS) r[m].forEach((v, i) => (sum[m][i] += v / seeds.length));
    console.error(`${task.name}: seed ${seed} done at ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const head = `| method | ${task.fracs.map((f) => `${+(f * 100).toFixed(1)}% scanned`).join(" | ")} | scanned for .90 |\n|---|${task.fracs.map(() => "---").join("|")}|---|`;
  const body = METHODS.map((m) => `| ${m} | ${sum[m].slice(0, -1).map((v) => v.toFixed(3)).join(" | ")} | ${(sum[m][sum[m].length - 1] * 100).toFixed(1)}% |`).join("\n");
  const v = verify(task, seeds[0], truthAll);
  return { table: `${head}\n${body}`, results: sum, verify: v };
}

function folds(n: number, k: number): { test: number[]; train: number[] }[] {
  return Array.from({ length: k }, (_, f) => ({
    test: Array.from({ length: n }, (_, i) => i).filter((i) => i % k === f),
    train: Array.from({ length: n }, (_, i) => i).filter((i) => i % k !== f),
  }));
}

const report: Record<string, unknown> = {};
const out: string[] = [];
const seeds = Array.from({ length: Number(args.seeds) }, (_, i) => 1 + i);

const dataDir = path.resolve(process.cwd(), "../shared/data/flickr30k-clip-l14-500");
const img = parseNpy(fs.readFileSync(path.join(dataDir, "image.npy")));
const txt = parseNpy(fs.readFileSync(path.join(dataDir, "text.npy")));
for (const [name, target, query] of [["flickr30k-500 t2i", img, txt], ["flickr30k-500 i2t", txt, img]] as const) {
  const task: Task = { name, dim: img.dim, target: target.data, query: query.data, nlist: 16, folds: folds(img.rows, 5), neighborCap: Infinity, fracs: [0.1, 0.25] };
  const r = runTask(task, seeds);
  report[name] = { nlist: 16, seeds, fracs: task.fracs, columns: [...task.fracs.map((f) => `recall_vs_exact@10 at ${f} scanned`), "scanned_frac for recall 0.90"], results: r.results, check: r.verify };
  out.push(`### ${name} (IVF16 on ${name.endsWith("t2i") ? "images" : "texts"}, recall@10 vs exact, mean of ${seeds.length} k-means seeds, 5-fold held-out routers)\n\n${r.table}\n\ncheck vs IvfIndex.search (query-aware, seed ${seeds[0]}, nprobe ${r.verify.nprobe}): model ${r.verify.model.toFixed(3)} @ ${r.verify.modelFrac.toFixed(3)}, ivf ${r.verify.ivf.toFixed(3)} @ ${r.verify.ivfFrac.toFixed(3)}`);
  console.log(out[out.length - 1] + "\n");
}

if (!args["skip-synthetic"]) {
  const n = Number(args.n);
  const nlist = Number(args.nlist);
  const dim = 512;
  const t0 = performance.now();
  const g = gapPairs({ n, dim, clusters: 1000, seed: 11 });
  console.error(`synthetic: ${n} pairs generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const rnd = prng(5);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const test = perm.slice(0, 1000).sort((a, b) => a - b);
  const train = perm.slice(1000);
  const sSeeds = Array.from({ length: Number(args["synthetic-seeds"]) }, (_, i) => 1 + i);
  for (const [name, target, query] of [[`synthetic-${n / 1000}k t2i`, g.images, g.texts], [`synthetic-${n / 1000}k i2t`, g.texts, g.images]] as const) {
    const task: Task = { name, dim, target, query, nlist, folds: [{ test, train }], neighborCap: 1000, fracs: [0.02, 0.05, 0.1] };
    const r = runTask(task, sSeeds);
    report[name] = { n, nlist, seeds: sSeeds, fracs: task.fracs, columns: [...task.fracs.map((f) => `recall_vs_exact@10 at ${f} scanned`), "scanned_frac for recall 0.90"], results: r.results, check: r.verify };
    out.push(`### ${name} (IVF${nlist}, gapPairs n=${n} dim=${dim} clusters=1000, 1000 held-out queries, mean of ${sSeeds.length} seeds)\n\n${r.table}\n\ncheck vs IvfIndex.search (query-aware, seed ${sSeeds[0]}, nprobe ${r.verify.nprobe}): model ${r.verify.model.toFixed(3)} @ ${r.verify.modelFrac.toFixed(3)}, ivf ${r.verify.ivf.toFixed(3)} @ ${r.verify.ivfFrac.toFixed(3)}`);
    console.log(out[out.length - 1] + "\n");
  }
}

fs.mkdirSync(path.resolve("bench/out"), { recursive: true });
fs.writeFileSync(path.resolve("bench/out/crossmodal.md"), out.join("\n\n") + "\n");
if (args.json) fs.writeFileSync(args.json, JSON.stringify(report, null, 2));
