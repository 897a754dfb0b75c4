/**
 * Runs async tasks one at a time, in call order. Used to serialise inference session runs: one
 * run already uses every intra-op thread, so concurrent runs would only fight over the cores.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it has settled; resolves or rejects with its result. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const p = this.tail.then(task, task);
    this.tail = p.catch(() => undefined);
    return p;
  }
}
