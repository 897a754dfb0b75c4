/**
 * embed: models and images. `loadEmbedder` gives an {@link Embedder} over a CLIP-family model
 * (transformers.js on onnxruntime-node); image.ts decodes images with sharp; preprocess.ts turns
 * them into model tensors.
 */
export * from "./types.js";
export { loadEmbedder, sessionOptions, DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE } from "./embedder.js";
export { DEFAULT_MODEL, DEFAULT_TIMEOUT_MS, defaultCacheDir, offlineFromEnv, resolveModelSource, type ModelSource } from "./model-source.js";
export {
  DEFAULT_MAX_PIXELS,
  decodeImage,
  imageLabel,
  thumbnailJpeg,
  type DecodeOptions,
  type DecodedImage,
  type ThumbnailOptions,
} from "./image.js";
export { ImagePreprocessor, planFastPath, resizeTarget, type FastPlan, type PreprocessMode } from "./preprocess.js";
export { cubicResizeCrop } from "./cubic-crop.js";
export { PHASH_BITS, hammingHex, perceptualHash, phashOfGrey } from "./phash.js";
export { cameraBrand, exifDate, imageMeta, type ImageMeta } from "./imagemeta.js";
