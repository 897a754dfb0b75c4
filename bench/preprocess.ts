/**
 * `npm run bench:preprocess [-- --model-dir <full model>] [--threads 2]`
 *
 * JPEG shrink-on-load (`--shrink-on-load`, opt-in) against the exact path (the default):
 * decode + preprocess time per image, one at a time, and the cosine between the two embeddings of
 * each of the 208 COCO val2017 photos with the full-size generated ViT-B/32 (goals: mean >= 0.999,
 * worst >= 0.995). Both embedders run the same model and batch size.
 */
import { readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { AutoImageProcessor } from "@huggingface/transformers";
import { ensureClipModel, REPO_ROOT } from "../scripts/lib/make-model.js";
import { ImagePreprocessor, loadEmbedder } from "../src/embed/index.js";

const o = new Command()
  .option("--model-dir <dir>", "full-size model folder", path.join(REPO_ROOT, "models/full-vitb32"))
  .option("--threads <n>", "onnxruntime intra-op threads", "2")
  .option("--rounds <n>", "timing rounds (best kept)", "3")
  .parse()
  .opts<{ modelDir: string; threads: string; rounds: string }>();
const COCO = path.resolve(REPO_ROOT, "../shared/data/coco-val2017-sample/images");
const files = readdirSync(COCO).sort().map((f) => path.join(COCO, f));

async function main(): Promise<void> {
  ensureClipModel(o.modelDir, { full: true, log: console.error });
  const proc = await AutoImageProcessor.from_pretrained(o.modelDir, { local_files_only: true });
  const time = async (pre: ImagePreprocessor) => {
    let best = Infinity;
    for (let r = 0; r < Number(o.rounds); r++) {
      const t = performance.now();
      for (const f of files) await pre.run(f);
      best = Math.min(best, (performance.now() - t) / files.length);
    }
    return best;
  };
  const exactMs = await time(new ImagePreprocessor(proc, undefined, "exact"));
  const shrinkMs = await time(new ImagePreprocessor(proc, undefined, "shrink"));
  const threads = Number(o.threads);
  const a = await loadEmbedder(o.modelDir, { offline: true, threads });
  const va = await a.embedImages(files);
  await a.dispose();
  const b = await loadEmbedder(o.modelDir, { offline: true, threads, preprocess: "shrink" });
  const vb = await b.embedImages(files);
  await b.dispose();
  const shrunk = (await Promise.all(files.map(async (f) => {
    const { width, height } = await import("sharp").then((m) => m.default(f).metadata());
    return Math.min(width!, height!) >= 448;
  }))).filter(Boolean).length;
  const dim = va.length / files.length;
  const cos: number[] = [];
  for (let i = 0; i < files.length; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += va[i * dim + d] * vb[i * dim + d];
    cos.push(s);
  }
  const mean = cos.reduce((x, y) => x + y, 0) / cos.length;
  const worst = Math.min(...cos);
  const worstFile = path.basename(files[cos.indexOf(worst)]);
  console.log(`\n208 COCO val2017 JPEGs (77 sizes, most 640x480 or 640x427), full-size random ViT-B/32, ${os.cpus().length} CPUs.\n`);
  console.log("| measure | exact | shrink-on-load |\n|---|---|---|");
  console.log(`| decode + preprocess, one image at a time (best of ${o.rounds}) | ${exactMs.toFixed(1)} ms | ${shrinkMs.toFixed(1)} ms (${(exactMs / shrinkMs).toFixed(2)}x faster) |`);
  console.log(`| photos shrunk (short side >= 2 x 224) | - | ${shrunk} of ${files.length} |`);
  console.log(`| embedding cosine to the exact path, mean / worst | 1 / 1 | ${mean.toFixed(5)} / ${worst.toFixed(5)} (${worstFile}; goals >= 0.999 / >= 0.995) |`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
