import { readdirSync, statSync, existsSync, readFileSync } from "node:fs";
import { basename, extname, join, relative, resolve } from "node:path";
import { ClipdbError } from "../core/errors.js";

/** File extensions taken as images when walking folders. */
export const IMAGE_EXTS = new Set([".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".tif", ".tiff"]);

/** An image file found by a walk, with its stable id. */
export interface FoundImage {
  path: string;
  /** Path relative to the folder argument (posix separators), or the basename for a file argument. */
  id: string;
  /** Lines of a sidecar `<name>.txt` beside the image, when there is one. */
  sidecar?: string[];
}

/**
 * Expands file and folder arguments into image files, recursing into folders (hidden entries
 * skipped), in sorted order so ids and batches are deterministic. A missing argument is
 * INVALID_ARGUMENT. Files named explicitly are taken whatever their extension (a non-image then
 * fails to decode with a per-file error).
 */
export function findImages(args: string[]): FoundImage[] {
  const out: FoundImage[] = [];
  for (const arg of args) {
    const abs = resolve(arg);
    if (!existsSync(abs)) throw new ClipdbError("INVALID_ARGUMENT", { name: "path", reason: `'${arg}' does not exist` });
    if (statSync(abs).isDirectory()) walk(abs, abs, out);
    else out.push(withSidecar({ path: abs, id: basename(abs) }));
  }
  return out;
}

function walk(root: string, dir: string, out: FoundImage[]): void {
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) walk(root, p, out);
    else if (IMAGE_EXTS.has(extname(name).toLowerCase())) out.push(withSidecar({ path: p, id: relative(root, p).split("\\").join("/") }));
  }
}

function withSidecar(f: FoundImage): FoundImage {
  const txt = f.path.slice(0, f.path.length - extname(f.path).length) + ".txt";
  if (existsSync(txt)) f.sidecar = readFileSync(txt, "utf8").split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return f;
}
