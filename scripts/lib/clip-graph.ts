/**
 * ONNX graphs of CLIP's two towers, written out op by op (opset 17):
 *
 * - vision: Conv patch embedding (stride = patch), class token, position embeddings, pre-LN,
 *   transformer layers, post-LN on the class token, visual projection -> `image_embeds`;
 * - text: token + position embeddings, causal mask, transformer layers, final LN, pooling at
 *   the end-of-text token (argmax of input_ids, as Hugging Face CLIP does for the original
 *   vocabulary), text projection -> `text_embeds`.
 *
 * Each layer: x + Attn(LN1(x)), then x + MLP(LN2(x)); attention is multi-head, written with
 * MatMul/Reshape/Transpose/Softmax; the MLP uses quick_gelu, x * sigmoid(1.702 x).
 *
 * With `q8`, every linear layer is dynamically quantised the way onnxruntime's
 * `quantize_dynamic` does it (DynamicQuantizeLinear + MatMulInteger, int8 weights with one
 * per-tensor scale); embeddings and the patch Conv stay fp32.
 */
import { DT, GraphBuilder, af, ai, aints } from "./onnx-builder.js";
import type { ClipSpec, TowerSpec, Weights } from "./clip-spec.js";

/** Graph options. */
export interface GraphOptions {
  /** Write int8 weight-quantised linear layers (the `_quantized.onnx` variant). */
  q8?: boolean;
}

class Tower {
  constructor(
    readonly g: GraphBuilder,
    readonly w: Weights,
    readonly eps: number,
    readonly q8: boolean,
  ) {}

  param(name: string, dims?: number[]): string {
    const t = this.w.get(name);
    if (!t) throw new Error(`missing weight ${name}`);
    return this.g.weight(name, dims ?? t.dims, t.data);
  }

  layerNorm(x: string, p: string): string {
    return this.g.op("LayerNormalization", [x, this.param(`${p}.weight`), this.param(`${p}.bias`)], { axis: ai(-1), epsilon: af(this.eps) });
  }

  /** x @ W (+ b); W is [in, out]. */
  linear(x: string, wName: string, bName?: string): string {
    const g = this.g;
    let y: string;
    if (!this.q8) {
      y = g.op("MatMul", [x, this.param(wName)]);
    } else {
      const t = this.w.get(wName);
      if (!t) throw new Error(`missing weight ${wName}`);
      let amax = 0;
      for (const v of t.data) amax = Math.max(amax, Math.abs(v));
      const scale = amax / 127 || 1;
      const q = new Int8Array(t.data.length);
      for (let i = 0; i < q.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(t.data[i] / scale)));
      const wq = g.tensor(`${wName}_quantized`, t.dims, DT.INT8, q);
      const ws = g.tensor(`${wName}_scale`, [], DT.FLOAT, Float32Array.of(scale));
      const wzp = g.tensor(`${wName}_zero_point`, [], DT.INT8, Int8Array.of(0));
      const [xq, xs, xzp] = g.opN("DynamicQuantizeLinear", [x], 3);
      const acc = g.op("MatMulInteger", [xq, wq, xzp, wzp]);
      const accF = g.op("Cast", [acc], { to: ai(DT.FLOAT) });
      y = g.op("Mul", [accF, g.op("Mul", [xs, ws])]);
    }
    return bName ? g.op("Add", [y, this.param(bName)]) : y;
  }

  /** One pre-LN transformer layer; `mask` is added to the attention scores when given. */
  layer(x: string, p: string, t: TowerSpec, mask?: string): string {
    const g = this.g;
    const D = t.width;
    const H = t.heads;
    const hd = D / H;
    if (!Number.isInteger(hd)) throw new Error(`width ${D} is not divisible by ${H} heads`);
    const h = this.layerNorm(x, `${p}.ln1`);
    const q = g.op("Mul", [this.linear(h, `${p}.q.weight`, `${p}.q.bias`), g.scalar(1 / Math.sqrt(hd))]);
    const k = this.linear(h, `${p}.k.weight`, `${p}.k.bias`);
    const v = this.linear(h, `${p}.v.weight`, `${p}.v.bias`);
    const split = g.int64([0, 0, H, hd]); // [B, S, D] -> [B, S, H, hd]
    const qh = g.op("Transpose", [g.op("Reshape", [q, split])], { perm: aints([0, 2, 1, 3]) }); // [B, H, S, hd]
    const kt = g.op("Transpose", [g.op("Reshape", [k, split])], { perm: aints([0, 2, 3, 1]) }); // [B, H, hd, S]
    const vh = g.op("Transpose", [g.op("Reshape", [v, split])], { perm: aints([0, 2, 1, 3]) }); // [B, H, S, hd]
    let scores = g.op("MatMul", [qh, kt]); // [B, H, S, S]
    if (mask) scores = g.op("Add", [scores, mask]);
    const probs = g.op("Softmax", [scores], { axis: ai(-1) });
    const ctx = g.op("MatMul", [probs, vh]); // [B, H, S, hd]
    const merged = g.op("Reshape", [g.op("Transpose", [ctx], { perm: aints([0, 2, 1, 3]) }), g.int64([0, 0, D])]);
    const x1 = g.op("Add", [x, this.linear(merged, `${p}.o.weight`, `${p}.o.bias`)]);
    const h2 = this.layerNorm(x1, `${p}.ln2`);
    const f1 = this.linear(h2, `${p}.fc1.weight`, `${p}.fc1.bias`);
    const act = g.op("Mul", [f1, g.op("Sigmoid", [g.op("Mul", [f1, g.scalar(1.702)])])]); // quick_gelu
    return g.op("Add", [x1, this.linear(act, `${p}.fc2.weight`, `${p}.fc2.bias`)]);
  }
}

