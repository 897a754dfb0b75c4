/** BurstReleaser: one collection after a burst of uploads, never during one, never for small ones (fake timers). */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BurstReleaser, exposeGc } from "../../src/server/memory.js";

const MB = 1024 * 1024;

describe("BurstReleaser", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("collects once when uploads stop after enough bytes, and not while one runs", () => {
    let runs = 0;
    const r = new BurstReleaser(64 * MB, 1000, () => runs++);
    for (let i = 0; i < 10; i++) r.started(19 * MB);
    r.settled(3); // uploads still in flight: nothing
    vi.advanceTimersByTime(5000);
    expect(runs).toBe(0);
    r.settled(0);
    vi.advanceTimersByTime(500);
    r.started(19 * MB); // a new upload within the quiet time cancels the pending collection
    r.settled(1);
    vi.advanceTimersByTime(5000);
    expect(runs).toBe(0);
    r.settled(0);
    vi.advanceTimersByTime(999);
    expect(runs).toBe(0);
    vi.advanceTimersByTime(1);
    expect(runs).toBe(1);
    // Nothing new received: no second collection.
    r.settled(0);
    vi.advanceTimersByTime(5000);
    expect(runs).toBe(1);
  });

  it("does not collect after small uploads, and stop() cancels a pending one", () => {
    let runs = 0;
    const r = new BurstReleaser(64 * MB, 1000, () => runs++);
    r.started(1 * MB);
    r.settled(0);
    vi.advanceTimersByTime(5000);
    expect(runs).toBe(0);
    r.started(100 * MB);
    r.settled(0);
    r.stop();
    vi.advanceTimersByTime(5000);
    expect(runs).toBe(0);
  });

  it("finds V8's gc() at run time, without --expose-gc", () => {
    const gc = exposeGc();
    expect(typeof gc).toBe("function");
    expect(() => gc!()).not.toThrow();
  });
});
