import path from "node:path";
import type { CollectionStats, ItemView } from "../collection/types.js";

/**
 * What clients see of server paths: nothing. Items show their file name, the model its id (a local
 * model folder: its folder name), and messages name the collection and model folders by their
 * folder names. The server itself keeps using the full paths (images are served by id).
 */

const isAbsolutePath = (p: string): boolean => path.isAbsolute(p);
const folderName = (p: string): string => path.basename(p.replace(/[\\/]+$/, "")) || p;

/** A file path as a client sees it: its file name. `null` stays `null`. */
export function publicPath(p: string | null): string | null {
  if (p === null) return null;
  return path.basename(p) || p;
}

/**
 * A model as a client sees it: a hub id as is ("Xenova/clip-vit-base-patch32"), a local model
 * folder by its folder name ("clip-vit-b32"), never the absolute folder.
 */
export function publicModel(modelId: string | null): string | null {
  if (modelId === null) return null;
  if (!isAbsolutePath(modelId) && !modelId.startsWith(".")) return modelId;
  return folderName(modelId);
}

/** An item with its path shown as a file name. */
export function publicItem<T extends Pick<ItemView, "path">>(item: T): T {
  return { ...item, path: publicPath(item.path) };
}

/**
 * Replaces the given server folders (collection folder, model folder) in a message with their
 * folder names, so error texts and index states never carry absolute paths.
 */
export function hidePaths(text: string, folders: readonly (string | null | undefined)[]): string {
  let out = text;
  const known = folders.filter((f): f is string => typeof f === "string" && isAbsolutePath(f)).sort((a, b) => b.length - a.length);
  for (const f of known) {
    if (f.length > 1) out = out.split(f).join(folderName(f));
  }
  return out;
}

/** Collection stats as a client sees them: the model by id, index states without server paths. */
export function publicStats(stats: CollectionStats, folders: readonly (string | null | undefined)[]): CollectionStats {
  return {
    ...stats,
    model: publicModel(stats.model),
    indexes: stats.indexes.map((i) => (i.damaged === undefined ? i : { ...i, damaged: hidePaths(i.damaged, folders) })),
  };
}
