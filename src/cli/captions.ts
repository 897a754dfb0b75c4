import { basename } from "node:path";
import { ClipdbError } from "../core/errors.js";
import { readTextFile } from "./textfile.js";

/** Captions by image file name (basename), in caption order. */
export type CaptionMap = Map<string, string[]>;

/**
 * Reads a captions file in any of three formats, detected from its content:
 * COCO captions JSON (`images` + `annotations`), Flickr tokens (`file.jpg#n<TAB>caption`), or
 * TSV (`file<TAB>n<TAB>caption`). Keys are image file basenames. INVALID_ARGUMENT for other content,
 * for a record that is not what the format says (naming the record), and for bytes that are not
 * valid in `encoding` (default UTF-8; see readTextFile).
 */
export function readCaptions(path: string, encoding?: string): CaptionMap {
  const text = readTextFile(path, "captions", encoding);
  const map: CaptionMap = new Map();
  const put = (file: string, n: number, caption: string) => {
    const key = basename(file.trim());
    const list = map.get(key) ?? [];
    list[n] = caption.trim();
    map.set(key, list);
  };
  if (text.trimStart().startsWith("{")) {
    readCoco(path, text, put);
    return map;
  }
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const cols = line.split("\t");
    const flickr = /^(.+)#(\d+)$/.exec(cols[0]);
    if (cols.length === 2 && flickr) put(flickr[1], Number(flickr[2]), cols[1]);
    else if (cols.length >= 3 && /^\d+$/.test(cols[1])) put(cols[0], Number(cols[1]), cols.slice(2).join("\t"));
    else {
      throw new ClipdbError("INVALID_ARGUMENT", {
        name: "captions",
        reason: `line ${i + 1} of '${path}' is neither 'file.jpg#n<TAB>caption' nor 'file<TAB>n<TAB>caption'`,
      });
    }
  });
  for (const [k, v] of map) map.set(k, v.filter((c) => c !== undefined));
  return map;
}

/** COCO captions JSON, checked record by record: INVALID_ARGUMENT naming the file and the record. */
function readCoco(path: string, text: string, put: (file: string, n: number, caption: string) => void): void {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "captions", reason: `'${path}' is not valid JSON` }, { cause: e });
  }
  const o = json as { images?: unknown; annotations?: unknown };
  if (!Array.isArray(o.images) || !Array.isArray(o.annotations)) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "captions", reason: `'${path}' lacks COCO 'images' and 'annotations' lists` });
  }
  const bad = (where: string, what: string): never => {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "captions", reason: `${where} of '${path}' ${what}`, hint: "Fix that record, or remove it." });
  };
  const isId = (v: unknown) => (typeof v === "number" && Number.isFinite(v)) || typeof v === "string";
  const names = new Map<unknown, string>();
  o.images.forEach((im: unknown, i) => {
    const r = im as { id?: unknown; file_name?: unknown } | null;
    if (r === null || typeof r !== "object" || !isId(r.id) || typeof r.file_name !== "string" || r.file_name.trim() === "") {
      bad(`images[${i}]`, 'is not an object with an "id" and a non-empty "file_name" string');
    }
    names.set(r!.id, r!.file_name as string);
  });
  const counts = new Map<unknown, number>();
  o.annotations.forEach((an: unknown, i) => {
    const a = an as { image_id?: unknown; caption?: unknown } | null;
    if (a === null || typeof a !== "object" || !isId(a.image_id) || typeof a.caption !== "string") {
      bad(`annotations[${i}]`, 'is not an object with an "image_id" and a "caption" string');
    }
    const file = names.get(a!.image_id);
    if (!file) return;
    const n = counts.get(a!.image_id) ?? 0;
    counts.set(a!.image_id, n + 1);
    put(file, n, a!.caption as string);
  });
}
