/** "Download JSON / CSV" of the results on screen (every page loaded so far), built in the browser. */
import type { Hit, SearchResponse } from "./api.js";

const COLUMNS = ["rank", "id", "modality", "score", "relevance", "path", "text", "caption", "pairs"] as const;

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; quotes doubled. */
function csvField(v: unknown): string {
  const s = v === null || v === undefined ? "" : Array.isArray(v) ? v.join(" ") : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The results as CSV: a header row, then one row per hit (pairs space-separated). */
export function resultsCsv(hits: Hit[]): string {
  const rows = hits.map((hit) => COLUMNS.map((c) => csvField(hit[c as keyof Hit])).join(","));
  return `${[COLUMNS.join(","), ...rows].join("\r\n")}\r\n`;
}

/** The results as JSON: the API's own response shape, with every loaded page's hits. */
export function resultsJson(res: SearchResponse, hits: Hit[], query: string): string {
  const { ms, index, scanned, mode } = res;
  return `${JSON.stringify({ query, ms, index, scanned, mode, results: hits }, null, 2)}\n`;
}

/** Saves `text` as a file named `name` (an <a download> on a blob: URL). */
export function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
