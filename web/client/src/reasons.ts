/**
 * Why a server ends a connection: the reason codes of its `Disconnect` frame (and, on
 * WebSocket, its close status minus 4000).
 *
 * @module
 */

/** Every reason code the protocol defines, by name. */
export const DisconnectReason = {
  /** The client logged out. */
  LoggedOut: 1,
  /** The game ended the session (or an operator did). */
  Kicked: 2,
  /** The client sent something that is not a valid frame, or a frame out of place. */
  ProtocolError: 3,
  /** The client sent a frame over the size limit. */
  FrameTooLarge: 4,
  /** The client did not log in within the login timeout. */
  LoginTimeout: 5,
  /** The client read too slowly: its outgoing queue reached its bound. */
  TooSlow: 6,
  /** The server is shutting down (the client resumes once it is back). */
  Shutdown: 7,
  /** No protocol version both sides speak. */
  UnsupportedVersion: 8,
  /** The session was resumed on another connection. */
  Replaced: 9,
  /** The reconnection window passed before the client came back. */
  Expired: 10,
  /** The server is full. */
  Full: 11,
  /** A limit refused the connection or login now; try again later. */
  Busy: 12,
  /** A newer login under the same name took over. */
  LoggedInElsewhere: 13,
} as const;

/** A reason code the protocol defines. */
export type DisconnectReasonCode = (typeof DisconnectReason)[keyof typeof DisconnectReason];

const NAMES: Record<number, string> = {
  1: "logged_out",
  2: "kicked",
  3: "protocol_error",
  4: "frame_too_large",
  5: "login_timeout",
  6: "too_slow",
  7: "shutdown",
  8: "unsupported_version",
  9: "replaced",
  10: "expired",
  11: "full",
  12: "busy",
  13: "logged_in_elsewhere",
};

/**
 * The short name of reason `code`, as the server's logs and metrics name it
 * (`too_slow`); `other` for a code from a newer server.
 */
export function reasonName(code: number): string {
  return NAMES[code] ?? "other";
}

/** Whether a server that turned a resume away with `code` may take it a little later. */
export function isTransient(code: number): boolean {
  return (
    code === DisconnectReason.Busy || code === DisconnectReason.Full || code === DisconnectReason.Shutdown
  );
}
