/**
 * The status answers of the last couple of minutes, from which the charts draw rates: the
 * server's counters are cumulative, so a rate is the difference between two answers over
 * the time between them, by the server's own clock (`now_ms`).
 */

import type { Status } from "./api";

/** How much history the charts keep. */
export const WINDOW_MS = 120_000;

/** The status answers within the window, oldest first. */
export class History {
  private samples: Status[] = [];

  /** @param windowMs - how far back to keep answers, by the server's clock */
  constructor(private readonly windowMs = WINDOW_MS) {}

  /**
   * Adds an answer. One whose uptime is below the newest's comes from a restarted server,
   * whose counters started again from zero: the older answers are dropped. So is one that
   * is not newer than the newest (a reply that overtook another).
   */
  push(status: Status): void {
    const newest = this.newest();
    if (newest !== undefined) {
      if (status.uptime_ms < newest.uptime_ms) this.samples = [];
      else if (status.now_ms <= newest.now_ms) return;
    }
    this.samples.push(status);
    const cutoff = status.now_ms - this.windowMs;
    while (this.samples.length > 2 && (this.samples[0]?.now_ms ?? cutoff) < cutoff) this.samples.shift();
  }

  /** Forgets every answer. */
  clear(): void {
    this.samples = [];
  }

  /** The newest answer. */
  newest(): Status | undefined {
    return this.samples[this.samples.length - 1];
  }

  /** The answer before the newest. */
  previous(): Status | undefined {
    return this.samples[this.samples.length - 2];
  }

  /** The oldest answer kept. */
  oldest(): Status | undefined {
    return this.samples[0];
  }

  /** Every answer kept, oldest first. */
  all(): readonly Status[] {
    return this.samples;
  }

  /** Each pair of successive answers, oldest first: what one rate point is drawn from. */
  *pairs(): Generator<[Status, Status]> {
    for (let i = 1; i < this.samples.length; i++) {
      const before = this.samples[i - 1];
      const after = this.samples[i];
      if (before !== undefined && after !== undefined) yield [before, after];
    }
  }
}
