/**
 * The CLIP-family embedder on transformers.js + onnxruntime-node: loading (hub id with a cache
 * folder, or a local folder), tokenisation, batching, image pipelines that overlap decoding with
 * inference, and L2-normalised output rows.
 */
import os from "node:os";
import {
  AutoConfig,
  AutoImageProcessor,
  AutoTokenizer,
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  JinaCLIPTextModel,
  JinaCLIPVisionModel,
  SiglipTextModel,
  SiglipVisionModel,
  Tensor,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from "@huggingface/transformers";
import { ClipdbError } from "../core/errors.js";
import { normalizeRows } from "../core/vectors.js";
import { DEFAULT_MAX_PIXELS, decodeError, imageLabel } from "./image.js";
import {
  DEFAULT_MODEL,
  DEFAULT_TIMEOUT_MS,
  defaultCacheDir,
  offlineFromEnv,
  resolveModelSource,
  unavailable,
  withLoadLock,
  type ModelSource,
} from "./model-source.js";
import { ImagePreprocessor, type PixelTensor } from "./preprocess.js";
import { cudaMissing, cudaUnavailable, parseDevice, type Device } from "./device.js";
import { SerialQueue } from "./queue.js";
import type { Embedder, ImageSource, LoadEmbedderOptions, SettledEmbeddings } from "./types.js";

/** Largest accepted `batchSize`. */
export const MAX_BATCH_SIZE = 256;
/** Default `batchSize` on the CPU. */
export const DEFAULT_BATCH_SIZE = 16;
/**
 * Default `batchSize` on CUDA: 64 images of 224 x 224 keep a GPU busy while staying far below its
 * memory (ViT-B/32 activations at batch 64 are well under 2 GB; ViT-L/14 at 64 about 6 GB).
 */
export const DEFAULT_CUDA_BATCH_SIZE = 64;

/**
 * onnxruntime session options used for both towers: `threads` intra-op threads, one inter-op
 * thread, sequential execution, all graph optimisations, and no spin-waiting in the intra-op
 * pool. Spinning buys a little latency on an idle machine but burns the cores that image decoding
 * (overlapped with inference) and other processes need; without it the pipeline measured faster
 * on a shared 2-core machine. Exported so benchmarks can open a bare session configured identically.
 */
export function sessionOptions(threads: number): Record<string, unknown> {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
}

type ModelClass = { from_pretrained(ref: string, opts: Record<string, unknown>): Promise<PreTrainedModel> };
type Config = Record<string, unknown> & { model_type?: string };

/** How one model family is loaded and read. */
interface Family {
  text: ModelClass;
  vision: ModelClass;
  /** Output names holding the embedding, in order of preference. */
  textOutputs: string[];
  imageOutputs: string[];
  /** Pad every text to the tokenizer's max length (SigLIP was trained that way). */
  padToMax: boolean;
  dim(config: Config): number | undefined;
}

const sub = (c: Config, k: string): Config => (c[k] && typeof c[k] === "object" ? (c[k] as Config) : {});
const num = (v: unknown): number | undefined => (typeof v === "number" && v > 0 ? v : undefined);

const CLIP: Family = {
  text: CLIPTextModelWithProjection as unknown as ModelClass,
  vision: CLIPVisionModelWithProjection as unknown as ModelClass,
  textOutputs: ["text_embeds"],
  imageOutputs: ["image_embeds"],
  padToMax: false,
  dim: (c) => num(c.projection_dim) ?? num(sub(c, "text_config").projection_dim),
};

const FAMILIES: Record<string, Family> = {
  clip: CLIP,
  siglip: {
    text: SiglipTextModel as unknown as ModelClass,
    vision: SiglipVisionModel as unknown as ModelClass,
    textOutputs: ["pooler_output"],
    imageOutputs: ["pooler_output"],
    padToMax: true,
    dim: (c) => num(sub(c, "text_config").hidden_size),
  },
  jina_clip: {
    text: JinaCLIPTextModel as unknown as ModelClass,
    vision: JinaCLIPVisionModel as unknown as ModelClass,
    textOutputs: ["l2norm_text_embeddings", "text_embeddings"],
    imageOutputs: ["l2norm_image_embeddings", "image_embeddings"],
    padToMax: false,
    dim: (c) => num(c.projection_dim),
  },
};

type Outputs = Record<string, { data: unknown; dims: number[] }>;

function pickOutput(out: Outputs, names: string[], n: number, dim: number | undefined, what: string): Float32Array {
  let t = names.map((k) => out[k]).find((x) => x !== undefined);
  t ??= Object.values(out).find((x) => x.dims.length === 2 && x.dims[0] === n && (dim === undefined || x.dims[1] === dim));
  if (!t || !(t.data instanceof Float32Array) || t.dims.length !== 2 || t.dims[0] !== n) {
    throw new ClipdbError("INTERNAL", { reason: `the ${what} model returned no [${n}, dim] float32 embedding (outputs: ${Object.keys(out).join(", ")})` });
  }
  if (dim !== undefined && t.dims[1] !== dim) throw new ClipdbError("DIM_MISMATCH", { expected: dim, got: t.dims[1], where: `${what} model output` });
  return t.data;
}

function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ClipdbError("INVALID_ARGUMENT", { name, reason: `must be an integer in ${min}..${max}, got ${v}` });
  }
  return v;
}

