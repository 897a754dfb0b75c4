#!/usr/bin/env node
import { Command } from "commander";
import { ClipdbError } from "../core/errors.js";
import { indexChoices } from "../collection/index.js";
import { common, int, print, withCollection } from "./common.js";
import { runAdd, formatSummary } from "./add.js";
import { loadModelFor, runSearch, searchJson, searchTable } from "./search.js";
import { collect } from "./terms.js";
import { calibrationTable } from "./calibrate.js";
import { registerIndex } from "./index-cmd.js";
import { registerServe } from "./serve.js";
import { registerItems } from "./dupes.js";
import { registerEval } from "./eval-cmd.js";
import { registerAdapt } from "./adapt-cmd.js";
import { EXIT, humanBytes, indexTable, reportError } from "./output.js";


const program = new Command()
  .name("clipdb")
  .description("A multimodal database: images and texts in one CLIP vector space, searched exactly or with IVF and HNSW.")
  .version("0.1.0");

common(program.command("add").argument("[paths...]", "image files or folders (recursive)"), true)
  .description("add images (with captions), texts, or precomputed vectors")
  .option("--captions <file>", "captions: COCO JSON, Flickr 'file.jpg#n<TAB>caption', or TSV 'file<TAB>n<TAB>caption'")
  .option("--texts <file>", "texts: one per line, or JSONL {\"id\",\"text\",...metadata}")
  .option("--vectors <file>", "precomputed vectors: .npy (float32/float16, 2-D) or raw little-endian .f32 (needs --dim)")
  .option("--ids <file>", "with --vectors: one id per row")
  .option("--modality <m>", "with --vectors: image or text")
  .option("--pair-ids <file>", "with --vectors --modality text: the image id each text row describes")
  .option("--model-id <id>", "with --vectors: the model the vectors came from")
  .option("--dim <n>", "with .f32 vectors: the dimension", int)
  .option("--prune", "remove items whose files under the given folders are gone")
  .option("--batch-size <n>", "items per committed batch (default 32)", int)
  .option("--encoding <name>", "encoding of --texts and --captions files (default utf-8; e.g. latin1)")
  .option("--skip-duplicates", "skip images that are near-duplicates of stored ones (perceptual hash and embedding) and report them")
  .option("--threshold <cosine>", "with --skip-duplicates: the least embedding cosine (default 0.9)", Number)
  .action(async (paths: string[], f) => {
    const ac = new AbortController();
    const onSigint = () => {
      if (ac.signal.aborted) process.exit(130);
      process.stderr.write("\nstopping after the current batch (Ctrl-C again to quit now)\n");
      ac.abort();
    };
    process.on("SIGINT", onSigint);
    await withCollection(f, true, async (col) => {
      const { summary, code } = await runAdd(col, paths, f, ac.signal);
      print(f, { added: summary.added, skipped: summary.skipped, failed: summary.failed, errors: summary.errors, ...(summary.duplicates ? { duplicates: summary.duplicates } : {}) }, () => formatSummary(summary));
      if (ac.signal.aborted) {
        console.error(new ClipdbError("INTERRUPTED", { reason: "stopped by Ctrl-C" }).message);
        return 130;
      }
      return code;
    });
    process.off("SIGINT", onSigint);
  });

