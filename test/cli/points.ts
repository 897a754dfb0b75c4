/**
 * Runs the built CLI until it reaches a progress point (src/core/testpoint.ts), so crash tests
 * kill at exactly the step they mean, on any machine speed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { expect } from "vitest";
import { Collection } from "../../src/collection/index.js";
import { CLI } from "./helpers.js";

/** A CLI process stopped at a progress point. */
export interface Stopped {
  child: ChildProcess;
  stderr: () => string;
  /** Resolves with the exit code or signal once the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `clipdb <args>` with CLIPDB_TEST_POINT=`point` and resolves once it prints that it has
 * reached the point (it then waits there). Rejects if it exits first, with its stderr.
 */
export function runToPoint(args: string[], point: string, env: Record<string, string> = {}): Promise<Stopped> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env, CLIPDB_TEST_POINT: point } });
  let err = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
  const name = point.replace(/:\d+$/, "");
  return new Promise((resolve, reject) => {
    child.stdout.resume();
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      err += d;
      if (err.includes(`clipdb test point ${name} #`)) resolve({ child, stderr: () => err, exited });
    });
    void exited.then(({ code, signal }) => reject(new Error(`clipdb ${args.join(" ")} ended (code ${code}, signal ${signal}) before test point ${point}:\n${err}`)));
  });
}

/** Runs to `point`, then SIGKILLs the process and waits for it to end. */
export async function killAt(args: string[], point: string, env: Record<string, string> = {}): Promise<string> {
  const s = await runToPoint(args, point, env);
  s.child.kill("SIGKILL");
  const { signal } = await s.exited;
  if (signal !== "SIGKILL") throw new Error(`expected SIGKILL, got ${signal}`);
  return s.stderr();
}

/**
 * Every live item is found first by its own vector through every built index, probing everything
 * (IVF nprobe > nlist, HNSW ef 2000); ties with identical vectors (duplicate photos) are allowed.
 * Returns the ids that some index misses.
 */
export async function unfindable(dir: string): Promise<string[]> {
  const col = await Collection.open(dir, { create: false });
  const missing: string[] = [];
  try {
    const built = (await col.indexStatus());
    for (const st of built) expect(st.damaged, `${st.type}/${st.modality}`).toBeUndefined();
    for (const modality of ["image", "text"] as const) {
      const ids = (await col.ids(modality));
      for (const index of built.filter((b) => b.modality === modality).map((b) => b.type)) {
        for (const id of ids) {
          const r = await col.search({ vector: (await col.vectorOf(id))! }, { k: 8, index, nprobe: 100_000, ef: 2000, modality });
          if (!r.results.some((h) => h.id === id && h.score > 0.9999)) missing.push(`${index}:${id}`);
        }
      }
    }
  } finally {
    await col.close();
  }
  return missing;
}

