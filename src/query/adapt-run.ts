/**
 * One `adapt` run over a collection's pairs: a seeded split of the images into training and
 * held-out, an inner validation split of the training images for early stopping, one adapter per
 * direction trained on the training pairs only, and Recall@1/5/10 of the held-out queries against
 * the whole collection before and after, with a paired bootstrap interval of the R@1 change.
 */
import { ClipdbError } from "../core/errors.js";
import type { Modality } from "../core/types.js";
import type { Direction } from "./eval.js";
import {
  applyAdapter,
  firstHitRanks,
  holdOutImages,
  pairedBootstrapR1,
  recallFromRanks,
  trainAdapter,
  type Adapter,
  type BootstrapInterval,
  type ContrastiveSet,
  type TrainOptions,
  type TrainReport,
} from "./adapter.js";

/** Below this many pairs, `adapt` says that adaptation is unlikely to help. */
export const FEW_PAIRS = 200;

/** Options of {@link runAdapt}. */
export interface AdaptOptions extends TrainOptions {
  /** Fraction of the images (with all their pairs) held out for the before/after measure; default 0.2. */
  holdout?: number;
  /** Seed of the splits and the bootstrap; default 1. */
  seed?: number;
  /** Directions trained; default both. */
  directions?: Direction[];
  /**
   * An adapter is kept only when the lower end of the 95% paired bootstrap interval of the
   * held-out R@1 change is above this; default 0 (the gain must be distinguishable from none).
   */
  minGain?: number;
  /** Bootstrap resamples; default 2000. */
  resamples?: number;
}

/** What the collection gives a run: its pairs, and every live vector of each modality with its offset. */
export interface AdaptData {
  dim: number;
  pairs: { image: Uint32Array; text: Uint32Array };
  gallery: Record<Modality, { offsets: Uint32Array; xs: Float32Array }>;
}

/** Recall@1/5/10 of one measure. */
export interface Recalls {
  "R@1": number;
  "R@5": number;
  "R@10": number;
}

/** The outcome of one direction. */
export interface DirectionOutcome {
  direction: Direction;
  /** Pairs, distinct queries and distinct targets used for training (fit + inner validation). */
  trainPairs: number;
  trainQueries: number;
  /** Held-out queries measured (their pairs were never trained on). */
  heldOutQueries: number;
  heldOutPairs: number;
  before: Recalls;
  after: Recalls;
  r1Gain: BootstrapInterval;
  kept: boolean;
  /** Why it was kept or not, in one sentence. */
  reason: string;
  training: TrainReport;
  adapter?: Adapter;
}

/** The outcome of a run. */
export interface AdaptOutcome {
  pairs: number;
  images: number;
  heldOutImages: number;
  /** The held-out image offsets (sorted). */
  heldOut: number[];
  holdout: number;
  seed: number;
  /** Set when there are fewer than FEW_PAIRS pairs. */
  warning?: string;
  directions: DirectionOutcome[];
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

function recalls(ranks: Int32Array): Recalls {
  return { "R@1": round(recallFromRanks(ranks, 1)), "R@5": round(recallFromRanks(ranks, 5)), "R@10": round(recallFromRanks(ranks, 10)) };
}

/** Rows of `xs` at these offsets (by the offsets' positions in `all`). */
function rows(g: { offsets: Uint32Array; xs: Float32Array }, offsets: number[], dim: number): Float32Array {
  const at = new Map<number, number>();
  g.offsets.forEach((o, i) => at.set(o, i));
  const out = new Float32Array(offsets.length * dim);
  offsets.forEach((o, i) => {
    const r = at.get(o);
    if (r === undefined) throw new ClipdbError("INTERNAL", { reason: `paired offset ${o} has no live vector` });
    out.set(g.xs.subarray(r * dim, (r + 1) * dim), i * dim);
  });
  return out;
}

/** Query offset -> its target offsets, over the given pair indexes. */
function byQuery(data: AdaptData, dir: Direction, idx: number[]): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const i of idx) {
    const [q, t] = dir === "t2i" ? [data.pairs.text[i], data.pairs.image[i]] : [data.pairs.image[i], data.pairs.text[i]];
    let l = m.get(q);
    if (!l) m.set(q, (l = []));
    l.push(t);
  }
  return m;
}

/** A contrastive set whose targets are `targets` (offsets) and whose queries come from `groups`. */
function contrastive(data: AdaptData, dir: Direction, groups: Map<number, number[]>, targets: number[]): ContrastiveSet {
  const qMod: Modality = dir === "t2i" ? "text" : "image";
  const tMod: Modality = dir === "t2i" ? "image" : "text";
  const tAt = new Map(targets.map((o, i) => [o, i]));
  const qs = [...groups.keys()];
  return {
    q: rows(data.gallery[qMod], qs, data.dim),
    x: rows(data.gallery[tMod], targets, data.dim),
    positives: qs.map((q) => groups.get(q)!.map((t) => tAt.get(t)!).filter((t) => t !== undefined)),
  };
}

