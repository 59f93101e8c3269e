/**
 * A session with a Darkstar server over WebSocket: login, messages to the game and to
 * channels, typed events, and a session that resumes by itself when its connection drops,
 * with nothing lost and nothing repeated. It follows a cluster's `Redirect` (log in or
 * resume at another node) and `Relocate` (the session moved: resume it there).
 *
 * @module
 */

import {
  ClosedError,
  ConnectionError,
  DisconnectedError,
  LoginRefusedError,
  ProtocolError,
} from "./errors.js";
import {
  channelMessageEvent,
  EventHub,
  messageEvent,
  type ClientEvent,
  type ClientEventMap,
  type Listener,
} from "./events.js";
import { dataSeq, PROTOCOL_VERSION, type ClientFrame, type ServerFrame } from "./frames.js";
import { DisconnectReason, isTransient, reasonName } from "./reasons.js";
import { Connection, type Incoming, type WebSocketConstructor } from "./transport.js";

/** Redirects a login or a resume follows in a row before it gives up. */
export const MAX_REDIRECTS = 4;

/** The longest pause between resume attempts. */
const MAX_RESUME_BACKOFF_MS = 250;

/** The shortest time one resume attempt gets, even when the window is nearly over. */
const MIN_ATTEMPT_MS = 1000;

/** A connection that drops within this long of its resume counts as dropping at once. */
const QUICK_DROP_MS = 1000;

/** How a client behaves. Only `name` is needed. */
export interface ConnectOptions {
  /** The account name to log in as. */
  name: string;
  /** Its password (ignored by a server in development mode). */
  password?: string;
  /** Resume the session by itself when the connection drops (default: yes). */
  reconnect?: boolean;
  /** Acknowledge after this many frames, and at least every 100 ms (default: 64). */
  ackEvery?: number;
  /** The largest frame accepted from the server, after its length (default: 64 MiB). */
  maxFrame?: number;
  /**
   * Messages sent and not yet handled by the server, at most (default: 256, the server's
   * default `session_window`); further sends wait in the client, in order.
   */
  window?: number;
  /**
   * Other servers (WebSocket URLs) to resume the session through when the one carrying it
   * cannot be reached: the other nodes of a cluster. Each failed attempt moves to the next.
   */
  fallbacks?: string[];
  /** How long opening a connection may take, in milliseconds (default: 10,000). */
  connectTimeoutMs?: number;
  /**
   * The `WebSocket` class to use: the global one unless given (pass the `ws` package's
   * on Node 20, which has none).
   */
  WebSocket?: WebSocketConstructor;
}

interface Settings {
  name: string;
  password: string;
  reconnect: boolean;
  ackEvery: number;
  maxFrame: number;
  window: number;
  fallbacks: string[];
  connectTimeoutMs: number;
  ctor: WebSocketConstructor;
}

/** A message waiting for the server to handle it. */
interface Pending {
  frame: ClientFrame & { kind: "Message" | "ChannelMessage" };
  resolve: () => void;
  reject: (e: Error) => void;
}

/** What the client can send from anywhere, without the events: see {@link Client.sender}. */
export interface Sender {
  /** See {@link Client.send}. */
  send(message: Uint8Array | string): Promise<void>;
  /** See {@link Client.sendToChannel}. */
  sendToChannel(channel: bigint, message: Uint8Array | string): Promise<void>;
  /** See {@link Client.logout}. */
  logout(): Promise<void>;
}

const utf8 = new TextEncoder();

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/**
 * `promise`, with its rejection marked as handled: awaiting what the client returns is
 * optional, and a rejection nobody waits for must not end a Node program.
 */
function quietly<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

function bytes(message: Uint8Array | string): Uint8Array {
  return typeof message === "string" ? utf8.encode(message) : message;
}

/** The same kind of URL at another server: same scheme and path at `host:port`. */
export function urlAt(url: string, host: string, port: number): string {
  const next = new URL(url);
  next.host = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return next.toString();
}

