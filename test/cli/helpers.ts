import { spawn, spawnSync } from "node:child_process";
import { resolve } from "node:path";

/** The built CLI entry (npm test builds first). */
export const CLI = resolve(__dirname, "../../dist/src/cli/main.js");
/** ../shared/data beside the repo. */
export const DATA = resolve(__dirname, "../../../shared/data");

/** Result of one CLI run. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

/** Runs the built CLI synchronously with the given arguments. */
export function clipdb(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  let json: any;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

/** Starts the CLI in the background (for kill tests). */
export function clipdbAsync(args: string[]) {
  return spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
}
