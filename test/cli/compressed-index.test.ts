/**
 * `clipdb index build --spec` for the compressed IVF kinds, on real CLIP vectors (CIFAR-10,
 * OpenCLIP ViT-B-32, 512-d): build, status with bytes/vector, search by kind name, bad specs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clipdb, DATA } from "./helpers.js";

const CIFAR = join(DATA, "cifar10-openclip-b32");
let tmp: string;
let db: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "clipdb-compressed-cli-"));
  db = join(tmp, "db");
  const a = clipdb(["add", "--vectors", join(CIFAR, "vision.npy"), "--ids", join(CIFAR, "ids.txt"), "--modality", "image", "--model-id", "openclip/ViT-B-32-laion2b", "--db", db, "--json"]);
  expect(a.code).toBe(0);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("clipdb index build --spec (compressed IVF)", () => {
  it("builds IVF-PQ with --refine, reports bytes/vector, and answers --index ivf-pq", () => {
    const b = clipdb(["index", "build", "--spec", "IVF8,PQ64", "--refine", "4", "--db", db, "--json"]);
    expect(b.code).toBe(0);
    expect(b.json.built).toMatchObject([{ type: "ivf-pq", kind: "ivf-pq", modality: "image", spec: "IVF8,PQ64,refine4" }]);
    const st = clipdb(["index", "status", "--db", db, "--json"]);
    const [pq] = st.json.indexes;
    expect(pq.bytesPerVector).toBeGreaterThan(64 + 12);
    expect(clipdb(["index", "status", "--db", db]).stdout).toMatch(/bytes\/vector/);
    expect(pq.size).toBe(848);
    const s = clipdb(["search", "--item", "train_00049152", "--index", "ivf-pq", "--nprobe", "8", "--modality", "image", "--k", "5", "--db", db, "--json"]);
    expect(s.code).toBe(0);
    expect(s.json.index).toBe("ivf-pq");
    expect(s.json.results.length).toBe(5);
  });

  it("refuses a spec that does not fit, a spec against another --type, and an exact spec", () => {
    const bad = clipdb(["index", "build", "--spec", "IVF8,PQ7", "--db", db]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/divisor of the dimension 512/);
    const clash = clipdb(["index", "build", "--spec", "IVF8,SQ8", "--type", "ivf-pq", "--db", db]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/ivf-sq8, not ivf-pq/);
    const exact = clipdb(["index", "build", "--spec", "Flat,SQ8", "--db", db]);
    expect(exact.code).toBe(1);
    expect(exact.stderr).toMatch(/exact index/);
    expect(clipdb(["index", "build", "--db", db]).stderr).toMatch(/--type or --spec/);
  });
});
