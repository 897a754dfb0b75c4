/**
 * `npm run make-test-model -- --out <dir> [--full] [--q8|--no-q8] [--seed N] [--bpe <merges.txt.gz>]`
 *
 * Writes a CLIP model with seeded random weights in the folder layout transformers.js loads.
 * Default: the tiny test model (ViT patch 32 at 224 px, width 64, 2 layers; text width 32,
 * 2 layers; projection 32; a few MB) with fp32 and q8 ONNX files. `--full`: ViT-B/32 and CLIP's
 * text transformer (87.8M + 63.4M parameters, 512-d projection, fp32, about 600 MB, tens of
 * seconds); add `--q8` for the quantised files too. Never commit the output.
 */
import { Command } from "commander";
import { DEFAULT_BPE, writeClipModel } from "./lib/make-model.js";

const program = new Command()
  .name("make-test-model")
  .description("Write a random-weight CLIP model (real architecture and tokenizer) that transformers.js loads.")
  .requiredOption("--out <dir>", "output folder")
  .option("--full", "full-size ViT-B/32 + text transformer instead of the tiny test model", false)
  .option("--q8", "also write int8 *_quantized.onnx files (default: on for tiny, off for --full)")
  .option("--no-q8", "do not write the quantised files")
  .option("--seed <n>", "weight seed", "42")
  .option("--bpe <path>", "OpenAI CLIP merges file (bpe_simple_vocab_16e6.txt.gz)", DEFAULT_BPE)
  .parse();

const o = program.opts<{ out: string; full: boolean; q8?: boolean; seed: string; bpe: string }>();
const t0 = performance.now();
const marker = writeClipModel({
  out: o.out,
  full: o.full,
  q8: o.q8,
  seed: Number(o.seed),
  bpePath: o.bpe,
  log: (l) => console.log(l),
});
console.log(
  `done: ${o.out} (${marker.kind}, vision ${(marker.params.vision / 1e6).toFixed(1)}M + text ${(marker.params.text / 1e6).toFixed(1)}M params) ` +
    `in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
