/**
 * Calibrated relevance benchmark (issue 12): does one default cutoff (`minRelevance: "auto"`) keep
 * the true matches of real CLIP models while a random-weight model's hits fall below it?
 *
 * Sets (../shared/data): Flickr30k-500 (ViT-L/14, 768-d: each caption's image and back), CIFAR-10
 * (OpenCLIP B/32: the class name → its images, each image → its class name, image → images of its
 * class), and the COCO sample embedded with the generated random-weight model (no signal: its
 * "true matches" are the COCO pairs, and should get low relevance).
 *
 * Each direction is calibrated as a collection calibrates itself (src/query/relevance.ts: up to
 * CALIBRATION_QUERIES sample queries of the collection against a BACKGROUND_SAMPLE of the target
 * modality), pairs-free and pairs-based, then every query is scored against every target and the
 * cutoff applied: "true kept" is the share of true (query, item) pairs whose relevance passes it,
 * "wrong/query" the mean number of other items that pass it per query.
 *
 * Usage: npx tsx bench/relevance.ts [--model .cache/test-model] [--cutoff 0.3] [--json out.json]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseNpy, parseNpyInts } from "../src/core/npy.js";
import { loadEmbedder } from "../src/embed/index.js";
import {
  AUTO_MIN_RELEVANCE, BACKGROUND_SAMPLE, CALIBRATION_QUERIES, background, calibrateDirection, relevanceAt, rowStats, zSide, type RelevanceCurve,
} from "../src/query/relevance.js";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: ".cache/test-model" },
    cutoff: { type: "string" },
    json: { type: "string" },
  },
});
const DATA = path.resolve("../shared/data");
const cutoff = args.cutoff === undefined ? AUTO_MIN_RELEVANCE : Number(args.cutoff);

interface Dir {
  set: string;
  dir: string;
  qs: Float32Array;
  ts: Float32Array;
  dim: number;
  truth: (q: number, t: number) => boolean;
  same?: boolean;
  /** No labelled truth in this direction (pairs-based calibration not possible). */
  noPairs?: boolean;
}

