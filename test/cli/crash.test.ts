import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Collection } from "../../src/collection/index.js";
import { testModelDir } from "../fixtures/model.js";
import { clipdb, clipdbAsync, DATA } from "./helpers.js";

const FLICKR = join(DATA, "flickr8k-test");
let tmp: string;
let model: string;

/** A tiny seeded PRNG, so the kill points are random but reproducible. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

beforeAll(() => {
  model = testModelDir();
  tmp = mkdtempSync(join(tmpdir(), "clipdb-crash-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("clipdb add survives kill -9 at random points", () => {
  it("resumes after several SIGKILLs with no duplicates and every item intact", async () => {
    const folder = join(FLICKR, "images");
    const args = (db: string) => ["add", folder, "--captions", join(FLICKR, "captions.tsv"), "--db", db, "--model", model, "--batch-size", "8", "--json"];
    // "ref" is the same ingest never killed; "killed" is SIGKILLed at seeded random moments, then finished.
    const ref = join(tmp, "ref");
    const killed = join(tmp, "killed");
    const rnd = lcg(20261127);
    let kills = 0;
    for (let i = 0; i < 5; i++) {
      const child = clipdbAsync(args(killed));
      const exit = new Promise((r) => child.once("exit", r));
      await new Promise((r) => setTimeout(r, 1500 + Math.floor(rnd() * 2500)));
      if (child.exitCode === null) {
        child.kill("SIGKILL");
        kills++;
      }
      await exit;
      const col = await Collection.open(killed, { create: false });
      const s = col.stats();
      // Every image committed so far has all 5 of its captions (batches are atomic).
      expect(s.texts).toBe(s.images * 5);
      expect(s.pairs).toBe(s.images * 5);
      await col.close();
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    const done = clipdb(args(killed));
    expect(done.code).toBe(0);
    expect(clipdb(args(ref)).code).toBe(0);
    const a = await Collection.open(killed, { create: false });
    const b = await Collection.open(ref, { create: false });
    expect(a.stats()).toMatchObject({ images: 1000, texts: 5000, pairs: 5000 });
    expect(b.stats()).toMatchObject({ images: 1000, texts: 5000, pairs: 5000 });
    // Intact: every vector equals the never-killed run's vector for the same id.
    for (const s of b.sources()) {
      const va = a.vectorOf(s.id)!;
      const vb = b.vectorOf(s.id)!;
      let maxDiff = 0;
      for (let i = 0; i < vb.length; i++) maxDiff = Math.max(maxDiff, Math.abs(va[i] - vb[i]));
      expect(maxDiff).toBeLessThan(1e-4);
    }
    await a.close();
    await b.close();
  }, 600_000);

  it("stops cleanly after the current batch on Ctrl-C (SIGINT), keeping what was committed", async () => {
    const db = join(tmp, "sigint");
    const child = clipdbAsync(["add", join(FLICKR, "images"), "--captions", join(FLICKR, "captions.tsv"), "--db", db, "--model", model, "--batch-size", "8"]);
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    // Interrupt once the first batch is committed, so there is something to keep.
    for (let t = 0; t < 600; t++) {
      await new Promise((r) => setTimeout(r, 100));
      if (!existsSync(join(db, "clipdb.sqlite"))) continue;
      const peek = await Collection.open(db, { create: false });
      const n = peek.stats().images;
      await peek.close();
      if (n > 0) break;
    }
    child.kill("SIGINT");
    const code = await exit;
    expect(code).toBe(130);
    expect(stderr).toMatch(/stopping after the current batch/);
    expect(stderr).toMatch(/Committed work is kept; run the command again to finish/);
    const col = await Collection.open(db, { create: false });
    const s = col.stats();
    expect(s.images).toBeGreaterThan(0);
    expect(s.images).toBeLessThan(1000);
    expect(s.texts).toBe(s.images * 5);
    await col.close();
    // The collection remembers its model: another one is refused.
    await expect(Collection.open(db, { model: "Xenova/clip-vit-base-patch16" })).rejects.toMatchObject({ code: "MODEL_MISMATCH" });
  }, 120_000);
});
