import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { ClipdbError, isClipdbError } from "../core/errors.js";
import type { Modality } from "../core/types.js";
import { checkIndexFile } from "../index/index.js";
import type { CollectionStore } from "../store/index.js";

/** The folder of index files inside a collection folder. */
export const INDEX_DIR = "indexes";

/** A persisted approximate index, as recorded in the store's settings (key "indexes"). */
export interface IndexRecord {
  /** The kind's name (kinds.ts): "ivf", "hnsw". */
  type: string;
  modality: Modality;
  spec: string;
  /** File relative to the collection folder; a new name for every save, so readers never mix files. */
  file: string;
  /** Store generation the file reflects; later changes are replayed from the store's change log. */
  generation: number;
  /** Vectors the file holds (the base of the compaction threshold). */
  size: number;
}

const RECORDS = "indexes";
const LOCK = "index_lock";

/** The index records as stored (a copy), and their raw JSON text for change detection. */
export async function readRecords(store: CollectionStore): Promise<{ raw: string; records: IndexRecord[] }> {
  const raw = (await store.getSettingRaw(RECORDS)) ?? "[]";
  const records = (JSON.parse(raw) as IndexRecord[]).map((r) => ({ ...r, size: r.size ?? 0 }));
  return { raw, records };
}

/** Stores the index records; returns their raw JSON text. Call it holding the index lock. */
export async function writeRecords(store: CollectionStore, records: IndexRecord[]): Promise<string> {
  await store.setSetting(RECORDS, records);
  return (await store.getSettingRaw(RECORDS)) ?? "[]";
}

/** A fresh file name for an index of `type` over `modality` at generation `gen`. */
export function indexFileName(type: string, modality: Modality, gen: number): string {
  return join(INDEX_DIR, `${type}-${modality}-g${gen}-${randomBytes(4).toString("hex")}.idx`);
}

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The collection-wide lock for index files and records (builds, compactions, drops, cleanup), so
 * saves run one at a time across processes. It is a row in the store's settings, claimed in one
 * write transaction, so two processes can never both hold it. A holder that died (kill -9) on
 * this host is detected by its pid and its lock taken over. Writes of items never take it.
 */
export class IndexLock {
  private token: string | null = null;

  constructor(private readonly store: CollectionStore) {}

  /** Claims the lock if it is free or its holder is dead; returns whether it is now held. */
  async tryAcquire(): Promise<boolean> {
    if (this.token) return true;
    const token = randomBytes(8).toString("hex");
    const host = hostname();
    const got = await this.store.transaction(async (tx) => {
      const cur = await tx.getSetting<LockOwner>(LOCK);
      if (cur && !(cur.host === host && !alive(cur.pid))) return false;
      await tx.setSetting(LOCK, { pid: process.pid, host, token, since: new Date().toISOString() } satisfies LockOwner);
      return true;
    });
    if (got) this.token = token;
    return got;
  }

  /**
   * Waits until the lock is claimed, polling every 50 ms, for at most `timeoutMs` (default 30 min:
   * another process's index build); then INTERNAL naming the holder.
   */
  async acquire(timeoutMs = 30 * 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await this.tryAcquire())) {
      if (Date.now() > until) {
        const cur = await this.store.getSetting<LockOwner>(LOCK);
        throw new ClipdbError("INTERNAL", { reason: `another process (pid ${cur?.pid} on ${cur?.host}, since ${cur?.since}) is still building or saving an index of this collection; wait for it to finish and retry` });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Releases the lock if this object holds it. */
  async release(): Promise<void> {
    if (!this.token) return;
    const token = this.token;
    this.token = null;
    await this.store.transaction(async (tx) => {
      if ((await tx.getSetting<LockOwner>(LOCK))?.token === token) await tx.setSetting(LOCK, undefined);
    });
  }

  /** Runs `fn` holding the lock. */
  async with<T>(fn: () => Promise<T> | T, timeoutMs?: number): Promise<T> {
    await this.acquire(timeoutMs);
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }
}

/**
 * Removes what killed saves and replaced indexes left in `<dir>/indexes`: temporary files, and
 * index files no record names. Only with the lock held (skipped when another process holds it,
 * since its temporary files are live). Returns the names removed.
 */
export async function cleanIndexDir(store: CollectionStore, dir: string, lock: IndexLock): Promise<string[]> {
  const folder = join(dir, INDEX_DIR);
  if (!existsSync(folder)) return [];
  const stale = async (): Promise<string[]> => {
    const keep = new Set((await readRecords(store)).records.map((r) => r.file.split(/[\\/]/).pop()!));
    return readdirSync(folder).filter((name) => name.endsWith(".tmp") || (name.endsWith(".idx") && !keep.has(name)));
  };
  // Look first without the lock (a write), so that opening a tidy collection writes nothing.
  if ((await stale()).length === 0 || !(await lock.tryAcquire())) return [];
  try {
    const removed = await stale();
    for (const name of removed) rmSync(join(folder, name), { force: true });
    return removed;
  } finally {
    await lock.release();
  }
}

const checked = new Map<string, { mtimeMs: number; size: number; error: ClipdbError | null }>();

/**
 * A quick structural check of a record's file (exists, header, sizes; not every checksum), cached
 * by file, size and mtime. Returns the INDEX_CORRUPT error, or null when it looks whole.
 */
export function quickCheck(dir: string, rec: IndexRecord): ClipdbError | null {
  const path = join(dir, rec.file);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return indexCorrupt(rec, path, "the file is missing");
  const hit = checked.get(path);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.error;
  let error: ClipdbError | null = null;
  try {
    checkIndexFile(path);
  } catch (e) {
    error = indexCorrupt(rec, path, isClipdbError(e) ? String(e.details.reason ?? e.message) : String(e), e);
  }
  checked.set(path, { mtimeMs: st.mtimeMs, size: st.size, error });
  return error;
}

/** INDEX_CORRUPT for a record's file, with advice that names its type. */
export function indexCorrupt(rec: IndexRecord, path: string, reason: string, cause?: unknown): ClipdbError {
  return new ClipdbError("INDEX_CORRUPT", { path, reason, type: rec.type, modality: rec.modality }, { cause });
}

/** Re-labels an error raised while loading or searching an index as INDEX_CORRUPT of `rec`. */
export function asIndexCorrupt(rec: IndexRecord, dir: string, e: unknown): ClipdbError {
  const path = join(dir, rec.file);
  if (isClipdbError(e, "INDEX_CORRUPT")) return indexCorrupt(rec, path, String(e.details.reason ?? e.message), e);
  return indexCorrupt(rec, path, e instanceof Error ? e.message : String(e), e);
}
