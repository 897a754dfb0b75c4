/**
 * Image preprocessing from a model's `preprocessor_config.json`: resize (shortest edge, or an
 * exact size), centre crop, rescale, normalise, to a float32 CHW tensor.
 *
 * Three paths give the same numbers:
 * - the fused path (bicubic downscales: CLIP's config on any photo at least 224 on its short side)
 *   decodes with sharp, then computes only the centre crop of the bicubic resize in JS, fused with
 *   rescale and normalise into the CHW tensor (cubic-crop.ts: libvips' arithmetic, bit for bit);
 * - the sharp path decodes and resizes in one sharp pipeline (the same affine resize, with the same
 *   interpolator, that transformers.js applies to the decoded image), then crops, rescales and
 *   normalises in one pass through a 256-entry table per channel. It serves the other resamplers
 *   and upscales, and mode `sharp` forces it (to compare or measure);
 * - both compute exactly what the library's `ImageProcessor.preprocess` computes; the test suite
 *   checks them against `AutoProcessor` on real photos;
 * - configurations the fast path does not cover (padding, thumbnails, size divisibility,
 *   Lanczos, or a processor class that overrides preprocessing) go through the model's own
 *   transformers.js processor, fed with our decoded upright RGB pixels.
 *
 * Mode `shrink` (opt-in) first decodes a JPEG at least twice the resize target with libjpeg at 1/2,
 * 1/4 or 1/8 scale (DCT scaling), then resizes it as above from that size; the tensor then differs
 * from the library's (bench/preprocess.ts measures the embedding cosine). Modes `exact` (the
 * default: fused where it applies, else sharp) and `sharp` always decode at full size.
 *
 * One deliberate difference from transformers.js: transparent images are flattened on white;
 * the library drops the alpha channel, so fully transparent pixels keep whatever colour they hold.
 */
import sharp from "sharp";
import { RawImage, ImageProcessor } from "@huggingface/transformers";
import { ClipdbError } from "../core/errors.js";
import { cubicResizeCrop } from "./cubic-crop.js";
import { DEFAULT_MAX_PIXELS, decodeImage, imageLabel, openImage, rasterize } from "./image.js";
import type { ImageSource, PixelTensor } from "./types.js";

export type { PixelTensor } from "./types.js";

type Interp = "nearest" | "bilinear" | "bicubic";

/** What the fast path does, read from a preprocessor config. */
export interface FastPlan {
  resize: { shortestEdge?: number; longestEdge?: number } | { width: number; height: number } | null;
  interpolator: Interp;
  crop: { width: number; height: number } | null;
  /** Per channel: value of byte v after rescale and normalise (3 x 256). */
  lut: Float32Array[];
}

type Config = Record<string, unknown>;

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function triple(v: unknown, fallback: number): number[] | null {
  if (v === undefined || v === null) return [fallback, fallback, fallback];
  if (isNum(v)) return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every(isNum)) return v as number[];
  return null;
}

/**
 * Reads a preprocessor config into a fast-path plan, or returns undefined when the config uses
 * something only the library's processor implements. Mirrors transformers.js 4.3
 * `ImageProcessor` defaults: resample 2 (bilinear), do_rescale true with 1/255, do_normalize off
 * unless set, do_convert_rgb on.
 */
export function planFastPath(config: Config): FastPlan | undefined {
  const unsupported = ["do_thumbnail", "do_pad", "do_crop_margin", "do_flip_channel_order", "size_divisibility", "size_divisor"];
  if (unsupported.some((k) => config[k])) return undefined;
  if (config.do_convert_rgb === false) return undefined;
  if (config.keep_aspect_ratio && config.ensure_multiple_of) return undefined;

  const resampleCode = config.resample ?? 2;
  const interp: Record<string, Interp> = { "0": "nearest", "2": "bilinear", "3": "bicubic", "4": "bilinear", "5": "bilinear" };
  const interpolator = interp[String(resampleCode)];
  if (!interpolator) return undefined; // 1 = Lanczos: the library uses sharp.resize, not affine

  const size = config.size ?? config.image_size;
  const doResize = (config.do_resize as boolean | undefined) ?? size !== undefined;
  let resize: FastPlan["resize"] = null;
  if (doResize) {
    if (Number.isInteger(size)) {
      const maxSize = config.max_size;
      resize = { shortestEdge: size as number, longestEdge: isNum(maxSize) ? maxSize : (size as number) };
    } else if (size && typeof size === "object") {
      const s = size as Config;
      if (isNum(s.shortest_edge) || isNum(s.longest_edge)) {
        resize = { shortestEdge: isNum(s.shortest_edge) ? s.shortest_edge : undefined, longestEdge: isNum(s.longest_edge) ? s.longest_edge : undefined };
      } else if (isNum(s.width) && isNum(s.height)) {
        resize = { width: s.width, height: s.height };
      } else return undefined;
    } else return undefined;
  }

  let crop: FastPlan["crop"] = null;
  if (config.do_center_crop) {
    const c = config.crop_size;
    if (Number.isInteger(c)) crop = { width: c as number, height: c as number };
    else if (c && typeof c === "object" && isNum((c as Config).width) && isNum((c as Config).height)) {
      crop = { width: (c as Config).width as number, height: (c as Config).height as number };
    } else return undefined;
  }

  const rescale = (config.do_rescale ?? true) ? (isNum(config.rescale_factor) ? config.rescale_factor : 1 / 255) : null;
  const normalize = Boolean(config.do_normalize);
  const mean = triple(config.image_mean ?? config.mean, 0);
  const std = triple(config.image_std ?? config.std, 1);
  if (normalize && (!mean || !std)) return undefined;

  const lut = [0, 1, 2].map((c) => {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) {
      // Same float32 rounding steps as the library: rescale into a Float32Array, then normalise.
      let x = rescale === null ? v : Math.fround(rescale * v);
      if (normalize) x = (x - mean![c]) / std![c];
      t[v] = x;
    }
    return t;
  });
  return { resize, interpolator, crop, lut };
}

