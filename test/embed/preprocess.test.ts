import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AutoImageProcessor, RawImage, type ImageProcessor } from "@huggingface/transformers";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImagePreprocessor, decodeImage } from "../../src/embed/index.js";
import { sharedDataDir, testModelDir } from "../fixtures/model.js";

const COCO = path.join(sharedDataDir(), "coco-val2017-sample/images");
const FLICKR = path.join(sharedDataDir(), "flickr8k-test/images");
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** transformers.js's own result: RawImage.read (sharp + EXIF rotate) then the processor. */
async function libraryPixels(proc: ImageProcessor, input: string): Promise<Float32Array> {
  const { pixel_values } = (await proc(await RawImage.read(input))) as { pixel_values: { data: Float32Array } };
  return pixel_values.data;
}

describe("image preprocessing equals transformers.js AutoProcessor", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-pre-"));
  let proc: ImageProcessor;
  let pre: ImagePreprocessor;

  const processorFor = async (name: string, config: Record<string, unknown>): Promise<ImageProcessor> => {
    const dir = path.join(tmp, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "preprocessor_config.json"), JSON.stringify(config));
    return AutoImageProcessor.from_pretrained(dir, { local_files_only: true });
  };

  beforeAll(async () => {
    proc = await AutoImageProcessor.from_pretrained(testModelDir(), { local_files_only: true });
    pre = new ImagePreprocessor(proc, undefined, "exact");
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("uses the fast path for CLIP's config (shortest edge 224, bicubic, centre crop 224)", () => {
    expect(pre.fast).toBe(true);
  });

  it("matches within 1e-3 on 40 COCO and 20 Flickr8k photos", async () => {
    const coco = readdirSync(COCO).sort().filter((_, i) => i % 5 === 0).slice(0, 40);
    const flickr = readdirSync(FLICKR).sort().slice(0, 20);
    const files = [...coco.map((f) => path.join(COCO, f)), ...flickr.map((f) => path.join(FLICKR, f))];
    let worst = 0;
    for (const f of files) {
      const ours = await pre.run(f);
      expect([ours.height, ours.width]).toEqual([224, 224]);
      worst = Math.max(worst, maxAbsDiff(ours.data, await libraryPixels(proc, f)));
    }
    expect(worst).toBeLessThan(1e-3); // measured: 0 (bit-identical, same float32 rounding steps)
  });

  it("the fused crop-only resize (default) gives the sharp pipeline's tensor bit for bit on 30 COCO photos", async () => {
    const viaSharp = new ImagePreprocessor(proc, undefined, "sharp");
    const files = readdirSync(COCO).sort().filter((_, i) => i % 3 === 1).slice(0, 30);
    for (const f of files) {
      const [a, b] = [await pre.run(path.join(COCO, f)), await viaSharp.run(path.join(COCO, f))];
      expect([a.width, a.height], f).toEqual([224, 224]);
      expect(a.data, f).toEqual(b.data);
    }
  });

  it("fused and sharp paths agree on EXIF-rotated, grayscale, CMYK, alpha, odd-sized, tiny and panoramic images", async () => {
    const src = readFileSync(path.join(COCO, "000000397133.jpg"));
    const alpha = await sharp(src).resize(301, 257, { fit: "fill" }).ensureAlpha(0.3).png().toBuffer();
    const viaSharp = new ImagePreprocessor(proc, undefined, "sharp");
    const cases: Record<string, Buffer> = {
      exif6: await sharp(src).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
      gray: await sharp(src).toColourspace("b-w").jpeg().toBuffer(),
      cmyk: await sharp(src).toColourspace("cmyk").jpeg().toBuffer(),
      alpha,
      odd: await sharp(src).resize(227, 1999, { fit: "fill" }).png().toBuffer(),
      tiny: await sharp(src).resize(20, 13, { fit: "fill" }).png().toBuffer(),
      pano: await sharp(src).resize(900, 100, { fit: "fill" }).png().toBuffer(),
    };
    for (const [name, buf] of Object.entries(cases)) {
      const [a, b] = [await pre.run(buf), await viaSharp.run(buf)];
      expect([a.width, a.height], name).toEqual([224, 224]);
      expect(a.data, name).toEqual(b.data);
    }
  });

  it("matches on EXIF-rotated, grayscale, CMYK, tiny (upscaled) and panoramic images", async () => {
    const src = readFileSync(path.join(COCO, "000000397133.jpg"));
    const cases: Record<string, Buffer> = {
      "exif6.jpg": await sharp(src).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
      "gray.jpg": await sharp(src).toColourspace("b-w").jpeg().toBuffer(),
      "cmyk.jpg": await sharp(src).toColourspace("cmyk").jpeg().toBuffer(),
      "tiny.png": await sharp(src).resize(20, 13, { fit: "fill" }).png().toBuffer(),
      "pano.png": await sharp(src).resize(900, 100, { fit: "fill" }).png().toBuffer(),
    };
    for (const [name, buf] of Object.entries(cases)) {
      const f = path.join(tmp, name);
      writeFileSync(f, buf);
      // measured: 0 for each
      expect(maxAbsDiff((await pre.run(f)).data, await libraryPixels(proc, f)), name).toBeLessThan(1e-3);
    }
  });

  it("matches for a legacy integer config (size 224 also caps the long side, so the crop pads)", async () => {
    const legacy = await processorFor("legacy", {
      crop_size: 224, do_center_crop: true, do_normalize: true, do_resize: true, feature_extractor_type: "CLIPFeatureExtractor",
      image_mean: CLIP_MEAN, image_std: CLIP_STD, resample: 3, size: 224,
    });
    const p = new ImagePreprocessor(legacy, undefined, "exact");
    expect(p.fast).toBe(true);
    const f = path.join(COCO, "000000397133.jpg"); // 640x427 -> 224x149, padded to 224x224
    expect(maxAbsDiff((await p.run(f)).data, await libraryPixels(legacy, f))).toBeLessThan(1e-3);
  });

  it("matches for a SigLIP-style config (exact 224x224, bilinear, no crop, mean/std 0.5)", async () => {
    const siglip = await processorFor("siglip", {
      do_normalize: true, do_rescale: true, do_resize: true, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
      image_processor_type: "SiglipImageProcessor", resample: 2, rescale_factor: 1 / 255, size: { height: 224, width: 224 },
    });
    const p = new ImagePreprocessor(siglip, undefined, "exact");
    expect(p.fast).toBe(true);
    for (const f of [path.join(COCO, "000000397133.jpg"), path.join(FLICKR, readdirSync(FLICKR).sort()[0])]) {
      expect(maxAbsDiff((await p.run(f)).data, await libraryPixels(siglip, f))).toBeLessThan(1e-3);
    }
  });

  it("falls back to the library processor for configs the fast path does not cover (Lanczos)", async () => {
    const lanczos = await processorFor("lanczos", {
      crop_size: { height: 224, width: 224 }, do_center_crop: true, do_normalize: true, do_resize: true,
      image_mean: CLIP_MEAN, image_std: CLIP_STD, resample: 1, size: { shortest_edge: 224 },
    });
    const p = new ImagePreprocessor(lanczos, undefined, "exact");
    expect(p.fast).toBe(false);
    const f = path.join(COCO, "000000397133.jpg");
    expect(maxAbsDiff((await p.run(f)).data, await libraryPixels(lanczos, f))).toBeLessThan(1e-3);
  });

  it("rejects bad files with IMAGE_DECODE on both paths", async () => {
    const bad = path.join(tmp, "bad.jpg");
    writeFileSync(bad, readFileSync(path.join(COCO, "000000397133.jpg")).subarray(0, 5000));
    await expect(pre.run(bad)).rejects.toMatchObject({ code: "IMAGE_DECODE" });
    await expect(pre.run(bad)).rejects.toThrow(/bad\.jpg/);
    await expect(new ImagePreprocessor(proc, undefined, "sharp").run(bad)).rejects.toMatchObject({ code: "IMAGE_DECODE" });
    await expect(pre.run(Buffer.from("not an image at all"))).rejects.toMatchObject({ code: "IMAGE_DECODE" });
    const lanczos = new ImagePreprocessor(await processorFor("lanczos2", { do_resize: true, resample: 1, size: { shortest_edge: 32 } }));
    await expect(lanczos.run(bad)).rejects.toMatchObject({ code: "IMAGE_DECODE" });
  });
});

