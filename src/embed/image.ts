/**
 * Image decoding with sharp: EXIF orientation applied (`.rotate()`), a pixel limit against
 * decompression bombs, alpha flattened on white, grayscale and CMYK converted to sRGB, the first
 * frame of a GIF (or first page of a TIFF). JPEG, PNG, WebP, GIF, AVIF and TIFF are accepted;
 * anything else (SVG included, which could reference external resources) is IMAGE_DECODE.
 *
 * Importing this module turns sharp's operation cache off (`sharp.cache(false)`): that cache is
 * keyed by file name, so a file rewritten in place could be decoded from stale data, and it
 * holds memory that an ingest loop does not reuse.
 */
import sharp, { type Metadata, type Sharp } from "sharp";
import { ClipdbError } from "../core/errors.js";
import type { ImageSource } from "./types.js";

sharp.cache(false);

/** Default pixel limit: 100 megapixels (a 10000 x 10000 image). */
export const DEFAULT_MAX_PIXELS = 100_000_000;

const ACCEPTED_FORMATS = new Set(["jpeg", "png", "webp", "gif", "heif", "tiff"]);

/** Options for decoding. */
export interface DecodeOptions {
  /** Largest accepted image in pixels (width x height of the first frame). Default {@link DEFAULT_MAX_PIXELS}. */
  maxPixels?: number;
  /** Name used in error messages. Default: the path, or `<buffer of N bytes>`. */
  label?: string;
}

/** An image opened for decoding: a sharp pipeline that yields upright sRGB (3 channels), and its upright size. */
export interface OpenedImage {
  pipeline: Sharp;
  /** Upright width (after EXIF orientation). */
  width: number;
  /** Upright height (after EXIF orientation). */
  height: number;
  /** Container format as sharp reports it (`jpeg`, `png`, `webp`, `gif`, `heif`, `tiff`). */
  format: string;
}

/** Decoded pixels: `width * height * 3` RGB bytes, row-major. */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The name of an input for error messages. */
export function imageLabel(input: ImageSource): string {
  return typeof input === "string" ? input : `<buffer of ${input.byteLength} bytes>`;
}

function reasonOf(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s+/g, " ").trim() || "unknown error";
}

/** Maps a sharp failure to IMAGE_TOO_LARGE or IMAGE_DECODE naming the file. */
export function decodeError(e: unknown, label: string, maxPixels = DEFAULT_MAX_PIXELS): ClipdbError {
  if (e instanceof ClipdbError) return e;
  const reason = reasonOf(e);
  if (/exceeds pixel limit/i.test(reason)) return new ClipdbError("IMAGE_TOO_LARGE", { file: label, pixels: "more", limit: maxPixels }, { cause: e });
  if (/Input file is missing/i.test(reason)) return new ClipdbError("IMAGE_DECODE", { file: label, reason: "the file does not exist" }, { cause: e });
  return new ClipdbError("IMAGE_DECODE", { file: label, reason }, { cause: e });
}

function sharpInput(input: ImageSource): string | Buffer {
  if (typeof input === "string") return input;
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/**
 * Opens an image: reads its header, checks the format and the pixel limit, and returns a sharp
 * pipeline that decodes it upright, alpha flattened on white, in sRGB. Throws IMAGE_DECODE for a
 * missing, empty, corrupt or unsupported file and IMAGE_TOO_LARGE above the pixel limit; a
 * truncated file is caught when the pipeline runs (wrap that call with {@link decodeError}).
 */
export async function openImage(input: ImageSource, opts: DecodeOptions = {}): Promise<OpenedImage> {
  const label = opts.label ?? imageLabel(input);
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const src = sharpInput(input);
  if (typeof src !== "string" && src.byteLength === 0) throw new ClipdbError("IMAGE_DECODE", { file: label, reason: "the data is empty (0 bytes)" });
  let meta: Metadata;
  try {
    meta = await sharp(src, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw decodeError(e, label, maxPixels);
  }
  const format = String(meta.format ?? "unknown");
  if (!ACCEPTED_FORMATS.has(format)) throw new ClipdbError("IMAGE_DECODE", { file: label, reason: `unsupported format '${format}'` });
  const w = meta.width ?? 0;
  const h = meta.pageHeight ?? meta.height ?? 0;
  if (w <= 0 || h <= 0) throw new ClipdbError("IMAGE_DECODE", { file: label, reason: "the image has no pixels" });
  if (w * h > maxPixels) throw new ClipdbError("IMAGE_TOO_LARGE", { file: label, pixels: w * h, limit: maxPixels });
  const swap = (meta.orientation ?? 1) >= 5;
  const pipeline = sharp(src, { limitInputPixels: maxPixels })
    .rotate()
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .toColourspace("srgb");
  return { pipeline, width: swap ? h : w, height: swap ? w : h, format };
}

/** Forces `channels`-channel interleaved bytes into RGB. */
function toRgb(data: Buffer, width: number, height: number, channels: number): Uint8Array {
  if (channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += channels) {
    if (channels >= 3) {
      out[i * 3] = data[j];
      out[i * 3 + 1] = data[j + 1];
      out[i * 3 + 2] = data[j + 2];
    } else {
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = data[j];
    }
  }
  return out;
}

/**
 * Runs an opened pipeline (optionally transformed by `edit`, e.g. a resize) to upright 8-bit RGB.
 * Errors become IMAGE_DECODE / IMAGE_TOO_LARGE naming `label`.
 */
export async function rasterize(
  opened: OpenedImage,
  label: string,
  edit?: (p: Sharp) => Sharp,
  maxPixels = DEFAULT_MAX_PIXELS,
): Promise<DecodedImage> {
  try {
    const p = edit ? edit(opened.pipeline) : opened.pipeline;
    const { data, info } = await p.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    return { data: toRgb(data, info.width, info.height, info.channels), width: info.width, height: info.height };
  } catch (e) {
    throw decodeError(e, label, maxPixels);
  }
}

/**
 * Decodes an image to upright sRGB bytes (`width * height * 3`). Cost: one full decode.
 * Throws IMAGE_DECODE (missing, empty, truncated, corrupt, unsupported) or IMAGE_TOO_LARGE.
 */
export async function decodeImage(input: ImageSource, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const label = opts.label ?? imageLabel(input);
  const opened = await openImage(input, { ...opts, label });
  return rasterize(opened, label, undefined, opts.maxPixels);
}

/** Options of {@link thumbnailJpeg}. */
export interface ThumbnailOptions extends DecodeOptions {
  /** JPEG quality 1..100. Default 80: small files, artefacts invisible at thumbnail size. */
  quality?: number;
}

/**
 * A JPEG thumbnail that fits in `size x size` (aspect kept, never enlarged), upright (EXIF
 * orientation applied, and no EXIF written, so viewers do not rotate it twice), alpha flattened
 * on white. Default size 256. Throws IMAGE_DECODE or IMAGE_TOO_LARGE like {@link decodeImage}.
 */
export async function thumbnailJpeg(input: ImageSource, size = 256, opts: ThumbnailOptions = {}): Promise<Buffer> {
  if (!Number.isInteger(size) || size < 1 || size > 4096) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "size", reason: `thumbnail size must be an integer in 1..4096, got ${size}` });
  }
  const label = opts.label ?? imageLabel(input);
  const opened = await openImage(input, { ...opts, label });
  try {
    return await opened.pipeline
      .resize(size, size, { fit: "inside", withoutEnlargement: true })
      .jpeg({ quality: opts.quality ?? 80, mozjpeg: false })
      .toBuffer();
  } catch (e) {
    throw decodeError(e, label, opts.maxPixels);
  }
}
