/**
 * How the page writes numbers: grouped digits, rates with a sensible precision, bytes and
 * durations in readable units. One locale for every reader, so that figures read alike.
 */

const whole = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

/** A count: `1,234,567`. */
export function count(n: number): string {
  return whole.format(n);
}

/** A rate per second: whole above 100, one decimal below. */
export function rate(perSecond: number): string {
  return Math.abs(perSecond) >= 100 ? whole.format(perSecond) : oneDecimal.format(perSecond);
}

/** A percentage of 0 to 1: `42.5 %`. */
export function percent(fraction: number): string {
  return `${oneDecimal.format(fraction * 100)} %`;
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** Bytes in binary units: `12.3 MiB`. */
export function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? whole.format(value) : oneDecimal.format(value)} ${BYTE_UNITS[unit]}`;
}

/** Microseconds in the unit that suits them: `850 µs`, `12.5 ms`, `3.2 s`. */
export function micros(us: number): string {
  if (us < 1000) return `${oneDecimal.format(us)} µs`;
  if (us < 1_000_000) return `${oneDecimal.format(us / 1000)} ms`;
  return `${oneDecimal.format(us / 1_000_000)} s`;
}

/** A duration in milliseconds as days, hours, minutes and seconds: `2 h 05 min 09 s`. */
export function uptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  const two = (n: number): string => n.toString().padStart(2, "0");
  if (days > 0) return `${days} d ${two(hours)} h ${two(minutes)} min`;
  if (hours > 0) return `${hours} h ${two(minutes)} min ${two(seconds)} s`;
  if (minutes > 0) return `${minutes} min ${two(seconds)} s`;
  return `${seconds} s`;
}