/*
 * EXIF orientation: the tensor of a JPEG carrying orientation 3, 6 or 8 must equal the tensor of
 * a copy whose pixels were rotated by hand. To make the comparison exact, the JPEG's stored
 * pixels S are read back without rotation (JPEG decoding is deterministic), rotated in plain JS,
 * and written as a lossless PNG; both files then decode to the same upright pixels. Dropping
 * `.rotate()` from the decoder makes all three cases fail (different shape or mirrored content).
 */
describe("EXIF orientation", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-exif-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** Display pixel (x, y) of an image stored as S (w x h) under the given EXIF orientation. */
  const rotate = (s: Buffer, w: number, h: number, orientation: 3 | 6 | 8) => {
    const [dw, dh] = orientation === 3 ? [w, h] : [h, w];
    const out = Buffer.alloc(dw * dh * 3);
    for (let y = 0; y < dh; y++) {
      for (let x = 0; x < dw; x++) {
        const [sx, sy] = orientation === 3 ? [w - 1 - x, h - 1 - y] : orientation === 6 ? [y, h - 1 - x] : [w - 1 - y, x];
        s.copy(out, (y * dw + x) * 3, (sy * w + sx) * 3, (sy * w + sx) * 3 + 3);
      }
    }
    return { data: out, width: dw, height: dh };
  };

  it.each([3, 6, 8] as const)("orientation %i gives the tensor of the pixel-rotated copy", async (orientation) => {
    const proc = await AutoImageProcessor.from_pretrained(testModelDir(), { local_files_only: true });
    const pre = new ImagePreprocessor(proc, undefined, "exact");
    const src = path.join(COCO, "000000397133.jpg"); // 640x427, not square, so a missed 90-degree turn changes the crop
    const exifFile = path.join(tmp, `o${orientation}.jpg`);
    writeFileSync(exifFile, await sharp(src).jpeg({ quality: 90 }).withMetadata({ orientation }).toBuffer());
    // Stored pixels, not rotated.
    const stored = await sharp(exifFile).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const upright = rotate(stored.data, stored.info.width, stored.info.height, orientation);
    const pngFile = path.join(tmp, `o${orientation}.png`);
    writeFileSync(pngFile, await sharp(upright.data, { raw: { width: upright.width, height: upright.height, channels: 3 } }).png().toBuffer());

    const decoded = await decodeImage(exifFile);
    expect([decoded.width, decoded.height]).toEqual([upright.width, upright.height]);
    expect(Buffer.from(decoded.data).equals(upright.data)).toBe(true);
    const [a, b] = [await pre.run(exifFile), await pre.run(pngFile)];
    expect(maxAbsDiff(a.data, b.data)).toBe(0);
    // And the orientation matters: the unrotated pixels give a clearly different tensor.
    const flat = path.join(tmp, `flat${orientation}.png`);
    writeFileSync(flat, await sharp(stored.data, { raw: { width: stored.info.width, height: stored.info.height, channels: 3 } }).png().toBuffer());
    expect(maxAbsDiff(a.data, (await pre.run(flat)).data)).toBeGreaterThan(0.5);
  });
});
