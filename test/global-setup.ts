/**
 * Vitest global setup: generates the tiny CLIP test model once into `<repo>/.cache/test-model`,
 * reusing it when it is already there and complete (see scripts/lib/make-model.ts).
 */
import { ensureClipModel } from "../scripts/lib/make-model.js";
import { testModelDir } from "./fixtures/model.js";

export default function setup(): void {
  ensureClipModel(testModelDir());
}
