import { createHash } from "node:crypto";

/** Image formats clipdb recognises by their first bytes, with their MIME type and file extension. */
const SIGNATURES: { mime: string; ext: string; test: (b: Buffer) => boolean }[] = [
  { mime: "image/jpeg", ext: ".jpg", test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mime: "image/png", ext: ".png", test: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { mime: "image/gif", ext: ".gif", test: (b) => b.subarray(0, 4).toString("latin1") === "GIF8" },
  { mime: "image/webp", ext: ".webp", test: (b) => b.subarray(0, 4).toString("latin1") === "RIFF" && b.subarray(8, 12).toString("latin1") === "WEBP" },
  { mime: "image/tiff", ext: ".tiff", test: (b) => ["II*\0", "MM\0*"].includes(b.subarray(0, 4).toString("latin1")) },
  { mime: "image/avif", ext: ".avif", test: (b) => b.subarray(4, 8).toString("latin1") === "ftyp" && /^avi[fs]/.test(b.subarray(8, 12).toString("latin1")) },
];

/** The MIME type and extension of image bytes, from their magic number; undefined when unknown. */
export function sniffImage(bytes: Buffer): { mime: string; ext: string } | undefined {
  const sig = SIGNATURES.find((s) => bytes.length >= 12 && s.test(bytes));
  return sig && { mime: sig.mime, ext: sig.ext };
}

/** Hex SHA-256 of bytes or text: the content hash that makes re-adding a file a no-op. */
export function contentHash(data: Buffer | string | Float32Array): string {
  const h = createHash("sha256");
  if (data instanceof Float32Array) h.update(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  else h.update(data);
  return h.digest("hex");
}
