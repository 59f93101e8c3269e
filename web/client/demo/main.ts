/**
 * The chat lobby in the browser: log in, read the lobby and what the game tells you, say
 * lines to your room, and watch the session survive a dropped connection. Built into
 * `demo/dist/chat.js` by `demo/build.mjs`; the chat binary serves it with `--web ADDR`.
 *
 * @module
 */

import { connect, type Client } from "../src/index.js";
import { serverUrl } from "./config.js";
import { Rooms } from "./rooms.js";
import { View } from "./view.js";

const view = new View(document);
/** The session, while there is one. */
let client: Client | null = null;
let rooms = new Rooms();

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Shows how a send ended, if it failed (the session ended before the server took it). */
function reportFailure(sent: Promise<void>, line: string): void {
  sent.catch((e: unknown) => view.line("error", `not sent (${line}): ${errorText(e)}`));
}

/** Wires the events of a fresh session to the page. */
function follow(session: Client, name: string): void {
  session
    .on("message", (e) => view.line("message", e.text))
    .on("channelMessage", (e) => view.line("channel", e.text, rooms.name(e.channel)))
    .on("joined", (e) => {
      rooms.join(e.channel, e.name);
      const shown = rooms.name(e.channel);
      view.line("info", `you are in ${shown}`);
      view.setRoom(rooms.name(rooms.current() ?? e.channel));
    })
    .on("left", (e) => {
      view.line("info", `you left ${rooms.leave(e.channel)}`);
      const now = rooms.current();
      view.setRoom(now === undefined ? undefined : rooms.name(now));
    })
    .on("reconnecting", (e) => {
      if (e.attempt === 1) {
        view.line("info", "connection lost; resuming the session");
      }
      view.setStatus({ state: "reconnecting", attempt: e.attempt });
    })
    .on("reconnected", (e) => {
      view.line("info", "resumed; nothing was lost");
      view.setStatus({ state: "connected", name, url: e.url });
    })
    .on("disconnected", (e) => {
      view.line("info", `the session is over: ${e.reasonName} (${e.text})`);
      view.setStatus({ state: "disconnected", reasonName: e.reasonName, text: e.text });
      if (client === session) {
        client = null;
      }
      view.showChat(false);
    });
}

view.loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = view.name.value.trim();
  const password = view.password.value;
  view.setLoggingIn(true);
  void (async () => {
    try {
      const url = await serverUrl(new URL(location.href));
      view.setStatus({ state: "connecting", url });
      const session = await connect(url, { name, password });
      client = session;
      rooms = new Rooms();
      follow(session, name);
      view.setStatus({ state: "connected", name, url: session.url });
      view.showChat(true);
    } catch (e) {
      view.setStatus({ state: "signed-out", text: `not logged in: ${errorText(e)}` });
    } finally {
      view.setLoggingIn(false);
      view.password.value = "";
    }
  })();
});

view.sayForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const line = view.input.value;
  const session = client;
  if (session === null || line.trim() === "") {
    return;
  }
  view.input.value = "";
  // Commands go to the game; anything else to the room joined last (or the lobby).
  if (line.startsWith("/")) {
    view.line("command", line);
    reportFailure(session.send(line), line);
    return;
  }
  const channel = rooms.current();
  if (channel === undefined) {
    view.line("error", "you are in no channel yet");
    return;
  }
  reportFailure(session.sendToChannel(channel, line), line);
});

view.logout.addEventListener("click", () => {
  const session = client;
  if (session !== null) {
    view.logout.disabled = true;
    session.logout().catch((e: unknown) => view.line("error", `logout: ${errorText(e)}`));
  }
});