/** The embedder over one loaded model. Create it with {@link loadEmbedder}. */
class TransformersEmbedder implements Embedder {
  readonly modelId: string;
  device: Device = "cpu";
  private _dim: number;
  private readonly runs = new SerialQueue();
  private readonly maxLen: number;
  private readonly padId: number;
  private readonly eosId: number | undefined;
  private disposed = false;

  constructor(
    modelId: string,
    dim: number | undefined,
    private readonly family: Family,
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly textModel: PreTrainedModel,
    private readonly visionModel: PreTrainedModel,
    private readonly pre: ImagePreprocessor,
    private readonly batchSize: number,
    private readonly decoders: number,
    private readonly overlap: boolean,
    config: Config,
  ) {
    this.modelId = modelId;
    this._dim = dim ?? 0;
    const tokMax = Number(tokenizer.model_max_length);
    const posMax = num(sub(config, "text_config").max_position_embeddings);
    this.maxLen = Math.min(Number.isFinite(tokMax) && tokMax > 0 ? tokMax : Infinity, posMax ?? Infinity, 4096);
    if (!Number.isFinite(this.maxLen)) this.maxLen = 512;
    this.eosId = Number.isInteger(tokenizer.eos_token_id) ? tokenizer.eos_token_id : undefined;
    this.padId = Number.isInteger(tokenizer.pad_token_id) ? tokenizer.pad_token_id : (this.eosId ?? 0);
  }

  get dim(): number {
    return this._dim;
  }

  /** Sets the dimension learnt from the model's output when its config does not state it. */
  learnDim(dim: number): void {
    if (!this._dim) this._dim = dim;
  }

  private alive(): void {
    if (this.disposed) throw new ClipdbError("INVALID_ARGUMENT", { name: "embedder", reason: "it has been disposed" });
  }

  /** Token ids of one text, cut to the context length keeping the end-of-text token (as CLIP's own tokenizer does). */
  private tokenize(text: string): number[] {
    // Bound the work on huge inputs: the longest CLIP token is 32 bytes, so 256 characters per
    // token of context is far more text than the model can see.
    const limit = this.maxLen * 256;
    const ids = this.tokenizer.encode(text.length > limit ? text.replace(/\s+/g, " ").slice(0, limit) : text);
    if (ids.length <= this.maxLen) return ids;
    const last = ids[ids.length - 1];
    return last === this.eosId ? [...ids.slice(0, this.maxLen - 1), last] : ids.slice(0, this.maxLen);
  }

  async embedTexts(texts: string[]): Promise<Float32Array> {
    this.alive();
    if (!Array.isArray(texts)) throw new ClipdbError("INVALID_ARGUMENT", { name: "texts", reason: "must be an array of strings" });
    texts.forEach((t, i) => {
      if (typeof t !== "string") throw new ClipdbError("INVALID_ARGUMENT", { name: `texts[${i}]`, reason: `must be a string, got ${typeof t}` });
    });
    const n = texts.length;
    const tokens = texts.map((t) => this.tokenize(t));
    // Batch texts of similar length together so little padding is computed.
    const order = [...tokens.keys()].sort((a, b) => tokens[b].length - tokens[a].length);
    const out = new Float32Array(n * this.dim);
    for (let s = 0; s < n; s += this.batchSize) {
      const idx = order.slice(s, s + this.batchSize);
      const b = idx.length;
      const len = this.family.padToMax ? this.maxLen : Math.max(...idx.map((i) => tokens[i].length));
      const ids = new BigInt64Array(b * len).fill(BigInt(this.padId));
      const mask = new BigInt64Array(b * len);
      idx.forEach((i, r) => {
        tokens[i].forEach((id, j) => {
          ids[r * len + j] = BigInt(id);
          mask[r * len + j] = 1n;
        });
      });
      const feeds = { input_ids: new Tensor("int64", ids, [b, len]), attention_mask: new Tensor("int64", mask, [b, len]) };
      const res = (await this.runs.run(() => this.textModel(feeds))) as Outputs;
      const raw = pickOutput(res, this.family.textOutputs, b, this.dim || undefined, "text");
      const rows = normalizeRows(Float32Array.from(raw), raw.length / b, "text embedding");
      if (!this.dim) return rows; // the probe in loadEmbedder, before dim is known
      idx.forEach((i, r) => out.set(rows.subarray(r * this.dim, (r + 1) * this.dim), i * this.dim));
    }
    return out;
  }

