/**
 * Shapes of the generated CLIP models and their seeded random weights.
 *
 * The weights follow Hugging Face CLIP's parameter list (ViT with class token, pre-LN and
 * post-LN, text transformer with causal mask and final LN, two projections). Linear weights are
 * stored as [in, out] (the B operand of MatMul), i.e. transposed from PyTorch's [out, in].
 */
import { Rng } from "./rng.js";

/** One transformer tower. */
export interface TowerSpec {
  width: number;
  layers: number;
  heads: number;
  /** MLP hidden size (CLIP: 4 x width). */
  mlp: number;
}

/** A whole CLIP model. */
export interface ClipSpec {
  /** Name written into config.json (`_name_or_path`). */
  name: string;
  seed: number;
  vision: TowerSpec & { imageSize: number; patchSize: number };
  text: TowerSpec & { vocabSize: number; contextLength: number };
  projectionDim: number;
  layerNormEps: number;
}

/** The tiny model used by the tests: real architecture, a few MB. */
export const TINY_SPEC: ClipSpec = {
  name: "clipdb/tiny-random-clip",
  seed: 42,
  vision: { imageSize: 224, patchSize: 32, width: 64, layers: 2, heads: 4, mlp: 256 },
  text: { vocabSize: 49408, contextLength: 77, width: 32, layers: 2, heads: 4, mlp: 128 },
  projectionDim: 32,
  layerNormEps: 1e-5,
};

/** Full-size ViT-B/32 + CLIP text transformer (87.8M + 63.4M parameters), for benchmarks. */
export const FULL_SPEC: ClipSpec = {
  name: "clipdb/random-clip-vit-base-patch32",
  seed: 42,
  vision: { imageSize: 224, patchSize: 32, width: 768, layers: 12, heads: 12, mlp: 3072 },
  text: { vocabSize: 49408, contextLength: 77, width: 512, layers: 12, heads: 8, mlp: 2048 },
  projectionDim: 512,
  layerNormEps: 1e-5,
};

/** A named float tensor. */
export interface Weight {
  dims: number[];
  data: Float32Array;
}

/** All weights of one model by name (`vision.*`, `text.*`). */
export type Weights = Map<string, Weight>;

/** Number of float parameters in a set of weights whose names start with `prefix`. */
export function countParams(w: Weights, prefix: string): number {
  let n = 0;
  for (const [k, v] of w) if (k.startsWith(prefix)) n += v.data.length;
  return n;
}

function towerWeights(w: Weights, seed: number, p: string, t: TowerSpec): void {
  const normal = (name: string, dims: number[], std: number, mean = 0): void => {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    Rng.forTensor(seed, name).fillNormal(data, std, mean);
    w.set(name, { dims, data });
  };
  const D = t.width;
  for (let l = 0; l < t.layers; l++) {
    const q = `${p}.layers.${l}`;
    normal(`${q}.ln1.weight`, [D], 0.02, 1);
    normal(`${q}.ln1.bias`, [D], 0.02);
    for (const m of ["q", "k", "v", "o"]) {
      normal(`${q}.${m}.weight`, [D, D], 1 / Math.sqrt(D));
      normal(`${q}.${m}.bias`, [D], 0.02);
    }
    normal(`${q}.ln2.weight`, [D], 0.02, 1);
    normal(`${q}.ln2.bias`, [D], 0.02);
    normal(`${q}.fc1.weight`, [D, t.mlp], 1 / Math.sqrt(D));
    normal(`${q}.fc1.bias`, [t.mlp], 0.02);
    normal(`${q}.fc2.weight`, [t.mlp, D], 1 / Math.sqrt(t.mlp));
    normal(`${q}.fc2.bias`, [D], 0.02);
  }
}

/** Generates every weight of `spec` from its seed. Same spec -> same values. */
export function makeWeights(spec: ClipSpec): Weights {
  const w: Weights = new Map();
  const seed = spec.seed;
  const normal = (name: string, dims: number[], std: number, mean = 0): void => {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    Rng.forTensor(seed, name).fillNormal(data, std, mean);
    w.set(name, { dims, data });
  };
  const v = spec.vision;
  const grid = v.imageSize / v.patchSize;
  if (!Number.isInteger(grid)) throw new Error(`image size ${v.imageSize} is not a multiple of patch size ${v.patchSize}`);
  normal("vision.patch_embedding.weight", [v.width, 3, v.patchSize, v.patchSize], 1 / Math.sqrt(3 * v.patchSize * v.patchSize));
  normal("vision.class_embedding", [v.width], 1 / Math.sqrt(v.width));
  normal("vision.position_embedding", [grid * grid + 1, v.width], 0.02);
  normal("vision.pre_ln.weight", [v.width], 0.02, 1);
  normal("vision.pre_ln.bias", [v.width], 0.02);
  towerWeights(w, seed, "vision", v);
  normal("vision.post_ln.weight", [v.width], 0.02, 1);
  normal("vision.post_ln.bias", [v.width], 0.02);
  normal("vision.projection", [v.width, spec.projectionDim], 1 / Math.sqrt(v.width));

  const t = spec.text;
  normal("text.token_embedding", [t.vocabSize, t.width], 0.02);
  normal("text.position_embedding", [t.contextLength, t.width], 0.01);
  towerWeights(w, seed, "text", t);
  normal("text.final_ln.weight", [t.width], 0.02, 1);
  normal("text.final_ln.bias", [t.width], 0.02);
  normal("text.projection", [t.width, spec.projectionDim], 1 / Math.sqrt(t.width));
  return w;
}
