/** The colors of chart series, in order: distinct on a light background, also in grey. */
export const PALETTE: readonly string[] = [
  "#1f5fa8",
  "#c0392b",
  "#d68910",
  "#1e8449",
  "#7d3c98",
  "#117a8b",
  "#6e2c00",
  "#566573",
];

/** The color of series `i`, cycling through the palette. */
export function color(i: number): string {
  return PALETTE[i % PALETTE.length] ?? "#333333";
}

/** `hex` (as `#rrggbb`) at `alpha` opacity, for area fills under a line or bar. */
export function translucent(hex: string, alpha: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
