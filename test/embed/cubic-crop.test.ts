import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { cubicResizeCrop, planFastPath, resizeTarget, type FastPlan } from "../../src/embed/index.js";

const CLIP = {
  crop_size: { height: 224, width: 224 }, do_center_crop: true, do_convert_rgb: true, do_normalize: true, do_rescale: true,
  do_resize: true, image_mean: [0.48145466, 0.4578275, 0.40821073], image_std: [0.26862954, 0.26130258, 0.27577711],
  resample: 3, rescale_factor: 1 / 255, size: { shortest_edge: 224 },
};

/** Seeded pixels: noise (hits the clamps at 0 and 255 through Catmull-Rom's overshoot) over a gradient. */
function pixels(w: number, h: number, seed: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const p = Math.floor(i / 3);
    out[i] = (s >>> 24) < 96 ? (s >>> 16) & 255 : ((p % w) * 255) / w;
  }
  return out;
}

/** The reference: sharp's bicubic affine of the whole image (what transformers.js runs), then the library's centre crop and the table. */
async function reference(rgb: Uint8Array, w: number, h: number, plan: FastPlan): Promise<Float32Array> {
  const [tw, th] = resizeTarget(plan, w, h);
  const { data, info } = await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
    .affine([tw / w, 0, 0, th / h], { interpolator: "bicubic" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const cw = plan.crop?.width ?? info.width;
  const ch = plan.crop?.height ?? info.height;
  const sx = Math.trunc((info.width - cw) / 2);
  const sy = Math.trunc((info.height - ch) / 2);
  const out = new Float32Array(3 * cw * ch);
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const X = x + sx;
      const Y = y + sy;
      const inside = X >= 0 && X < info.width && Y >= 0 && Y < info.height;
      for (let c = 0; c < 3; c++) out[c * cw * ch + y * cw + x] = plan.lut[c][inside ? data[(Y * info.width + X) * info.channels + c] : 0];
    }
  }
  return out;
}

describe("cubicResizeCrop reproduces sharp's bicubic resize + the centre crop bit for bit", () => {
  const sizes: [number, number][] = [
    [640, 480], [480, 640], [640, 427], [427, 640], [500, 375], [333, 500], [225, 224], [224, 225], [224, 224],
    [257, 331], [449, 449], [1000, 224], [224, 1000], [1023, 767], [2048, 230], [299, 3001],
  ];

  it.each(sizes)("CLIP's config (shortest edge 224, crop 224) at %i x %i", async (w, h) => {
    const plan = planFastPath(CLIP)!;
    const rgb = pixels(w, h, w * 7919 + h);
    const [tw, th] = resizeTarget(plan, w, h);
    const ours = cubicResizeCrop(rgb, w, h, tw, th, plan.crop, plan.lut);
    expect(ours).toBeDefined();
    expect([ours!.width, ours!.height]).toEqual([224, 224]);
    expect(ours!.data).toEqual(await reference(rgb, w, h, plan));
  });

  it.each([[640, 427], [301, 1200]] as [number, number][])("a crop larger than the resized image pads with black (legacy integer size) at %i x %i", async (w, h) => {
    const plan = planFastPath({ ...CLIP, size: 224, crop_size: 224 })!; // the long side is capped at 224 too
    const rgb = pixels(w, h, 3);
    const [tw, th] = resizeTarget(plan, w, h);
    expect(Math.min(tw, th)).toBeLessThan(224);
    const ours = cubicResizeCrop(rgb, w, h, tw, th, plan.crop, plan.lut)!;
    expect(ours.data).toEqual(await reference(rgb, w, h, plan));
  });

  it("no crop: the whole resized image", async () => {
    const plan = planFastPath({ ...CLIP, do_center_crop: false })!;
    const rgb = pixels(515, 389, 11);
    const [tw, th] = resizeTarget(plan, 515, 389);
    const ours = cubicResizeCrop(rgb, 515, 389, tw, th, plan.crop, plan.lut)!;
    expect([ours.width, ours.height]).toEqual([tw, th]);
    expect(ours.data).toEqual(await reference(rgb, 515, 389, plan));
  });

  it("declines upscales (either axis), which go through sharp", () => {
    const plan = planFastPath(CLIP)!;
    expect(cubicResizeCrop(pixels(100, 80, 1), 100, 80, 280, 224, plan.crop, plan.lut)).toBeUndefined();
    expect(cubicResizeCrop(pixels(300, 200, 1), 300, 200, 250, 224, plan.crop, plan.lut)).toBeUndefined();
  });
});
