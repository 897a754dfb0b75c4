/**
 * Where the preprocessing time of a photo goes, stage by stage, in CPU milliseconds per image (one
 * image at a time, sharp on one thread, medians of interleaved rounds). Used by bench:preprocess to
 * show the floor under any pipeline built on sharp: the JPEG decode itself, which libjpeg's DCT
 * scaling (shrink-on-load) shortens only a little on high-quality photos, since most of the decode
 * is entropy (Huffman) decoding, which it does not skip.
 */
import sharp from "sharp";
import { cubicResizeCrop, decodeImage, resizeTarget, type FastPlan } from "../../src/embed/index.js";

/** One stage's median CPU ms per image. */
export interface Stage {
  name: string;
  ms: number;
}

const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;

/**
 * Times each stage over `files` for `rounds` interleaved rounds. `plan` is the model's fast-path
 * plan (for the crop-only resize on pre-decoded pixels). Returns the stages and how many files
 * embed an ICC profile.
 */
export async function decodeStages(files: string[], rounds: number, plan: FastPlan): Promise<{ stages: Stage[]; profiled: number }> {
  const concurrency = sharp.concurrency();
  sharp.concurrency(1);
  const metas = await Promise.all(files.map((f) => sharp(f).metadata()));
  const decoded = await Promise.all(files.map((f) => decodeImage(f)));
  const stages: Record<string, (i: number) => Promise<unknown> | unknown> = {
    "read the header (sharp metadata)": (i) => sharp(files[i]).metadata(),
    "decode as the pipeline does (EXIF, embedded profile to sRGB)": (i) => decodeImage(files[i]),
    "decode without the profile conversion": (i) => sharp(files[i], { ignoreIcc: true }).rotate().raw().toBuffer(),
    "decode at 1/8 scale (DCT scaling), no profile conversion": (i) =>
      sharp(files[i], { ignoreIcc: true }).resize(Math.ceil(metas[i].width! / 8), Math.ceil(metas[i].height! / 8), { fit: "fill", kernel: "nearest", fastShrinkOnLoad: true }).raw().toBuffer(),
    "crop-only bicubic resize + normalise (JS, pre-decoded)": (i) => {
      const { data, width, height } = decoded[i];
      const [tw, th] = resizeTarget(plan, width, height);
      return cubicResizeCrop(data, width, height, tw, th, plan.crop, plan.lut);
    },
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(stages).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of Object.entries(stages)) {
      const c = process.cpuUsage();
      for (let i = 0; i < files.length; i++) await run(i);
      times[name].push(cpuMs(process.cpuUsage(c)) / files.length);
    }
  }
  sharp.concurrency(concurrency);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  return {
    stages: Object.entries(times).map(([name, xs]) => ({ name, ms: median(xs) })),
    profiled: metas.filter((m) => m.hasProfile).length,
  };
}