function settings(options: ConnectOptions): Settings {
  const ctor =
    options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (ctor === undefined) {
    throw new TypeError(
      "no WebSocket class: this runtime has no global WebSocket (Node 20); pass one as options.WebSocket, such as the ws package's",
    );
  }
  if (typeof options.name !== "string" || options.name.length === 0) {
    throw new TypeError("options.name must be the account name to log in as");
  }
  const positive = (value: number | undefined, fallback: number, what: string): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`options.${what} must be a positive integer, not ${String(value)}`);
    }
    return v;
  };
  return {
    name: options.name,
    password: options.password ?? "",
    reconnect: options.reconnect ?? true,
    ackEvery: positive(options.ackEvery, 64, "ackEvery"),
    maxFrame: positive(options.maxFrame, 64 << 20, "maxFrame"),
    window: positive(options.window, 256, "window"),
    fallbacks: options.fallbacks ?? [],
    connectTimeoutMs: positive(options.connectTimeoutMs, 10_000, "connectTimeoutMs"),
    ctor,
  };
}

/** The next frame, with a server's `Disconnect` and a broken connection turned into errors. */
async function expect(conn: Connection): Promise<ServerFrame> {
  const incoming = await conn.next();
  switch (incoming.kind) {
    case "frame":
      if (incoming.frame.kind === "Disconnect") {
        throw new DisconnectedError(incoming.frame.reason, incoming.frame.text);
      }
      return incoming.frame;
    case "closed":
      if (incoming.code >= 4000 && incoming.code < 4256) {
        throw new DisconnectedError(incoming.code - 4000, incoming.reason);
      }
      throw new ConnectionError(`the connection closed (${incoming.code}) before the server answered`);
    case "broken":
      throw incoming.error;
  }
}

/** Opens a connection to `url` and says Hello; the server's frame limit comes with it. */
async function greet(url: string, s: Settings): Promise<Connection> {
  const conn = await Connection.open(url, s.ctor, s.maxFrame, s.connectTimeoutMs);
  try {
    conn.send({ kind: "Hello", minVersion: PROTOCOL_VERSION, maxVersion: PROTOCOL_VERSION });
    const welcome = await expect(conn);
    if (welcome.kind !== "Welcome") {
      throw new ProtocolError(`expected Welcome, got ${welcome.kind}`);
    }
    conn.serverMaxFrame = welcome.maxFrame;
    return conn;
  } catch (e) {
    conn.close();
    throw e;
  }
}

/**
 * Connects to the server at `url` (`ws://host:port/`) and logs in.
 *
 * Rejects with {@link LoginRefusedError} when the authenticator or the game said no, with
 * {@link DisconnectedError} when the server turned the connection away with a reason
 * (`busy`, `full`), with {@link ConnectionError} when it could not be reached. A cluster
 * node that does not hold the player's session answers with `Redirect`, which is followed
 * (at most {@link MAX_REDIRECTS} times).
 */
export async function connect(url: string, options: ConnectOptions): Promise<Client> {
  const s = settings(options);
  let at = url;
  for (let redirects = 0; ; redirects++) {
    const conn = await greet(at, s);
    let answer: ServerFrame;
    try {
      conn.send({ kind: "Login", name: s.name, password: s.password });
      answer = await expect(conn);
    } catch (e) {
      conn.close();
      throw e;
    }
    switch (answer.kind) {
      case "LoginAccepted":
        return new Client(conn, at, s, answer.session, answer.key, answer.resumeWindowMs);
      case "LoginRefused":
        conn.close();
        throw new LoginRefusedError(answer.reason);
      case "Redirect":
        conn.close();
        if (redirects >= MAX_REDIRECTS) {
          throw new ProtocolError(
            `redirected more than ${MAX_REDIRECTS} times (last to ${answer.host}:${answer.port})`,
          );
        }
        at = urlAt(at, answer.host, answer.port);
        break;
      default:
        conn.close();
        throw new ProtocolError(`expected LoginAccepted, got ${answer.kind}`);
    }
  }
}

