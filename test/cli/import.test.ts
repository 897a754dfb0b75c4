import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bruteZeroShot, loadCifar } from "../fixtures/cifar.js";
import { Collection } from "../../src/collection/index.js";
import { clipdb, DATA } from "./helpers.js";

const CIFAR = join(DATA, "cifar10-openclip-b32");
let tmp: string;
let db: string;

/** Writes a float32 2-D .npy file (v1.0 header). */
function writeNpy(path: string, data: Float32Array, rows: number, dim: number): void {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  header += " ".repeat(64 - ((10 + header.length + 1) % 64)) + "\n";
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1");
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([head, Buffer.from(header, "latin1"), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

const cifar = loadCifar();
const { text, labels, classes, ids: imageIds } = cifar;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "clipdb-import-"));
  db = join(tmp, "db");
  // One text row per class: the first row of text.npy whose image has that label.
  writeNpy(join(tmp, "classes.npy"), cifar.classRows, classes.length, text.dim);
  writeFileSync(join(tmp, "classes.txt"), classes.join("\n") + "\n");
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("importing precomputed vectors (CIFAR-10, OpenCLIP ViT-B-32)", () => {
  it("imports images and class-name texts, and gives the brute-force zero-shot accuracy with k = 1", async () => {
    const a = clipdb(["add", "--vectors", join(CIFAR, "vision.npy"), "--ids", join(CIFAR, "ids.txt"), "--modality", "image", "--model-id", "openclip/ViT-B-32-laion2b", "--db", db, "--json"]);
    expect(a.code).toBe(0);
    expect(a.json).toMatchObject({ added: 848 });
    const t = clipdb(["add", "--vectors", join(tmp, "classes.npy"), "--ids", join(tmp, "classes.txt"), "--modality", "text", "--db", db, "--json"]);
    expect(t.code).toBe(0);
    expect(t.json).toMatchObject({ added: 10 });

    // Brute force, computed here: argmax over the 10 class vectors of each image's inner product.
    const brute = bruteZeroShot(cifar);
    expect(brute).toBeCloseTo(0.703, 3);

    const col = await Collection.open(db, { create: false });
    let correct = 0;
    for (let i = 0; i < imageIds.length; i++) {
      const r = await col.search({ item: imageIds[i] }, { k: 1, modality: "text" });
      if (r.results[0].id === classes[labels[i]]) correct++;
    }
    await col.close();
    expect(correct / imageIds.length).toBe(brute);

    // The same through the built binary for one image.
    const one = clipdb(["search", "--item", imageIds[0], "--modality", "text", "--k", "1", "--db", db, "--json"]);
    expect(one.json.results[0].modality).toBe("text");
  });

  it("refuses text and image queries without a model, but answers --item and --vector-file", () => {
    const r = clipdb(["search", "--text", "a cat", "--db", db]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no usable embedding model/);
    const vf = clipdb(["search", "--vector-file", join(tmp, "classes.npy"), "--modality", "image", "--k", "3", "--db", db, "--json"]);
    expect(vf.code).toBe(0);
    expect(vf.json.results).toHaveLength(3);
  });

  it("refuses a row-count mismatch or a dimension change and writes nothing", () => {
    const before = clipdb(["stats", "--db", db, "--json"]).json;
    writeFileSync(join(tmp, "short.txt"), "a\nb\n");
    const bad = clipdb(["add", "--vectors", join(CIFAR, "vision.npy"), "--ids", join(tmp, "short.txt"), "--modality", "image", "--db", db]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/2 ids for 848 vector rows/);
    const f32 = join(DATA, "flickr30k-clip-l14-500", "image.npy");
    const ids500 = join(tmp, "ids500.txt");
    writeFileSync(ids500, Array.from({ length: 500 }, (_, i) => `f${i}`).join("\n") + "\n");
    const dim = clipdb(["add", "--vectors", f32, "--ids", ids500, "--modality", "image", "--db", db]);
    expect(dim.code).toBe(1);
    expect(dim.stderr).toMatch(/dimension mismatch: expected 512, got 768/);
    const after = clipdb(["stats", "--db", db, "--json"]).json;
    expect({ ...after, bytes: 0 }).toEqual({ ...before, bytes: 0 });
  });
});