/**
 * Trains and measures adapters (see the module comment). Held-out pairs are never seen by training:
 * the split is by image, so every caption of a held-out image is held out, and the held-out
 * measure ranks each held-out query against every live target of the collection (the gallery a
 * search sees). Throws INVALID_ARGUMENT with fewer than 10 paired images.
 */
export function runAdapt(data: AdaptData, opts: AdaptOptions = {}): AdaptOutcome {
  const holdout = opts.holdout ?? 0.2;
  const seed = opts.seed ?? 1;
  const minGain = opts.minGain ?? 0;
  const dirs = opts.directions ?? ["t2i", "i2t"];
  const n = data.pairs.image.length;
  const images = new Set(Array.from(data.pairs.image));
  if (images.size < 10) {
    throw new ClipdbError("INVALID_ARGUMENT", {
      name: "collection",
      reason: `it has ${n} image-caption pairs over ${images.size} images; adapting needs at least 10 paired images`,
      hint: "Add images with captions (--captions or sidecar .txt files), or import texts with --pair-ids.",
    });
  }
  const held = holdOutImages(data.pairs.image, holdout, seed);
  const trainImages = [...images].filter((o) => !held.has(o)).sort((a, b) => a - b);
  const inner = holdOutImages(trainImages, 0.15, seed + 1);
  const all = [...Array(n).keys()];
  const testIdx = all.filter((i) => held.has(data.pairs.image[i]));
  const trainIdx = all.filter((i) => !held.has(data.pairs.image[i]));
  const fitIdx = trainIdx.filter((i) => !inner.has(data.pairs.image[i]));
  const valIdx = trainIdx.filter((i) => inner.has(data.pairs.image[i]));
  const out: AdaptOutcome = { pairs: n, images: images.size, heldOutImages: held.size, heldOut: [...held].sort((a, b) => a - b), holdout, seed, directions: [] };
  if (n < FEW_PAIRS) out.warning = `only ${n} pairs: adaptation is unlikely to help with fewer than ${FEW_PAIRS}, and a gain is hard to tell from noise`;

  for (const dir of dirs) {
    const tMod: Modality = dir === "t2i" ? "image" : "text";
    const targetsOf = (idx: number[]) => [...new Set(idx.map((i) => (dir === "t2i" ? data.pairs.image[i] : data.pairs.text[i])))].sort((a, b) => a - b);
    const fitTargets = targetsOf(fitIdx);
    const trainTargets = targetsOf(trainIdx);
    const fit = contrastive(data, dir, byQuery(data, dir, fitIdx), fitTargets);
    // Early stopping ranks the inner-validation queries among all training targets.
    const val = contrastive(data, dir, byQuery(data, dir, valIdx), trainTargets);
    const { adapter, report } = trainAdapter(data.dim, fit, val, opts);

    // Held-out queries against every live target, before and after. A query (say a text paired
    // with a training image too) is held out only when all of its pairs are.
    const trainQ = new Set(byQuery(data, dir, trainIdx).keys());
    const testGroups = new Map([...byQuery(data, dir, testIdx)].filter(([q]) => !trainQ.has(q)));
    const gallery = data.gallery[tMod];
    const gAt = new Map<number, number>();
    gallery.offsets.forEach((o, i) => gAt.set(o, i));
    const qOffs = [...testGroups.keys()];
    const positives = qOffs.map((q) => testGroups.get(q)!.map((t) => gAt.get(t)!));
    const qMod: Modality = dir === "t2i" ? "text" : "image";
    const q = rows(data.gallery[qMod], qOffs, data.dim);
    const before = firstHitRanks(q, gallery.xs, data.dim, positives);
    const after = firstHitRanks(applyAdapter(adapter, q), gallery.xs, data.dim, positives);
    const gain = pairedBootstrapR1(before, after, opts.resamples ?? 2000, seed);
    const r1Gain = { delta: round(gain.delta), lo: round(gain.lo), hi: round(gain.hi), resamples: gain.resamples };
    const kept = qOffs.length > 0 && gain.lo > minGain;
    const pct = (x: number) => `${(x * 100).toFixed(1)}`;
    const reason = !qOffs.length
      ? "no held-out query of this direction (every query is also paired with a training image)"
      : kept
        ? `held-out R@1 rose by ${pct(gain.delta)} points (95% paired bootstrap interval ${pct(gain.lo)} to ${pct(gain.hi)}), above ${pct(minGain)}`
        : `held-out R@1 changed by ${pct(gain.delta)} points (95% interval ${pct(gain.lo)} to ${pct(gain.hi)}): not distinguishable from ${gain.delta < 0 ? "a loss" : "no gain"}, so nothing is stored`;
    out.directions.push({
      direction: dir,
      trainPairs: trainIdx.length,
      trainQueries: trainQ.size,
      heldOutQueries: qOffs.length,
      heldOutPairs: testIdx.length,
      before: recalls(before),
      after: recalls(after),
      r1Gain,
      kept,
      reason,
      training: { ...report, trainLoss: round(report.trainLoss), valLoss: round(report.valLoss), valLoss0: round(report.valLoss0), drift: round(report.drift) },
      adapter: kept ? adapter : undefined,
    });
  }
  return out;
}
