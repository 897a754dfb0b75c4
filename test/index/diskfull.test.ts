/**
 * A full disk while an index file is written (or while unsaved vectors move to their scratch file)
 * is DISK_FULL naming the file, not an internal error, and leaves no temp file behind. The ENOSPC
 * is real: Linux's /dev/full refuses every write with it.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { diskFull, writeAtomic } from "../../src/index/fileio.js";

const hasDevFull = fs.existsSync("/dev/full");

/** The error a write to a full disk really throws. */
function enospc(): unknown {
  const fd = fs.openSync("/dev/full", "w");
  try {
    fs.writeSync(fd, Buffer.alloc(16));
  } catch (e) {
    return e;
  } finally {
    fs.closeSync(fd);
  }
  throw new Error("/dev/full accepted a write");
}

describe.skipIf(!hasDevFull)("a full disk", () => {
  it("is DISK_FULL naming the file, keeping the system error as its cause; other errors pass unchanged", () => {
    const e = enospc();
    expect((e as { code: string }).code).toBe("ENOSPC");
    expect(diskFull(e, "/data/x.idx")).toMatchObject({ code: "DISK_FULL", details: { path: "/data/x.idx" }, cause: e });
    const other = Object.assign(new Error("no"), { code: "EACCES" });
    expect(diskFull(other, "/data/x.idx")).toBe(other);
  });

  it("while an index file is written: DISK_FULL, and the temp file is removed", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clipdb-diskfull-"));
    try {
      const file = path.join(dir, "ivf.idx");
      await expect(
        writeAtomic(file, (w) => {
          w.write(new Uint8Array(64));
          throw enospc();
        }),
      ).rejects.toMatchObject({ code: "DISK_FULL", details: { path: file } });
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
