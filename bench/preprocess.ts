/**
 * `npm run bench:preprocess [-- --model-dir <full model>] [--threads 2]`
 *
 * JPEG shrink-on-load (`--shrink-on-load`, opt-in) against the exact path (the default, which
 * computes only the crop of the bicubic resize, in JS) and the sharp path (`preprocess: "sharp"`,
 * the same tensor from a sharp resize of the whole image): decode + preprocess CPU time per image,
 * one at a time (median of the interleaved rounds), and the cosine between the two embeddings of
 * each of the 208 COCO val2017 photos with the full-size generated ViT-B/32 (goals: mean >= 0.999,
 * worst >= 0.995). Both embedders run the same model and batch size. A second table splits the
 * exact path into its stages (bench/lib/decode-stages.ts), down to the decode at 1/8 scale, the
 * least any shrink-on-load can cost.
 */
import { readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { AutoImageProcessor } from "@huggingface/transformers";
import { ensureClipModel, REPO_ROOT } from "../scripts/lib/make-model.js";
import { ImagePreprocessor, loadEmbedder } from "../src/embed/index.js";
import { decodeStages } from "./lib/decode-stages.js";

const o = new Command()
  .option("--model-dir <dir>", "full-size model folder", path.join(REPO_ROOT, "models/full-vitb32"))
  .option("--threads <n>", "onnxruntime intra-op threads", "2")
  .option("--rounds <n>", "interleaved timing rounds (median kept)", "5")
  .parse()
  .opts<{ modelDir: string; threads: string; rounds: string }>();
const COCO = path.resolve(REPO_ROOT, "../shared/data/coco-val2017-sample/images");
const files = readdirSync(COCO).sort().map((f) => path.join(COCO, f));

async function main(): Promise<void> {
  ensureClipModel(o.modelDir, { full: true, log: console.error });
  const proc = await AutoImageProcessor.from_pretrained(o.modelDir, { local_files_only: true });
  const modes = ["exact", "sharp", "shrink"] as const;
  const cpu: Record<(typeof modes)[number], number[]> = { exact: [], sharp: [], shrink: [] };
  const pres = modes.map((m) => new ImagePreprocessor(proc, undefined, m));
  for (let r = 0; r < Number(o.rounds); r++) {
    for (const [i, m] of modes.entries()) {
      const c = process.cpuUsage();
      for (const f of files) await pres[i].run(f);
      const u = process.cpuUsage(c);
      cpu[m].push((u.user + u.system) / 1000 / files.length);
    }
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  const [exactMs, sharpMs, shrinkMs] = modes.map((m) => median(cpu[m]));
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
  console.log(`load average ${os.loadavg()[0].toFixed(1)}\n`);
  console.log("| measure | exact (fused crop) | sharp | shrink-on-load |\n|---|---|---|---|");
  console.log(`| decode + preprocess CPU time, one image at a time (median of ${o.rounds}) | ${exactMs.toFixed(2)} ms | ${sharpMs.toFixed(2)} ms (${(sharpMs / exactMs).toFixed(2)}x exact's) | ${shrinkMs.toFixed(2)} ms (${(shrinkMs / exactMs).toFixed(2)}x exact's) |`);
  console.log(`| photos shrunk (short side >= 2 x 224) | - | - | ${shrunk} of ${files.length} |`);
  console.log(`| embedding cosine to the exact path, mean / worst | 1 / 1 | 1 / 1 (same tensor) | ${mean.toFixed(5)} / ${worst.toFixed(5)} (${worstFile}; goals >= 0.999 / >= 0.995) |`);

  const { stages, profiled } = await decodeStages(files, Number(o.rounds), pres[0].plan!);
  console.log(`\nWhere the time goes: CPU ms per image, one at a time, sharp on one thread (median of ${o.rounds}); ${profiled} of ${files.length} photos embed an ICC profile.\n`);
  console.log("| stage | CPU ms/img |\n|---|---:|");
  for (const st of stages) console.log(`| ${st.name} | ${st.ms.toFixed(2)} |`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
