/**
 * A TCP proxy that can cut every connection through it at once, as a network that drops:
 * the client's WebSocket breaks without a close handshake, and its next connection goes
 * through the proxy again.
 */

import { createServer, connect, type Socket } from "node:net";

/** A running proxy. */
export interface Proxy {
  /** The proxy's `ws://` URL for the server's WebSocket URL it was made for. */
  url: string;
  /** Destroys every connection through the proxy now. */
  cut(): void;
  /** Connections made through it so far. */
  connections(): number;
  /** Stops it. */
  close(): Promise<void>;
}

/** Starts a proxy on a loopback port to the server at `target` (`ws://host:port/path`). */
export async function startProxy(target: string): Promise<Proxy> {
  const to = new URL(target);
  const open = new Set<Socket>();
  let made = 0;
  const server = createServer((client) => {
    made += 1;
    const upstream = connect(Number(to.port), to.hostname);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  const url = new URL(target);
  url.host = `127.0.0.1:${port}`;
  const cut = () => {
    for (const socket of [...open]) {
      socket.destroy();
    }
    open.clear();
  };
  return {
    url: url.toString(),
    cut,
    connections: () => made,
    close() {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
