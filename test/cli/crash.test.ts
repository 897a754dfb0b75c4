import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Collection } from "../../src/collection/index.js";
import { testModelDir } from "../fixtures/model.js";
import { clipdb, DATA } from "./helpers.js";
import { killAt, runToPoint, unfindable } from "./points.js";

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

describe("clipdb add survives kill -9 at progress points", () => {
  it("resumes after SIGKILLs after a commit and before one, with no duplicates, every item intact and indexed", async () => {
    const folder = join(FLICKR, "images");
    const args = (db: string) => ["add", folder, "--captions", join(FLICKR, "captions.tsv"), "--db", db, "--model", model, "--batch-size", "8", "--json"];
    // "ref" is the same ingest never killed; "killed" is SIGKILLed at seeded progress points, then finished.
    const ref = join(tmp, "ref");
    const killed = join(tmp, "killed");
    const rnd = lcg(20261127);
    let committed = 0;
    for (let i = 0; i < 5; i++) {
      // Each run skips what is stored, so its j-th batch is new work: killed after its commit
      // (add:batch) or after embedding, before its commit (add:embedded: that batch is lost).
      const j = 2 + Math.floor(rnd() * 6);
      const point = i % 2 === 0 ? `add:batch:${j}` : `add:embedded:${j}`;
      await killAt(args(killed), point);
      committed += (i % 2 === 0 ? j : j - 1) * 8;
      const col = await Collection.open(killed, { create: false });
      const s = (await col.stats());
      expect(s.images, point).toBe(committed);
      // Every image committed so far has all 5 of its captions (batches are atomic).
      expect(s.texts).toBe(s.images * 5);
      expect(s.pairs).toBe(s.images * 5);
      for (const st of s.indexes) expect([st.size, st.damaged], `${st.type}/${st.modality}`).toEqual([st.modality === "image" ? s.images : s.texts, undefined]);
      await col.close();
      if (i === 0) {
        expect(clipdb(["index", "build", "--type", "ivf", "--db", killed]).code).toBe(0);
        expect(clipdb(["index", "build", "--type", "hnsw", "--m", "16", "--db", killed]).code).toBe(0);
      }
    }
    expect(await unfindable(killed)).toEqual([]);
    const done = clipdb(args(killed));
    expect(done.code, done.stderr).toBe(0);
    expect(clipdb(args(ref)).code).toBe(0);
    const a = await Collection.open(killed, { create: false });
    const b = await Collection.open(ref, { create: false });
    expect((await a.stats())).toMatchObject({ images: 1000, texts: 5000, pairs: 5000 });
    expect((await b.stats())).toMatchObject({ images: 1000, texts: 5000, pairs: 5000 });
    // Intact: every vector equals the never-killed run's vector for the same id.
    for (const s of (await b.sources())) {
      const va = (await a.vectorOf(s.id))!;
      const vb = (await b.vectorOf(s.id))!;
      let maxDiff = 0;
      for (let i = 0; i < vb.length; i++) maxDiff = Math.max(maxDiff, Math.abs(va[i] - vb[i]));
      expect(maxDiff).toBeLessThan(1e-4);
    }
    await a.close();
    await b.close();
    expect(await unfindable(killed)).toEqual([]);
  }, 600_000);

  it("stops cleanly after the current batch on Ctrl-C (SIGINT), keeping what was committed", async () => {
    const db = join(tmp, "sigint");
    // Interrupt once the first batch is committed (a progress point), so there is something to keep.
    const resume = join(tmp, "sigint-resume");
    const stopped = await runToPoint(
      ["add", join(FLICKR, "images"), "--captions", join(FLICKR, "captions.tsv"), "--db", db, "--model", model, "--batch-size", "8"],
      "add:batch:1",
      { CLIPDB_TEST_RESUME: resume },
    );
    stopped.child.kill("SIGINT");
    writeFileSync(resume, "");
    const exit = stopped.exited.then((r) => r.code);
    const code = await exit;
    expect(code).toBe(130);
    const stderr = stopped.stderr();
    expect(stderr).toMatch(/stopping after the current batch/);
    expect(stderr).toMatch(/Committed work is kept; run the command again to finish/);
    const col = await Collection.open(db, { create: false });
    const s = (await col.stats());
    expect(s.images).toBeGreaterThan(0);
    expect(s.images).toBeLessThan(1000);
    expect(s.texts).toBe(s.images * 5);
    await col.close();
    // The collection remembers its model: another one is refused.
    await expect(Collection.open(db, { model: "Xenova/clip-vit-base-patch16" })).rejects.toMatchObject({ code: "MODEL_MISMATCH" });
  }, 120_000);
});