/** How a resume attempt ended. */
type Attempt =
  | { kind: "resumed"; conn: Connection }
  | { kind: "redirected"; url: string }
  | { kind: "over"; reason: number; text: string }
  | { kind: "retry"; why: string };

/**
 * A logged-in session. Send with {@link send} and {@link sendToChannel} (from anywhere, at
 * any time: while the connection is down, messages wait and go out on the resumed one);
 * receive with `for await (const event of client.events())` or {@link on}.
 */
export class Client {
  /** The session's id on the server. */
  readonly sessionId: bigint;
  /** The channels the session is in, by id, with their names. */
  readonly channels = new Map<bigint, string>();

  private readonly hub = new EventHub();
  private conn: Connection | null;
  private current: string;
  private home: string;
  private tried = 0;
  private key: Uint8Array;
  /** The largest frame the server takes (its `Welcome` said), after the length. */
  private maxFrame: number;
  private readonly resumeWindowMs: number;
  /** Last server frame received. */
  private received = 0n;
  private sinceAck = 0;
  /** Number of the next client message. */
  private nextSeq = 1n;
  /** Messages sent and not yet handled, in order. */
  private readonly unacked: Pending[] = [];
  /** Messages waiting for room in the window, in order. */
  private readonly held: Pending[] = [];
  private loggingOut = false;
  /** When the last resume succeeded (0: never). */
  private resumedAt = 0;
  /** The pause before resuming after the last quick drop (0: the last drop was not quick). */
  private dropPause = 0;
  /** The connection ended because the server sent the session elsewhere. */
  private relocated = false;
  private over: { reason: number; text: string } | null = null;
  private readonly loggedOut: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private readonly ticker: ReturnType<typeof setInterval>;

  /** @internal Made by {@link connect}. */
  constructor(
    conn: Connection,
    url: string,
    private readonly s: Settings,
    session: bigint,
    key: Uint8Array,
    resumeWindowMs: number,
  ) {
    this.conn = conn;
    this.current = url;
    this.home = url;
    this.sessionId = session;
    this.maxFrame = conn.serverMaxFrame;
    this.key = key;
    this.resumeWindowMs = resumeWindowMs;
    this.ticker = setInterval(() => {
      if (this.sinceAck > 0) {
        this.ack();
      }
    }, 100);
    // A timer must not keep Node running on its own.
    (this.ticker as { unref?: () => void }).unref?.();
    void this.carry(conn);
  }

  /** The server carrying the session now (after a redirect, a relocation or a fallback). */
  get url(): string {
    return this.current;
  }

  /** Whether the session is over: nothing more can be sent, and `disconnected` was the last event. */
  get closed(): boolean {
    return this.over !== null;
  }

  /** The events, in order, until `disconnected`. One iterator at a time. */
  events(): AsyncIterableIterator<ClientEvent> {
    return this.hub.iterate();
  }

  /** Listens for events of `type` (`message`, `channelMessage`, `joined`, ...). */
  on<K extends keyof ClientEventMap>(type: K, listener: Listener<K>): this {
    this.hub.on(type, listener);
    return this;
  }

  /** Stops listening. */
  off<K extends keyof ClientEventMap>(type: K, listener: Listener<K>): this {
    this.hub.off(type, listener);
    return this;
  }

  /**
   * Sends a message to the session's listener. Messages are handled in the order sent, each
   * exactly once, across reconnections. The promise resolves once the server has handled it
   * (its task committed durably), and rejects with {@link ClosedError} if the session ends
   * first; it need not be awaited.
   */
  send(message: Uint8Array | string): Promise<void> {
    return this.enqueue({ kind: "Message", seq: 0n, body: bytes(message) });
  }

  /** Sends a message to a channel the session is in (its id comes with `joined`), like {@link send}. */
  sendToChannel(channel: bigint, message: Uint8Array | string): Promise<void> {
    return this.enqueue({ kind: "ChannelMessage", seq: 0n, channel, body: bytes(message) });
  }

