/**
 * An independent, deliberately plain CLIP BPE tokenizer, written from the algorithm of
 * openai/CLIP `simple_tokenizer.py`, used as an oracle for the generated tokenizer.json.
 * It shares no code with scripts/lib/clip-tokenizer.ts.
 *
 * Not implemented (the test texts avoid them): ftfy text repair and HTML unescaping.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

function byteEncoder(): string[] {
  const printable: number[] = [];
  for (let b = "!".charCodeAt(0); b <= "~".charCodeAt(0); b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const enc: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) enc[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  return enc;
}

/** CLIP BPE from the merges file, the classic way: repeatedly merge the lowest-ranked adjacent pair. */
export class ReferenceClipBpe {
  private readonly ranks = new Map<string, number>();
  private readonly encoder = new Map<string, number>();
  private readonly byteEnc = byteEncoder();
  private readonly cache = new Map<string, string[]>();

  constructor(gzPath: string) {
    const lines = gunzipSync(readFileSync(gzPath)).toString("utf8").split("\n").slice(1, 49152 - 256 - 2 + 1);
    const printable = byteEncoder();
    // Vocabulary order of simple_tokenizer: byte chars in bytes_to_unicode order (printables first).
    const order: number[] = [];
    for (let b = 0; b < 256; b++) if (printable[b].charCodeAt(0) < 256 && printable[b].charCodeAt(0) === b) order.push(b);
    for (let b = 0; b < 256; b++) if (!order.includes(b)) order.push(b);
    const vocab = order.map((b) => printable[b]);
    const withSuffix = vocab.map((v) => v + "</w>");
    const all = [...vocab, ...withSuffix];
    lines.forEach((l, i) => {
      const [a, b] = l.split(" ");
      this.ranks.set(`${a} ${b}`, i);
      all.push(a + b);
    });
    all.push("<|startoftext|>", "<|endoftext|>");
    all.forEach((t, i) => this.encoder.set(t, i));
  }

  private bpe(token: string): string[] {
    const hit = this.cache.get(token);
    if (hit) return hit;
    let word = [...token];
    word[word.length - 1] += "</w>";
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const [a, b] = [word[best], word[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(word[i]);
      }
      word = merged;
    }
    this.cache.set(token, word);
    return word;
  }

  /** Ids with start and end tokens, no truncation. */
  encode(text: string): number[] {
    const clean = text.normalize("NFC").replace(/\s+/g, " ").trim().toLowerCase();
    const pieces = clean.match(/<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/gu) ?? [];
    const ids = [49406];
    for (const p of pieces) {
      const chars = [...Buffer.from(p, "utf8")].map((b) => this.byteEnc[b]).join("");
      for (const t of this.bpe(chars)) {
        const id = this.encoder.get(t);
        if (id === undefined) throw new Error(`token ${t} not in vocabulary`);
        ids.push(id);
      }
    }
    ids.push(49407);
    return ids;
  }
}
