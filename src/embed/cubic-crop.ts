/**
 * The bicubic resize that transformers.js applies to an image (sharp's `affine` with the
 * `bicubic` interpolator, libvips' Catmull-Rom in 12-bit fixed point), computed only over the
 * centre-crop window and written straight into the normalised float32 CHW tensor.
 *
 * Why: the library resizes the whole image (a 640x480 photo becomes 298x224) and then throws a
 * quarter of it away in the crop, and the resize is a second sharp pipeline over the decoded
 * pixels. Here the resize is separable (libvips rounds each of the four row sums before the
 * column sum, so a horizontal pass over the source rows the crop needs, then a vertical pass,
 * gives the same integers), restricted to the crop, and fused with rescale + normalise.
 *
 * It reproduces libvips 8.18's arithmetic bit for bit for downscales (both scale factors <= 1),
 * which is every photo whose short side is at least the resize target: the same inverse
 * transform and the same accumulation of the x coordinate in doubles, the same snapping of the
 * sub-pixel offset to 1/64, the same truncated 12-bit coefficient table, the same rounding, and
 * taps beyond the right/bottom edge reading black (libvips' affine extends with the background).
 * Upscales return undefined and go through sharp. The test suite checks equality against sharp
 * on real photos and on a sweep of sizes; a libvips upgrade that changes its arithmetic fails it.
 */
import type { PixelTensor } from "./types.js";

/** Sub-pixel positions in libvips' coefficient tables (VIPS_TRANSFORM_SCALE). */
const STEPS = 64;
/** Fixed-point shift of the coefficients (VIPS_INTERPOLATE_SHIFT). */
const SHIFT = 12;
const HALF = 1 << (SHIFT - 1);

/** Catmull-Rom weights of the four taps at sub-pixel offset t in [0, 1] (libvips' formulation, same operation order). */
function catmull(t: number): [number, number, number, number] {
  const cr1 = 1 - t;
  const cr2 = -0.5 * t;
  const cr3 = cr1 * cr2;
  const cone = cr1 * cr3;
  const cfou = t * cr3;
  const cr4 = cfou - cone;
  return [cone, cr1 - cone + cr4, t - cfou - cr4, cfou];
}

/** 65 x 4 integer weights: the double weights times 4096, truncated as C's double-to-int does. */
const TABLE = (() => {
  const t = new Int32Array((STEPS + 1) * 4);
  for (let s = 0; s <= STEPS; s++) catmull(s / STEPS).forEach((c, i) => (t[s * 4 + i] = Math.trunc(c * (1 << SHIFT))));
  return t;
})();

let scratchBuf = new Int16Array(0);
/** The horizontal pass's buffer, reused across calls (one thread runs JS; grown as needed). */
function scratch(n: number): Int16Array {
  if (scratchBuf.length < n) scratchBuf = new Int16Array(n);
  return scratchBuf;
}

/** Per output coordinate of one axis: the four source indices (clamped, to read safely) and their weights (0 for taps outside the image). */
interface Taps {
  index: Int32Array;
  weight: Int32Array;
}

/**
 * Taps for outputs `from .. from + count - 1` of one axis of `n` source pixels, where output o
 * samples source position `pos(o)` in libvips' space (one pixel of border on the left/top).
 * An output position outside the resized image gets all-zero weights and `valid` false.
 */
