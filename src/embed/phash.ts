/**
 * A perceptual hash of an image (pHash, as in Zauner 2010): the image decoded upright (EXIF
 * orientation applied), reduced to 32x32 grey, transformed by a 2-D DCT; the 8x8 lowest
 * frequencies (the DC term left out of the median) give 64 bits, each set when its coefficient is
 * above the median. Re-encodes, resizes and small crops move few bits; different pictures differ
 * in about half of them. It is independent of the embedding model, so it stays precise when the
 * model is weak or has random weights.
 */
import { openImage, rasterize, type DecodeOptions } from "./image.js";

/** Bits in a perceptual hash. */
export const PHASH_BITS = 64;

const N = 32;
const K = 8;

/** cos((2x+1) u pi / 2N) for x, u < N, row-major by u. */
const COS = (() => {
  const t = new Float64Array(N * N);
  for (let u = 0; u < N; u++) for (let x = 0; x < N; x++) t[u * N + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N));
  return t;
})();

/** The 64-bit pHash of grey pixels (`N * N`, row-major) as 16 hex characters. */
export function phashOfGrey(grey: Float64Array): string {
  // Separable DCT, only the K x K low frequencies are needed.
  const rows = new Float64Array(N * K); // rows[y * K + v] = sum_x grey[y][x] cos(x, v)
  for (let y = 0; y < N; y++) {
    for (let v = 0; v < K; v++) {
      let s = 0;
      for (let x = 0; x < N; x++) s += grey[y * N + x] * COS[v * N + x];
      rows[y * K + v] = s;
    }
  }
  const coef = new Float64Array(K * K);
  for (let u = 0; u < K; u++) {
    for (let v = 0; v < K; v++) {
      let s = 0;
      for (let y = 0; y < N; y++) s += rows[y * K + v] * COS[u * N + y];
      coef[u * K + v] = s;
    }
  }
  const ac = Array.from(coef.subarray(1)).sort((a, b) => a - b);
  const median = (ac[31] + ac[32]) / 2;
  let hex = "";
  for (let nib = 0; nib < 16; nib++) {
    let d = 0;
    for (let b = 0; b < 4; b++) d = (d << 1) | (coef[nib * 4 + b] > median ? 1 : 0);
    hex += d.toString(16);
  }
  return hex;
}

/**
 * The perceptual hash of an image file or bytes, 16 hex characters. Cost: one decode (sharp
 * shrinks JPEGs while decoding, so a few ms for a photo). Throws IMAGE_DECODE / IMAGE_TOO_LARGE
 * as decodeImage does.
 */
export async function perceptualHash(input: string | Buffer, opts: DecodeOptions = {}): Promise<string> {
  const label = opts.label ?? (typeof input === "string" ? input : "(image bytes)");
  const opened = await openImage(input, { ...opts, label });
  const img = await rasterize(opened, label, (p) => p.resize(N, N, { fit: "fill", kernel: "cubic" }), opts.maxPixels);
  const grey = new Float64Array(N * N);
  for (let i = 0; i < N * N; i++) grey[i] = 0.299 * img.data[i * 3] + 0.587 * img.data[i * 3 + 1] + 0.114 * img.data[i * 3 + 2];
  return phashOfGrey(grey);
}

const POP = (() => {
  const t = new Uint8Array(256);
  for (let i = 1; i < 256; i++) t[i] = (i & 1) + t[i >> 1];
  return t;
})();

/** Bits that differ between two hashes of the same length (hex); 0 = identical, 64 = opposite. */
export function hammingHex(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < a.length; i += 2) d += POP[parseInt(a.slice(i, i + 2), 16) ^ parseInt(b.slice(i, i + 2), 16)];
  return d;
}
