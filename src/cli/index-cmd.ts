import type { Command } from "commander";
import { ClipdbError } from "../core/errors.js";
import { annNames, buildFromSpec } from "../collection/index.js";
import { common, int, print, withCollection } from "./common.js";
import { EXIT, humanBytes, indexTable, table } from "./output.js";

/** Registers `clipdb index build|status|drop`. */
export function registerIndex(program: Command): Command {
  const index = program.command("index").description("build and inspect approximate indexes");
  common(index.command("build"))
    .description("build an approximate index (IVF, IVF with SQ8/PQ/F16 lists, or HNSW; pgvector's on a Postgres collection) per modality from the stored vectors")
    .option("--type <type>", `${annNames().join(" or ")} (or give --spec)`)
    .option("--spec <spec>", "index spec, Faiss-style: IVF1024,Flat, IVF1024,SQ8, IVF1024,SQ4, IVF1024,PQ64, IVF1024,F16, HNSW32 (sets the type and its sizes)")
    .option("--refine <r>", "IVF-PQ/SQ4/SQ8/F16: re-score the best k*r candidates in float32 (default 16 for PQ, 10 for SQ4; 0 = exact in the probed lists)", int)
    .option("--nlist <n>", "IVF lists (default min(4*sqrt(n), n/39), at least 1)", int)
    .option("--m <n>", "HNSW degree (default 32)", int)
    .option("--train-on <which>", "IVF training vectors: image, text, all, or self (each index its own modality; default)", "self")
    .option("--spill <n>", "IVF: lists each vector is stored in (default 1)", int)
    .option("--route <method>", "IVF lists for cross-modal queries: query (query-aware lists; the default when the collection has images and texts) or none (plain k-means)")
    .action(async (f) => {
      await withCollection(f, false, async (col) => {
        if (!["image", "text", "all", "self"].includes(f.trainOn)) throw new ClipdbError("INVALID_ARGUMENT", { name: "train-on", reason: `'${f.trainOn}' is not image, text, all or self` });
        if (f.route !== undefined && f.route !== "none" && f.route !== "query") throw new ClipdbError("INVALID_ARGUMENT", { name: "route", reason: `'${f.route}' is not query or none` });
        const fromSpec: Partial<ReturnType<typeof buildFromSpec>> = f.spec === undefined ? {} : buildFromSpec(f.spec);
        const type = f.type ?? fromSpec.type;
        if (type === undefined) throw new ClipdbError("INVALID_ARGUMENT", { name: "type", reason: "give --type or --spec", hint: `--type ${annNames().join("|")}, or --spec e.g. IVF1024,PQ64.` });
        if (fromSpec.type !== undefined && fromSpec.type !== type) throw new ClipdbError("INVALID_ARGUMENT", { name: "spec", reason: `'${f.spec}' is an index of type ${fromSpec.type}, not ${type}`, hint: "Drop --type, or give a spec of that type." });
        const t0 = performance.now();
        const built = await col.buildIndex({ type, nlist: f.nlist ?? fromSpec.nlist, m: f.m ?? fromSpec.m, trainOn: f.trainOn, spill: f.spill ?? fromSpec.spill, route: f.route ?? fromSpec.route, spec: fromSpec.spec, refine: f.refine });
        const s = ((performance.now() - t0) / 1000).toFixed(2);
        print(f, { built, seconds: Number(s) }, () =>
          built.length ? `${table(["index", "modality", "spec", "size", "bytes", "bytes/vector"], built.map((b) => [b.type, b.modality, b.spec, b.size, humanBytes(b.bytes), b.bytesPerVector === undefined ? "" : Math.round(b.bytesPerVector)]))}\nbuilt in ${s} s` : "nothing to index: the collection is empty",
        );
      });
    });
  common(index.command("status"))
    .description("show built indexes")
    .action(async (f) => {
      await withCollection(f, false, async (col) => {
        const st = await col.indexStatus();
        print(f, { indexes: st }, () =>
          st.length ? indexTable(st) : "no indexes built (exact search only)",
        );
      });
    });
  common(index.command("drop"))
    .description("delete a built index")
    .requiredOption("--type <type>", annNames().join(" or "))
    .action(async (f) => {
      await withCollection(f, false, async (col) => {
        await col.dropIndex(f.type);
        print(f, { dropped: f.type }, () => `dropped ${f.type}`);
      });
    });
  common(index.command("compact"))
    .description("fold the changes made since each index file was written into new files (also done automatically once they pass 10% of the index or 4096 items)")
    .action(async (f) => {
      await withCollection(f, false, async (col) => {
        const t0 = performance.now();
        const compacted = await col.compactIndexes();
        const s = ((performance.now() - t0) / 1000).toFixed(2);
        const damaged = (await col.indexStatus()).filter((b) => b.damaged);
        print(f, { compacted, seconds: Number(s), damaged }, () => `${compacted.length ? `compacted ${compacted.join(", ")} in ${s} s` : "nothing to compact"}${damaged.length ? `\n${indexTable(damaged)}` : ""}`);
        return damaged.length ? EXIT.partial : EXIT.ok;
      });
    });
  return index;
}
