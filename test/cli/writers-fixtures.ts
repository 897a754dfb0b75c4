/**
 * Helpers of test/cli/writers.test.ts (concurrent writers across processes): child processes of the
 * built CLI whose stderr can be awaited for a line (the `clipdb test point` markers), a free port,
 * and the index invariant check, which the test runs in its own process and, through
 * `node --import tsx test/cli/writers-fixtures.ts check <dir>`, in a fresh one.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Collection } from "../../src/collection/index.js";
import type { Modality } from "../../src/core/types.js";
import { freePort } from "../fixtures/net.js";
export const FIXTURES = fileURLToPath(import.meta.url);
/** The built CLI entry (helpers.ts has it too, but uses __dirname, which a tsx ESM child lacks). */
export const CLI = resolve(FIXTURES, "../../../dist/src/cli/main.js");
/** The marker a process prints on stderr when it waits at a progress point (src/core/testpoint.ts). */
export const marker = (point: string, n: number) => `clipdb test point ${point} #${n}`;

/** A running child process with its output so far. */
export interface Proc {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code (or the signal name) when the process has exited. */
  exit: Promise<number | string>;
  /** Resolves once stderr contains `text`; rejects if the process exits first (or after `ms`, a safety net only). */
  waitFor(text: string, ms?: number): Promise<void>;
  /** Like `exit`, but rejects after `ms` (safety net) and with the output when the code is not `code`. */
  done(code?: number, ms?: number): Promise<void>;
  kill(sig?: NodeJS.Signals): void;
}

/**
 * Starts a process (the built CLI by default) with `env` added to the environment; progress
 * points are off unless `env` names one, whatever the parent's environment says.
 */
export function start(args: string[], env: Record<string, string> = {}, argv0: string[] = [CLI]): Proc {
  const full: Record<string, string | undefined> = { ...process.env, CLIPDB_OFFLINE: "1", CLIPDB_TEST_POINT: undefined, CLIPDB_TEST_RESUME: undefined, ...env };
  for (const k of Object.keys(full)) if (full[k] === undefined) delete full[k];
  const child = spawn(process.execPath, [...argv0, ...args], { stdio: ["ignore", "pipe", "pipe"], env: full as NodeJS.ProcessEnv });
  let out = "";
  let err = "";
  const waiters: { text: string; ok: () => void }[] = [];
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => {
    err += d;
    for (const w of [...waiters]) if (err.includes(w.text)) w.ok();
  });
  const exit = new Promise<number | string>((r) => child.once("exit", (code, sig) => r(code ?? sig ?? -1)));
  let exited: number | string | undefined;
  void exit.then((c) => (exited = c));
  const describe = () => `${[process.execPath, ...argv0.slice(1), ...args].join(" ")}\n--- stdout:\n${out}\n--- stderr:\n${err}`;
  const proc: Proc = {
    child,
    get stdout() {
      return out;
    },
    get stderr() {
      return err;
    },
    exit,
    waitFor(text, ms = 90_000) {
      if (err.includes(text)) return Promise.resolve();
      return new Promise<void>((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`no '${text}' within ${ms} ms from ${describe()}`)), ms);
        const w = {
          text,
          ok: () => {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(w), 1);
            ok();
          },
        };
        waiters.push(w);
        void exit.then((code) => {
          // Let the last stderr chunk arrive before judging.
          setImmediate(() => {
            if (!waiters.includes(w)) return;
            if (err.includes(text)) return w.ok();
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(w), 1);
            fail(new Error(`exited (${code}) before printing '${text}': ${describe()}`));
          });
        });
      });
    },
    async done(code = 0, ms = 90_000) {
      let timer: NodeJS.Timeout | undefined;
      const got = await Promise.race([exit, new Promise<string>((r) => (timer = setTimeout(() => r("timeout"), ms)))]);
      clearTimeout(timer);
      if (got === "timeout") {
        child.kill("SIGKILL");
        throw new Error(`still running after ${ms} ms: ${describe()}`);
      }
      // stdio may still hold the last chunk
      await new Promise((r) => setImmediate(r));
      if (got !== code) throw new Error(`exit ${got}, expected ${code}: ${describe()}`);
    },
    kill(sig = "SIGKILL") {
      if (exited === undefined) child.kill(sig);
    },
  };
  return proc;
}

export { freePort };

/** The ids a collection should hold, per modality. */
export interface Expected {
  image: Iterable<string>;
  text: Iterable<string>;
}

const MODALITIES: Modality[] = ["image", "text"];
/** Scores at or above this are identical vectors (duplicates); the id searched for may tie with them. */
export const SAME = 0.9999;

