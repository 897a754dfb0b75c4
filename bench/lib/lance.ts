/** LanceDB 0.37 baseline: a table of (id, vector) in a temp dir, searched with the dot distance. */
import * as lancedb from "@lancedb/lancedb";
import { Field, FixedSizeList, Float32, Int32, RecordBatch, Schema, Struct, Table, makeData } from "apache-arrow";

/** Creates table `name` in `dir` from n * dim vectors (ids = row numbers), in 10k-row batches. */
export async function lanceTable(dir: string, xs: Float32Array, dim: number): Promise<lancedb.Table> {
  const n = xs.length / dim;
  const listType = new FixedSizeList(dim, new Field("item", new Float32(), true));
  const schema = new Schema([new Field("id", new Int32(), false), new Field("vector", listType, false)]);
  const batches: RecordBatch[] = [];
  for (let s = 0; s < n; s += 10_000) {
    const e = Math.min(n, s + 10_000);
    const len = e - s;
    const child = makeData({ type: new Float32(), length: len * dim, data: xs.subarray(s * dim, e * dim) });
    const vec = makeData({ type: listType, length: len, nullCount: 0, child });
    const ids = makeData({ type: new Int32(), length: len, data: Int32Array.from({ length: len }, (_, i) => s + i) });
    batches.push(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: len, nullCount: 0, children: [ids, vec] })));
  }
  const db = await lancedb.connect(dir);
  return db.createTable("vectors", new Table(batches));
}

/** Builds LanceDB's IVF_FLAT index (dot distance) with `nlist` partitions. */
export async function lanceIvf(t: lancedb.Table, nlist: number): Promise<void> {
  await t.createIndex("vector", { config: lancedb.Index.ivfFlat({ numPartitions: nlist, distanceType: "dot" }), replace: true });
}

/** Top-k ids for q: exhaustive (`nprobes` undefined, bypassing any index) or IVF with nprobes. */
export async function lanceSearch(t: lancedb.Table, q: Float32Array, k: number, nprobes?: number): Promise<number[]> {
  let query = t.vectorSearch(q).distanceType("dot").limit(k).select(["id", "_distance"]);
  query = nprobes === undefined ? query.bypassVectorIndex() : query.nprobes(nprobes);
  const rows = (await query.toArray()) as { id: number }[];
  return rows.map((r) => r.id);
}

/** Builds LanceDB's IVF_PQ index (dot distance): `nlist` partitions, `m` sub-vectors of 8 bits. */
export async function lanceIvfPq(t: lancedb.Table, nlist: number, m: number): Promise<void> {
  await t.createIndex("vector", { config: lancedb.Index.ivfPq({ numPartitions: nlist, numSubVectors: m, distanceType: "dot" }), replace: true });
}

/** IVF search with `nprobes` and a float32 re-rank of the best k * refine (LanceDB's refine_factor). */
export async function lanceSearchRefine(t: lancedb.Table, q: Float32Array, k: number, nprobes: number, refine: number): Promise<number[]> {
  let query = t.vectorSearch(q).distanceType("dot").limit(k).select(["id", "_distance"]).nprobes(nprobes);
  if (refine > 0) query = query.refineFactor(refine);
  const rows = (await query.toArray()) as { id: number }[];
  return rows.map((r) => r.id);
}
