/** Sessions, channels and the client listeners, with the first sessions listed. */

import type { SessionList, Status } from "../api";
import * as fmt from "../format";
import { byId, fillRows, setFigure } from "./dom";

/** Shows the session and network counts of a status answer. */
export function renderSessionCounts(status: Status): void {
  const { sessions, network } = status;
  setFigure("sessions-live-count", fmt.count(sessions.live), sessions.live);
  setFigure("sessions-stored", fmt.count(sessions.stored), sessions.stored);
  setFigure("sessions-channels", fmt.count(sessions.channels), sessions.channels);
  setFigure("network-connections", fmt.count(network.connections), network.connections);
  setFigure("network-logins", fmt.count(network.logins), network.logins);
  setFigure("network-tcp", network.tcp_addr ?? "not listening");
  setFigure("network-ws", network.ws_addr ?? "not listening");
}

/** Lists the sessions of a sessions answer in `#session-table`. */
export function renderSessionList(list: SessionList): void {
  byId("sessions-error").hidden = true;
  fillRows(
    "session-table",
    list.sessions.map((s) => ({
      key: s.id,
      cells: [
        { column: "id", text: s.id },
        { column: "identity", text: s.identity },
        { column: "connected", text: s.connected ? "yes" : "no" },
      ],
    })),
  );
  setFigure(
    "sessions-more",
    list.total > list.sessions.length
      ? `The first ${fmt.count(list.sessions.length)} of ${fmt.count(list.total)} sessions.`
      : `${fmt.count(list.total)} sessions.`,
    list.total,
  );
}

/** Says why the session list could not be read, keeping the last one. */
export function sessionListFailed(reason: string): void {
  const error = byId("sessions-error");
  error.textContent = `Session list unavailable: ${reason}`;
  error.hidden = false;
}

/** Empties every figure and the list. */
export function clearSessions(): void {
  for (const id of [
    "sessions-live-count",
    "sessions-stored",
    "sessions-channels",
    "network-connections",
    "network-logins",
    "network-tcp",
    "network-ws",
    "sessions-more",
  ]) {
    setFigure(id, "");
  }
  fillRows("session-table", []);
  byId("sessions-error").hidden = true;
}