/**
 * Target size of the resize, as transformers.js 4.3 `get_resize_output_image_size` computes it
 * (including its rounding to 2 decimals before flooring).
 */
export function resizeTarget(plan: FastPlan, width: number, height: number): [number, number] {
  const r = plan.resize;
  if (!r) return [width, height];
  if ("width" in r) return [r.width, r.height];
  const short = r.shortestEdge === undefined ? 1 : Math.max(r.shortestEdge / width, r.shortestEdge / height);
  const w1 = width * short;
  const h1 = height * short;
  const long = r.longestEdge === undefined ? 1 : Math.min(r.longestEdge / w1, r.longestEdge / h1);
  return [Math.floor(Number((w1 * long).toFixed(2))), Math.floor(Number((h1 * long).toFixed(2)))];
}

/** Crop (or pad with zero bytes) to the centre, rescale and normalise to CHW float32. */
function cropNormalize(rgb: Uint8Array, width: number, height: number, plan: FastPlan): PixelTensor {
  const cw = plan.crop?.width ?? width;
  const ch = plan.crop?.height ?? height;
  const offX = (width - cw) / 2;
  const offY = (height - ch) / 2;
  // Source index = destination + shift; a negative offset means padding (the library extends with black).
  const shiftX = offX >= 0 ? Math.floor(offX) : -Math.floor(-offX);
  const shiftY = offY >= 0 ? Math.floor(offY) : -Math.floor(-offY);
  const plane = cw * ch;
  const out = new Float32Array(3 * plane);
  const [l0, l1, l2] = plan.lut;
  for (let y = 0; y < ch; y++) {
    const sy = y + shiftY;
    const rowOk = sy >= 0 && sy < height;
    for (let x = 0; x < cw; x++) {
      const sx = x + shiftX;
      const o = y * cw + x;
      if (rowOk && sx >= 0 && sx < width) {
        const i = (sy * width + sx) * 3;
        out[o] = l0[rgb[i]];
        out[plane + o] = l1[rgb[i + 1]];
        out[2 * plane + o] = l2[rgb[i + 2]];
      } else {
        out[o] = l0[0];
        out[plane + o] = l1[0];
        out[2 * plane + o] = l2[0];
      }
    }
  }
  return { data: out, height: ch, width: cw };
}

/**
 * The JPEG shrink-on-load factor for a resize from w x h to tw x th: the largest of 8, 4 and 2 for
 * which the decoded image (w/f x h/f) is still at least the target in both dimensions, so a
 * source must be at least twice the target to be shrunk at all; 1 otherwise.
 */
export function shrinkFactor(w: number, h: number, tw: number, th: number): number {
  for (const f of [8, 4, 2]) if (Math.floor(w / f) >= tw && Math.floor(h / f) >= th) return f;
  return 1;
}

/**
 * Preprocessing modes: `exact` (default; the fused crop-only resize where it applies, else the
 * sharp pipeline; the library's tensor either way), `sharp` (always the sharp pipeline: same tensor,
 * slower, kept to compare and measure), `shrink` (JPEG shrink-on-load, then the sharp pipeline; a
 * different tensor).
 */
export type PreprocessMode = "exact" | "sharp" | "shrink";

/** Turns images into model input tensors, by the fast path when the config allows it. */
export class ImagePreprocessor {
  /** The fast-path plan, or undefined when the library processor is used. */
  readonly plan: FastPlan | undefined;