  /** A handle to send with, to give to code that should not see the events. */
  get sender(): Sender {
    return {
      send: (m) => this.send(m),
      sendToChannel: (c, m) => this.sendToChannel(c, m),
      logout: () => this.logout(),
    };
  }

  /**
   * Ends the session gracefully, after the messages sent before it; resolves when the
   * server has ended it (`disconnected` with reason `logged_out`).
   */
  logout(): Promise<void> {
    if (this.over !== null) {
      return this.over.reason === DisconnectReason.LoggedOut
        ? Promise.resolve()
        : quietly(Promise.reject(new ClosedError(`the session is over: ${this.over.text}`)));
    }
    const done = new Promise<void>((resolve, reject) => this.loggedOut.push({ resolve, reject }));
    done.catch(() => {});
    if (!this.loggingOut) {
      this.loggingOut = true;
      this.release();
    }
    return done;
  }

  /** Drops the connection and resumes the session on a new one, as after a network change. */
  reconnect(): void {
    this.conn?.close();
  }

  private enqueue(frame: Pending["frame"]): Promise<void> {
    if (this.over !== null) {
      return quietly(Promise.reject(new ClosedError(`the session is over: ${this.over.text}`)));
    }
    // Checked before it is numbered: a message that cannot be sent must not take a number
    // the server then waits for.
    if (frame.kind === "ChannelMessage" && (frame.channel < 0n || frame.channel > U64_MAX)) {
      return quietly(Promise.reject(new RangeError(`${frame.channel} is not a channel id`)));
    }
    const overhead = frame.kind === "ChannelMessage" ? 17 : 9;
    if (frame.body.length + overhead > this.maxFrame) {
      return quietly(
        Promise.reject(
          new RangeError(
            `a message of ${frame.body.length} bytes is over the server's limit of ${this.maxFrame - overhead} bytes`,
          ),
        ),
      );
    }
    let pending!: Pending;
    const handled = new Promise<void>((resolve, reject) => {
      pending = { frame, resolve, reject };
    });
    this.held.push(pending);
    this.release();
    return quietly(handled);
  }

  /** Numbers and sends what waits, in order, as far as the window allows. */
  private release(): void {
    if (this.loggingOut && this.held.length === 0 && this.logoutSent !== this.conn) {
      this.logoutSent = this.conn;
      this.conn?.send({ kind: "Logout" });
    }
    while (this.unacked.length < this.s.window) {
      const next = this.held.shift();
      if (next === undefined) {
        break;
      }
      next.frame = { ...next.frame, seq: this.nextSeq };
      this.nextSeq += 1n;
      this.unacked.push(next);
      this.conn?.send(next.frame);
    }
    if (this.loggingOut && this.held.length === 0 && this.logoutSent !== this.conn) {
      this.logoutSent = this.conn;
      this.conn?.send({ kind: "Logout" });
    }
  }

  /** The connection the logout went out on, so it is sent once per connection. */
  private logoutSent: Connection | null | undefined = undefined;

  private ack(): void {
    this.sinceAck = 0;
    this.conn?.send({ kind: "Ack", received: this.received });
  }

  private forgetHandled(handled: bigint): void {
    while (this.unacked.length > 0 && (this.unacked[0]?.frame.seq ?? 0n) <= handled) {
      this.unacked.shift()?.resolve();
    }
    this.release();
  }

  /** Reads a connection until it ends, then resumes or ends the session. */
  private async carry(conn: Connection): Promise<void> {
    for (;;) {
      const incoming: Incoming = await conn.next();
      if (incoming.kind === "frame") {
        const outcome = this.onFrame(incoming.frame);
        if (outcome === "continue") {
          continue;
        }
        conn.close();
        if (outcome === "dropped") {
          return this.resume();
        }
        return;
      }
      if (incoming.kind === "broken") {
        conn.close();
        return this.end(DisconnectReason.ProtocolError, incoming.error.message);
      }
      // A close status of 4000 + a reason without its Disconnect frame (lost in flight)
      // says the same; anything else is a dropped connection: resume.
      const code = incoming.code - 4000;
      if (code > 0 && code < 256 && code !== DisconnectReason.Shutdown) {
        return this.end(code, incoming.reason || reasonName(code));
      }
      return this.resume();
    }
  }

