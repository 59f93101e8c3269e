/**
 * The client's flow control against scripted servers: the window of messages in flight,
 * its acknowledgements of what arrives, and resumes that do not spin when a server keeps
 * dropping the session right after taking it back.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { connect } from "../src/client.js";
import type { ServerFrame } from "../src/frames.js";
import { KEY, scripted, take, Ws } from "./scripted-server.js";

const utf8 = new TextEncoder();

test("at most `window` messages are in flight; each send resolves once acknowledged", async () => {
  const got: bigint[] = [];
  /** How many messages the server had when the client acknowledged each probe. */
  const inFlight: number[] = [];
  /** How many sends had resolved when the server acknowledged each batch. */
  const resolvedAtAck: number[] = [];
  const resolved: number[] = [];
  let probes = 0n;
  const server = await scripted((frame, reply) => {
    if (frame.kind === "Login") {
      reply({ kind: "LoginAccepted", session: 4n, key: KEY, resumeWindowMs: 10_000 });
    }
    if (frame.kind === "Message") {
      got.push(frame.seq);
      if (got.length % 4 === 0 || got.length === 10) {
        // A data frame the client acknowledges at once (ackEvery 1): its Ack comes after
        // every message it had sent by then, so the server learns how many that was.
        probes += 1n;
        reply({ kind: "Message", seq: probes << 24n, body: utf8.encode("probe") });
      }
    }
    if (frame.kind === "Ack" && frame.received === probes << 24n && probes > 0n) {
      inFlight.push(got.length);
      resolvedAtAck.push(resolved.length);
      reply({ kind: "Ack", handled: BigInt(got.length) } satisfies ServerFrame);
    }
  });
  const client = await connect(server.url, { name: "ada", WebSocket: Ws, window: 4, ackEvery: 1 });
  const sends = Array.from({ length: 10 }, (_, i) => client.send(`m${i}`).then(() => resolved.push(i)));
  await Promise.all(sends);
  assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => BigInt(i + 1)), "each message once, numbered in order");
  assert.deepEqual(inFlight, [4, 8, 10], "never more than the window unacknowledged");
  assert.deepEqual(resolvedAtAck, [0, 4, 8], "a send resolves only once the server acknowledged it");
  assert.deepEqual(resolved, Array.from({ length: 10 }, (_, i) => i), "in the order sent");
  await client.logout();
  await server.stop();
});

test("what arrives is acknowledged within 100 ms, even fewer frames than ackEvery", async () => {
  let acked: (received: bigint) => void = () => {};
  const ack = new Promise<bigint>((resolve) => {
    acked = resolve;
  });
  const server = await scripted((frame, reply) => {
    if (frame.kind === "Login") {
      reply({ kind: "LoginAccepted", session: 5n, key: KEY, resumeWindowMs: 10_000 });
      reply({ kind: "Message", seq: 7n << 24n, body: utf8.encode("one") });
      reply({ kind: "Message", seq: (7n << 24n) + 1n, body: utf8.encode("two") });
    }
    if (frame.kind === "Ack" && frame.received > 0n) {
      acked(frame.received);
    }
  });
  const client = await connect(server.url, { name: "ada", WebSocket: Ws });
  const deadline = setTimeout(() => assert.fail("no Ack from the client within 30 s"), 30_000);
  assert.equal(await ack, (7n << 24n) + 1n, "one Ack covers both frames");
  clearTimeout(deadline);
  await client.logout();
  await server.stop();
});

test("a server that drops the session right after each resume is tried again ever more slowly", async () => {
  const resumes: number[] = [];
  const server = await scripted((frame, reply, close) => {
    if (frame.kind === "Login") {
      reply({ kind: "LoginAccepted", session: 6n, key: KEY, resumeWindowMs: 30_000 });
      close();
    }
    if (frame.kind === "Resume") {
      resumes.push(performance.now());
      reply({ kind: "Resumed", handled: 0n });
      if (resumes.length <= 5) {
        // A server on its way down: it takes the resume, then says it is stopping.
        reply({ kind: "Disconnect", reason: 7, text: "the server is shutting down" });
      }
    }
  });
  const client = await connect(server.url, { name: "ada", WebSocket: Ws });
  const events = await take(client, (es) => es.filter((e) => e.type === "reconnected").length === 6);
  assert.equal(resumes.length, 6);
  // Pauses of 20, 40, 80, 160 and 250 ms between the quick drops, 550 ms in all.
  const spent = (resumes[5] ?? 0) - (resumes[0] ?? 0);
  assert.ok(spent >= 500, `six resumes within ${spent.toFixed(0)} ms: the client spun`);
  assert.ok(!events.some((e) => e.type === "disconnected"));
  await client.logout();
  await server.stop();
});
