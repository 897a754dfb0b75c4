import { readFileSync, statSync } from "node:fs";
import { ClipdbError } from "../core/errors.js";

/**
 * Reads a text file (captions, texts, ids) strictly: it must be a regular file (a FIFO would block
 * forever) and valid in `encoding` (default UTF-8; any WHATWG label such as "latin1" or
 * "windows-1252"). Invalid bytes are INVALID_ARGUMENT naming the file and the first bad line,
 * never silently replaced by U+FFFD. `what` names the flag in messages.
 */
export function readTextFile(path: string, what: string, encoding = "utf-8"): string {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new ClipdbError("INVALID_ARGUMENT", { name: what, reason: `'${path}' does not exist` });
  if (!st.isFile()) throw new ClipdbError("INVALID_ARGUMENT", { name: what, reason: `'${path}' is not a regular file` });
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(encoding, { fatal: true });
  } catch (e) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "encoding", reason: `'${encoding}' is not a known text encoding`, hint: "Use utf-8, latin1 or windows-1252, for example." }, { cause: e });
  }
  const bytes = readFileSync(path);
  try {
    return decoder.decode(bytes).replace(/^\uFEFF/, "");
  } catch {
    throw new ClipdbError("INVALID_ARGUMENT", {
      name: what,
      reason: `line ${badLine(bytes, decoder)} of '${path}' is not valid ${decoder.encoding}`,
      hint: "Convert the file to UTF-8 (for example 'iconv -f latin1 -t utf-8'), or name its encoding with --encoding latin1.",
    });
  }
}

/** The 1-based number of the first line of `bytes` that `decoder` refuses. */
function badLine(bytes: Buffer, decoder: TextDecoder): number {
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0a) continue;
    try {
      decoder.decode(bytes.subarray(start, i));
    } catch {
      return line;
    }
    line++;
    start = i + 1;
  }
  return line;
}
