/**
 * One round of requests to the admin API: the status, the placement and the first
 * sessions, at once. The status is what the page needs; the other two may fail on their
 * own without stopping it.
 */

import type { Placement, SessionList, Status } from "./api";
import { getJson, Refused } from "./client";
import { decodePlacement, decodeSessions, decodeStatus } from "./decode";

/** How many sessions the page lists. */
export const SESSIONS_LISTED = 20;

/** What one round brought: the status, and each other answer or why it failed. */
export interface Round {
  status: Status;
  placement: Placement | Error;
  sessions: SessionList | Error;
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

/**
 * Asks for the status, the placement and the sessions.
 *
 * @throws Refused when any of them was refused (401); the status request's error when it
 *   failed otherwise
 */
export async function pollOnce(token: string | null): Promise<Round> {
  const [status, placement, sessions] = await Promise.allSettled([
    getJson("/api/v1/status", token).then((json) => decodeStatus(json)),
    getJson("/api/v1/placement", token).then((json) => decodePlacement(json)),
    getJson(`/api/v1/sessions?limit=${SESSIONS_LISTED}`, token).then((json) => decodeSessions(json)),
  ]);
  for (const answer of [status, placement, sessions]) {
    if (answer.status === "rejected" && answer.reason instanceof Refused) throw answer.reason;
  }
  if (status.status === "rejected") throw asError(status.reason);
  return {
    status: status.value,
    placement: placement.status === "fulfilled" ? placement.value : asError(placement.reason),
    sessions: sessions.status === "fulfilled" ? sessions.value : asError(sessions.reason),
  };
}
