/**
 * Keeps a chart as wide as its container: uPlot draws on a canvas of a given size, so the
 * page tells it when the container changes width.
 */

import type uPlot from "uplot";

/** The chart height in CSS pixels; the width follows the container. */
export const CHART_HEIGHT = 220;

/** The size a chart in `container` should have now. */
export function sizeIn(container: HTMLElement): { width: number; height: number } {
  // Before layout (or while hidden) the container has no width; draw at a usual size.
  return { width: Math.max(200, container.clientWidth || 480), height: CHART_HEIGHT };
}

/** Resizes `plot` whenever `container` changes width; returns how to stop. */
export function followWidth(container: HTMLElement, plot: uPlot): () => void {
  let width = container.clientWidth;
  const observer = new ResizeObserver(() => {
    if (container.clientWidth === width || container.clientWidth === 0) return;
    width = container.clientWidth;
    plot.setSize(sizeIn(container));
  });
  observer.observe(container);
  return () => observer.disconnect();
}
