import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeImage, thumbnailJpeg } from "../../src/embed/index.js";
import { sharedDataDir } from "../fixtures/model.js";

const JPEG = path.join(sharedDataDir(), "coco-val2017-sample/images/000000397133.jpg"); // 640x427

/** A PNG whose header claims 20000x20000 pixels (400 MP) in 69 bytes: a decompression bomb's header. */
function bombPng(): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(20000, 0);
  ihdr.writeUInt32BE(20000, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(Buffer.alloc(64))), chunk("IEND", Buffer.alloc(0))]);
}

describe("image decoding (sharp)", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "clipdb-image-"));
  const file = (name: string) => path.join(dir, name);
  let jpeg: Buffer;

  beforeAll(async () => {
    jpeg = readFileSync(JPEG);
    const small = sharp(jpeg).resize(64, 48, { fit: "fill" });
    writeFileSync(file("img.png"), await small.clone().png().toBuffer());
    writeFileSync(file("img.webp"), await small.clone().webp({ lossless: true }).toBuffer());
    writeFileSync(file("img.tiff"), await small.clone().tiff().toBuffer());
    writeFileSync(file("img.avif"), await small.clone().avif().toBuffer());
    writeFileSync(file("gray.jpg"), await small.clone().toColourspace("b-w").jpeg().toBuffer());
    writeFileSync(file("cmyk.jpg"), await small.clone().toColourspace("cmyk").jpeg().toBuffer());
    writeFileSync(file("rgb16.png"), await small.clone().toColourspace("rgb16").png().toBuffer());
    // Two-frame GIF: red, then blue.
    const frame = (hex: string) => sharp({ create: { width: 8, height: 8, channels: 3, background: hex } }).png().toBuffer();
    writeFileSync(file("anim.gif"), await sharp([await frame("#ff0000"), await frame("#0000ff")], { join: { animated: true } }).gif().toBuffer());
    // Fully transparent black PNG: must come out white.
    writeFileSync(file("clear.png"), await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer());
    writeFileSync(file("empty.jpg"), Buffer.alloc(0));
    writeFileSync(file("truncated.jpg"), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    writeFileSync(file("text.jpg"), "this is not an image\n");
    writeFileSync(file("vector.svg"), '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    writeFileSync(file("bomb.png"), bombPng());
    writeFileSync(file("orient6.jpg"), await sharp(jpeg).jpeg().withMetadata({ orientation: 6 }).toBuffer());
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(["img.png", "img.webp", "img.tiff", "img.avif", "gray.jpg", "cmyk.jpg", "rgb16.png"])("decodes %s to 8-bit sRGB RGB", async (name) => {
    const img = await decodeImage(file(name));
    expect([img.width, img.height]).toEqual([64, 48]);
    expect(img.data.length).toBe(64 * 48 * 3);
  });

  it("decodes a grayscale JPEG to three equal channels and CMYK to colour close to the RGB original", async () => {
    const gray = await decodeImage(file("gray.jpg"));
    for (let i = 0; i < gray.data.length; i += 3) expect(gray.data[i + 1] === gray.data[i] && gray.data[i + 2] === gray.data[i]).toBe(true);
    const [rgb, cmyk] = [await decodeImage(file("img.png")), await decodeImage(file("cmyk.jpg"))];
    let err = 0;
    for (let i = 0; i < rgb.data.length; i++) err += Math.abs(rgb.data[i] - cmyk.data[i]);
    expect(err / rgb.data.length).toBeLessThan(30); // measured: 12 levels (JPEG + CMYK profile round trip); CMYK bytes read as RGB would be far off
  });

  it("takes the first frame of an animated GIF", async () => {
    const img = await decodeImage(file("anim.gif"));
    expect([img.width, img.height]).toEqual([8, 8]);
    expect(Array.from(img.data.subarray(0, 3))).toEqual([255, 0, 0]);
  });

  it("flattens transparency on white", async () => {
    const img = await decodeImage(file("clear.png"));
    expect(img.data.every((v) => v === 255)).toBe(true);
  });

  it("applies EXIF orientation (6: the stored 640x427 image is shown as 427x640)", async () => {
    const img = await decodeImage(file("orient6.jpg"));
    expect([img.width, img.height]).toEqual([427, 640]);
  });

  it.each([
    ["empty.jpg", /empty\.jpg.*0 bytes|empty\.jpg/],
    ["truncated.jpg", /truncated\.jpg/],
    ["text.jpg", /text\.jpg.*unsupported/],
    ["vector.svg", /vector\.svg.*unsupported format 'svg'/],
    ["missing.jpg", /missing\.jpg.*does not exist/],
  ])("rejects %s with IMAGE_DECODE naming the file", async (name, pattern) => {
    const p = decodeImage(file(name));
    await expect(p).rejects.toMatchObject({ code: "IMAGE_DECODE" });
    await expect(decodeImage(file(name))).rejects.toThrow(pattern);
  });

  it("rejects an empty buffer with IMAGE_DECODE", async () => {
    await expect(decodeImage(Buffer.alloc(0))).rejects.toMatchObject({ code: "IMAGE_DECODE" });
  });

  it("refuses a decompression bomb (400 MP header, 69 bytes) with IMAGE_TOO_LARGE before decoding", async () => {
    await expect(decodeImage(file("bomb.png"))).rejects.toMatchObject({ code: "IMAGE_TOO_LARGE", details: { pixels: 400_000_000, limit: 100_000_000 } });
  });

  it("honours a configurable pixel limit", async () => {
    await expect(decodeImage(JPEG, { maxPixels: 640 * 427 - 1 })).rejects.toMatchObject({ code: "IMAGE_TOO_LARGE" });
    await expect(decodeImage(JPEG, { maxPixels: 640 * 427 })).resolves.toMatchObject({ width: 640, height: 427 });
  });

  it("thumbnailJpeg: upright, fits the box, JPEG without an orientation tag", async () => {
    const thumb = await thumbnailJpeg(file("orient6.jpg"), 256);
    const meta = await sharp(thumb).metadata();
    expect(meta.format).toBe("jpeg");
    expect([meta.width, meta.height]).toEqual([171, 256]);
    expect(meta.orientation ?? 1).toBe(1);
    const small = await sharp(await thumbnailJpeg(file("img.png"), 256)).metadata();
    expect([small.width, small.height]).toEqual([64, 48]); // never enlarged
    await expect(thumbnailJpeg(file("truncated.jpg"), 64)).rejects.toMatchObject({ code: "IMAGE_DECODE" });
    await expect(thumbnailJpeg(JPEG, 0)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
