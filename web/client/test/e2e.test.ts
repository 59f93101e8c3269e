/**
 * The client against a real chat server (the `chat` example), which the Rust test that
 * runs this file starts and names in `DARKSTAR_WS_URL`: login, the lobby, rooms, whispers,
 * refusals, a duplicate login, logout, and a session that survives cut connections
 * with nothing lost or repeated.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { WebSocket } from "ws";

import { connect, type Client } from "../src/client.js";
import { LoginRefusedError } from "../src/errors.js";
import type { ClientEvent } from "../src/events.js";
import type { WebSocketConstructor } from "../src/transport.js";
import { startProxy } from "./proxy.js";

const Ws = WebSocket as unknown as WebSocketConstructor;
const SERVER = process.env.DARKSTAR_WS_URL ?? assert.fail("DARKSTAR_WS_URL names the chat server");
/** Long: a deadline costs time only when the test fails, and a loaded machine is slow. */
const DEADLINE_MS = 60_000;

let names = 0;
/** A name no other test uses, so each test has its own accounts. */
function fresh(prefix: string): string {
  names += 1;
  return `${prefix}-${process.pid}-${names}`;
}

/** Collects a client's events as they come, and waits for one that matches. */
class Recorder {
  readonly events: ClientEvent[] = [];
  private waiters: Array<() => void> = [];

  constructor(client: Client) {
    void (async () => {
      for await (const e of client.events()) {
        this.events.push(e);
        for (const w of this.waiters.splice(0)) {
          w();
        }
      }
    })();
  }

