import type { Modality } from "../core/types.js";
import type { ModalityIndexes } from "../query/index.js";
import type { BaseIndex } from "../index/index.js";
import type { CollectionStore } from "../store/index.js";
import { localKind } from "./kinds.js";

export { defaultNlist } from "./kind-ivf.js";
import type { BuildOptions } from "./kind-types.js";
export type { BuildOptions } from "./kind-types.js";

/** Creates, trains and fills one index of `modality` from its vectors (`offsets`, `xs`), by its kind (see kinds.ts). */
export async function makeIndex(store: CollectionStore, opts: BuildOptions, modality: Modality, offsets: Uint32Array, xs: Float32Array): Promise<{ idx: BaseIndex; spec: string }> {
  return localKind(opts.type).make(store, opts, modality, offsets, xs);
}

/**
 * `sets` (copied) plus in-memory indexes of `opts.type`, built from the stored vectors, for the
 * modalities that have items but no such index (nothing is saved). Evaluation uses it so that it
 * runs on any collection. Returns which were built, as "modality:spec".
 */
export async function withTransient(store: CollectionStore, opts: BuildOptions, base: Map<Modality, ModalityIndexes>): Promise<{ sets: Map<Modality, ModalityIndexes>; built: string[] }> {
  const sets = new Map<Modality, ModalityIndexes>([...base].map(([m, s]) => [m, { flat: s.flat, ann: { ...s.ann } }]));
  const built: string[] = [];
  for (const [modality, set] of sets) {
    await set.flat.prepare?.(false);
    if (set.ann[opts.type] || set.flat.size === 0) continue;
    const { offsets, xs } = await store.vectors(modality);
    const { idx, spec } = await makeIndex(store, opts, modality, offsets, xs);
    set.ann[opts.type] = idx;
    built.push(`${modality}:${spec}`);
  }
  return { sets, built };
}
