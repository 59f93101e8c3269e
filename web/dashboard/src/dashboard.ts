/**
 * The dashboard's views together: what one round of answers changes on the page, and
 * emptying it all when the server refuses the token.
 */

import { History } from "./history";
import type { Round } from "./poll";
import { ratesBetween } from "./rates";
import { byId } from "./view/dom";
import { clearCluster, renderCluster } from "./view/cluster";
import { clearCores, renderCores } from "./view/cores";
import { LatencyCharts } from "./view/latency";
import { clearPlacement, placementFailed, renderPlacement } from "./view/placement";
import { clearSessions, renderSessionCounts, renderSessionList, sessionListFailed } from "./view/sessions";
import { clearStore, renderStore } from "./view/store";
import { clearSummary, renderSummary } from "./view/summary";
import { clearTasks, renderTasks } from "./view/tasks";
import { Trends } from "./view/trends";

/** Every panel of the page, fed one round of answers at a time. */
export class Dashboard {
  private readonly history = new History();
  private readonly trends = new Trends();
  private readonly latency = new LatencyCharts();

  /** Shows the figures (they are hidden until the first answer) and draws `round`. */
  show(round: Round): void {
    byId("figures").hidden = false;
    this.history.push(round.status);
    const status = this.history.newest() ?? round.status;
    const previous = this.history.previous();
    const rates = previous === undefined ? undefined : ratesBetween(previous, status);
    const placement = round.placement instanceof Error ? undefined : round.placement;
    renderSummary(status, rates);
    renderTasks(status, previous);
    renderCores(status, rates, placement);
    renderSessionCounts(status);
    renderStore(status);
    renderCluster(status);
    if (round.placement instanceof Error) placementFailed(round.placement.message);
    else renderPlacement(round.placement);
    if (round.sessions instanceof Error) sessionListFailed(round.sessions.message);
    else renderSessionList(round.sessions);
    this.trends.render(this.history);
    this.latency.render(this.history);
  }

  /** Hides the figures and forgets everything shown. */
  clear(): void {
    byId("figures").hidden = true;
    this.history.clear();
    this.trends.clear();
    this.latency.clear();
    clearSummary();
    clearTasks();
    clearCores();
    clearSessions();
    clearStore();
    clearCluster();
    clearPlacement();
  }
}
