/**
 * Scripted servers for the client's tests: WebSocket servers in this process that speak the
 * frames by hand, for what a real single server never does (redirects, relocation, frames
 * sent again, refusals, a server that holds acknowledgements back).
 */

import assert from "node:assert/strict";

import { WebSocket, WebSocketServer } from "ws";

import type { Client } from "../src/client.js";
import type { ClientEvent } from "../src/events.js";
import { decodeClientFrame, encodeServerFrame, type ClientFrame, type ServerFrame } from "../src/frames.js";
import type { WebSocketConstructor } from "../src/transport.js";

/** The `ws` package's class, which Node 20 needs (it has no global WebSocket). */
export const Ws = WebSocket as unknown as WebSocketConstructor;
/** A session key. */
export const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);

/** A server that answers each client frame with what `script` returns. */
export async function scripted(
  script: (frame: ClientFrame, reply: (f: ServerFrame) => void, close: () => void) => void,
): Promise<{ url: string; port: number; seen: ClientFrame[]; stop: () => Promise<void> }> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const seen: ClientFrame[] = [];
  server.on("connection", (socket) => {
    socket.on("message", (data: Buffer) => {
      const frame = decodeClientFrame(new Uint8Array(data), 1 << 20);
      seen.push(frame);
      if (frame.kind === "Hello") {
        socket.send(encodeServerFrame({ kind: "Welcome", version: 1, maxFrame: 65536 }));
        return;
      }
      if (frame.kind === "Logout") {
        socket.send(encodeServerFrame({ kind: "Disconnect", reason: 1, text: "logged out" }));
        socket.close(4001, "logged_out");
        return;
      }
      script(
        frame,
        (f) => socket.send(encodeServerFrame(f)),
        () => socket.close(),
      );
    });
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}/game`,
    port,
    seen,
    stop: () =>
      new Promise((resolve) => {
        for (const socket of server.clients) {
          socket.terminate();
        }
        server.close(() => resolve());
      }),
  };
}

/** Reads the client's events until `until` holds of those read so far; returns them all. */
export async function take(client: Client, until: (events: ClientEvent[]) => boolean): Promise<ClientEvent[]> {
  const events: ClientEvent[] = [];
  const deadline = setTimeout(() => assert.fail(`events so far: ${JSON.stringify(events, bigints)}`), 30_000);
  for await (const e of client.events()) {
    events.push(e);
    if (until(events)) {
      break;
    }
  }
  clearTimeout(deadline);
  return events;
}

/** A JSON replacer that shows bigints. */
export function bigints(_: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
