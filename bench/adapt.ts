/**
 * `npm run bench:adapt [-- --seeds 1,2,3] [--holdout 0.2]`
 *
 * Query-side adapters (clipdb adapt) on the real CLIP vectors of ../shared/data:
 * - Flickr30k-500, OpenAI ViT-L/14: 500 image/caption pairs (one caption per image);
 * - CIFAR-10, OpenCLIP ViT-B/32 laion2b: 848 images, each paired with its class-name text
 *   (10 distinct texts; t2i has only 10 queries, i2t is zero-shot classification).
 * For each seed: held-out R@1/5/10 before and after, the paired bootstrap interval of the R@1
 * change, and whether `clipdb adapt` would keep the adapter. Same code path as the command
 * (runAdapt), on in-memory vectors.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { parseNpy, parseNpyInts } from "../src/core/npy.js";
import { runAdapt, type AdaptData, type AdaptOptions } from "../src/query/adapt-run.js";

const o = new Command()
  .option("--seeds <list>", "split seeds", "1,2,3")
  .option("--holdout <f>", "held-out fraction", "0.2")
  .option("--temperature <t>")
  .option("--decay <d>")
  .option("--lr <x>")
  .option("--sets <list>", "flickr30k,cifar10", "flickr30k,cifar10")
  .parse()
  .opts<{ seeds: string; holdout: string; temperature?: string; decay?: string; lr?: string; sets: string }>();
const DATA = path.resolve(import.meta.dirname, "../../shared/data");

function flickr(): AdaptData {
  const img = parseNpy(readFileSync(path.join(DATA, "flickr30k-clip-l14-500/image.npy")));
  const txt = parseNpy(readFileSync(path.join(DATA, "flickr30k-clip-l14-500/text.npy")));
  const n = img.rows;
  const io = Uint32Array.from({ length: n }, (_, i) => i);
  const to = Uint32Array.from({ length: n }, (_, i) => n + i);
  return { dim: img.dim, pairs: { image: io, text: to }, gallery: { image: { offsets: io, xs: img.data }, text: { offsets: to, xs: txt.data } } };
}

function cifar(): AdaptData {
  const dir = path.join(DATA, "cifar10-openclip-b32");
  const vis = parseNpy(readFileSync(path.join(dir, "vision.npy")));
  const txt = parseNpy(readFileSync(path.join(dir, "text.npy")));
  const labels = parseNpyInts(readFileSync(path.join(dir, "labels.npy")));
  const n = vis.rows;
  const dim = vis.dim;
  const classes = 10;
  const classRows = new Float32Array(classes * dim);
  for (let c = 0; c < classes; c++) {
    const i = labels.indexOf(c);
    classRows.set(txt.data.subarray(i * dim, (i + 1) * dim), c * dim);
  }
  const io = Uint32Array.from({ length: n }, (_, i) => i);
  const to = Uint32Array.from({ length: classes }, (_, c) => n + c);
  return { dim, pairs: { image: io, text: Uint32Array.from(labels, (c) => n + c) }, gallery: { image: { offsets: io, xs: vis.data }, text: { offsets: to, xs: classRows } } };
}

const opts: AdaptOptions = { holdout: Number(o.holdout) };
if (o.temperature) opts.temperature = Number(o.temperature);
if (o.decay) opts.decay = Number(o.decay);
if (o.lr) opts.lr = Number(o.lr);
const sets: Record<string, [string, () => AdaptData]> = {
  flickr30k: ["Flickr30k-500, ViT-L/14", flickr],
  cifar10: ["CIFAR-10 (848), OpenCLIP B/32, class names", cifar],
};
const f3 = (x: number) => x.toFixed(3);
const pts = (x: number) => (x * 100 >= 0 ? "+" : "") + (x * 100).toFixed(1);
console.log(`| set | direction | seed | train pairs | held-out queries | R@1 before → after | R@5 before → after | R@10 before → after | ΔR@1 (95% CI), points | kept | steps (best) | s |`);
console.log("|---|---|---:|---:|---:|---|---|---|---|---|---|---:|");
for (const key of o.sets.split(",")) {
  const [name, load] = sets[key];
  const data = load();
  for (const seed of o.seeds.split(",").map(Number)) {
    const t0 = performance.now();
    const r = runAdapt(data, { ...opts, seed });
    const s = (performance.now() - t0) / 1000;
    for (const d of r.directions) {
      console.log(
        `| ${name} | ${d.direction} | ${seed} | ${d.trainPairs} | ${d.heldOutQueries} | ${f3(d.before["R@1"])} → ${f3(d.after["R@1"])} | ${f3(d.before["R@5"])} → ${f3(d.after["R@5"])} | ${f3(d.before["R@10"])} → ${f3(d.after["R@10"])} | ${pts(d.r1Gain.delta)} (${pts(d.r1Gain.lo)} to ${pts(d.r1Gain.hi)}) | ${d.kept ? "yes" : "no"} | ${d.training.steps} (${d.training.bestStep}) | ${s.toFixed(0)} |`,
      );
    }
  }
}
