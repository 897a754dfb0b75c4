/** clipdb adapt from the command line, on the real Flickr30k ViT-L/14 vectors (500 pairs). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clipdb, DATA } from "./helpers.js";

const F30K = join(DATA, "flickr30k-clip-l14-500");
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "clipdb-adapt-cli-"));
  writeFileSync(join(tmp, "img.txt"), Array.from({ length: 500 }, (_, i) => `img${i}`).join("\n") + "\n");
  writeFileSync(join(tmp, "txt.txt"), Array.from({ length: 500 }, (_, i) => `img${i}#0`).join("\n") + "\n");
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("clipdb adapt", () => {
  it("measures held-out pairs, says how many pairs it used, and stores only what passes", () => {
    const db = join(tmp, "db");
    expect(clipdb(["add", "--db", db, "--vectors", join(F30K, "image.npy"), "--ids", join(tmp, "img.txt"), "--modality", "image"]).code).toBe(0);
    expect(clipdb(["add", "--db", db, "--vectors", join(F30K, "text.npy"), "--ids", join(tmp, "txt.txt"), "--modality", "text", "--pair-ids", join(tmp, "img.txt")]).code).toBe(0);
    const r = clipdb(["adapt", "--db", db, "--directions", "t2i", "--rank", "8", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ pairs: 500, images: 500, heldOutImages: 100, holdout: 0.2, seed: 1 });
    const d = r.json.directions[0];
    expect(d).toMatchObject({ direction: "t2i", trainPairs: 400, heldOutQueries: 100, heldOutPairs: 100 });
    expect(r.json.stored).toEqual(d.kept ? ["t2i"] : []);
    const text = clipdb(["adapt", "--db", db, "--directions", "t2i", "--rank", "8", "--dry-run"]);
    expect(text.stdout).toContain("500 pairs over 500 images; 100 images (20%, seed 1) and all their pairs held out, never trained on");
    expect(text.stdout).toMatch(/t2i: held-out R@1 (rose|changed) by/);
    const s = clipdb(["search", "--db", db, "--item", "img0#0", "--modality", "image", "--no-adapt", "--json"]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.json.adapted).toBeUndefined();
    expect(clipdb(["adapt", "--db", db, "--holdout", "1.5"]).stderr).toMatch(/holdout/);
    expect(clipdb(["adapt", "--db", db, "--drop"]).code).toBe(0);
  }, 300_000);
});
