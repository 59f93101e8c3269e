/**
 * One WebSocket connection carrying frames: each binary message is one frame. Works with
 * the browser's `WebSocket`, Node 22's global one, or any class with the same interface
 * (the `ws` package's, on Node 20).
 *
 * @module
 */

import { ConnectionError, ProtocolError } from "./errors.js";
import { decodeServerFrame, encodeClientFrame, FrameError, type ClientFrame, type ServerFrame } from "./frames.js";

/** What the client needs of a WebSocket: the standard interface's core. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** A `WebSocket` class: the global one, or one passed in options. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** The subprotocol the client offers; the server agrees to it. */
export const SUBPROTOCOL = "darkstar";

/** What the next read found. */
export type Incoming =
  | { kind: "frame"; frame: ServerFrame }
  | { kind: "closed"; code: number; reason: string }
  | { kind: "broken"; error: Error };

/** An open connection: frames out, frames in, in order. */
export class Connection {
  /** The largest frame the server takes, once its `Welcome` said (after the length). */
  serverMaxFrame = 64 * 1024;
  private readonly queue: Incoming[] = [];
  private readonly waiters: Array<(incoming: Incoming) => void> = [];
  private over = false;

  private constructor(
    private readonly socket: WebSocketLike,
    private readonly maxFrame: number,
  ) {
    socket.onmessage = (event) => {
      const data = event.data;
      if (!(data instanceof ArrayBuffer)) {
        this.push({ kind: "broken", error: new ProtocolError("the server sent a WebSocket text message") });
        return;
      }
      try {
        this.push({ kind: "frame", frame: decodeServerFrame(new Uint8Array(data), this.maxFrame) });
      } catch (e) {
        const why = e instanceof FrameError ? e.message : String(e);
        this.push({ kind: "broken", error: new ProtocolError(`the server sent bytes that are not a frame: ${why}`) });
      }
    };
    socket.onclose = (event) => this.push({ kind: "closed", code: event.code, reason: event.reason });
    socket.onerror = () => {
      // A close event follows, with the code.
    };
  }

  /** Opens a connection to `url`, failing after `timeoutMs`. */
  static open(url: string, ctor: WebSocketConstructor, maxFrame: number, timeoutMs: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      let socket: WebSocketLike;
      try {
        socket = new ctor(url, [SUBPROTOCOL]);
      } catch (e) {
        reject(new ConnectionError(`cannot connect to ${url}: ${String(e)}`));
        return;
      }
      socket.binaryType = "arraybuffer";
      const timer = setTimeout(() => {
        socket.onopen = socket.onclose = socket.onerror = null;
        socket.close();
        reject(new ConnectionError(`cannot connect to ${url}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.onopen = () => {
        clearTimeout(timer);
        resolve(new Connection(socket, maxFrame));
      };
      socket.onerror = () => {
        // The close event that follows says more.
      };
      socket.onclose = (event) => {
        clearTimeout(timer);
        reject(new ConnectionError(`cannot connect to ${url} (WebSocket closed with ${event.code}${event.reason ? `: ${event.reason}` : ""})`));
      };
    });
  }

  private push(incoming: Incoming): void {
    if (this.over) {
      return;
    }
    if (incoming.kind !== "frame") {
      this.over = true;
    }
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter(incoming);
    } else {
      this.queue.push(incoming);
    }
  }

  /** The next frame, or how the connection ended. */
  next(): Promise<Incoming> {
    const incoming = this.queue.shift();
    if (incoming !== undefined) {
      return Promise.resolve(incoming);
    }
    if (this.over) {
      return Promise.resolve({ kind: "closed", code: 1006, reason: "closed" });
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Sends `frame`; a connection that is closing drops it (a resume sends it again). */
  send(frame: ClientFrame): void {
    if (this.socket.readyState === 1) {
      this.socket.send(encodeClientFrame(frame));
    }
  }

  /** Closes the connection (no more frames are read from it). */
  close(): void {
    this.push({ kind: "closed", code: 1000, reason: "closed by the client" });
    this.socket.onmessage = null;
    try {
      this.socket.close(1000);
    } catch {
      // Already closing.
    }
  }
}