  /**
   * @param processor the model's transformers.js image processor (from `AutoImageProcessor`).
   * @param maxPixels pixel limit for decoding; default 100 MP.
   */
  constructor(
    private readonly processor: ImageProcessor,
    private readonly maxPixels = DEFAULT_MAX_PIXELS,
    /** Default `exact`; see {@link PreprocessMode}. */
    readonly mode: PreprocessMode = "exact",
  ) {
    const base = ImageProcessor.prototype as unknown as Record<string, unknown>;
    const own = processor as unknown as Record<string, unknown>;
    const standard = ["preprocess", "resize", "get_resize_output_image_size", "rescale"].every((m) => own[m] === base[m]);
    this.plan = standard ? planFastPath(processor.config as Config) : undefined;
  }

  /** Whether the fast path is in use. */
  get fast(): boolean {
    return this.plan !== undefined;
  }

  /**
   * Floats in every tensor this preprocessor returns when that is fixed (a centre crop, or a resize
   * to an exact size), so a caller can lay a batch out before decoding it; else undefined.
   */
  get tensorLength(): number | undefined {
    const p = this.plan;
    if (p?.crop) return 3 * p.crop.width * p.crop.height;
    if (p?.resize && "width" in p.resize) return 3 * p.resize.width * p.resize.height;
    return undefined;
  }

  /**
   * Decodes and preprocesses one image. Throws IMAGE_DECODE / IMAGE_TOO_LARGE naming the file.
   * @param label name for error messages; default the path or `<buffer of N bytes>`.
   * @param into where the fused path may write the tensor (see `cubicResizeCrop`); the result's data
   *   is then a view of it. Other paths return an array of their own, which the caller copies.
   */
  async run(input: ImageSource, label = imageLabel(input), into?: Float32Array): Promise<PixelTensor> {
    const plan = this.plan;
    if (!plan) return this.runLibrary(input, label);
    const opened = await openImage(input, { maxPixels: this.maxPixels, label });
    const [tw, th] = resizeTarget(plan, opened.width, opened.height);
    const needsResize = tw !== opened.width || th !== opened.height;
    if (tw < 1 || th < 1) throw new ClipdbError("IMAGE_DECODE", { file: label, reason: `image of ${opened.width}x${opened.height} is too small to resize` });
    const f = this.mode === "shrink" && opened.format === "jpeg" ? shrinkFactor(opened.width, opened.height, tw, th) : 1;
    if (f > 1) {
      // libjpeg's DCT scaling (sharp picks it for a resize to exactly 1/f), then the exact affine resize.
      const sw = Math.floor(opened.width / f);
      const sh = Math.floor(opened.height / f);
      const small = await rasterize(opened, label, (p) => p.resize(sw, sh, { fit: "fill", kernel: "linear", fastShrinkOnLoad: true }), this.maxPixels);
      const img = await rasterize(
        { pipeline: sharp(small.data, { raw: { width: small.width, height: small.height, channels: 3 } }), width: small.width, height: small.height, format: "raw" },
        label,
        // A shift of (f-1)/(2f) shrunk pixels (a quarter pixel at f = 2) came closest to the exact
        // path's pixels on COCO photos (mean absolute difference 5.2 levels against 5.4 unshifted).
        (p) => p.affine([tw / small.width, 0, 0, th / small.height], { interpolator: plan.interpolator, idx: (f - 1) / (2 * f), idy: (f - 1) / (2 * f) }),
        this.maxPixels,
      );
      return cropNormalize(img.data, img.width, img.height, plan);
    }
    if (this.mode === "exact" && needsResize && plan.interpolator === "bicubic" && tw <= opened.width && th <= opened.height) {
      const src = await rasterize(opened, label, undefined, this.maxPixels);
      const fused = cubicResizeCrop(src.data, src.width, src.height, tw, th, plan.crop, plan.lut, into);
      if (fused) return fused;
    }
    const img = await rasterize(
      opened,
      label,
      needsResize ? (p) => p.affine([tw / opened.width, 0, 0, th / opened.height], { interpolator: plan.interpolator }) : undefined,
      this.maxPixels,
    );
    return cropNormalize(img.data, img.width, img.height, plan);
  }

  private async runLibrary(input: ImageSource, label: string): Promise<PixelTensor> {
    const img = await decodeImage(input, { maxPixels: this.maxPixels, label });
    const raw = new RawImage(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.byteLength), img.width, img.height, 3);
    const { pixel_values } = (await this.processor(raw)) as { pixel_values: { data: Float32Array; dims: number[] } };
    const [, c, h, w] = pixel_values.dims;
    if (c !== 3) throw new ClipdbError("INTERNAL", { reason: `image processor returned ${c} channels, expected 3` });
    return { data: Float32Array.from(pixel_values.data), height: h, width: w };
  }
}
