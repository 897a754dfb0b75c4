/** Timing and table helpers for the benchmarks. */
import fs from "node:fs";

/** One benchmark row, as written to --json. */
export interface Row {
  system: string;
  param: string;
  build_s: number;
  p50_ms: number;
  p99_ms: number;
  qps: number;
  /** Recall@10 against the exact top-10; null where it does not apply (the floor). */
  recall10: number | null;
  rss_mb: number;
  /** Resident bytes per vector of that index (null where not known: LanceDB, the floor). */
  bytes_per_vector?: number | null;
  /** Exact systems: true when every query's top-k equalled brute force. */
  identical?: boolean | null;
}

/** The q-th quantile (0..1) of `xs` (nearest rank). */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/** Resident set size in MiB. */
export function rssMb(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/** This process's peak (VmHWM) and current (VmRSS) resident set, MiB: Linux's /proc; elsewhere peak NaN. */
export function procRssMb(): { peak: number; now: number } {
  try {
    const s = fs.readFileSync("/proc/self/status", "utf8");
    const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
    return { peak: kb("VmHWM") / 1024, now: kb("VmRSS") / 1024 };
  } catch {
    return { peak: NaN, now: rssMb() };
  }
}

/**
 * Runs `run(i)` for i in [0, n) sequentially, after `warmup` untimed calls, and returns per-call
 * latencies (ms), their p50/p99 and the throughput.
 */
export async function timeCalls<T>(n: number, run: (i: number) => T | Promise<T>, warmup = 3): Promise<{ out: T[]; p50: number; p99: number; qps: number }> {
  for (let i = 0; i < Math.min(warmup, n); i++) await run(i);
  const lat: number[] = [];
  const out: T[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    out.push(await run(i));
    lat.push(performance.now() - t);
  }
  const total = performance.now() - t0;
  return { out, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), qps: (n / total) * 1000 };
}

/** Rounds to `d` significant decimals for printing and JSON. */
export function round(x: number, d = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** A markdown table of rows, with the number of timed queries per row. */
export function markdown(rows: (Row & { nq?: number })[]): string {
  const head = "| system | param | build_s | p50_ms | p99_ms | qps | recall@10 | rss_mb | bytes/vector | identical | queries |";
  const sep = "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|";
  const f = (x: number | null, d = 2): string => (x === null ? "n/a" : round(x, d).toString());
  const lines = rows.map((r) => `| ${r.system} | ${r.param} | ${f(r.build_s, 1)} | ${f(r.p50_ms, 3)} | ${f(r.p99_ms, 3)} | ${f(r.qps, 1)} | ${f(r.recall10, 3)} | ${f(r.rss_mb, 0)} | ${r.bytes_per_vector == null ? "" : f(r.bytes_per_vector, 0)} | ${r.identical == null ? "" : r.identical ? "yes" : "NO"} | ${r.nq ?? ""} |`);
  return [head, sep, ...lines].join("\n");
}