  async embedImages(inputs: ImageSource[]): Promise<Float32Array> {
    return (await this.imagePass(inputs, true)).vectors;
  }

  embedImagesSettled(inputs: ImageSource[]): Promise<SettledEmbeddings> {
    return this.imagePass(inputs, false);
  }

  /**
   * With `overlap`, decodes batch k+1 while batch k is in the session, so decoding overlaps
   * inference; without it, decodes each batch (on every decoder) between inference runs.
   * With `failFast`, the first bad file is thrown and nothing further is embedded.
   */
  private async imagePass(inputs: ImageSource[], failFast: boolean): Promise<SettledEmbeddings> {
    this.alive();
    if (!Array.isArray(inputs)) throw new ClipdbError("INVALID_ARGUMENT", { name: "inputs", reason: "must be an array of paths or buffers" });
    inputs.forEach((x, i) => {
      if (typeof x !== "string" && !(x instanceof Uint8Array)) {
        throw new ClipdbError("INVALID_ARGUMENT", { name: `inputs[${i}]`, reason: "must be a file path or a Buffer" });
      }
    });
    const n = inputs.length;
    const dim = this.dim;
    const vectors = new Float32Array(n * dim);
    const errors: (ClipdbError | undefined)[] = new Array(n).fill(undefined);
    const batches: number[][] = [];
    for (let s = 0; s < n; s += this.batchSize) batches.push([...Array(Math.min(this.batchSize, n - s)).keys()].map((k) => s + k));
    // When every tensor has the same size, image r of a batch is decoded straight into slot r of a
    // batch buffer reused for every batch (two when decoding overlaps inference): no array per
    // image and no copy per batch. On COCO photos that is about a quarter fewer garbage
    // collections (87-98 against 119-130 per 416 photos); the CPU time it saves is within noise.
    const slot = this.pre.tensorLength;
    const buffers = slot ? Array.from({ length: this.overlap ? 2 : 1 }, () => new Float32Array(Math.min(this.batchSize, n) * slot)) : [];
    const bufferOf = (k: number): Float32Array | undefined => (buffers.length > 0 ? buffers[k % buffers.length] : undefined);
    // Decode a batch with at most `decoders` images in flight: enough to finish before the
    // previous batch's inference does, few enough not to crowd out the inference threads.
    const prepare = async (k: number): Promise<(PixelTensor | ClipdbError)[]> => {
      const idx = batches[k];
      const buf = bufferOf(k);
      const out: (PixelTensor | ClipdbError)[] = new Array(idx.length);
      let cursor = 0;
      const worker = async (): Promise<void> => {
        while (cursor < idx.length) {
          const r = cursor++;
          const label = imageLabel(inputs[idx[r]]);
          const into = buf?.subarray(r * slot!, (r + 1) * slot!);
          out[r] = await this.pre.run(inputs[idx[r]], label, into).catch((e: unknown) => decodeError(e, label));
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.decoders, idx.length) }, worker));
      return out;
    };
    let next = batches.length > 0 ? prepare(0) : undefined;
    for (let k = 0; k < batches.length; k++) {
      const prepared = await next!;
      const idx = batches[k];
      if (failFast) {
        const bad = prepared.find((p): p is ClipdbError => p instanceof ClipdbError);
        if (bad) throw bad;
      }
      next = this.overlap && k + 1 < batches.length ? prepare(k + 1) : undefined;
      // Group by tensor shape (all equal for configs with a crop or a fixed size).
      const groups = new Map<string, number[]>();
      prepared.forEach((p, r) => {
        if (p instanceof ClipdbError) {
          errors[idx[r]] = p;
          return;
        }
        const key = `${p.height}x${p.width}`;
        groups.set(key, [...(groups.get(key) ?? []), r]);
      });
      for (const rs of groups.values()) {
        const first = prepared[rs[0]] as PixelTensor;
        const size = first.data.length;
        const buf = size === slot ? bufferOf(k) : undefined;
        const batch = buf ? buf.subarray(0, rs.length * size) : new Float32Array(rs.length * size);
        rs.forEach((r, j) => {
          const data = (prepared[r] as PixelTensor).data;
          // Already in place when decoded into slot j; else (a failed image before it left a gap,
          // or a path that returns its own array) copied there. j <= r, so no slot is overwritten
          // before it is read.
          if (!(buf && j === r && data.buffer === buf.buffer && data.byteOffset === buf.byteOffset + r * size * 4)) batch.set(data, j * size);
        });
        const feeds = { pixel_values: new Tensor("float32", batch, [rs.length, 3, first.height, first.width]) };
        const res = (await this.runs.run(() => this.visionModel(feeds))) as Outputs;
        const rows = normalizeRows(Float32Array.from(pickOutput(res, this.family.imageOutputs, rs.length, dim, "vision")), dim, "image embedding");
        rs.forEach((r, j) => vectors.set(rows.subarray(j * dim, (j + 1) * dim), idx[r] * dim));
      }
      if (!this.overlap && k + 1 < batches.length) next = prepare(k + 1);
    }
    return { vectors, errors };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.runs.run(async () => {
      await Promise.all([this.textModel.dispose(), this.visionModel.dispose()]);
    });
  }
}

