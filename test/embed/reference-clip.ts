/**
 * A plain-loop float64 forward pass of CLIP (Hugging Face CLIPTextModelWithProjection /
 * CLIPVisionModelWithProjection semantics), run on the same seeded weights as the generated
 * ONNX graphs. Slow and obvious on purpose: it is the oracle for the graph builder.
 */
import type { ClipSpec, TowerSpec, Weights } from "../../scripts/lib/clip-spec.js";

type Mat = Float64Array[]; // rows

function get(w: Weights, name: string): Float32Array {
  const t = w.get(name);
  if (!t) throw new Error(`missing ${name}`);
  return t.data;
}

function layerNorm(x: Float64Array, g: Float32Array, b: Float32Array, eps: number): Float64Array {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let varr = 0;
  for (const v of x) varr += (v - mean) ** 2;
  varr /= x.length;
  const inv = 1 / Math.sqrt(varr + eps);
  return Float64Array.from(x, (v, i) => (v - mean) * inv * g[i] + b[i]);
}

/** x [in] @ W [in, out] (+ b). */
function linear(x: Float64Array, W: Float32Array, out: number, b?: Float32Array): Float64Array {
  const y = new Float64Array(out);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    const row = i * out;
    for (let j = 0; j < out; j++) y[j] += xi * W[row + j];
  }
  if (b) for (let j = 0; j < out; j++) y[j] += b[j];
  return y;
}

function layer(xs: Mat, w: Weights, p: string, t: TowerSpec, eps: number, causal: boolean): Mat {
  const D = t.width;
  const H = t.heads;
  const hd = D / H;
  const S = xs.length;
  const h = xs.map((x) => layerNorm(x, get(w, `${p}.ln1.weight`), get(w, `${p}.ln1.bias`), eps));
  const q = h.map((x) => linear(x, get(w, `${p}.q.weight`), D, get(w, `${p}.q.bias`)).map((v) => v / Math.sqrt(hd)));
  const k = h.map((x) => linear(x, get(w, `${p}.k.weight`), D, get(w, `${p}.k.bias`)));
  const v = h.map((x) => linear(x, get(w, `${p}.v.weight`), D, get(w, `${p}.v.bias`)));
  const ctx: Mat = xs.map(() => new Float64Array(D));
  for (let head = 0; head < H; head++) {
    const o = head * hd;
    for (let i = 0; i < S; i++) {
      const scores: number[] = [];
      for (let j = 0; j < S; j++) {
        if (causal && j > i) {
          scores.push(-Infinity);
          continue;
        }
        let s = 0;
        for (let d = 0; d < hd; d++) s += q[i][o + d] * k[j][o + d];
        scores.push(s);
      }
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < S; j++) for (let d = 0; d < hd; d++) ctx[i][o + d] += (e[j] / z) * v[j][o + d];
    }
  }
  const x1 = xs.map((x, i) => {
    const a = linear(ctx[i], get(w, `${p}.o.weight`), D, get(w, `${p}.o.bias`));
    return Float64Array.from(x, (val, d) => val + a[d]);
  });
  return x1.map((x) => {
    const h2 = layerNorm(x, get(w, `${p}.ln2.weight`), get(w, `${p}.ln2.bias`), eps);
    const f1 = linear(h2, get(w, `${p}.fc1.weight`), t.mlp, get(w, `${p}.fc1.bias`)).map((u) => u / (1 + Math.exp(-1.702 * u)));
    const f2 = linear(f1, get(w, `${p}.fc2.weight`), D, get(w, `${p}.fc2.bias`));
    return Float64Array.from(x, (val, d) => val + f2[d]);
  });
}

/** text_embeds (unnormalised) of one sequence of token ids. */
export function referenceText(spec: ClipSpec, w: Weights, ids: number[]): Float64Array {
  const t = spec.text;
  const tok = get(w, "text.token_embedding");
  const pos = get(w, "text.position_embedding");
  let xs: Mat = ids.map((id, s) => Float64Array.from({ length: t.width }, (_, d) => tok[id * t.width + d] + pos[s * t.width + d]));
  for (let l = 0; l < t.layers; l++) xs = layer(xs, w, `text.layers.${l}`, t, spec.layerNormEps, true);
  let eot = 0;
  ids.forEach((id, i) => {
    if (id > ids[eot]) eot = i;
  });
  const pooled = layerNorm(xs[eot], get(w, "text.final_ln.weight"), get(w, "text.final_ln.bias"), spec.layerNormEps);
  return linear(pooled, get(w, "text.projection"), spec.projectionDim);
}

/** image_embeds (unnormalised) of one CHW float32 image of spec.vision.imageSize pixels. */
export function referenceVision(spec: ClipSpec, w: Weights, px: Float32Array): Float64Array {
  const v = spec.vision;
  const P = v.patchSize;
  const S = v.imageSize;
  const g = S / P;
  const D = v.width;
  const conv = get(w, "vision.patch_embedding.weight");
  const cls = get(w, "vision.class_embedding");
  const pos = get(w, "vision.position_embedding");
  let xs: Mat = [Float64Array.from(cls)];
  for (let gy = 0; gy < g; gy++) {
    for (let gx = 0; gx < g; gx++) {
      const e = new Float64Array(D);
      for (let d = 0; d < D; d++) {
        let s = 0;
        for (let c = 0; c < 3; c++)
          for (let ky = 0; ky < P; ky++)
            for (let kx = 0; kx < P; kx++) s += conv[((d * 3 + c) * P + ky) * P + kx] * px[c * S * S + (gy * P + ky) * S + gx * P + kx];
        e[d] = s;
      }
      xs.push(e);
    }
  }
  xs = xs.map((x, i) => Float64Array.from(x, (val, d) => val + pos[i * D + d]));
  xs = xs.map((x) => layerNorm(x, get(w, "vision.pre_ln.weight"), get(w, "vision.pre_ln.bias"), spec.layerNormEps));
  for (let l = 0; l < v.layers; l++) xs = layer(xs, w, `vision.layers.${l}`, v, spec.layerNormEps, false);
  const pooled = layerNorm(xs[0], get(w, "vision.post_ln.weight"), get(w, "vision.post_ln.bias"), spec.layerNormEps);
  return linear(pooled, get(w, "vision.projection"), spec.projectionDim);
}

/** L2-normalised copy. */
export function unit(x: Float64Array): Float64Array {
  const n = Math.sqrt(x.reduce((a, b) => a + b * b, 0));
  return x.map((v) => v / n);
}
