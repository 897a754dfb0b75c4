import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { ClipdbError } from "../core/errors.js";

/** Captions by image file name (basename), in caption order. */
export type CaptionMap = Map<string, string[]>;

/**
 * Reads a captions file in any of three formats, detected from its content:
 * COCO captions JSON (`images` + `annotations`), Flickr tokens (`file.jpg#n<TAB>caption`), or
 * TSV (`file<TAB>n<TAB>caption`). Keys are image file basenames. INVALID_ARGUMENT for other content.
 */
export function readCaptions(path: string): CaptionMap {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "captions", reason: `cannot read '${path}'` }, { cause: e });
  }
  const map: CaptionMap = new Map();
  const put = (file: string, n: number, caption: string) => {
    const key = basename(file.trim());
    const list = map.get(key) ?? [];
    list[n] = caption.trim();
    map.set(key, list);
  };
  if (text.trimStart().startsWith("{")) {
    let json: { images?: { id: number; file_name: string }[]; annotations?: { image_id: number; caption: string }[] };
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ClipdbError("INVALID_ARGUMENT", { name: "captions", reason: `'${path}' is not valid JSON` }, { cause: e });
    }
    if (!Array.isArray(json.images) || !Array.isArray(json.annotations)) {
      throw new ClipdbError("INVALID_ARGUMENT", { name: "captions", reason: `'${path}' lacks COCO 'images' and 'annotations' lists` });
    }
    const names = new Map(json.images.map((im) => [im.id, im.file_name]));
    const counts = new Map<number, number>();
    for (const a of json.annotations) {
      const file = names.get(a.image_id);
      if (!file) continue;
      const n = counts.get(a.image_id) ?? 0;
      counts.set(a.image_id, n + 1);
      put(file, n, a.caption);
    }
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
