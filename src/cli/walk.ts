import { readdirSync, realpathSync, statSync, existsSync, readFileSync, type Stats } from "node:fs";
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

/** A path the walk skipped, with why (reported per file, like a file that fails to decode). */
export interface SkippedPath {
  path: string;
  code: string;
  message: string;
}

/**
 * Expands file and folder arguments into image files, recursing into folders (hidden entries
 * skipped), in sorted order so ids and batches are deterministic. A missing argument is
 * INVALID_ARGUMENT. Files named explicitly are taken whatever their extension (a non-image then
 * fails to decode with a per-file error). Hostile folders cannot hang or abort a walk: symbolic
 * links are followed once (a link back into a folder already walked is a loop), and image-named
 * entries that are not regular files (FIFOs, sockets, devices) are never opened; both are
 * returned in `skipped` with a reason.
 */
export function findImages(args: string[]): { found: FoundImage[]; skipped: SkippedPath[] } {
  const found: FoundImage[] = [];
  const skipped: SkippedPath[] = [];
  for (const arg of args) {
    const abs = resolve(arg);
    if (!existsSync(abs)) throw new ClipdbError("INVALID_ARGUMENT", { name: "path", reason: `'${arg}' does not exist` });
    if (statSync(abs).isDirectory()) walk(abs, abs, new Set([realpathSync(abs)]), found, skipped);
    else found.push(withSidecar({ path: abs, id: basename(abs) }));
  }
  return { found, skipped };
}

function walk(root: string, dir: string, seen: Set<string>, out: FoundImage[], skipped: SkippedPath[]): void {
  const skip = (p: string, reason: string) => skipped.push({ path: p, code: "INVALID_ARGUMENT", message: `Skipped '${p}': ${reason}.` });
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const p = join(dir, name);
    const image = IMAGE_EXTS.has(extname(name).toLowerCase());
    let st: Stats | undefined;
    try {
      st = statSync(p, { throwIfNoEntry: false });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      skip(p, code === "ELOOP" ? "it is a loop of symbolic links" : `it cannot be read (${code ?? String(e)})`);
      continue;
    }
    if (!st) continue; // a dangling link
    if (st.isDirectory()) {
      const real = realpathSync(p);
      if (seen.has(real)) {
        skip(p, `it is a symbolic link back to '${real}', which is already being walked (a loop)`);
        continue;
      }
      seen.add(real);
      walk(root, p, seen, out, skipped);
    } else if (image && !st.isFile()) skip(p, "it is not a regular file (a FIFO, socket or device), so it was not opened");
    else if (image) out.push(withSidecar({ path: p, id: relative(root, p).split("\\").join("/") }));
  }
}

function withSidecar(f: FoundImage): FoundImage {
  const txt = f.path.slice(0, f.path.length - extname(f.path).length) + ".txt";
  if (statSync(txt, { throwIfNoEntry: false })?.isFile()) f.sidecar = readFileSync(txt, "utf8").split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return f;
}