  /** Handles one frame: go on, resume, or the session is over. */
  private onFrame(frame: ServerFrame): "continue" | "dropped" | "over" {
    const seq = dataSeq(frame);
    if (seq !== null) {
      if (seq <= this.received) {
        // Sent again after a resume: already delivered.
        return "continue";
      }
      this.received = seq;
      this.sinceAck += 1;
    }
    switch (frame.kind) {
      case "Message":
        this.hub.emit(messageEvent(frame.body));
        break;
      case "Joined":
        this.channels.set(frame.channel, frame.name);
        this.hub.emit({ type: "joined", channel: frame.channel, name: frame.name });
        break;
      case "Left":
        this.channels.delete(frame.channel);
        this.hub.emit({ type: "left", channel: frame.channel });
        break;
      case "ChannelMessage":
        this.hub.emit(channelMessageEvent(frame.channel, frame.sender, frame.body));
        break;
      case "Ack":
        this.forgetHandled(frame.handled);
        return "continue";
      case "Disconnect":
        // Sessions outlive their server: resume once it is back, within the window.
        if (frame.reason === DisconnectReason.Shutdown) {
          return "dropped";
        }
        this.end(frame.reason, frame.text);
        return "over";
      case "Relocate":
        // The session moved: resume it there, with the key given, even with reconnecting
        // off, since the connection did not drop.
        this.current = urlAt(this.current, frame.host, frame.port);
        this.key = frame.key;
        this.tried = 0;
        this.relocated = true;
        return "dropped";
      default:
        this.end(DisconnectReason.ProtocolError, `unexpected frame from the server: ${frame.kind}`);
        return "over";
    }
    if (this.sinceAck >= this.s.ackEvery) {
      this.ack();
    }
    return "continue";
  }

