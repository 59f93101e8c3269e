/**
 * The errors the client throws (or rejects with). Each says what happened, for people, and
 * carries what a program needs to decide.
 *
 * @module
 */

import { reasonName } from "./reasons.js";

/** The base of every error of this client. */
export class DarkstarError extends Error {
  /** @param message what happened */
  constructor(message: string) {
    super(message);
    this.name = "DarkstarError";
  }
}

/** The server refused the login: a wrong password, or the game said no. */
export class LoginRefusedError extends DarkstarError {
  /** The server's reason, for people. */
  readonly reason: string;

  /** @param reason the server's text */
  constructor(reason: string) {
    super(`login refused: ${reason}`);
    this.name = "LoginRefusedError";
    this.reason = reason;
  }
}

/** The server turned the connection away with a reason code (`busy`, `full`, ...). */
export class DisconnectedError extends DarkstarError {
  /** The reason code (see `DisconnectReason`). */
  readonly code: number;
  /** Its name, such as `busy`. */
  readonly reasonName: string;
  /** The server's text, for people. */
  readonly text: string;

  /** @param code the reason code @param text the server's text */
  constructor(code: number, text: string) {
    super(`the server disconnected (${reasonName(code)}, ${code}): ${text}`);
    this.name = "DisconnectedError";
    this.code = code;
    this.reasonName = reasonName(code);
    this.text = text;
  }
}

/** The server sent something this client did not expect, or bytes that are not a frame. */
export class ProtocolError extends DarkstarError {
  /** @param message what was wrong */
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/** The server could not be reached, or the connection broke before an answer. */
export class ConnectionError extends DarkstarError {
  /** @param message what failed */
  constructor(message: string) {
    super(message);
    this.name = "ConnectionError";
  }
}

/** The session is over: nothing more can be sent on it. */
export class ClosedError extends DarkstarError {
  /** @param message why */
  constructor(message = "the session is over") {
    super(message);
    this.name = "ClosedError";
  }
}
