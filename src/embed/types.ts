import type { ClipdbError } from "../core/errors.js";

/** An image input: a file path, or the encoded bytes of a JPEG, PNG, WebP, GIF, AVIF or TIFF. */
export type ImageSource = string | Buffer | Uint8Array;

/** The result of embedding a batch of images where some may fail. */
export interface SettledEmbeddings {
  /** `n * dim` values; the row of an image that failed is all zeros. */
  vectors: Float32Array;
  /** One entry per input: `undefined` when it was embedded, else its error (IMAGE_DECODE, IMAGE_TOO_LARGE). */
  errors: (ClipdbError | undefined)[];
}

/**
 * Embeds texts and images into one vector space. Rows are L2-normalised `Float32Array`
 * batches of `n * dim`, compared by inner product.
 */
export interface Embedder {
  /** The model id or local folder it was loaded from. */
  readonly modelId: string;
  /** Vector dimension (the model's projection size). */
  readonly dim: number;
  /** Where inference runs, when the embedder knows (`cpu` or `cuda`). */
  readonly device?: "cpu" | "cuda";
  /** Embeds texts; returns `texts.length * dim` values, row i for text i. */
  embedTexts(texts: string[]): Promise<Float32Array>;
  /**
   * Embeds images; returns `inputs.length * dim` values. Throws the first per-file error
   * (IMAGE_DECODE, IMAGE_TOO_LARGE) and embeds nothing when any file is bad; use
   * {@link Embedder.embedImagesSettled} to keep going past bad files.
   */
  embedImages(inputs: ImageSource[]): Promise<Float32Array>;
  /** Embeds images, going on past bad files: failed rows are zero and their errors are returned. */
  embedImagesSettled(inputs: ImageSource[]): Promise<SettledEmbeddings>;
  /** Releases the inference sessions. The embedder is unusable afterwards. */
  dispose(): Promise<void>;
}

/** A model-file progress event (download or load). */
export interface ModelProgress {
  /** File within the model, e.g. `onnx/vision_model.onnx`. */
  file: string;
  /** Bytes so far (0 when unknown). */
  loaded: number;
  /** Total bytes (0 when unknown). */
  total: number;
  /** `initiate`, `download`, `progress`, `done` (as reported by transformers.js). */
  status: string;
}

/** Options of `loadEmbedder`. */
export interface LoadEmbedderOptions {
  /**
   * Folder where hub models are downloaded and cached (`<cacheDir>/<owner>/<name>/...`).
   * Default: `$CLIPDB_CACHE`, else `$XDG_CACHE_HOME/clipdb`, else `~/.cache/clipdb`.
   */
  cacheDir?: string;
  /** Never touch the network; only the cache or a local folder. Default: `CLIPDB_OFFLINE=1` in the environment, else false. */
  offline?: boolean;
  /**
   * Weights to load: `fp32` (default, exact; `onnx/*_model.onnx`), `fp16` (`*_model_fp16.onnx`:
   * half the size, fast on GPUs, usually slower on CPUs) or `q8` (int8 `*_model_quantized.onnx`:
   * a quarter of the size; faster on some CPUs and not on others; slightly different vectors).
   * A folder without the files is MODEL_UNAVAILABLE naming what is missing.
   */
  dtype?: "fp32" | "fp16" | "q8";
  /**
   * Where inference runs: `cpu`, `cuda` (onnxruntime-node's CUDA provider; DEVICE_UNAVAILABLE
   * naming what is missing when it cannot load), or `auto` (CUDA when it loads, else the CPU, with
   * a note through `onNote`). Default: `$CLIPDB_DEVICE`, else `cpu`.
   */
  device?: "auto" | "cpu" | "cuda";
  /** Receives one-line notes (say, `auto` falling back to the CPU). Default: none. */
  onNote?: (message: string) => void;
  /**
   * Image preprocessing: `exact` (default) decodes at full size and gives the tensor of the model's
   * own processor bit for bit, computing only the centre crop of a bicubic downscale (fused with
   * normalisation, the fastest path); `sharp` gives the same tensor through a sharp resize of the
   * whole image (slower; kept to compare); `shrink` lets libjpeg decode a JPEG at least twice the
   * resize target at 1/2, 1/4 or 1/8 scale before the sharp resize. On COCO photos shrink measured
   * no faster and moved embeddings (mean cosine 0.998, worst 0.955 on the random full-size model),
   * so it is opt-in (README, "Ingest speed").
   */
  preprocess?: "exact" | "sharp" | "shrink";
  /**
   * Decode the next batch of images while the model runs the current one. Default: on when a core
   * is left free by the inference threads (`threads` below the CPU count) or on CUDA, off otherwise.
   * When every core runs inference, decoding beside it preempts the session's threads (one stalled
   * thread holds up each parallel step) and thrashes their caches: on the 2-core dev VM, under
   * load, that cost more CPU time and more wall time than decoding between inference runs.
   */
  overlapDecoding?: boolean;
  /** onnxruntime intra-op threads per session. Default: the number of CPUs. More threads help big batches, not single queries. */
  threads?: number;
  /** Inputs per inference run, 1..256. Default 16 on the CPU, 64 on CUDA. Larger batches are faster per item but hold more memory. */
  batchSize?: number;
  /** Largest accepted image, in pixels (width x height), against decompression bombs. Default 100 MP. */
  maxPixels?: number;
  /** Hub mirror URL. Default: `$HF_ENDPOINT`, else https://huggingface.co/. */
  remoteHost?: string;
  /** A download request fails with MODEL_UNAVAILABLE when no response (or no further data) arrives for this long. Default 30 000 ms. */
  timeoutMs?: number;
  /** Called with download and load progress for each model file. Default: none. */
  onProgress?: (p: ModelProgress) => void;
}

/** A preprocessed image: `3 * height * width` float32 values, channel-major (CHW). */
export interface PixelTensor {
  data: Float32Array;
  height: number;
  width: number;
}