function rows(xs: Float32Array, dim: number, picked: number[]): Float32Array {
  const out = new Float32Array(picked.length * dim);
  picked.forEach((r, i) => out.set(xs.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}
const stride = (n: number, max: number): number[] => {
  const step = Math.max(1, n / max);
  const out: number[] = [];
  for (let x = 0; Math.floor(x) < n && out.length < max; x += step) out.push(Math.floor(x));
  return out;
};

function run(d: Dir): object[] {
  const { dim } = d;
  const nq = d.qs.length / dim;
  const nt = d.ts.length / dim;
  const qRows = stride(nq, CALIBRATION_QUERIES);
  const bRows = stride(nt, BACKGROUND_SAMPLE);
  const bPos = new Map(bRows.map((r, i) => [r, i]));
  const bg = rows(d.ts, dim, bRows);
  const side = zSide(nt, nq, !!d.same);
  const queryBg = side === "target" ? rows(d.qs, dim, stride(nq, BACKGROUND_SAMPLE)) : undefined;
  const tStats = queryBg ? rowStats(d.ts, queryBg, dim) : undefined;
  const cal = calibrateDirection({
    qs: rows(d.qs, dim, qRows),
    bg,
    dim,
    targets: nt,
    selfRow: d.same ? (q) => bPos.get(qRows[q]) : undefined,
    partners: d.noPairs ? undefined : (q) => {
      const out: Float32Array[] = [];
      for (let t = 0; t < nt; t++) if (d.truth(qRows[q], t) && !(d.same && t === qRows[q])) out.push(d.ts.subarray(t * dim, (t + 1) * dim));
      return out;
    },
    isPartnerRow: d.noPairs ? undefined : (q, r) => d.truth(qRows[q], bRows[r]),
    queryBg,
  });
  const out: object[] = [];
  for (const [method, curve] of [["pairs-free", cal.free], ["pairs-based", cal.pairs]] as [string, RelevanceCurve | undefined][]) {
    if (!curve) continue;
    let trueN = 0, trueKept = 0, wrongKept = 0, queriesWithHit = 0;
    // Queries the curve was not fitted on (held out): the honest estimate for a labelled fit.
    const fitted = new Set(qRows);
    let hoN = 0, hoKept = 0;
    const top1: number[] = [];
    for (let q = 0; q < nq; q++) {
      const qv = d.qs.subarray(q * dim, (q + 1) * dim);
      const self = d.same ? bPos.get(q) : undefined;
      const { mu, sd } = background(qv, bg, dim, (r) => r === self);
      let best = -1, any = false;
      for (let t = 0; t < nt; t++) {
        if (d.same && t === q) continue;
        let s = 0;
        for (let k = 0; k < dim; k++) s += qv[k] * d.ts[t * dim + k];
        const rel = relevanceAt(curve, tStats ? (s - tStats[t].mu) / tStats[t].sd : (s - mu) / sd);
        if (rel > best) best = rel;
        const kept = rel >= cutoff;
        if (kept) any = true;
        if (d.truth(q, t)) {
          trueN++;
          if (kept) trueKept++;
          if (!fitted.has(q)) {
            hoN++;
            if (kept) hoKept++;
          }
        } else if (kept) wrongKept++;
      }
      top1.push(best);
      if (any) queriesWithHit++;
    }
    top1.sort((a, b) => a - b);
    out.push({
      set: d.set, direction: d.dir, method, queries: nq, targets: nt,
      trueKept: trueN ? trueKept / trueN : null, heldOutTrueKept: hoN ? hoKept / hoN : null, heldOutQueries: nq - fitted.size, wrongPerQuery: wrongKept / nq,
      queriesWithAHit: queriesWithHit / nq, top1Median: top1[Math.floor(top1.length / 2)],
    });
  }
  return out;
}

async function cocoRandom(model: string): Promise<{ img: Float32Array; txt: Float32Array; dim: number; owner: number[] }> {
  const cap = JSON.parse(fs.readFileSync(path.join(DATA, "coco-val2017-sample/captions.json"), "utf8"));
  const cache = path.join(os.tmpdir(), `clipdb-bench-relevance-${path.basename(path.resolve(model))}.json`);
  const owner: number[] = cap.annotations.map((a: { image_id: number }) => cap.images.findIndex((x: { id: number }) => x.id === a.image_id));
  if (fs.existsSync(cache)) {
    const j = JSON.parse(fs.readFileSync(cache, "utf8"));
    return { img: Float32Array.from(j.img), txt: Float32Array.from(j.txt), dim: j.dim, owner };
  }
  const e = await loadEmbedder(path.resolve(model), { offline: true });
  const img = await e.embedImages(cap.images.map((x: { file_name: string }) => path.join(DATA, "coco-val2017-sample/images", x.file_name)));
  const txt = await e.embedTexts(cap.annotations.map((a: { caption: string }) => a.caption));
  fs.writeFileSync(cache, JSON.stringify({ img: Array.from(img), txt: Array.from(txt), dim: e.dim }));
  return { img, txt, dim: e.dim, owner };
}

const fi = parseNpy(fs.readFileSync(path.join(DATA, "flickr30k-clip-l14-500/image.npy")));
const ft = parseNpy(fs.readFileSync(path.join(DATA, "flickr30k-clip-l14-500/text.npy")));
const cv = parseNpy(fs.readFileSync(path.join(DATA, "cifar10-openclip-b32/vision.npy")));
const ct = parseNpy(fs.readFileSync(path.join(DATA, "cifar10-openclip-b32/text.npy")));
const lab = parseNpyInts(fs.readFileSync(path.join(DATA, "cifar10-openclip-b32/labels.npy")));
const cls = new Float32Array(10 * cv.dim);
for (let c = 0; c < 10; c++) cls.set(ct.data.subarray(lab.indexOf(c) * cv.dim, (lab.indexOf(c) + 1) * cv.dim), c * cv.dim);
const coco = await cocoRandom(args.model!);

const dirs: Dir[] = [
  { set: "Flickr30k-500 (ViT-L/14)", dir: "text→image", qs: ft.data, ts: fi.data, dim: 768, truth: (q, t) => q === t },
  { set: "Flickr30k-500 (ViT-L/14)", dir: "image→text", qs: fi.data, ts: ft.data, dim: 768, truth: (q, t) => q === t },
  { set: "CIFAR-10 (OpenCLIP B/32)", dir: "text→image", qs: cls, ts: cv.data, dim: 512, truth: (q, t) => lab[t] === q },
  { set: "CIFAR-10 (OpenCLIP B/32)", dir: "image→text", qs: cv.data, ts: cls, dim: 512, truth: (q, t) => lab[q] === t },
  { set: "CIFAR-10 (OpenCLIP B/32)", dir: "image→image", qs: cv.data, ts: cv.data, dim: 512, truth: (q, t) => lab[q] === lab[t], same: true },
  { set: "COCO-208 (random weights)", dir: "text→image", qs: coco.txt, ts: coco.img, dim: coco.dim, truth: (q, t) => coco.owner[q] === t },
  { set: "COCO-208 (random weights)", dir: "image→text", qs: coco.img, ts: coco.txt, dim: coco.dim, truth: (q, t) => coco.owner[t] === q },
  { set: "COCO-208 (random weights)", dir: "image→image", qs: coco.img, ts: coco.img, dim: coco.dim, truth: () => false, same: true, noPairs: true },
  { set: "COCO-208 (random weights)", dir: "text→text", qs: coco.txt, ts: coco.txt, dim: coco.dim, truth: (q, t) => coco.owner[q] === coco.owner[t], same: true },
];
const results = dirs.flatMap(run);
const f = (x: unknown, d = 2) => (x === null ? "–" : (x as number).toFixed(d));
console.log(`cutoff ${cutoff} (auto = ${AUTO_MIN_RELEVANCE}); random model: ${args.model}`);
console.log("| set | direction | true kept (pairs-free) | wrong/query (pairs-free) | true kept (pairs-based) | wrong/query (pairs-based) | median top-1 relevance (free / pairs) |");
console.log("|---|---|---|---|---|---|---|");
for (let i = 0; i < results.length; ) {
  const a = results[i] as Record<string, unknown>;
  const b = results[i + 1] as Record<string, unknown> | undefined;
  const paired = b && b.set === a.set && b.direction === a.direction;
  console.log(`| ${a.set} | ${a.direction} | ${f(a.trueKept)} | ${f(a.wrongPerQuery, 1)} | ${paired ? f(b.trueKept) : "–"} | ${paired ? f(b.wrongPerQuery, 1) : "–"} | ${f(a.top1Median)} / ${paired ? f(b.top1Median) : "–"} |`);
  i += paired ? 2 : 1;
}
console.log("\nPairs-based, on the queries its curve was NOT fitted on (held out):");
for (const r of results as Record<string, unknown>[]) {
  if (r.method === "pairs-based" && (r.heldOutQueries as number) > 0) console.log(`- ${r.set} ${r.direction}: true kept ${f(r.heldOutTrueKept)} over ${r.heldOutQueries} held-out queries`);
}
if (args.json) fs.writeFileSync(args.json, JSON.stringify({ cutoff, results }, null, 1));
