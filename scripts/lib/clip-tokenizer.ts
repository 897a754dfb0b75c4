/**
 * CLIP's byte-level BPE tokenizer, written as Hugging Face `tokenizer.json` +
 * `tokenizer_config.json` + `special_tokens_map.json`, from OpenAI's merges file
 * (`bpe_simple_vocab_16e6.txt.gz`).
 *
 * The vocabulary is built as in openai/CLIP `simple_tokenizer.py`: the 256 byte characters (GPT-2
 * byte-to-unicode order), the same 256 with `</w>` appended, one token per merge (file lines
 * 2..48895, i.e. the first 49152 - 256 - 2 merges), then `<|startoftext|>` (49406) and
 * `<|endoftext|>` (49407). The pipeline mirrors the Hugging Face CLIP converter: NFC, whitespace
 * runs -> one space, lowercase; split with CLIP's regex; byte-level mapping; BPE with the
 * end-of-word suffix `</w>`; start and end tokens added around every text; 77-token context.
 */
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";

/** Number of merges CLIP uses (49152 - 256 - 2). */
export const CLIP_MERGES = 48894;
/** Id of `<|startoftext|>`. */
export const SOT_ID = 49406;
/** Id of `<|endoftext|>` (also used for padding). */
export const EOT_ID = 49407;

/** GPT-2's reversible byte -> unicode character table, in its vocabulary order. */
export function byteLevelAlphabet(): { order: number[]; chars: string[] } {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const chars = new Array<string>(256);
  bs.forEach((b, i) => (chars[b] = String.fromCodePoint(cs[i])));
  return { order: bs, chars };
}

/** Reads the merges (pairs) that CLIP uses from the gzipped merges file. */
export function readClipMerges(gzPath: string): [string, string][] {
  const lines = gunzipSync(readFileSync(gzPath)).toString("utf8").split("\n");
  const merges = lines.slice(1, CLIP_MERGES + 1).map((l) => {
    const parts = l.split(" ");
    if (parts.length !== 2) throw new Error(`unexpected merge line '${l}' in ${gzPath}`);
    return [parts[0], parts[1]] as [string, string];
  });
  if (merges.length !== CLIP_MERGES) throw new Error(`${gzPath} has ${merges.length} merges, expected ${CLIP_MERGES}`);
  return merges;
}

/** The CLIP vocabulary: token -> id (49408 entries). */
export function buildClipVocab(merges: [string, string][]): Record<string, number> {
  const { order, chars } = byteLevelAlphabet();
  const tokens: string[] = order.map((b) => chars[b]);
  tokens.push(...order.map((b) => chars[b] + "</w>"));
  for (const [a, b] of merges) tokens.push(a + b);
  tokens.push("<|startoftext|>", "<|endoftext|>");
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  if (Object.keys(vocab).length !== 49408 || vocab["<|endoftext|>"] !== EOT_ID) throw new Error("CLIP vocabulary is not 49408 distinct tokens");
  return vocab;
}

/** The three tokenizer files, as JSON-serialisable objects keyed by file name. */
export function clipTokenizerFiles(gzPath: string, modelMaxLength = 77): Record<string, unknown> {
  const merges = readClipMerges(gzPath);
  const vocab = buildClipVocab(merges);
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(SOT_ID, "<|startoftext|>"), special(EOT_ID, "<|endoftext|>")],
    normalizer: {
      type: "Sequence",
      normalizers: [{ type: "NFC" }, { type: "Replace", pattern: { Regex: "\\s+" }, content: " " }, { type: "Lowercase" }],
    },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        {
          type: "Split",
          pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
          behavior: "Removed",
          invert: true,
        },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: "RobertaProcessing",
      sep: ["<|endoftext|>", EOT_ID],
      cls: ["<|startoftext|>", SOT_ID],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<|endoftext|>",
      continuing_subword_prefix: "",
      end_of_word_suffix: "</w>",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  const tokens = {
    bos_token: "<|startoftext|>",
    eos_token: "<|endoftext|>",
    pad_token: "<|endoftext|>",
    unk_token: "<|endoftext|>",
  };
  const config = {
    tokenizer_class: "CLIPTokenizer",
    model_max_length: modelMaxLength,
    do_lower_case: true,
    add_prefix_space: false,
    clean_up_tokenization_spaces: false,
    errors: "replace",
    padding_side: "right",
    ...tokens,
  };
  return { "tokenizer.json": tokenizer, "tokenizer_config.json": config, "special_tokens_map.json": tokens };
}