  /** Waits until `done` holds of the events so far. */
  async until<T>(what: string, done: (events: ClientEvent[]) => T | undefined): Promise<T> {
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
      const found = done(this.events);
      if (found !== undefined && found !== false) {
        return found;
      }
      if (Date.now() > deadline) {
        assert.fail(`${what}: never happened; events: ${this.events.map((e) => e.type).join(", ")}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The texts of the channel messages so far, from `sender`. */
  lines(sender?: bigint): string[] {
    return this.events.flatMap((e) =>
      e.type === "channelMessage" && (sender === undefined || e.sender === sender) ? [e.text] : [],
    );
  }

  messages(): string[] {
    return this.events.flatMap((e) => (e.type === "message" ? [e.text] : []));
  }
}

async function player(name: string, url = SERVER): Promise<{ client: Client; events: Recorder; lobby: bigint }> {
  const client = await connect(url, { name, password: `${name}-password`, WebSocket: Ws });
  const events = new Recorder(client);
  const lobby = await events.until("joined the lobby", (es) => {
    const joined = es.find((e) => e.type === "joined");
    return joined?.type === "joined" ? joined.channel : undefined;
  });
  await events.until("welcomed", (es) => es.some((e) => e.type === "message" && e.text.startsWith("welcome")));
  return { client, events, lobby };
}

test("a player logs in, talks in the lobby and asks who is on", async () => {
  const name = fresh("ann");
  const { client, events, lobby } = await player(name);
  assert.equal(client.channels.get(lobby), "lobby");
  await client.sendToChannel(lobby, "hello, world");
  const said = await events.until("heard itself", (es) =>
    es.find((e) => e.type === "channelMessage" && e.text === `${name}: hello, world`),
  );
  assert.ok(said.type === "channelMessage" && said.sender === client.sessionId && said.channel === lobby);
  await client.send("/who");
  const who = await events.until("the answer to /who", (es) =>
    es.find((e) => e.type === "message" && e.text.startsWith("in lobby:")),
  );
  assert.ok(who.type === "message" && who.text.includes(name), who.type === "message" ? who.text : "");
  await client.logout();
  const last = await events.until("the session ended", (es) => es.find((e) => e.type === "disconnected"));
  assert.ok(last.type === "disconnected" && last.reasonName === "logged_out", JSON.stringify(last));
  assert.equal(events.events.at(-1), last, "the last event");
});

test("players open a room with /join, talk there, whisper, and leave it", async () => {
  const [ann, ben] = [fresh("fay"), fresh("gus")];
  const a = await player(ann);
  const b = await player(ben);
  const joined = async (p: typeof a) =>
    p.events.until("joined the room", (es) => {
      const e = es.find((e) => e.type === "joined" && e.name === `room.${room}`);
      return e?.type === "joined" ? e.channel : undefined;
    });
  const room = `r${process.pid}`;
  await a.client.send(`/join ${room}`);
  const channel = await joined(a);
  assert.notEqual(channel, a.lobby);
  assert.equal(a.client.channels.get(channel), `room.${room}`);
  await b.client.send(`/join ${room}`);
  assert.equal(await joined(b), channel, "the same room, the same channel");
  await a.events.until("ben entered", (es) =>
    es.some((e) => e.type === "channelMessage" && e.channel === channel && e.text === `${ben} entered ${room}`),
  );
  await a.client.sendToChannel(channel, "in the room");
  const heard = await b.events.until("ann's line in the room", (es) =>
    es.find((e) => e.type === "channelMessage" && e.text === `${ann}: in the room`),
  );
  assert.ok(heard.type === "channelMessage" && heard.channel === channel && heard.sender === a.client.sessionId);
  await b.client.send(`/tell ${ann} psst`);
  await a.events.until("the whisper", (es) => es.some((e) => e.type === "message" && e.text === `${ben} whispers: psst`));
  await b.events.until("the whisper's echo", (es) =>
    es.some((e) => e.type === "message" && e.text === `you whisper to ${ann}: psst`),
  );
  await b.client.send("/leave");
  await b.events.until("left the room", (es) => es.some((e) => e.type === "left" && e.channel === channel));
  assert.equal(b.client.channels.has(channel), false);
  assert.equal(b.client.channels.get(b.lobby), "lobby", "still in the lobby");
  await a.events.until("ben left", (es) =>
    es.some((e) => e.type === "channelMessage" && e.channel === channel && e.text === `${ben} left ${room}`),
  );
  assert.deepEqual(b.events.lines().filter((l) => l.startsWith(`${ann}: `)), [`${ann}: in the room`]);
  await Promise.all([a.client.logout(), b.client.logout()]);
});

test("a wrong password is refused, with the server's reason", async () => {
  const name = fresh("bea");
  const first = await player(name);
  await first.client.logout();
  await assert.rejects(
    connect(SERVER, { name, password: "not the password", WebSocket: Ws }),
    (e: unknown) => e instanceof LoginRefusedError && e.reason === "unknown account or wrong password",
  );
});

test("a second login under the same name takes over, and the first hears why", async () => {
  const name = fresh("cid");
  const first = await player(name);
  const second = await player(name);
  const end = await first.events.until("the first session ended", (es) => es.find((e) => e.type === "disconnected"));
  assert.ok(end.type === "disconnected" && end.reasonName === "logged_in_elsewhere", JSON.stringify(end));
  assert.ok(first.client.closed);
  await assert.rejects(first.client.send("late"), /session is over/);
  await second.client.logout();
});

test("a session survives cut connections with nothing lost or repeated", async () => {
  const proxy = await startProxy(SERVER);
  const talker = await player(fresh("dee"), proxy.url);
  const listener = await player(fresh("eli"));
  const lines = Array.from({ length: 300 }, (_, i) => `line ${i}`);
  const handled: Array<Promise<void>> = [];
  for (const [i, line] of lines.entries()) {
    handled.push(talker.client.sendToChannel(talker.lobby, line));
    if (i === 100 || i === 200) {
      // Cut while messages are in flight both ways.
      await talker.events.until(`line ${i - 50} echoed`, (es) =>
        es.some((e) => e.type === "channelMessage" && e.text.endsWith(`: line ${i - 50}`)),
      );
      proxy.cut();
    }
  }
  await Promise.all(handled);
  const expected = lines.map((l) => `${talker.client.sessionId}|${l}`);
  for (const [who, rec] of [
    ["the talker", talker.events],
    ["another player", listener.events],
  ] as const) {
    await rec.until(`${who} heard every line`, (es) =>
      es.filter((e) => e.type === "channelMessage" && e.sender === talker.client.sessionId).length >= lines.length
        ? true
        : undefined,
    );
    const heard = rec.events.flatMap((e) =>
      e.type === "channelMessage" && e.sender === talker.client.sessionId
        ? [`${e.sender}|${e.text.slice(e.text.indexOf(": ") + 2)}`]
        : [],
    );
    assert.deepEqual(heard, expected, `${who} heard each line once, in order`);
  }
  const reconnected = talker.events.events.filter((e) => e.type === "reconnected").length;
  assert.ok(reconnected >= 2, `the talker resumed after each cut (${reconnected} times)`);
  assert.ok(proxy.connections() >= 3);
  await Promise.all([talker.client.logout(), listener.client.logout()]);
  await proxy.close();
});