  /** Resumes the session on a new connection, within the reconnection window. */
  private async resume(): Promise<void> {
    this.conn = null;
    if (this.over !== null) {
      return;
    }
    const relocated = this.relocated;
    this.relocated = false;
    if (!this.s.reconnect && !relocated) {
      return this.end(
        DisconnectReason.Expired,
        "the connection dropped, and reconnecting is off (options.reconnect); log in again",
      );
    }
    const deadline = Date.now() + this.resumeWindowMs;
    this.home = this.current;
    this.tried = 0;
    let backoff = 20;
    let redirects = 0;
    // A server on its way down takes a resume and says `shutdown` again at once; a
    // connection that drops right after its resume must not make the client spin, so such
    // drops in a row wait longer and longer before the next attempt, up to the cap.
    const quick = Date.now() - this.resumedAt < QUICK_DROP_MS;
    this.dropPause = quick ? Math.min(Math.max(this.dropPause * 2, 20), MAX_RESUME_BACKOFF_MS) : 0;
    for (let attempt = 1; ; attempt++) {
      this.hub.emit({ type: "reconnecting", attempt });
      if (attempt === 1 && this.dropPause > 0) {
        await new Promise((r) => setTimeout(r, this.dropPause));
      }
      const limit = Math.max(deadline - Date.now(), MIN_ATTEMPT_MS);
      const outcome = await this.tryResume(limit);
      let failure: string;
      switch (outcome.kind) {
        case "resumed":
          this.conn = outcome.conn;
          this.resumedAt = Date.now();
          this.hub.emit({ type: "reconnected", url: this.current });
          void this.carry(outcome.conn);
          return;
        case "over":
          return this.end(outcome.reason, outcome.text);
        case "redirected":
          this.current = outcome.url;
          this.home = outcome.url;
          this.tried = 0;
          redirects += 1;
          // Straight there; only nodes that keep sending it on make it pause.
          if (redirects <= MAX_REDIRECTS) {
            continue;
          }
          redirects = 0;
          failure = "redirected again and again";
          break;
        case "retry":
          this.nextEndpoint();
          failure = outcome.why;
          break;
      }
      if (Date.now() + backoff >= deadline) {
        return this.end(
          DisconnectReason.Expired,
          `could not resume the session within the reconnection window of ${this.resumeWindowMs} ms (last attempt: ${failure}); the session is over, log in again`,
        );
      }
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, MAX_RESUME_BACKOFF_MS);
    }
  }

  /** After a failed attempt: the next of the session's last server and the fallbacks. */
  private nextEndpoint(): void {
    const all = 1 + this.s.fallbacks.length;
    this.tried += 1;
    const i = this.tried % all;
    this.current = i === 0 ? this.home : (this.s.fallbacks[i - 1] ?? this.home);
  }

  /** One attempt to resume, given at most `limitMs`. */
  private async tryResume(limitMs: number): Promise<Attempt> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), limitMs);
    });
    const attempt = this.attemptResume();
    const outcome = await Promise.race([attempt, timeout]);
    clearTimeout(timer);
    if (outcome === "late") {
      // Whatever it comes to, too late: a connection it opens is closed.
      void attempt.then((a) => {
        if (a.kind === "resumed") {
          a.conn.close();
        }
      });
      return { kind: "retry", why: "the server did not answer" };
    }
    if (outcome.kind === "resumed") {
      // What the server did not handle goes out again, in order, then what waited.
      this.conn = outcome.conn;
      this.logoutSent = undefined;
      for (const p of this.unacked) {
        outcome.conn.send(p.frame);
      }
      this.release();
    }
    return outcome;
  }

  private async attemptResume(): Promise<Attempt> {
    let conn: Connection | null = null;
    try {
      conn = await greet(this.current, this.s);
      conn.send({ kind: "Resume", session: this.sessionId, key: this.key, received: this.received });
      const answer = await expect(conn);
      switch (answer.kind) {
        case "Resumed":
          // Messages up to `handled` are done; the rest are sent again.
          this.maxFrame = conn.serverMaxFrame;
          this.forgetHandled(answer.handled);
          return { kind: "resumed", conn };
        case "Redirect":
          conn.close();
          return { kind: "redirected", url: urlAt(this.current, answer.host, answer.port) };
        case "ResumeRefused":
          conn.close();
          // The frame carries no code. Whatever its text, the session cannot come back:
          // for the client that is what `expired` means.
          return {
            kind: "over",
            reason: DisconnectReason.Expired,
            text: `the session is gone: the server refused to resume it, most likely because the reconnection window passed; log in again (the server said: ${answer.reason})`,
          };
        default:
          conn.close();
          return { kind: "retry", why: `expected Resumed, got ${answer.kind}` };
      }
    } catch (e) {
      conn?.close();
      if (e instanceof DisconnectedError && !isTransient(e.code)) {
        return { kind: "over", reason: e.code, text: e.text };
      }
      return { kind: "retry", why: e instanceof Error ? e.message : String(e) };
    }
  }

  /** The session is over: the last event, and every waiting promise settled. */
  private end(reason: number, text: string): void {
    if (this.over !== null) {
      return;
    }
    this.over = { reason, text };
    clearInterval(this.ticker);
    this.conn?.close();
    this.conn = null;
    // The event first: whoever awaits a promise settled below finds it delivered.
    this.hub.emit({ type: "disconnected", reason, reasonName: reasonName(reason), text });
    const closed = new ClosedError(`the session is over (${reasonName(reason)}): ${text}`);
    for (const p of this.unacked.splice(0).concat(this.held.splice(0))) {
      p.reject(closed);
    }
    for (const w of this.loggedOut.splice(0)) {
      if (reason === DisconnectReason.LoggedOut) {
        w.resolve();
      } else {
        w.reject(closed);
      }
    }
  }
}
