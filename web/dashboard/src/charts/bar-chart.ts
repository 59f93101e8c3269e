/**
 * A bar chart of a latency histogram's buckets (uPlot): one bar per bucket, labelled by
 * its upper bound.
 */

import uPlot from "uplot";

import { color, translucent } from "./palette";
import { followWidth, sizeIn } from "./fit";
import { count } from "../format";

/** A bar chart in a container element, redrawn with each `update`. */
export class BarChart {
  private readonly plot: uPlot;
  private readonly unfollow: () => void;
  private labels: string[] = [];

  /**
   * @param container - the element the chart fills (its previous content is replaced)
   * @param seriesLabel - what a bar counts, for the legend
   */
  constructor(container: HTMLElement, seriesLabel: string) {
    container.replaceChildren();
    const bars = uPlot.paths.bars;
    const options: uPlot.Options = {
      ...sizeIn(container),
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      legend: { live: true },
      scales: {
        x: { time: false, range: (_u, min, max): uPlot.Range.MinMax => [min - 0.5, max + 0.5] },
        y: { range: (_u, _min, max): uPlot.Range.MinMax => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        {
          stroke: "#333",
          grid: { show: false },
          incrs: [1, 2, 3, 4, 5, 10, 20],
          values: (_u: uPlot, splits: number[]): string[] =>
            splits.map((i) => (Number.isInteger(i) ? (this.labels[i] ?? "") : "")),
        },
        {
          stroke: "#333",
          grid: { stroke: "#e6e6e6" },
          size: 70,
          values: (_u: uPlot, splits: number[]): string[] => splits.map(count),
        },
      ],
      series: [
        { value: (_u: uPlot, i: number | null): string => (i === null ? "–" : (this.labels[i] ?? "")) },
        {
          label: seriesLabel,
          stroke: color(0),
          fill: translucent(color(0), 0.55),
          width: 1,
          points: { show: false },
          value: (_u: uPlot, v: number | null): string => (v === null ? "–" : count(v)),
          ...(bars !== undefined ? { paths: bars({ size: [0.8, 48] }) } : {}),
        },
      ],
    };
    this.plot = new uPlot(options, [[], []], container);
    this.unfollow = followWidth(container, this.plot);
  }

  /**
   * Draws these bars.
   *
   * @param labels - each bar's label
   * @param counts - each bar's height, as many as the labels
   */
  update(labels: string[], counts: number[]): void {
    this.labels = labels;
    this.plot.setData([labels.map((_, i) => i), counts]);
  }

  /** Removes the chart from the page. */
  destroy(): void {
    this.unfollow();
    this.plot.destroy();
  }
}
