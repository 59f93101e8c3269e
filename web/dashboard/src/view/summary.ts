/** The headline figures (rates over the last second, totals) and the server line. */

import type { Status } from "../api";
import * as fmt from "../format";
import type { Rates } from "../rates";
import { setFigure } from "./dom";

const RATE_FIGURES = [
  ["tasks-per-second", "committed"],
  ["conflicts-per-second", "conflicts"],
  ["retries-per-second", "retries"],
  ["failed-per-second", "failed"],
] as const;

/**
 * Shows the newest answer's totals, and the rates since the answer before it (none yet
 * after the first answer: a rate needs two).
 */
export function renderSummary(status: Status, rates: Rates | undefined): void {
  for (const [id, key] of RATE_FIGURES) {
    if (rates === undefined) setFigure(id, "…");
    else setFigure(id, fmt.rate(rates[key]), rates[key]);
  }
  setFigure("committed-total", fmt.count(status.totals.committed), status.totals.committed);
  setFigure("sessions-live", fmt.count(status.sessions.live), status.sessions.live);
  setFigure("server-version", `version ${status.version}`);
  setFigure("server-node", status.node === null ? "single server" : `node ${status.node}`);
  setFigure("server-uptime", `up ${fmt.uptime(status.uptime_ms)}`, status.uptime_ms);
}

/** Empties every figure. */
export function clearSummary(): void {
  for (const [id] of RATE_FIGURES) setFigure(id, "");
  for (const id of ["committed-total", "sessions-live", "server-version", "server-node", "server-uptime"]) {
    setFigure(id, "");
  }
}
