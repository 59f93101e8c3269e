/**
 * The client against scripted servers (WebSocket servers in this process that speak the
 * frames by hand), for what a real single server never does: a login redirected to another
 * node, a session relocated to a third, frames sent again after a resume, and refusals.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { connect } from "../src/client.js";
import { DisconnectedError, LoginRefusedError } from "../src/errors.js";
import { KEY, scripted, take, Ws } from "./scripted-server.js";

const NEW_KEY = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);

test("a login follows Redirect, and a session follows Relocate, with nothing repeated", async () => {
  const third = await scripted((frame, reply) => {
    if (frame.kind === "Resume") {
      assert.equal(frame.session, 7n);
      assert.deepEqual(frame.key, NEW_KEY, "the key Relocate gave");
      assert.equal(frame.received, 2n << 24n, "the last frame it got");
      reply({ kind: "Resumed", handled: 1n });
      // The frame it already has comes again, and is dropped; then a new one.
      reply({ kind: "Message", seq: 2n << 24n, body: new TextEncoder().encode("two") });
      reply({ kind: "Message", seq: 3n << 24n, body: new TextEncoder().encode("three") });
    }
    if (frame.kind === "Message") {
      reply({ kind: "Ack", handled: frame.seq });
    }
  });
  const second = await scripted((frame, reply) => {
    if (frame.kind === "Login") {
      assert.equal(frame.name, "ada");
      reply({ kind: "LoginAccepted", session: 7n, key: KEY, resumeWindowMs: 10_000 });
      reply({ kind: "Joined", seq: 1n << 24n, channel: 5n, name: "lobby" });
      reply({ kind: "Message", seq: 2n << 24n, body: new TextEncoder().encode("two") });
    }
    if (frame.kind === "Message" && frame.seq === 1n) {
      // Handled, then the session moves before the second message is.
      reply({ kind: "Ack", handled: 1n });
      reply({ kind: "Relocate", host: "127.0.0.1", port: third.port, key: NEW_KEY });
    }
  });
  const first = await scripted((frame, reply) => {
    if (frame.kind === "Login") {
      reply({ kind: "Redirect", host: "127.0.0.1", port: second.port });
    }
  });

  const client = await connect(first.url, { name: "ada", password: "pw", WebSocket: Ws });
  assert.equal(client.url, `ws://127.0.0.1:${second.port}/game`, "redirected, same path");
  assert.equal(client.sessionId, 7n);
  const one = client.send("one");
  const two = client.send("two");
  await one;
  const events = await take(client, (es) => es.some((e) => e.type === "message" && e.text === "three"));
  await two;
  const texts = events.flatMap((e) => (e.type === "message" ? [e.text] : []));
  assert.deepEqual(texts, ["two", "three"], "each frame once");
  assert.deepEqual(
    events.map((e) => e.type),
    ["joined", "message", "reconnecting", "reconnected", "message"],
  );
  assert.equal(client.url, `ws://127.0.0.1:${third.port}/game`);
  assert.equal(client.channels.get(5n), "lobby");
  // The second message, not handled before the move, was sent again there; the first not.
  const resent = third.seen.filter((f) => f.kind === "Message").map((f) => (f.kind === "Message" ? f.seq : 0n));
  assert.deepEqual(resent, [2n]);
  await client.logout();
  await Promise.all([first.stop(), second.stop(), third.stop()]);
});

test("refusals reject connect with what the server said", async () => {
  const refusing = await scripted((frame, reply) => {
    if (frame.kind === "Login") {
      reply(
        frame.name === "busy"
          ? { kind: "Disconnect", reason: 12, text: "too many logins from your address" }
          : { kind: "LoginRefused", reason: "unknown account or wrong password" },
      );
    }
  });
  await assert.rejects(
    connect(refusing.url, { name: "eve", WebSocket: Ws }),
    (e: unknown) => e instanceof LoginRefusedError && e.reason === "unknown account or wrong password",
  );
  await assert.rejects(
    connect(refusing.url, { name: "busy", WebSocket: Ws }),
    (e: unknown) => e instanceof DisconnectedError && e.code === 12 && e.reasonName === "busy",
  );
  await refusing.stop();
});

test("a refused resume ends the session as expired, and sends fail after", async () => {
  let connections = 0;
  const server = await scripted((frame, reply, close) => {
    if (frame.kind === "Login") {
      connections += 1;
      reply({ kind: "LoginAccepted", session: 9n, key: KEY, resumeWindowMs: 10_000 });
      close();
    }
    if (frame.kind === "Resume") {
      reply({ kind: "ResumeRefused", reason: "no such session" });
    }
  });
  const client = await connect(server.url, { name: "ada", WebSocket: Ws });
  const events = await take(client, (es) => es.some((e) => e.type === "disconnected"));
  const last = events.at(-1);
  assert.ok(last?.type === "disconnected" && last.reasonName === "expired" && last.text.includes("no such session"));
  assert.equal(connections, 1);
  assert.ok(client.closed);
  await assert.rejects(client.send("late"), /session is over/);
  await server.stop();
});

test("listeners and the iterator both hear every event, the first of them included", async () => {
  const server = await scripted((frame, reply) => {
    if (frame.kind === "Login") {
      reply({ kind: "LoginAccepted", session: 3n, key: KEY, resumeWindowMs: 10_000 });
      reply({ kind: "Message", seq: 1n << 24n, body: new TextEncoder().encode("welcome") });
    }
    if (frame.kind === "Message") {
      reply({ kind: "Ack", handled: frame.seq });
    }
  });
  const client = await connect(server.url, { name: "ada", WebSocket: Ws });
  const heard = await new Promise<string>((resolve) => client.on("message", (e) => resolve(e.text)));
  assert.equal(heard, "welcome", "a listener added after the login still hears what came with it");
  // What cannot be sent is refused before it takes a number, so the session goes on.
  await assert.rejects(client.send(new Uint8Array(70_000)), /over the server's limit of 65527 bytes/);
  await assert.rejects(client.sendToChannel(-1n, "x"), /not a channel id/);
  await client.send("fine");
  const numbered = server.seen.filter((f) => f.kind === "Message").map((f) => (f.kind === "Message" ? f.seq : 0n));
  assert.deepEqual(numbered, [1n]);
  const done = client.logout();
  const events = await take(client, (es) => es.some((e) => e.type === "disconnected"));
  await done;
  const last = events.at(-1);
  assert.ok(last?.type === "disconnected" && last.reasonName === "logged_out");
  await server.stop();
});
