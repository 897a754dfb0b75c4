import { readFileSync } from "node:fs";
import path from "node:path";
import { AutoTokenizer, type PreTrainedTokenizer } from "@huggingface/transformers";
import { beforeAll, describe, expect, it } from "vitest";
import { sharedDataDir, testModelDir } from "../fixtures/model.js";
import { ReferenceClipBpe } from "./reference-bpe.js";

const BPE = path.join(sharedDataDir(), "clip-bpe/bpe_simple_vocab_16e6.txt.gz");

/*
 * Expected ids, derived by hand from bpe_simple_vocab_16e6.txt.gz:
 * - ids 0..255 are the byte characters and 256..511 the same with "</w>", in GPT-2 byte order
 *   ('!'..'~' first), so "a</w>" = 256 + ('a' - '!') = 256 + 64 = 320;
 * - the merge on line L of the file (line 1 is the "#version" header) creates token 512 + L - 2.
 *   `zcat bpe_simple_vocab_16e6.txt.gz | grep -n '^pho to</w>$'` -> line 615 -> "photo</w>" = 1125.
 *   Likewise: "o f</w>" line 29 -> 539, "c at</w>" 1858 -> 2368, "do g</w>" 1419 -> 1929,
 *   "h ello</w>" 2796 -> 3306, "wor ld</w>" 492 -> 1002, "i t</w>" 75 -> 585, "' s</w>" 58 -> 568,
 *   "tw o</w>" 727 -> 1237, "do gs</w>" 2745 -> 3255, "o n</w>" 15 -> 525, "th e</w>" 8 -> 518,
 *   "be ach</w>" 1607 -> 2117, "! !</w>" 238 -> 748;
 * - each of these words is one token because its merges apply in rank order (the reference BPE
 *   below confirms it); digits are split one by one by CLIP's regex: "1</w>" = 256 + 16 = 272.
 * - 49406 = <|startoftext|>, 49407 = <|endoftext|>.
 */
const KNOWN: [string, number[]][] = [
  ["a photo of a cat", [49406, 320, 1125, 539, 320, 2368, 49407]],
  ["a dog", [49406, 320, 1929, 49407]],
  ["A   DOG", [49406, 320, 1929, 49407]], // lower-cased, whitespace collapsed
  ["hello world", [49406, 3306, 1002, 49407]],
  ["it's two dogs on the beach!!", [49406, 585, 568, 1237, 3255, 525, 518, 2117, 748, 49407]],
  ["12", [49406, 272, 273, 49407]],
  ["", [49406, 49407]],
];

describe("generated CLIP tokenizer (tokenizer.json from the real BPE merges)", () => {
  let tok: PreTrainedTokenizer;
  let ref: ReferenceClipBpe;

  beforeAll(async () => {
    tok = await AutoTokenizer.from_pretrained(testModelDir(), { local_files_only: true });
    ref = new ReferenceClipBpe(BPE);
  });

  it.each(KNOWN)("tokenises %j as CLIP does", (text, ids) => {
    expect(tok.encode(text)).toEqual(ids);
  });

  it("the independent reference BPE agrees on the known cases", () => {
    for (const [text, ids] of KNOWN) expect(ref.encode(text)).toEqual(ids);
  });

  it("matches the reference BPE on every Flickr8k and COCO caption (6,040 texts)", () => {
    const flickr = readFileSync(path.join(sharedDataDir(), "flickr8k-test/captions.tsv"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split("\t")[2]);
    const coco = (JSON.parse(readFileSync(path.join(sharedDataDir(), "coco-val2017-sample/captions.json"), "utf8")) as {
      annotations: { caption: string }[];
    }).annotations.map((a) => a.caption);
    const texts = [...flickr, ...coco, "Ünïcödé café naïve", "emoji 🐶🐱 ok", "tabs\tand\nnewlines", "I'll've we're you'd"];
    expect(texts.length).toBeGreaterThan(6000);
    const mismatches = texts.filter((t) => JSON.stringify(tok.encode(t)) !== JSON.stringify(ref.encode(t)));
    expect(mismatches).toEqual([]);
  });

  it("declares CLIP's 77-token context, the 49408-token vocabulary and <|endoftext|> as padding", () => {
    expect(tok.model_max_length).toBe(77);
    expect(tok.pad_token_id).toBe(49407);
    expect(tok.eos_token_id).toBe(49407);
    const json = JSON.parse(readFileSync(path.join(testModelDir(), "tokenizer.json"), "utf8")) as { model: { vocab: Record<string, number>; merges: string[] } };
    expect(Object.keys(json.model.vocab).length).toBe(49408);
    expect(json.model.merges.length).toBe(48894);
    expect(json.model.vocab["<|startoftext|>"]).toBe(49406);
  });
});
