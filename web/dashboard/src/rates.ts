/**
 * Rates from two successive status answers: counts per second, and each core's busy
 * fraction (time spent running batches over the wall time between the answers).
 */

import type { Status, TaskStatus } from "./api";

/** What happened per second between two answers. */
export interface Rates {
  /** Seconds between the answers, by the server's clock. */
  seconds: number;
  /** Tasks committed per second. */
  committed: number;
  conflicts: number;
  retries: number;
  failed: number;
  /** Each core's busy fraction, 0 to 1, in the order of `after.cores`. */
  busy: number[];
}

/** `(now - before) / seconds`, or 0 when no time passed or the counter went back. */
export function perSecond(now: number, before: number, seconds: number): number {
  return seconds > 0 && now >= before ? (now - before) / seconds : 0;
}

/** The rates between `before` and `after` (`after` the later answer). */
export function ratesBetween(before: Status, after: Status): Rates {
  const seconds = (after.now_ms - before.now_ms) / 1000;
  const t0 = before.totals;
  const t1 = after.totals;
  const busy = after.cores.map((core) => {
    const earlier = before.cores.find((c) => c.core === core.core);
    if (earlier === undefined || seconds <= 0) return 0;
    return Math.min(1, perSecond(core.busy_us, earlier.busy_us, seconds) / 1_000_000);
  });
  return {
    seconds,
    committed: perSecond(t1.committed, t0.committed, seconds),
    conflicts: perSecond(t1.conflicts, t0.conflicts, seconds),
    retries: perSecond(t1.retries, t0.retries, seconds),
    failed: perSecond(t1.failed, t0.failed, seconds),
    busy,
  };
}

/** One task type's rates. */
export interface TaskRates {
  commits: number;
  conflicts: number;
  retries: number;
}

/** Each task type's rates between `before` and `after`; types new in `after` count from 0. */
export function taskRatesBetween(before: Status, after: Status): Map<string, TaskRates> {
  const seconds = (after.now_ms - before.now_ms) / 1000;
  const earlier = new Map<string, TaskStatus>(before.tasks.map((t) => [t.task, t]));
  const out = new Map<string, TaskRates>();
  for (const t of after.tasks) {
    const e = earlier.get(t.task);
    out.set(t.task, {
      commits: perSecond(t.commits, e?.commits ?? 0, seconds),
      conflicts: perSecond(t.conflicts, e?.conflicts ?? 0, seconds),
      retries: perSecond(t.retries, e?.retries ?? 0, seconds),
    });
  }
  return out;
}
