/**
 * kill -9 test: a real child process (fixtures/writer.ts) writes batches in a loop; the test
 * SIGKILLs it at seeded progress points (inside a batch's open transaction, or after a commit),
 * then checks that the collection opens, is consistent,
 * holds every batch reported committed (bit-exact), holds no partial batch, and takes more writes.
 * Seed: CLIPDB_TEST_SEED (default below), printed on failure in the assertion messages.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { DB_FILE, Store } from "../../src/store/index.js";
import { DIM, PER_BATCH, REMOVED_PER_BATCH, imageId, textId } from "./fixtures/batches.js";
import { rng, sameBits, vectorsFor } from "./fixtures/gen.js";
import { cleanupTmp, tmpDir } from "./helpers.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const WRITER = path.join(ROOT, "test/store/fixtures/writer.ts");
const SEED = Number(process.env.CLIPDB_TEST_SEED ?? 7301);
const KILLS = 6;

interface Run {
  lines: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Snapshots read by a concurrent read-only Store while the child wrote. */
  snapshots: { images: number; texts: number; pairs: number }[];
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  cleanupTmp();
});

/**
 * Runs the writer on `dir`. With `killAt` (a progress point, e.g. "writer:in-batch:3"), SIGKILLs it
 * when it reaches that point; with `until`, lets it finish that many batches. A read-only Store
 * polls counts meanwhile.
 */
function runWriter(dir: string, opts: { killAt?: string; until?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const args = ["--import", "tsx", WRITER, dir, ...(opts.until === undefined ? [] : [String(opts.until)])];
    const env = { ...process.env, CLIPDB_TEST_POINT: opts.killAt ?? "" };
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env });
    children.push(child);
    const run: Run = { lines: [], code: null, signal: null, stderr: "", snapshots: [] };
    let buf = "";
    let reader: Store | undefined;
    let poll: NodeJS.Timeout | undefined;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      run.stderr += d;
      if (opts.killAt && run.stderr.includes(`clipdb test point ${opts.killAt.replace(/:\d+$/, "")} #`)) child.kill("SIGKILL");
    });
    child.stdout.on("data", (d: string) => {
      buf += d;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      for (const line of parts) {
        run.lines.push(line);
        if (line !== "ready") continue;
        reader = Store.open(dir, { readonly: true });
        poll = setInterval(() => run.snapshots.push(reader!.counts()), 15);
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearInterval(poll);
      reader?.close();
      run.code = code;
      run.signal = signal;
      resolve(run);
    });
  });
}

/** Batch numbers reported by "<word> <b>" lines. */
const reported = (runs: Run[], word: string): number[] =>
  runs.flatMap((r) => r.lines.filter((l) => l.startsWith(`${word} `)).map((l) => Number(l.slice(word.length + 1))));

/** Expected counts after `batches` complete batches. */
function expectedCounts(batches: number): { images: number; texts: number; pairs: number } {
  const texts = batches * PER_BATCH - Math.max(0, batches - 1) * REMOVED_PER_BATCH;
  return { images: batches * PER_BATCH, texts, pairs: texts };
}

/** Checks the whole collection holds exactly `batches` complete batches; `why` prefixes messages. */
function checkCollection(dir: string, batches: number, why: string): void {
  // Independent of the Store code: SQLite's own checks on the raw file.
  const raw = new Database(path.join(dir, DB_FILE));
  expect(raw.pragma("integrity_check", { simple: true }), why).toBe("ok");
  expect(raw.pragma("foreign_key_check"), why).toEqual([]);
  raw.close();

  const s = Store.open(dir);
  try {
    expect(s.verify(), why).toEqual({ ok: true, problems: [] });
    expect(s.getSetting<number>("writer.next") ?? 0, why).toBe(batches);
    expect(s.counts(), why).toEqual(expectedCounts(batches));
    // Rolled-back batches leave no gap: each committed batch used exactly 2 * PER_BATCH offsets.
    expect(s.nextOffset(), why).toBe(batches * 2 * PER_BATCH);
    const ids: string[] = [];
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < PER_BATCH; i++) ids.push(imageId(b, i));
      for (let i = 0; i < PER_BATCH; i++) if (b === batches - 1 || i >= REMOVED_PER_BATCH) ids.push(textId(b, i));
    }
    const { offsets, xs } = s.vectors();
    expect(offsets.length, why).toBe(ids.length);
    expect(
      s.getManyByOffsets(offsets).map((r) => r.id),
      why,
    ).toEqual(ids);
    expect(sameBits(xs, vectorsFor(ids, DIM)), `${why}: vectors bit-exact`).toBe(true);
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < PER_BATCH; i++) {
        const captions = s.pairedIds(imageId(b, i));
        const live = b === batches - 1 || i >= REMOVED_PER_BATCH;
        expect(captions, `${why}: pairs of ${imageId(b, i)}`).toEqual(live ? [textId(b, i)] : []);
      }
    }
    expect(s.get(imageId(batches, 0)), `${why}: nothing of batch ${batches}`).toBeUndefined();
    expect(s.findBySource(`/data/b${batches}/img0.jpg`), why).toEqual([]);
  } finally {
    s.close();
  }
}

describe("kill -9 during writes", () => {
  it(`keeps every committed batch and no partial one across ${KILLS} SIGKILLs at seeded progress points (seed ${SEED})`, { timeout: 90_000 }, async () => {
    const dir = tmpDir();
    const next = rng(SEED);
    const runs: Run[] = [];
    let midBatch = 0;
    for (let k = 0; k < KILLS; k++) {
      // Even kills land inside a batch's open transaction, odd ones right after a commit.
      const killAt = `${k % 2 === 0 ? "writer:in-batch" : "writer:committed"}:${1 + Math.floor(next() * 4)}`;
      const run = await runWriter(dir, { killAt });
      const why = `seed ${SEED}, kill ${k} at ${killAt}`;
      expect(run.signal, `${why}: ${run.stderr}`).toBe("SIGKILL");
      expect(run.lines[0], why).toBe("ready");
      const last = run.lines[run.lines.length - 1];
      if (last.startsWith("begin ")) midBatch++;
      runs.push(run);
      // A concurrent reader only ever saw whole batches.
      for (const snap of run.snapshots) {
        expect(snap, `${why}: reader snapshot`).toEqual(expectedCounts(snap.images / PER_BATCH));
      }
      // After each kill: everything reported committed is there, nothing more than the batch in flight.
      const committed = reported(runs, "committed");
      const begun = reported(runs, "begin");
      const lastCommitted = committed.length === 0 ? -1 : Math.max(...committed);
      const lastBegun = begun.length === 0 ? -1 : Math.max(...begun);
      const s = Store.open(dir);
      const batches = s.getSetting<number>("writer.next") ?? 0;
      s.close();
      expect([lastCommitted + 1, lastBegun + 1], `${why}: ${batches} batches stored`).toContain(batches);
      checkCollection(dir, batches, why);
    }
    const committed = reported(runs, "committed");
    expect(committed.length, `seed ${SEED}: the writer made progress`).toBeGreaterThan(0);
    expect(midBatch, `seed ${SEED}: kills inside a batch`).toBe(KILLS / 2);

    // Writing resumes: the writer finishes two more batches and exits normally.
    const s = Store.open(dir);
    const batches = s.getSetting<number>("writer.next") ?? 0;
    s.close();
    const done = await runWriter(dir, { until: batches + 2 });
    expect(done.code, done.stderr).toBe(0);
    expect(reported([done], "committed")).toEqual([batches, batches + 1]);
    checkCollection(dir, batches + 2, `seed ${SEED}, after resuming`);
  });
});