function taps(n: number, count: number, from: number, size: number, pos: (o: number) => number): Taps & { valid: Uint8Array } {
  const index = new Int32Array(count * 4);
  const weight = new Int32Array(count * 4);
  const valid = new Uint8Array(count);
  for (let k = 0; k < count; k++) {
    const o = from + k;
    if (o < 0 || o >= size) continue;
    const p = pos(o);
    const ip = Math.trunc(p);
    // libvips' affine writes a black pixel when the sample point falls outside the input.
    if (ip < 1 || ip >= n + 1) {
      valid[k] = 1;
      continue;
    }
    valid[k] = 1;
    const t = ((Math.trunc(p * STEPS * 2) & (STEPS * 2 - 1)) + 1) >> 1;
    for (let i = 0; i < 4; i++) {
      const src = ip - 2 + i; // libvips reads from ip - 1 in a source with a 1-pixel border
      const inside = src >= 0 && src < n;
      index[k * 4 + i] = inside ? src : 0;
      weight[k * 4 + i] = inside ? TABLE[t * 4 + i] : 0;
    }
  }
  return { index, weight, valid };
}

/**
 * Resizes `rgb` (`width * height` interleaved RGB bytes) to `tw x th` as sharp's
 * `affine([tw / width, 0, 0, th / height], { interpolator: "bicubic" })` does, crops the centre
 * `crop` (or keeps the whole resized image when null; outside the resized image counts as black,
 * as the library's centre crop pads), and maps each byte through `lut` (per channel, 256 floats:
 * rescale and normalise) into a CHW tensor. Returns undefined for an upscale on either axis, where
 * the caller resizes with sharp instead. Cost on a 640x480 photo: about 4 multiply-adds per
 * channel per (source row x crop column) plus 4 per crop pixel; no intermediate image.
 * With `into` (at least 3 x crop pixels long), the tensor is written there (a batch's slot, so no
 * array is allocated per image) and the result's data is a view of it; default: a new array.
 */
