/** The event hub: every receiver sees events in order, those before it included. */

import assert from "node:assert/strict";
import { test } from "node:test";

import { EventHub, messageEvent, type ClientEvent } from "../src/events.js";

const text = (e: ClientEvent) => (e.type === "message" ? e.text : e.type);
const message = (t: string) => messageEvent(new TextEncoder().encode(t));

test("a listener added late gets what came before it, then what comes meanwhile, in order", async () => {
  const hub = new EventHub();
  hub.emit(message("one"));
  const heard: string[] = [];
  hub.on("message", (e) => heard.push(e.text));
  // Before the listener was handed the backlog.
  hub.emit(message("two"));
  await new Promise((r) => setTimeout(r, 0));
  hub.emit(message("three"));
  assert.deepEqual(heard, ["one", "two", "three"]);
});

test("an iterator gets every event, and ends after disconnected", async () => {
  const hub = new EventHub();
  hub.emit(message("early"));
  const events = hub.iterate();
  hub.emit({ type: "reconnecting", attempt: 1 });
  hub.emit({ type: "disconnected", reason: 1, reasonName: "logged_out", text: "logged out" });
  const seen: string[] = [];
  for await (const e of events) {
    seen.push(text(e));
  }
  assert.deepEqual(seen, ["early", "reconnecting", "disconnected"]);
});
