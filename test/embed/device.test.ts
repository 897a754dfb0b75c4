/**
 * Devices, dtypes and the shrink-on-load preprocessing, on the generated test model. On this
 * machine onnxruntime-node has no CUDA provider installed (.npmrc skips its download), so `cuda`
 * must fail clearly and `auto` must fall back to the CPU with one note.
 */
import { afterAll, describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AutoImageProcessor } from "@huggingface/transformers";
import sharp from "sharp";
import { ImagePreprocessor, loadEmbedder } from "../../src/embed/index.js";
import { cudaMissing, parseDevice } from "../../src/embed/device.js";
import { shrinkFactor } from "../../src/embed/preprocess.js";
import { sharedDataDir, testModelDir } from "../fixtures/model.js";

const COCO = path.join(sharedDataDir(), "coco-val2017-sample/images");
const tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-device-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const noCuda = cudaMissing() !== undefined;

describe("devices", () => {
  it("parses --device and CLIPDB_DEVICE, defaulting to cpu", () => {
    expect(parseDevice(undefined, undefined)).toBe("cpu");
    expect(parseDevice(undefined, "")).toBe("cpu");
    expect(parseDevice(undefined, "auto")).toBe("auto");
    expect(parseDevice("cuda", "cpu")).toBe("cuda");
    expect(() => parseDevice(undefined, "gpu")).toThrow(/CLIPDB_DEVICE.*'gpu' is not auto, cpu or cuda/);
    expect(() => parseDevice("tpu")).toThrow(/device/);
  });

  it.runIf(noCuda)("cuda without the CUDA provider is DEVICE_UNAVAILABLE naming the missing files and the install step", async () => {
    const p = loadEmbedder(testModelDir(), { device: "cuda", threads: 1 });
    await expect(p).rejects.toMatchObject({ code: "DEVICE_UNAVAILABLE", kind: "user" });
    await expect(loadEmbedder(testModelDir(), { device: "cuda", threads: 1 })).rejects.toThrow(
      /libonnxruntime_providers_(shared|cuda)\.so.*missing.*ONNXRUNTIME_NODE_INSTALL=cuda12/,
    );
  });

  it.runIf(noCuda)("auto falls back to the CPU with one note, and embeds as cpu does; cpu never tries CUDA", async () => {
    const notes: string[] = [];
    const auto = await loadEmbedder(testModelDir(), { device: "auto", threads: 1, onNote: (m) => notes.push(m) });
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^CUDA is not available \(.*\); running on the CPU$/);
    expect(auto.device).toBe("cpu");
    const cpuNotes: string[] = [];
    const cpu = await loadEmbedder(testModelDir(), { device: "cpu", threads: 1, onNote: (m) => cpuNotes.push(m) });
    expect(cpuNotes).toEqual([]);
    expect(cpu.device).toBe("cpu");
    const texts = ["a dog on a beach", "two cats"];
    expect(await auto.embedTexts(texts)).toEqual(await cpu.embedTexts(texts));
    await Promise.all([auto.dispose(), cpu.dispose()]);
  });
});

describe("dtype", () => {
  it("fp16 in a folder without *_fp16.onnx files is MODEL_UNAVAILABLE naming them", async () => {
    const p = loadEmbedder(testModelDir(), { dtype: "fp16", threads: 1 });
    await expect(p).rejects.toMatchObject({ code: "MODEL_UNAVAILABLE" });
    await expect(loadEmbedder(testModelDir(), { dtype: "fp16", threads: 1 })).rejects.toThrow(/no fp16 weights \(onnx\/text_model_fp16\.onnx and onnx\/vision_model_fp16\.onnx\)/);
  });

  it("q8 loads the *_quantized.onnx files when they exist, and fails clearly when they do not", async () => {
    const q8 = await loadEmbedder(testModelDir(), { dtype: "q8", threads: 1 });
    const fp32 = await loadEmbedder(testModelDir(), { threads: 1 });
    const [a, b] = [await q8.embedTexts(["a red bus"]), await fp32.embedTexts(["a red bus"])];
    expect(a).not.toEqual(b); // different weights were loaded
    await Promise.all([q8.dispose(), fp32.dispose()]);
    const bare = path.join(tmp, "no-q8");
    cpSync(testModelDir(), bare, { recursive: true });
    for (const f of readdirSync(path.join(bare, "onnx"))) if (f.includes("_quantized")) rmSync(path.join(bare, "onnx", f));
    await expect(loadEmbedder(bare, { dtype: "q8", threads: 1 })).rejects.toThrow(/no q8 weights/);
  });
});

describe("JPEG shrink-on-load", () => {
  it("picks the largest factor that keeps the image at least the target size", () => {
    expect(shrinkFactor(640, 480, 298, 224)).toBe(2);
    expect(shrinkFactor(4000, 3000, 298, 224)).toBe(8);
    expect(shrinkFactor(1500, 1000, 336, 224)).toBe(4);
    expect(shrinkFactor(640, 427, 335, 224)).toBe(1); // 320 < 335: not at least twice the target
    expect(shrinkFactor(224, 224, 224, 224)).toBe(1);
  });

  it("changes the tensor of a large JPEG only slightly, and leaves PNGs and small JPEGs exact", async () => {
    const proc = await AutoImageProcessor.from_pretrained(testModelDir(), { local_files_only: true });
    const shrink = new ImagePreprocessor(proc, undefined, "shrink");
    const exact = new ImagePreprocessor(proc);
    expect(exact.mode).toBe("exact");
    let jpg = "";
    for (const f of readdirSync(COCO).sort()) {
      const m = await sharp(path.join(COCO, f)).metadata();
      if (m.width === 640 && m.height === 480) {
        jpg = path.join(COCO, f);
        break;
      }
    }
    expect(jpg).not.toBe("");
    const [a, b] = [await shrink.run(jpg), await exact.run(jpg)];
    let sum = 0;
    for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i] - b.data[i]);
    const mean = sum / a.data.length;
    expect(mean).toBeGreaterThan(0); // a different decode
    expect(mean).toBeLessThan(0.2); // normalised units (one byte level is ~0.015); measured 0.10 (about 7 levels)
    const png = path.join(tmp, "big.png");
    await sharp(jpg).png().toFile(png);
    expect((await shrink.run(png)).data).toEqual((await exact.run(png)).data);
  });
});
