import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AutoImageProcessor, AutoTokenizer, RawImage } from "@huggingface/transformers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TINY_SPEC, countParams, makeWeights, type Weights } from "../../scripts/lib/clip-spec.js";
import { writeClipModel, type ModelMarker } from "../../scripts/lib/make-model.js";
import { loadEmbedder, type Embedder } from "../../src/embed/index.js";
import { sharedDataDir, testModelDir } from "../fixtures/model.js";
import { referenceText, referenceVision, unit } from "./reference-clip.js";

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe("generated tiny CLIP model", () => {
  let emb: Embedder;
  let weights: Weights;
  const tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-model-"));

  beforeAll(async () => {
    emb = await loadEmbedder(testModelDir(), { threads: 1 });
    weights = makeWeights(TINY_SPEC);
  });
  afterAll(async () => {
    await emb.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("has CLIP's parameter layout at tiny scale and reads dim from projection_dim", () => {
    expect(emb.dim).toBe(TINY_SPEC.projectionDim);
    // vision: conv 64*3*32*32 + cls 64 + pos 50*64 + 2 LNs + 2 layers + proj 64*32
    const layerParams = (d: number, m: number) => 4 * (d * d + d) + 2 * d * m + m + d + 4 * d;
    const vision = 64 * 3 * 32 * 32 + 64 + 50 * 64 + 4 * 64 + 2 * layerParams(64, 256) + 64 * 32;
    const text = 49408 * 32 + 77 * 32 + 2 * layerParams(32, 128) + 2 * 32 + 32 * 32;
    expect(countParams(weights, "vision.")).toBe(vision);
    expect(countParams(weights, "text.")).toBe(text);
  });

  it("text graph equals a float64 reference forward pass (causal mask, EOT pooling, projection)", async () => {
    const tok = await AutoTokenizer.from_pretrained(testModelDir(), { local_files_only: true });
    const texts = ["a photo of a cat", "a dog", "", "two dogs running on the beach at sunset, with a red ball"];
    const got = await emb.embedTexts(texts);
    texts.forEach((t, i) => {
      const ref = unit(referenceText(TINY_SPEC, weights, tok.encode(t)));
      // measured: at most 1.7e-7
      expect(maxAbsDiff(got.subarray(i * emb.dim, (i + 1) * emb.dim), ref)).toBeLessThan(1e-4);
    });
  });

  it("vision graph equals a float64 reference forward pass on AutoProcessor's pixel_values", async () => {
    const file = path.join(sharedDataDir(), "coco-val2017-sample/images/000000397133.jpg");
    const proc = await AutoImageProcessor.from_pretrained(testModelDir(), { local_files_only: true });
    const { pixel_values } = (await proc(await RawImage.read(file))) as { pixel_values: { data: Float32Array } };
    const ref = unit(referenceVision(TINY_SPEC, weights, pixel_values.data));
    const got = await emb.embedImages([file]);
    // measured: 1.1e-7
    expect(maxAbsDiff(got, ref)).toBeLessThan(1e-4);
  });

  it("is deterministic: the same seed writes the same bytes, another seed other weights", () => {
    const a = writeClipModel({ out: path.join(tmp, "a"), q8: false });
    const b = writeClipModel({ out: path.join(tmp, "b"), q8: false, seed: 7 });
    const cached = JSON.parse(readFileSync(path.join(testModelDir(), "clipdb-model.json"), "utf8")) as ModelMarker;
    for (const f of ["onnx/text_model.onnx", "onnx/vision_model.onnx", "tokenizer.json", "preprocessor_config.json"]) {
      expect(a.files[f].sha256).toBe(cached.files[f].sha256);
    }
    expect(b.files["onnx/vision_model.onnx"].sha256).not.toBe(a.files["onnx/vision_model.onnx"].sha256);
    expect(b.files["tokenizer.json"].sha256).toBe(a.files["tokenizer.json"].sha256);
  });

  it("q8 weights load with dtype 'q8' and stay close to fp32 (int8 dynamic quantisation)", async () => {
    const q8 = await loadEmbedder(testModelDir(), { dtype: "q8", threads: 1 });
    try {
      const texts = ["a photo of a cat", "a dog on a beach"];
      const file = path.join(sharedDataDir(), "flickr8k-test/images/1056338697_4f7d7ce270.jpg");
      const [tf, tq] = [await emb.embedTexts(texts), await q8.embedTexts(texts)];
      const [vf, vq] = [await emb.embedImages([file]), await q8.embedImages([file])];
      const cos = (x: Float32Array, y: Float32Array, r: number) => {
        let s = 0;
        for (let i = 0; i < emb.dim; i++) s += x[r * emb.dim + i] * y[r * emb.dim + i];
        return s;
      };
      for (const [x, y, n] of [[tf, tq, 2], [vf, vq, 1]] as const) {
        for (let r = 0; r < n; r++) {
          const c = cos(x, y, r);
          expect(c).toBeGreaterThan(0.98); // measured: >= 0.9996
          expect(c).toBeLessThan(1 - 1e-7); // really the other weights
        }
      }
    } finally {
      await q8.dispose();
    }
  });
});
