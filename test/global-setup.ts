/** Vitest global setup: nothing shared yet; generated models are made by test/fixtures helpers on demand. */
export default function setup(): void {}
