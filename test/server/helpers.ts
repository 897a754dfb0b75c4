/** Shared helpers of the server tests: real COCO files, multipart bodies, crafted images. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The shared real-data folder (../shared/data from the repo root). */
export const DATA = path.resolve(ROOT, "../shared/data");
/** COCO val2017 sample: images and captions. */
export const COCO = path.join(DATA, "coco-val2017-sample");

interface CocoCaptions {
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: { image_id: number; caption: string }[];
}

/** The first `n` COCO sample images (landscape ones first when `landscape`), with their 5 captions. */
export function cocoImages(n: number, opts: { landscape?: boolean; skip?: number } = {}): { file: string; name: string; captions: string[]; width: number; height: number }[] {
  const json = JSON.parse(readFileSync(path.join(COCO, "captions.json"), "utf8")) as CocoCaptions;
  const caps = new Map<number, string[]>();
  for (const a of json.annotations) caps.set(a.image_id, [...(caps.get(a.image_id) ?? []), a.caption.trim()]);
  let imgs = json.images;
  if (opts.landscape) imgs = imgs.filter((i) => i.width > i.height * 1.2);
  return imgs.slice(opts.skip ?? 0, (opts.skip ?? 0) + n).map((i) => ({
    file: path.join(COCO, "images", i.file_name),
    name: i.file_name,
    captions: caps.get(i.id) ?? [],
    width: i.width,
    height: i.height,
  }));
}

/** A file part of a multipart body. */
export interface FilePart {
  field: string;
  name: string;
  type: string;
  data: Buffer;
}

/**
 * Encodes a multipart/form-data body with the platform's own FormData encoder, for app.inject.
 * Returns the payload and the content-type header (with its boundary).
 */
export async function multipart(fields: Record<string, string>, file?: FilePart): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) form.append(file.field, new Blob([new Uint8Array(file.data)], { type: file.type }), file.name);
  const req = new Request("http://localhost/", { method: "POST", body: form });
  return { payload: Buffer.from(await req.arrayBuffer()), headers: { "content-type": req.headers.get("content-type") ?? "" } };
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/**
 * A valid-looking PNG that declares `width × height` pixels but carries almost no data: a
 * decompression-bomb probe. Decoders must refuse it from the header, before allocating.
 */
export function pngBomb(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", zlib.deflateSync(Buffer.alloc(4096))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Inner product of two vectors (cosine for normalised ones). */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
