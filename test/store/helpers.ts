/** Shared helpers of the store tests: temporary directories and item builders. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Modality } from "../../src/core/types.js";
import type { NewItem } from "../../src/store/index.js";

const made: string[] = [];

/** A new empty temporary directory, removed by cleanupTmp(). */
export function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "clipdb-store-"));
  made.push(d);
  return d;
}

/** Removes every directory made by tmpDir(). */
export function cleanupTmp(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** A NewItem with defaults: no text, source /src/<id>, hash h-<id>, empty meta. */
export function item(id: string, modality: Modality, over: Partial<NewItem> = {}): NewItem {
  return { id, modality, source: `/src/${id}`, text: modality === "text" ? `text of ${id}` : null, meta: {}, hash: `h-${id}`, ...over };
}