/**
 * Loads a CLIP-family model for embedding texts and images.
 *
 * `model` is a hub id (default {@link DEFAULT_MODEL}) downloaded once into the cache folder, or a
 * local model folder (config.json, preprocessor_config.json, tokenizer files, onnx/text_model.onnx,
 * onnx/vision_model.onnx), which never touches the network. CLIP, SigLIP and jina-clip
 * conversions are recognised by `model_type`; anything else that ships text_model/vision_model
 * ONNX files is loaded like CLIP. Throws MODEL_UNAVAILABLE when the model cannot be found,
 * downloaded or opened (the message names the model, the folder searched and the fix), and
 * INVALID_ARGUMENT for bad options. Loading runs one text inference to check the model's output.
 */
export async function loadEmbedder(model: string = DEFAULT_MODEL, opts: LoadEmbedderOptions = {}): Promise<Embedder> {
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const offline = opts.offline ?? offlineFromEnv();
  const dtype = opts.dtype ?? "fp32";
  if (!["fp32", "fp16", "q8"].includes(dtype)) throw new ClipdbError("INVALID_ARGUMENT", { name: "dtype", reason: `must be 'fp32', 'fp16' or 'q8', got '${String(dtype)}'` });
  const preprocess = opts.preprocess ?? "exact";
  if (!["exact", "sharp", "shrink"].includes(preprocess)) throw new ClipdbError("INVALID_ARGUMENT", { name: "preprocess", reason: `must be 'exact', 'sharp' or 'shrink', got '${String(preprocess)}'` });
  const threads = checkInt("threads", opts.threads ?? Math.max(1, os.availableParallelism()), 1, 256);
  const choice = parseDevice(opts.device);
  const note = opts.onNote ?? (() => undefined);
  let device: Device = "cpu";
  if (choice !== "cpu") {
    const missing = cudaMissing();
    if (!missing) device = "cuda";
    else if (choice === "cuda") throw cudaUnavailable(missing);
    else note(`CUDA is not available (${missing}); running on the CPU`);
  }
  const batchFor = (d: Device) => checkInt("batchSize", opts.batchSize ?? (d === "cuda" ? DEFAULT_CUDA_BATCH_SIZE : DEFAULT_BATCH_SIZE), 1, MAX_BATCH_SIZE);
  batchFor(device);
  // Images decoded at once. Overlapped with inference on the CPU: the cores the session leaves
  // free, 1..4 (4 = libuv's default thread pool, where sharp runs). Between inference runs (no
  // free core): every core, up to 4. On a GPU the CPU only decodes, so every core does (sharp's
  // own threads run inside each decode).
  const cores = os.availableParallelism();
  const overlapFor = (d: Device) => opts.overlapDecoding ?? (d === "cuda" || cores > threads);
  const decodersFor = (d: Device) =>
    d === "cuda" ? Math.max(1, cores) : overlapFor(d) ? Math.max(1, Math.min(4, cores - threads)) : Math.max(1, Math.min(4, cores));
  const maxPixels = checkInt("maxPixels", opts.maxPixels ?? DEFAULT_MAX_PIXELS, 1, Number.MAX_SAFE_INTEGER);
  const timeoutMs = checkInt("timeoutMs", opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, 3_600_000);
  const remoteHost = opts.remoteHost ?? process.env.HF_ENDPOINT ?? "https://huggingface.co/";
  const src: ModelSource = resolveModelSource(model, cacheDir);

  const onProgress = opts.onProgress;
  const progress_callback = onProgress
    ? (p: Record<string, unknown>) => {
        if (typeof p.file !== "string" || typeof p.status !== "string") return;
        onProgress({ file: p.file, loaded: Number(p.loaded ?? 0) || 0, total: Number(p.total ?? 0) || 0, status: p.status });
      }
    : undefined;
  const base = { cache_dir: cacheDir, local_files_only: offline || src.local, revision: "main", progress_callback };

  const loaded = await withLoadLock({ remoteHost, timeoutMs, cacheDir }, async () => {
    try {
      const config = (await AutoConfig.from_pretrained(src.ref, base)) as unknown as Config;
      const family = FAMILIES[String(config.model_type)] ?? CLIP;
      const tokenizer = await AutoTokenizer.from_pretrained(src.ref, base);
      const processor = await AutoImageProcessor.from_pretrained(src.ref, base);
      const towers = async (d: Device): Promise<PreTrainedModel[]> => {
        const modelOpts = { ...base, config, dtype, device: d, session_options: sessionOptions(threads) };
        const settled = await Promise.allSettled([family.text.from_pretrained(src.ref, modelOpts), family.vision.from_pretrained(src.ref, modelOpts)]);
        const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
        if (failed) {
          await Promise.all(settled.map((s) => (s.status === "fulfilled" ? s.value.dispose() : undefined)));
          throw failed.reason;
        }
        return settled.map((s) => (s as PromiseFulfilledResult<PreTrainedModel>).value);
      };
      let models: PreTrainedModel[];
      try {
        models = await towers(device);
      } catch (e) {
        // The provider files are there but a session could not use them (no GPU, no CUDA 12 / cuDNN 9 libraries).
        if (device !== "cuda" || !/cuda|provider|shared librar|libcu/i.test(e instanceof Error ? e.message : String(e))) throw e;
        const reason = `a CUDA session could not be created (${(e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim()})`;
        if (choice === "cuda") throw cudaUnavailable(reason, e);
        note(`CUDA is not available (${reason}); running on the CPU`);
        device = "cpu";
        models = await towers(device);
      }
      const [textModel, visionModel] = models;
      return { config, family, tokenizer, processor, textModel, visionModel };
    } catch (e) {
      const err = unavailable(src, e, offline);
      const suffix = dtype === "q8" ? "_quantized" : dtype === "fp16" ? "_fp16" : undefined;
      if (suffix && new RegExp(`${suffix}\\.onnx`).test(err.message)) {
        throw new ClipdbError("MODEL_UNAVAILABLE", { model: src.model, searched: src.searched, reason: `it ships no ${dtype} weights (onnx/text_model${suffix}.onnx and onnx/vision_model${suffix}.onnx); use --dtype fp32 (${String(err.details.reason)})` }, { cause: e });
      }
      throw err;
    }
  });

  const configDim = loaded.family.dim(loaded.config);
  const embedder = new TransformersEmbedder(
    src.model,
    configDim,
    loaded.family,
    loaded.tokenizer,
    loaded.textModel,
    loaded.visionModel,
    new ImagePreprocessor(loaded.processor, maxPixels, preprocess),
    batchFor(device),
    decodersFor(device),
    overlapFor(device),
    loaded.config,
  );
  embedder.device = device;
  try {
    // Probe: one tiny text run checks the output (and learns dim when the config lacks it).
    const probe = await embedder.embedTexts([""]);
    embedder.learnDim(probe.length);
  } catch (e) {
    await embedder.dispose();
    throw e instanceof ClipdbError && e.code !== "INTERNAL" ? e : unavailable(src, e, offline);
  }
  return embedder;
}
