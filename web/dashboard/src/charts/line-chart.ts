/**
 * A live line chart over time (uPlot): one x axis of server time, one or more series
 * sharing a y axis.
 */

import uPlot from "uplot";

import { color, translucent } from "./palette";
import { followWidth, sizeIn } from "./fit";

/** A line chart's look: its series' names, and how its y values are written. */
export interface LineChartSpec {
  /** The series' labels, in the order of the values passed to `update`. */
  series: readonly string[];
  /** Writes a y value for the axis and the legend. */
  format: (value: number) => string;
  /** A fixed y range, as `[0, 100]` for percentages; otherwise it fits the data from 0. */
  range?: [number, number];
  /** Fills the area under the first series (for a total among parts). */
  fillFirst?: boolean;
}

/** Seconds since the Unix epoch as the local time of day, `14:05:09`. */
function clock(seconds: number): string {
  const d = new Date(seconds * 1000);
  const two = (n: number): string => n.toString().padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** A line chart in a container element, redrawn with each `update`. */
export class LineChart {
  private readonly plot: uPlot;
  private readonly unfollow: () => void;

  /**
   * @param container - the element the chart fills (its previous content is replaced)
   * @param spec - the series and the formatting
   */
  constructor(
    private readonly container: HTMLElement,
    readonly spec: LineChartSpec,
  ) {
    container.replaceChildren();
    const format = spec.format;
    const range = spec.range;
    const options: uPlot.Options = {
      ...sizeIn(container),
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        x: { time: true },
        y: {
          range:
            range !== undefined
              ? (): uPlot.Range.MinMax => range
              : (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [0, max > 0 ? max * 1.1 : 1],
        },
      },
      axes: [
        {
          stroke: "#333",
          grid: { stroke: "#e6e6e6" },
          // Whole seconds at least: the points are a second apart.
          incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600],
          values: (_u: uPlot, splits: number[]): string[] => splits.map(clock),
        },
        {
          stroke: "#333",
          grid: { stroke: "#e6e6e6" },
          size: 70,
          values: (_u: uPlot, splits: number[]): string[] => splits.map(format),
        },
      ],
      series: [
        { value: (_u: uPlot, v: number | null): string => (v === null ? "–" : clock(v)) },
        ...spec.series.map(
          (label, i): uPlot.Series => ({
            label,
            stroke: color(i),
            width: 2,
            points: { show: false },
            value: (_u: uPlot, v: number | null): string => (v === null ? "–" : format(v)),
            ...(spec.fillFirst === true && i === 0 ? { fill: translucent(color(i), 0.12) } : {}),
          }),
        ),
      ],
    };
    this.plot = new uPlot(options, [[], ...spec.series.map(() => [])], container);
    this.unfollow = followWidth(container, this.plot);
  }

  /**
   * Draws these points.
   *
   * @param times - the x values, server time in seconds since the Unix epoch
   * @param values - one array per series, each as long as `times`
   */
  update(times: number[], values: number[][]): void {
    this.container.dataset["points"] = String(times.length);
    this.plot.setData([times, ...values]);
  }

  /** Removes the chart from the page. */
  destroy(): void {
    this.unfollow();
    this.plot.destroy();
    this.container.replaceChildren();
    delete this.container.dataset["points"];
  }
}
