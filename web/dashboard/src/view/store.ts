/** The store's figures: segments, keys, bytes used and live, syncs and compaction. */

import type { Status } from "../api";
import * as fmt from "../format";
import { setFigure } from "./dom";

const COUNTS = [
  ["store-segments", "segments"],
  ["store-keys", "keys"],
  ["store-last-seq", "last_seq"],
  ["store-durable-seq", "durable_seq"],
  ["store-syncs", "syncs"],
  ["store-compactions", "compacted_segments"],
] as const;

const SIZES = [
  ["store-used", "used_bytes"],
  ["store-live", "live_bytes"],
  ["store-reclaimed", "reclaimed_bytes"],
] as const;

/** Shows the store figures of a status answer. */
export function renderStore(status: Status): void {
  const store = status.store;
  for (const [id, key] of COUNTS) setFigure(id, fmt.count(store[key]), store[key]);
  for (const [id, key] of SIZES) setFigure(id, fmt.bytes(store[key]), store[key]);
}

/** Empties every figure. */
export function clearStore(): void {
  for (const [id] of [...COUNTS, ...SIZES]) setFigure(id, "");
}