/**
 * Checks the invariant of a collection with IVF and HNSW built, and returns the problems found
 * (empty when it holds):
 *  - exact search holds exactly `expected` (when given) and as many ids per modality as stats();
 *  - IVF with every list probed and HNSW with a large ef find exactly the same ids as exact, once each;
 *  - every index reports a size equal to the live count and is not damaged;
 *  - for every live id, IVF and HNSW queried with its own vector return it first (or tied, among
 *    identical vectors, with score >= SAME).
 */
export async function checkCollection(col: Collection, expected?: Expected): Promise<string[]> {
  const problems: string[] = [];
  const st = (await col.stats());
  const dim = col.dim!;
  for (const m of MODALITIES) {
    const count = m === "image" ? st.images : st.texts;
    const q = new Float32Array(dim);
    q[0] = 1;
    const all = { k: count + 50, modality: m } as const;
    const exact = (await col.search({ vector: q }, { ...all, index: "exact" })).results.map((r) => r.id);
    const sets: Record<string, string[]> = {
      exact,
      ivf: (await col.search({ vector: q }, { ...all, index: "ivf", nprobe: 100_000 })).results.map((r) => r.id),
      hnsw: (await col.search({ vector: q }, { ...all, index: "hnsw", ef: 2000 })).results.map((r) => r.id),
    };
    if (exact.length !== count) problems.push(`${m}: exact search finds ${exact.length} ids, stats() counts ${count}`);
    const exactSet = new Set(exact);
    if (expected) {
      const want = new Set(expected[m]);
      const missing = [...want].filter((id) => !exactSet.has(id));
      const extra = exact.filter((id) => !want.has(id));
      if (missing.length) problems.push(`${m}: ${missing.length} expected ids missing from the store: ${missing.slice(0, 8).join(", ")}`);
      if (extra.length) problems.push(`${m}: ${extra.length} unexpected ids in the store: ${extra.slice(0, 8).join(", ")}`);
    }
    for (const kind of ["ivf", "hnsw"] as const) {
      const ids = sets[kind];
      const set = new Set(ids);
      if (set.size !== ids.length) problems.push(`${m}/${kind}: returns duplicate ids (${ids.length} hits, ${set.size} distinct)`);
      const missing = exact.filter((id) => !set.has(id));
      const extra = [...set].filter((id) => !exactSet.has(id));
      if (missing.length) problems.push(`${m}/${kind}: ${missing.length} of ${exact.length} live ids cannot be found: ${missing.slice(0, 8).join(", ")}`);
      if (extra.length) problems.push(`${m}/${kind}: returns ${extra.length} ids exact search does not have: ${extra.slice(0, 8).join(", ")}`);
      const status = st.indexes.find((s) => s.type === kind && s.modality === m);
      if (!status) problems.push(`${m}/${kind}: not listed in stats().indexes`);
      else {
        if (status.damaged) problems.push(`${m}/${kind}: damaged: ${status.damaged}`);
        if (status.size !== count) problems.push(`${m}/${kind}: status size ${status.size}, live count ${count}`);
      }
    }
    for (const id of exact) {
      const v = (await col.vectorOf(id))!;
      for (const kind of ["ivf", "hnsw"] as const) {
        const r = await col.search({ vector: v }, { k: 10, modality: m, index: kind, nprobe: 100_000, ef: 2000 });
        const hits = r.results;
        const ok = r.index === kind && hits.length > 0 && (hits[0].id === id || (hits[0].score >= SAME && hits.some((h) => h.id === id && h.score >= SAME)));
        if (!ok) problems.push(`${m}/${kind}: its own vector does not find '${id}' first (answered by ${r.index}; got ${hits.slice(0, 3).map((h) => `${h.id}@${h.score.toFixed(5)}`).join(", ") || "nothing"})`);
      }
    }
  }
  return problems;
}

/** The same check in a fresh process: a child that opens the collection, checks it, and prints the problems as JSON. */
export async function checkInFreshProcess(dir: string, expected?: Expected): Promise<string[]> {
  const exp = expected ? JSON.stringify({ image: [...expected.image], text: [...expected.text] }) : "";
  const p = start(["check", dir, exp], {}, ["--import", "tsx", FIXTURES]);
  await p.done(0, 120_000);
  return JSON.parse(p.stdout.trim().split("\n").pop()!) as string[];
}

async function main(argv: string[]): Promise<void> {
  const [cmd, dir, exp] = argv;
  if (cmd !== "check") throw new Error(`usage: writers-fixtures.ts check <dir> [expected-json]`);
  const col = await Collection.open(dir, { create: false });
  try {
    const problems = await checkCollection(col, exp ? (JSON.parse(exp) as Expected) : undefined);
    process.stdout.write(JSON.stringify(problems) + "\n");
  } finally {
    await col.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === FIXTURES) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
