/** The `--plus-*` / `--minus-*` flags of `clipdb search` (query arithmetic, issue 12). */
import { existsSync } from "node:fs";
import { ClipdbError } from "../core/errors.js";
import type { QueryTerm } from "../collection/index.js";

/** The repeatable term flags, as commander collects them. */
export interface TermFlags {
  plusText?: string[];
  plusImage?: string[];
  plusItem?: string[];
  minusText?: string[];
  minusImage?: string[];
  minusItem?: string[];
}

/** Collects a repeatable option into an array. */
export const collect = (v: string, acc: string[] = []): string[] => [...acc, v];

/**
 * Splits an optional `:weight` suffix off a flag's value: `grass:0.5` → ("grass", 0.5). A value
 * that ends in `:<number>` is read as weighted; an image path that exists as given is taken whole.
 * To search for a text that itself ends in `:2`, add `:1`.
 */
export function splitWeight(v: string, kind: "text" | "image" | "item"): { value: string; weight?: number } {
  const m = /^(.*):([0-9]*\.?[0-9]+)$/s.exec(v);
  if (!m || m[1] === "" || (kind === "image" && existsSync(v))) return { value: v };
  return { value: m[1], weight: Number(m[2]) };
}

function terms(values: string[] | undefined, kind: "text" | "image" | "item", flag: string): QueryTerm[] {
  return (values ?? []).map((v) => {
    const { value, weight } = splitWeight(v, kind);
    if (kind === "image" && !existsSync(value)) throw new ClipdbError("INVALID_ARGUMENT", { name: flag, reason: `'${value}' does not exist` });
    return { [kind]: value, ...(weight === undefined ? {} : { weight }) } as QueryTerm;
  });
}

/** The plus and minus terms of the flags (undefined when none). */
export function termsOf(f: TermFlags): { plus?: QueryTerm[]; minus?: QueryTerm[] } {
  const plus = [...terms(f.plusText, "text", "plus-text"), ...terms(f.plusImage, "image", "plus-image"), ...terms(f.plusItem, "item", "plus-item")];
  const minus = [...terms(f.minusText, "text", "minus-text"), ...terms(f.minusImage, "image", "minus-image"), ...terms(f.minusItem, "item", "minus-item")];
  return { ...(plus.length ? { plus } : {}), ...(minus.length ? { minus } : {}) };
}

/** Whether any term needs the model (a text or an image). */
export function termsNeedModel(f: TermFlags): boolean {
  return [f.plusText, f.plusImage, f.minusText, f.minusImage].some((x) => x?.length);
}
