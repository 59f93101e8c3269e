/**
 * The charts over time: throughput (tasks, conflicts and retries per second), each
 * core's busy share, and the store's used and live bytes, over the history kept.
 */

import { LineChart } from "../charts/line-chart";
import * as fmt from "../format";
import type { History } from "../history";
import { ratesBetween } from "../rates";
import { byId } from "./dom";

/** The three charts, made on the first answer (the busy chart again if the cores change). */
export class Trends {
  private throughput: LineChart | null = null;
  private busy: LineChart | null = null;
  private store: LineChart | null = null;

  /** Redraws every chart from `history`. */
  render(history: History): void {
    const newest = history.newest();
    if (newest === undefined) return;
    this.throughput ??= new LineChart(byId("chart-throughput"), {
      series: ["tasks/s", "conflicts/s", "retries/s"],
      format: fmt.rate,
      fillFirst: true,
    });
    const cores = newest.cores.map((c) => `core ${c.core}`);
    if (this.busy === null || this.busy.spec.series.join() !== cores.join()) {
      this.busy?.destroy();
      this.busy = new LineChart(byId("chart-busy"), {
        series: cores,
        format: (v) => `${Math.round(v)} %`,
        range: [0, 100],
      });
    }
    this.store ??= new LineChart(byId("chart-store"), {
      series: ["used bytes", "live bytes"],
      format: fmt.bytes,
      fillFirst: true,
    });

    const times: number[] = [];
    const committed: number[] = [];
    const conflicts: number[] = [];
    const retries: number[] = [];
    const busy: number[][] = cores.map(() => []);
    for (const [before, after] of history.pairs()) {
      const r = ratesBetween(before, after);
      times.push(after.now_ms / 1000);
      committed.push(r.committed);
      conflicts.push(r.conflicts);
      retries.push(r.retries);
      busy.forEach((series, i) => series.push((r.busy[i] ?? 0) * 100));
    }
    this.throughput.update(times, [committed, conflicts, retries]);
    this.busy.update(times, busy);

    const all = history.all();
    this.store.update(
      all.map((s) => s.now_ms / 1000),
      [all.map((s) => s.store.used_bytes), all.map((s) => s.store.live_bytes)],
    );
  }

  /** Removes every chart. */
  clear(): void {
    for (const chart of [this.throughput, this.busy, this.store]) chart?.destroy();
    this.throughput = null;
    this.busy = null;
    this.store = null;
  }
}
