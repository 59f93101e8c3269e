/**
 * Resuming through a cluster's other nodes, against scripted servers: when the session's
 * server is gone, the client tries `fallbacks`, and follows the `Redirect` a node that
 * does not hold the session answers with.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { connect } from "../src/client.js";
import { KEY, scripted, take, Ws } from "./scripted-server.js";

test("a resume goes through the fallbacks when the session's server is gone, and follows their Redirect", async () => {
  const holder = await scripted((frame, reply) => {
    if (frame.kind === "Resume") {
      assert.equal(frame.session, 8n);
      reply({ kind: "Resumed", handled: 0n });
    }
    if (frame.kind === "Message") {
      reply({ kind: "Ack", handled: frame.seq });
    }
  });
  const fallback = await scripted((frame, reply) => {
    if (frame.kind === "Resume") {
      reply({ kind: "Redirect", host: "127.0.0.1", port: holder.port });
    }
  });
  let stopHome: () => Promise<void> = async () => {};
  const home = await scripted((frame, reply) => {
    if (frame.kind === "Login") {
      reply({ kind: "LoginAccepted", session: 8n, key: KEY, resumeWindowMs: 30_000 });
      // The node dies: its connections drop and nothing listens there any more.
      void stopHome();
    }
  });
  stopHome = home.stop;
  const client = await connect(home.url, { name: "ada", WebSocket: Ws, fallbacks: [fallback.url] });
  const events = await take(client, (es) => es.some((e) => e.type === "reconnected"));
  const back = events.find((e) => e.type === "reconnected");
  assert.ok(back?.type === "reconnected" && back.url === holder.url, JSON.stringify(back));
  assert.equal(client.url, holder.url);
  assert.ok(fallback.seen.some((f) => f.kind === "Resume"), "the fallback was asked");
  assert.ok(!home.seen.some((f) => f.kind === "Resume"), "nothing listened at the dead node");
  await client.send("still here");
  await client.logout();
  await Promise.all([holder.stop(), fallback.stop()]);
});