/** The vision tower: pixel_values [batch, 3, H, W] float32 -> image_embeds [batch, projection_dim]. */
export function buildVisionGraph(spec: ClipSpec, w: Weights, opts: GraphOptions = {}): GraphBuilder {
  const g = new GraphBuilder("clip_vision_model");
  const tw = new Tower(g, w, spec.layerNormEps, opts.q8 ?? false);
  const v = spec.vision;
  const D = v.width;
  const pixels = g.input("pixel_values", DT.FLOAT, ["batch_size", 3, v.imageSize, v.imageSize]);
  const conv = g.op("Conv", [pixels, tw.param("vision.patch_embedding.weight")], {
    kernel_shape: aints([v.patchSize, v.patchSize]),
    strides: aints([v.patchSize, v.patchSize]),
  }); // [B, D, g, g]
  const patches = g.op("Transpose", [g.op("Reshape", [conv, g.int64([0, D, -1])])], { perm: aints([0, 2, 1]) }); // [B, N, D]
  const batch = g.op("Shape", [pixels], { start: ai(0), end: ai(1) }); // [1]
  const clsShape = g.op("Concat", [batch, g.int64([1, D])], { axis: ai(0) });
  const cls = g.op("Expand", [tw.param("vision.class_embedding", [1, 1, D]), clsShape]); // [B, 1, D]
  let x = g.op("Concat", [cls, patches], { axis: ai(1) }); // [B, N+1, D]
  x = g.op("Add", [x, tw.param("vision.position_embedding")]);
  x = tw.layerNorm(x, "vision.pre_ln");
  for (let l = 0; l < v.layers; l++) x = tw.layer(x, `vision.layers.${l}`, v);
  const pooled = g.op("Gather", [x, g.int64([0], [])], { axis: ai(1) }); // class token [B, D]
  const normed = tw.layerNorm(pooled, "vision.post_ln");
  g.op("MatMul", [normed, tw.param("vision.projection")], {}, "image_embeds");
  g.output("image_embeds", DT.FLOAT, ["batch_size", spec.projectionDim]);
  return g;
}

/** The text tower: input_ids [batch, sequence] int64 -> text_embeds [batch, projection_dim]. */
export function buildTextGraph(spec: ClipSpec, w: Weights, opts: GraphOptions = {}): GraphBuilder {
  const g = new GraphBuilder("clip_text_model");
  const tw = new Tower(g, w, spec.layerNormEps, opts.q8 ?? false);
  const t = spec.text;
  const ids = g.input("input_ids", DT.INT64, ["batch_size", "sequence_length"]);
  const tokens = g.op("Gather", [tw.param("text.token_embedding"), ids], { axis: ai(0) }); // [B, S, D]
  const seqLen = g.op("Shape", [ids], { start: ai(1), end: ai(2) }); // [1]
  const positions = g.op("Slice", [tw.param("text.position_embedding"), g.int64([0]), seqLen, g.int64([0])]); // [S, D]
  let x = g.op("Add", [tokens, positions]);

  // Causal mask: 0 on and below the diagonal, float32 min above (as Hugging Face CLIP).
  const C = t.contextLength;
  const full = new Float32Array(C * C);
  for (let i = 0; i < C; i++) for (let j = i + 1; j < C; j++) full[i * C + j] = -3.4028234663852886e38;
  const maskAll = g.tensor("text.causal_mask", [C, C], DT.FLOAT, full);
  const ends = g.op("Concat", [seqLen, seqLen], { axis: ai(0) });
  const mask = g.op("Slice", [maskAll, g.int64([0, 0]), ends, g.int64([0, 1])]); // [S, S]

  for (let l = 0; l < t.layers; l++) x = tw.layer(x, `text.layers.${l}`, t, mask);
  x = tw.layerNorm(x, "text.final_ln");
  const eot = g.op("ArgMax", [ids], { axis: ai(1), keepdims: ai(1) }); // [B, 1]: first position of the highest id (<|endoftext|>)
  const pooled = g.op("GatherND", [x, eot], { batch_dims: ai(1) }); // [B, D]
  g.op("MatMul", [pooled, tw.param("text.projection")], {}, "text_embeds");
  g.output("text_embeds", DT.FLOAT, ["batch_size", spec.projectionDim]);
  return g;
}