export function cubicResizeCrop(
  rgb: Uint8Array,
  width: number,
  height: number,
  tw: number,
  th: number,
  crop: { width: number; height: number } | null,
  lut: Float32Array[],
  into?: Float32Array,
): PixelTensor | undefined {
  if (tw > width || th > height || tw < 1 || th < 1) return undefined;
  const cw = crop?.width ?? tw;
  const ch = crop?.height ?? th;
  // The library's centre crop: source = destination + shift, rounded towards zero.
  const offX = (tw - cw) / 2;
  const offY = (th - ch) / 2;
  const shiftX = offX >= 0 ? Math.floor(offX) : -Math.floor(-offX);
  const shiftY = offY >= 0 ? Math.floor(offY) : -Math.floor(-offY);

  // libvips' inverse transform: det = a*d, ia = d/det, id = a/det; x accumulates ia per pixel.
  const a = tw / width;
  const d = th / height;
  const det = a * d;
  const ia = d / det;
  const id = a / det;
  const xs = new Float64Array(tw);
  for (let x = 0, p = 1; x < tw; x++, p += ia) xs[x] = p;
  const cols = taps(width, cw, shiftX, tw, (o) => xs[o]);
  const rows = taps(height, ch, shiftY, th, (o) => id * o + 1);

  // Source rows the crop reads.
  let r0 = height;
  let r1 = -1;
  for (let k = 0; k < ch * 4; k++) {
    if (rows.weight[k] === 0) continue;
    r0 = Math.min(r0, rows.index[k]);
    r1 = Math.max(r1, rows.index[k]);
  }
  const plane = cw * ch;
  const out = into && into.length >= 3 * plane ? into.subarray(0, 3 * plane) : new Float32Array(3 * plane);
  const [l0, l1, l2] = lut;
  if (r1 < r0) {
    out.fill(l0[0], 0, plane).fill(l1[0], plane, 2 * plane).fill(l2[0], 2 * plane);
    return { data: out, height: ch, width: cw };
  }

  // Horizontal pass: each needed source row at each crop column, rounded as libvips does. The
  // sums lie in -32..287 (Catmull-Rom's negative lobes weigh at most 1/8), so 16 bits hold them.
  const nr = r1 - r0 + 1;
  const rowLen = cw * 3;
  const hbuf = scratch(nr * rowLen);
  const ci = cols.index;
  const cwt = cols.weight;
  for (let k = 0; k < cw * 4; k++) ci[k] *= 3; // pixel index -> byte offset in a row
  for (let r = 0; r < nr; r++) {
    const base = (r0 + r) * width * 3;
    let q = r * rowLen;
    for (let k = 0; k < cw * 4; k += 4, q += 3) {
      const p0 = base + ci[k];
      const p1 = base + ci[k + 1];
      const p2 = base + ci[k + 2];
      const p3 = base + ci[k + 3];
      const w0 = cwt[k];
      const w1 = cwt[k + 1];
      const w2 = cwt[k + 2];
      const w3 = cwt[k + 3];
      hbuf[q] = (w0 * rgb[p0] + w1 * rgb[p1] + w2 * rgb[p2] + w3 * rgb[p3] + HALF) >> SHIFT;
      hbuf[q + 1] = (w0 * rgb[p0 + 1] + w1 * rgb[p1 + 1] + w2 * rgb[p2 + 1] + w3 * rgb[p3 + 1] + HALF) >> SHIFT;
      hbuf[q + 2] = (w0 * rgb[p0 + 2] + w1 * rgb[p1 + 2] + w2 * rgb[p2 + 2] + w3 * rgb[p3 + 2] + HALF) >> SHIFT;
    }
  }

  // Vertical pass, clamp to a byte, rescale + normalise through the table, write CHW. Crop
  // columns outside the resized image (a crop wider than it) are a contiguous run on each side.
  let xa = 0;
  while (xa < cw && !cols.valid[xa]) xa++;
  let xb = cw;
  while (xb > xa && !cols.valid[xb - 1]) xb--;
  for (let y = 0; y < ch; y++) {
    const o = y * cw;
    if (!rows.valid[y]) {
      for (let x = 0; x < cw; x++) {
        out[o + x] = l0[0];
        out[plane + o + x] = l1[0];
        out[2 * plane + o + x] = l2[0];
      }
      continue;
    }
    const k = y * 4;
    const w0 = rows.weight[k];
    const w1 = rows.weight[k + 1];
    const w2 = rows.weight[k + 2];
    const w3 = rows.weight[k + 3];
    // Rows with weight 0 may lie outside [r0, r1]; point them at row r0 (their weight makes them vanish).
    const b0 = w0 ? (rows.index[k] - r0) * rowLen : 0;
    const b1 = w1 ? (rows.index[k + 1] - r0) * rowLen : 0;
    const b2 = w2 ? (rows.index[k + 2] - r0) * rowLen : 0;
    const b3 = w3 ? (rows.index[k + 3] - r0) * rowLen : 0;
    for (let x = 0; x < cw; x++) {
      if (x >= xa && x < xb) continue;
      out[o + x] = l0[0];
      out[plane + o + x] = l1[0];
      out[2 * plane + o + x] = l2[0];
    }
    for (let x = xa, q = xa * 3; x < xb; x++, q += 3) {
      let v = (w0 * hbuf[b0 + q] + w1 * hbuf[b1 + q] + w2 * hbuf[b2 + q] + w3 * hbuf[b3 + q] + HALF) >> SHIFT;
      out[o + x] = l0[v < 0 ? 0 : v > 255 ? 255 : v];
      v = (w0 * hbuf[b0 + q + 1] + w1 * hbuf[b1 + q + 1] + w2 * hbuf[b2 + q + 1] + w3 * hbuf[b3 + q + 1] + HALF) >> SHIFT;
      out[plane + o + x] = l1[v < 0 ? 0 : v > 255 ? 255 : v];
      v = (w0 * hbuf[b0 + q + 2] + w1 * hbuf[b1 + q + 2] + w2 * hbuf[b2 + q + 2] + w3 * hbuf[b3 + q + 2] + HALF) >> SHIFT;
      out[2 * plane + o + x] = l2[v < 0 ? 0 : v > 255 ? 255 : v];
    }
  }
  return { data: out, height: ch, width: cw };
}
