/**
 * Named progress points for crash and concurrency tests. With `CLIPDB_TEST_POINT=<name>` (or
 * `<name>:<n>`, the n-th time it is reached; default 1) in the environment, the process prints
 * `clipdb test point <name> #<n>` on stderr when it reaches that point and then waits there, so a
 * test can SIGKILL it at exactly that step, or let another process write meanwhile, whatever the
 * machine's speed. It waits forever, or, with `CLIPDB_TEST_RESUME=<file>`, until that file exists.
 * Without the variable a point costs one environment lookup. Never set it outside tests.
 */
import { existsSync, writeSync } from "node:fs";

const hits = new Map<string, number>();

/** Marks a progress point (see the module TSDoc). */
export function testPoint(name: string): void {
  const want = process.env.CLIPDB_TEST_POINT;
  if (!want) return;
  const m = /^(.*):(\d+)$/.exec(want);
  const wantName = m ? m[1] : want;
  const nth = m ? Number(m[2]) : 1;
  if (wantName !== name) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n !== nth) return;
  writeSync(2, `\nclipdb test point ${name} #${n}\n`);
  const resume = process.env.CLIPDB_TEST_RESUME;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!(resume && existsSync(resume))) Atomics.wait(cell, 0, 0, 20);
}
