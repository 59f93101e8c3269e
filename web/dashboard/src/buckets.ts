/**
 * Arithmetic on the admin API's latency histograms: what was observed between two
 * answers, bucket labels, and quantiles read off the buckets.
 */

import type { Histogram } from "./api";
import { micros } from "./format";

/** The observations of a window: each bucket's count, and their number and sum. */
export interface Window {
  bounds_us: number[];
  counts: number[];
  count: number;
  sum_us: number;
}

/**
 * What `after` observed since `before` (both cumulative, `before` the older); all of
 * `after` when there is no `before`, or when the two do not line up (other bounds, or
 * counts that went back, as after a restart).
 */
export function observedSince(after: Histogram, before: Histogram | undefined): Window {
  const same =
    before !== undefined &&
    before.bounds_us.length === after.bounds_us.length &&
    before.bounds_us.every((b, i) => b === after.bounds_us[i]) &&
    before.count <= after.count;
  if (!same) {
    return { bounds_us: after.bounds_us, counts: after.counts, count: after.count, sum_us: after.sum_us };
  }
  return {
    bounds_us: after.bounds_us,
    counts: after.counts.map((c, i) => Math.max(0, c - (before.counts[i] ?? 0))),
    count: after.count - before.count,
    sum_us: Math.max(0, after.sum_us - before.sum_us),
  };
}

/** Bucket `i`'s label: `< 8 µs` up to its bound, `≥ 8 µs` for the last. */
export function bucketLabel(bounds: readonly number[], i: number): string {
  const upper = bounds[i];
  if (upper !== undefined) return `< ${micros(upper)}`;
  const last = bounds[bounds.length - 1];
  return last === undefined ? "all" : `≥ ${micros(last)}`;
}

/**
 * The bucket holding quantile `q` (0 to 1) of the window's observations, as its label
 * (the quantile lies below that bound), or `null` when nothing was observed.
 */
export function quantileLabel(w: Window, q: number): string | null {
  const total = w.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < w.counts.length; i++) {
    seen += w.counts[i] ?? 0;
    if (seen >= rank) return bucketLabel(w.bounds_us, i);
  }
  return bucketLabel(w.bounds_us, w.counts.length - 1);
}

/**
 * The range of buckets worth drawing: from the first to the last that counted anything
 * (all of them when none did), so that empty tails do not squeeze the bars.
 */
export function occupied(w: Window): { first: number; last: number } {
  let first = w.counts.findIndex((c) => c > 0);
  let last = w.counts.length - 1;
  while (last > 0 && (w.counts[last] ?? 0) === 0) last -= 1;
  if (first < 0) {
    first = 0;
    last = w.counts.length - 1;
  }
  return { first, last };
}
