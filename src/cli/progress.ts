import cliProgress from "cli-progress";

/** A progress reporter: update(done, total), then stop(). */
export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/**
 * A progress bar with count, rate and ETA on stderr, shown only when stderr is a TTY and the
 * output is not JSON; otherwise silent, so pipes and --json stay clean.
 */
export function progressBar(label: string, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} {bar} {value}/{total} | {rate}/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = Date.now();
  let started = false;
  return {
    update(done, total) {
      const rate = (done / Math.max((Date.now() - t0) / 1000, 1e-3)).toFixed(1);
      if (!started) {
        bar.start(total, done, { rate });
        started = true;
      } else bar.update(done, { rate });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
