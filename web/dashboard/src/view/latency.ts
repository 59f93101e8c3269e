/**
 * One bar chart per latency histogram the server reports, whatever their names, each
 * titled with the histogram's own title and showing what it observed over the history
 * kept.
 */

import type { Histogram } from "../api";
import { bucketLabel, observedSince, occupied, quantileLabel, type Window } from "../buckets";
import { BarChart } from "../charts/bar-chart";
import * as fmt from "../format";
import type { History } from "../history";
import { byId } from "./dom";

/** A histogram's figure on the page. */
interface Shown {
  figure: HTMLElement;
  caption: HTMLElement;
  chart: BarChart;
}

/** The histogram charts, one per name, in `#latency-charts`. */
export class LatencyCharts {
  private readonly shown = new Map<string, Shown>();

  /** Redraws every histogram of the newest answer; removes those no longer reported. */
  render(history: History): void {
    const newest = history.newest();
    if (newest === undefined) return;
    const oldest = history.oldest();
    const names = Object.keys(newest.latency).sort();
    for (const [name, shown] of this.shown) {
      if (!names.includes(name)) {
        shown.chart.destroy();
        shown.figure.remove();
        this.shown.delete(name);
      }
    }
    for (const name of names) {
      const histogram = newest.latency[name];
      if (histogram === undefined) continue;
      const before = oldest === newest ? undefined : oldest?.latency[name];
      this.draw(name, histogram, observedSince(histogram, before));
    }
  }

  private draw(name: string, histogram: Histogram, window: Window): void {
    const shown = this.shown.get(name) ?? this.add(name);
    const { first, last } = occupied(window);
    const labels: string[] = [];
    const counts: number[] = [];
    for (let i = first; i <= last; i++) {
      labels.push(bucketLabel(window.bounds_us, i));
      counts.push(window.counts[i] ?? 0);
    }
    shown.figure.dataset["count"] = String(window.count);
    shown.figure.dataset["total"] = String(histogram.count);
    const summary =
      window.count === 0
        ? "nothing observed"
        : `${fmt.count(window.count)} observed, mean ${fmt.micros(window.sum_us / window.count)}, ` +
          `p50 ${quantileLabel(window, 0.5) ?? "–"}, p99 ${quantileLabel(window, 0.99) ?? "–"}`;
    shown.caption.replaceChildren(strong(histogram.title), document.createTextNode(` — ${summary}`));
    shown.chart.update(labels, counts);
  }

  private add(name: string): Shown {
    const figure = document.createElement("figure");
    figure.className = "histogram";
    figure.dataset["histogram"] = name;
    figure.id = `latency-${name}`;
    const caption = document.createElement("figcaption");
    const area = document.createElement("div");
    area.className = "chart";
    figure.append(caption, area);
    // Keep the figures in name order, whatever order the names first appear in.
    const after = [...this.shown.keys()].sort().find((n) => n > name);
    const container = byId("latency-charts");
    container.insertBefore(figure, after === undefined ? null : (this.shown.get(after)?.figure ?? null));
    const shown = { figure, caption, chart: new BarChart(area, "observations") };
    this.shown.set(name, shown);
    return shown;
  }

  /** Removes every histogram. */
  clear(): void {
    for (const shown of this.shown.values()) {
      shown.chart.destroy();
      shown.figure.remove();
    }
    this.shown.clear();
  }
}

function strong(text: string): HTMLElement {
  const b = document.createElement("strong");
  b.textContent = text;
  return b;
}
