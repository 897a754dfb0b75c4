import { isClipdbError } from "../core/errors.js";

/** Exit codes: 0 success, 1 user error, 2 partial failure (some files failed, the rest were added). */
export const EXIT = { ok: 0, user: 1, partial: 2, internal: 3 } as const;

/**
 * Prints an error as one line (a stack trace only with --debug) and returns its exit code.
 * User errors (ClipdbErrors of kind "user") exit 1; internal ClipdbErrors and anything unexpected
 * exit 3, the latter with a hint to re-run with --debug.
 */
export function reportError(e: unknown, debug: boolean): number {
  if (debug) console.error(e);
  if (isClipdbError(e) && e.kind === "user") {
    if (!debug) console.error(`clipdb: ${e.message}`);
    return EXIT.user;
  }
  const msg = e instanceof Error ? e.message : String(e);
  if (!debug) console.error(`clipdb: ${msg}${isClipdbError(e) ? "" : " (run with --debug for details)"}`);
  return EXIT.internal;
}

/** Renders rows as an aligned text table with a header. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n");
}

/** Shortens a string to `n` characters with an ellipsis. */
export function clip(s: string, n: number): string {
  const one = s.replace(/\s+/g, " ");
  return one.length > n ? one.slice(0, n - 1) + "…" : one;
}

/** Formats bytes as B, KB, MB or GB. */
export function humanBytes(b: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) {
    b /= 1024;
    i++;
  }
  return `${i ? b.toFixed(1) : b} ${units[i]}`;
}

/** The table of built indexes (stats, index status): state is "ok" or "DAMAGED: <what>". */
export function indexTable(rows: { type: string; modality: string; spec: string; size: number; pending: number; bytes: number; bytesPerVector?: number; damaged?: string }[]): string {
  const t = table(["index", "modality", "spec", "size", "pending", "bytes", "bytes/vector", "state"], rows.map((b) => [b.type, b.modality, b.spec, b.size, b.pending, humanBytes(b.bytes), b.bytesPerVector === undefined ? "" : Math.round(b.bytesPerVector), b.damaged ? "DAMAGED" : "ok"]));
  const notes = rows.filter((b) => b.damaged).map((b) => `${b.type}/${b.modality}: ${b.damaged}`);
  return notes.length ? `${t}\n${notes.join("\n")}` : t;
}