common(program.command("search"), true)
  .description("search by text, image, item id or vector")
  .option("--text <text>", "a text query")
  .option("--image <path>", "an image query")
  .option("--item <id>", "an item of the collection (item -> item)")
  .option("--vector-file <file>", "the first row of a .npy or .f32 file (with --dim)")
  .option("--dim <n>", "dimension of a .f32 --vector-file", int)
  .option("--k <n>", "results", int, 10)
  .option("--modality <m>", "image, text or any", "any")
  .option("--index <kind>", `${indexChoices().join(", ")} (default auto: a built HNSW, else IVF, index above 10,000 vectors per modality, else exact)`)
  .option("--nprobe <n>", "IVF lists probed (default: tuned, else 16)", int)
  .option("--ef <n>", "HNSW search breadth (default: tuned, else 64)", int)
  .option("--where <expr>", "metadata filter, repeatable: key=value, key!=value, key<n, key>=YYYY-MM-DD, 'key in (a,b)'", (v: string, acc: string[] = []) => [...acc, v])
  .option("--sort <order>", "order of the top k: relevance (default), taken (oldest first) or -taken (newest first); undated last")
  .option("--min-relevance <r>", "drop hits with relevance below r (0..1), or 'auto' for the default cutoff 0.3; may return fewer than k")
  .option("--plus-text <text[:w]>", "add a text to the query, with optional weight (repeatable)", collect)
  .option("--plus-image <path[:w]>", "add an image to the query (repeatable)", collect)
  .option("--plus-item <id[:w]>", "add an item's vector to the query (repeatable)", collect)
  .option("--minus-text <text[:w]>", "subtract a text from the query (repeatable)", collect)
  .option("--minus-image <path[:w]>", "subtract an image from the query (repeatable)", collect)
  .option("--minus-item <id[:w]>", "subtract an item's vector from the query (repeatable)", collect)
  .option("--no-adapt", "search with the model's own query vector, not the collection's stored adapter (clipdb adapt)")
  .option("--mode <mode>", "vector (default), keyword (text items by their words) or hybrid (both, fused by reciprocal rank)")
  .option("--offset <n>", "best hits skipped before the k shown (paging; default 0)", int)
  .action(async (f) => {
    await withCollection(f, false, async (col) => {
      const loadMs = await loadModelFor(col, f);
      const r = await runSearch(col, f);
      print(f, searchJson(r, loadMs), () => searchTable(r, loadMs));
    });
  });

common(program.command("rm").argument("<ids...>", "item ids"))
  .description("remove items, their pairs, and their vectors from every index")
  .action(async (ids: string[], f) => {
    await withCollection(f, false, async (col) => {
      const unique = [...new Set(ids)];
      const missing: string[] = [];
      for (const id of unique) if (!(await col.get(id))) missing.push(id);
      const removed = await col.remove(ids);
      const named = missing.length ? `; not found: ${missing.map((m) => `'${m}'`).join(", ")} (ids are as 'clipdb search --json' prints them)` : "";
      print(f, { removed, requested: ids.length, missing }, () => `removed ${removed} of ${ids.length}${named}`);
      return removed < ids.length ? EXIT.partial : EXIT.ok;
    });
  });

common(program.command("calibrate"))
  .description("refit the relevance calibration now and show it (searches refit it by themselves once the collection changed by 20%)")
  .action(async (f) => {
    await withCollection(f, false, async (col) => {
      const cal = await col.calibrate();
      print(f, cal, () => calibrationTable(cal));
    });
  });

common(program.command("stats"))
  .description("counts, model, index state and on-disk size")
  .action(async (f) => {
    await withCollection(f, false, async (col) => {
      const s = await col.stats();
      print(f, s, () =>
        [
          `images  ${s.images}`,
          `texts   ${s.texts}`,
          `pairs   ${s.pairs}`,
          `dim     ${s.dim ?? "-"}`,
          `model   ${s.model ?? "-"}`,
          `size    ${humanBytes(s.bytes)}`,
          s.indexes.length
            ? indexTable(s.indexes)
            : "indexes none (exact search only)",
        ].join("\n"),
      );
    });
  });

registerEval(program, registerIndex(program));
registerItems(program);
registerServe(program);
registerAdapt(program);

// A usage mistake prints its one line and where the help is, not the whole help.
const pointToHelp = (cmd: Command, path: string): void => {
  cmd.showHelpAfterError(`(see '${path} --help')`);
  for (const sub of cmd.commands) pointToHelp(sub, `${path} ${sub.name()}`);
};
pointToHelp(program, "clipdb");

program.parseAsync(process.argv).catch((e) => {
  process.exitCode = reportError(e, process.argv.includes("--debug"));
});
