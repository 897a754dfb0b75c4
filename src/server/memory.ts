import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Gives the memory of a burst of uploads back to the system once the burst is over.
 *
 * Request bodies arrive as Buffers whose memory V8 frees only at a garbage collection, and an idle
 * server collects nothing: measured, 100 concurrent 19 MB uploads left their last few hundred MB
 * held for minutes after the burst. So once uploads stop (none in flight for `quietMs`) after at
 * least `thresholdBytes` of upload bodies, this runs one full collection. At most one per burst,
 * and never while an upload runs.
 */
export class BurstReleaser {
  private received = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly gc: (() => void) | undefined;

  /**
   * @param thresholdBytes upload bytes since the last collection that make one worth running
   * @param quietMs how long no upload may run before it runs
   * @param gc the collection to run; default V8's gc(), exposed at run time
   */
  constructor(
    readonly thresholdBytes = 64 * 1024 * 1024,
    readonly quietMs = 1000,
    gc: (() => void) | undefined = exposeGc(),
  ) {
    this.gc = gc;
  }

  /** An upload of about `bytes` started (accepted or refused: its body is read either way). */
  started(bytes: number): void {
    this.received += bytes;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The uploads in flight dropped to `inFlight`: at 0, after a big enough burst, collect soon. */
  settled(inFlight: number): void {
    if (inFlight > 0 || this.received < this.thresholdBytes || !this.gc || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.received = 0;
      this.gc?.();
    }, this.quietMs);
    this.timer.unref();
  }

  /** Stops a pending collection (server closing). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** V8's gc(), exposed at run time when Node was not started with --expose-gc; undefined if it cannot be. */
export function exposeGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === "function") return existing;
  try {
    setFlagsFromString("--expose-gc");
    const fn = runInNewContext("gc") as unknown;
    return typeof fn === "function" ? (fn as () => void) : undefined;
  } catch {
    return undefined;
  }
}
