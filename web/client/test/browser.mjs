// Drives the chat demo page (demo/) in headless Chromium against a real chat server, with
// two players, and cuts their connections mid-session. The Rust test
// tests/tests/typescript_client.rs starts the server, the page's HTTP listener and a TCP
// proxy the page's WebSocket goes through, and runs this script with:
//
//   CHROMIUM           the browser to drive (Debian's chromium; nothing is downloaded)
//   DEMO_URL           the demo page, as http://127.0.0.1:PORT/
//   PROXY_STALL_URL    POST: the proxy stops forwarding what clients send, on the
//                      connections open now (the bytes wait in the network)
//   PROXY_CUT_URL      POST: the proxy drops every connection through it, and turns new
//                      ones away until restored
//   PROXY_RESTORE_URL  POST: the proxy lets connections through again
//   SCREENSHOT         where to save a screenshot of a player's page (PNG; optional)
//
// It prints one JSON line of what it saw, and exits non-zero saying what was wrong.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import { chromium } from "playwright-core";

/** Generous: a deadline costs time only when the test fails, and a loaded machine is slow. */
const DEADLINE_MS = 60_000;

function required(name) {
  const value = process.env[name];
  if (value === undefined || value === "") {
    console.error(`error: ${name} is not set (see the top of ${import.meta.url})`);
    process.exit(2);
  }
  return value;
}

const executablePath = required("CHROMIUM");
const demoUrl = required("DEMO_URL");
const stallUrl = required("PROXY_STALL_URL");
const cutUrl = required("PROXY_CUT_URL");
const restoreUrl = required("PROXY_RESTORE_URL");
const screenshot = process.env.SCREENSHOT;

// Fresh names: the server signs each up on its first login (--register-on-login).
const tag = randomBytes(4).toString("hex");
const ADA = `ada-${tag}`;
const BOB = `bob-${tag}`;
const PASSWORD = `secret-${tag}`;

/** Asks the proxy to do something; returns its JSON answer. */
async function proxy(url) {
  const response = await fetch(url, { method: "POST", signal: AbortSignal.timeout(DEADLINE_MS) });
  const text = await response.text();
  assert.equal(response.status, 200, `POST ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

/** In the page: the status line and the last lines of the log, to say where a wait stopped. */
function snapshot() {
  const status = document.getElementById("status");
  const lines = [...document.querySelectorAll("#log > li")].slice(-12).map((li) => {
    const channel = li.dataset.channel === undefined ? "" : `[${li.dataset.channel}] `;
    return `  ${li.dataset.kind}: ${channel}${li.querySelector(".text")?.textContent ?? ""}`;
  });
  return `status ${status?.dataset.state} "${status?.textContent}"; last lines:\n${lines.join("\n")}`;
}

/** One player's page, with what went wrong in it. */
class Player {
  constructor(page, name) {
    this.page = page;
    this.name = name;
    this.problems = [];
    /** Paths the test made answer 404 on purpose. */
    this.missing = [];
    page.on("pageerror", (e) => this.problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      // While the proxy turns connections away, the browser reports each failed attempt;
      // failed loads are judged below, by their address.
      const expected = /WebSocket connection to .* failed/.test(m.text()) || m.text().startsWith("Failed to load resource");
      if (m.type() === "error" && !expected) {
        this.problems.push(`console: ${m.text()}`);
      }
    });
    page.on("response", (r) => {
      const path = new URL(r.url()).pathname;
      if (r.status() >= 400 && path !== "/favicon.ico" && !this.missing.includes(path)) {
        this.problems.push(`${r.status()} for ${r.url()}`);
      }
    });
  }

  /** Waits until `check(arg)` holds in the page; fails saying `what` and what the page showed. */
  async until(what, check, arg) {
    try {
      return await this.page.waitForFunction(check, arg, { timeout: DEADLINE_MS });
    } catch (e) {
      const seen = await this.page.evaluate(snapshot).catch(() => "(the page could not be read)");
      throw new Error(`${this.name}: ${what}: not within ${DEADLINE_MS / 1000} s (${e.message.split("\n")[0]}); ${seen}`);
    }
  }

  /** Waits for `#status[data-state=state]` (and, reconnecting, attempt `minAttempt` or later). */
  status(state, minAttempt = 0) {
    return this.until(
      `the status ${state}${minAttempt > 0 ? ` (attempt ${minAttempt} or later)` : ""}`,
      ([state, min]) => {
        const el = document.getElementById("status");
        return el.dataset.state === state && (min === 0 || Number(el.dataset.attempt) >= min);
      },
      [state, minAttempt],
    );
  }

  /** Waits for a log line of `kind` whose text is `text` (or starts with it, `prefix`), on `channel`. */
  line(kind, text, { channel, prefix = false } = {}) {
    return this.until(
      `a ${kind} line ${JSON.stringify(text)}${channel ? ` on ${channel}` : ""}`,
      ([kind, text, channel, prefix]) =>
        [...document.querySelectorAll(`#log > li[data-kind="${kind}"]`)].some((li) => {
          const body = li.querySelector(".text")?.textContent ?? "";
          return (prefix ? body.startsWith(text) : body === text) && (channel === null || li.dataset.channel === channel);
        }),
      [kind, text, channel ?? null, prefix],
    );
  }

  /** The log's lines of `kind`, in order: `{ channel, text }`. */
  lines(kind) {
    return this.page.$$eval(`#log > li[data-kind="${kind}"]`, (lis) =>
      lis.map((li) => ({ channel: li.dataset.channel ?? null, text: li.querySelector(".text")?.textContent ?? "" })),
    );
  }

  /** The texts of the channel lines `sender` said (signed `sender: `), in order. */
  async saidBy(sender) {
    return (await this.lines("channel")).flatMap((l) => (l.text.startsWith(`${sender}: `) ? [l.text.slice(sender.length + 2)] : []));
  }

  /** Fills the login form and submits it. */
  async logIn(password) {
    await this.page.fill("#name", this.name);
    await this.page.fill("#password", password);
    await this.page.click("#login");
  }

  /** Types `line` into the input line and presses Enter. */
  async say(line) {
    await this.page.fill("#input", line);
    await this.page.press("#input", "Enter");
  }
}

/** Opens the page at `url` for player `name`, after `setUp(player)` when given. */
async function open(context, name, { url = demoUrl, setUp } = {}) {
  const page = await context.newPage();
  const player = new Player(page, name);
  await setUp?.(player);
  await page.goto(url);
  return player;
}

/** Makes the page's `config.json` answer `status` with `body`. */
function configAnswers(status, body) {
  return async (player) => {
    if (status !== 200) {
      player.missing.push("/config.json");
    }
    await player.page.route("**/config.json", (route) =>
      route.fulfill({ status, contentType: "application/json", body }),
    );
  };
}

const profile = await mkdtemp(join(tmpdir(), "chat-demo-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  viewport: { width: 1000, height: 800 },
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
context.setDefaultTimeout(DEADLINE_MS);

try {
  // Two players log in and are welcomed into the lobby.
  const ada = await open(context, ADA);
  const bob = await open(context, BOB);
  for (const player of [ada, bob]) {
    await player.page.locator("#login-form").waitFor({ state: "visible" });
    await player.logIn(PASSWORD);
    await player.status("connected");
    await player.line("message", `welcome, ${player.name}.`, { prefix: true });
    await player.line("info", "you are in lobby");
    await player.page.locator("#input").waitFor({ state: "visible" });
    assert.ok(await player.page.locator("#login-form").isHidden(), `${player.name}: the login form hides once logged in`);
  }

  // A line in the lobby comes back signed, to both.
  await ada.say("hello from the browser");
  for (const player of [ada, bob]) {
    await player.line("channel", `${ADA}: hello from the browser`, { channel: "lobby" });
  }

  // Markup is shown as the text it is, never made into elements.
  const markup = `<img src=x onerror="document.body.dataset.injected='yes'"><b>bold</b>`;
  await ada.say(markup);
  await bob.line("channel", `${ADA}: ${markup}`);
  const injected = await bob.page.evaluate(() => ({
    elements: document.querySelectorAll("#log img, #log b").length,
    flag: document.body.dataset.injected ?? null,
  }));
  assert.deepEqual(injected, { elements: 0, flag: null }, "a line with markup made elements in the page");

  // A command goes to the game, whose answer is a message to the player.
  await bob.say("/who");
  await bob.line("command", "/who");
  await bob.line("message", `in lobby: ${ADA}, ${BOB}`);

  // The cut. First the proxy holds what the clients send, so that ada's next lines are in
  // flight, in the network, when the connections drop: they must come through on the
  // resumed session, once.
  const stalled = await proxy(stallUrl);
  assert.ok(stalled.stalled >= 2, `the proxy held ${stalled.stalled} connections, not both players'`);
  const inFlight = ["in flight 1", "in flight 2", "in flight 3"];
  for (const line of inFlight) {
    await ada.say(line);
  }
  const cut = await proxy(cutUrl);
  assert.ok(cut.cut >= 2, `the proxy cut ${cut.cut} connections, not both players'`);
  // Turned away by the proxy at least once: the page keeps trying, and says so.
  await ada.status("reconnecting", 2);
  await bob.status("reconnecting");
  await ada.line("info", "connection lost; resuming the session");
  // Lines typed while the connection is down wait in the client, in order.
  const during = ["while cut off 1", "while cut off 2"];
  for (const line of during) {
    await ada.say(line);
  }
  await bob.say("bob was cut off too");
  assert.deepEqual(
    (await bob.saidBy(ADA)).filter((l) => inFlight.includes(l) || during.includes(l)),
    [],
    "lines held in the network reached the server before the resume",
  );
  await proxy(restoreUrl);
  for (const player of [ada, bob]) {
    await player.status("connected");
    await player.line("info", "resumed; nothing was lost");
  }
  await ada.say("after the cut");
  for (const player of [ada, bob]) {
    await player.line("channel", `${ADA}: after the cut`);
    await player.line("channel", `${BOB}: bob was cut off too`);
  }
  // Every line exactly once, in the order said, on both pages.
  const expected = ["hello from the browser", markup, ...inFlight, ...during, "after the cut"];
  for (const player of [ada, bob]) {
    assert.deepEqual(await player.saidBy(ADA), expected, `${player.name}: ada's lines, once each, in order`);
    assert.deepEqual(await player.saidBy(BOB), ["bob was cut off too"], `${player.name}: bob's lines`);
  }

  // Rooms: /join moves plain lines to the room.
  await ada.say("/join demo-room");
  await ada.line("info", "you are in demo-room");
  await ada.line("channel", `${ADA} entered demo-room`, { channel: "demo-room" });
  await bob.say("/join demo-room");
  await ada.line("channel", `${BOB} entered demo-room`, { channel: "demo-room" });
  assert.equal(await ada.page.textContent("#room"), "talking in demo-room");
  await ada.say("hello, room");
  await bob.line("channel", `${ADA}: hello, room`, { channel: "demo-room" });
  await bob.say("/leave");
  await bob.line("info", "you left demo-room");
  await bob.say("back in the lobby");
  await ada.line("channel", `${BOB}: back in the lobby`, { channel: "lobby" });

  // Without config.json the page takes the server from ?ws=; a wrong config.json is named.
  const served = await (await fetch(new URL("config.json", demoUrl), { signal: AbortSignal.timeout(DEADLINE_MS) })).json();
  const fallback = new URL(demoUrl);
  fallback.searchParams.set("ws", served.ws);
  const cy = await open(context, `cy-${tag}`, { url: fallback.href, setUp: configAnswers(404, "") });
  await cy.logIn(PASSWORD);
  await cy.status("connected");
  await cy.line("message", `welcome, ${cy.name}.`, { prefix: true });
  const wrong = await open(context, `dee-${tag}`, { setUp: configAnswers(200, `{"ws": "http://127.0.0.1:1/"}`) });
  await wrong.logIn(PASSWORD);
  await wrong.until("the configuration error in the status line", () => {
    const el = document.getElementById("status");
    return el.dataset.state === "signed-out" && el.textContent.includes("is not a ws:// or wss:// URL");
  });
  assert.equal(
    await wrong.page.textContent("#status"),
    `not logged in: config.json's "ws": "http://127.0.0.1:1/" is not a ws:// or wss:// URL`,
  );

  if (screenshot !== undefined && screenshot !== "") {
    await mkdir(dirname(screenshot), { recursive: true });
    await ada.page.screenshot({ path: screenshot, fullPage: true });
  }

  // Logging out ends the session, says why, and offers the form again.
  await ada.page.click("#logout");
  await ada.status("disconnected");
  assert.equal(await ada.page.getAttribute("#status", "data-reason"), "logged_out");
  await ada.page.locator("#login-form").waitFor({ state: "visible" });
  // A wrong password is refused, and the page says so.
  await ada.logIn("not the password");
  await ada.until("the refusal in the status line", () => {
    const el = document.getElementById("status");
    return el.dataset.state === "signed-out" && el.textContent.includes("login refused");
  });
  assert.ok(await ada.page.locator("#login-form").isVisible(), "the login form stays after a refusal");

  for (const player of [ada, bob, cy, wrong]) {
    assert.deepEqual(player.problems, [], `${player.name}'s page reported errors`);
  }
  console.log(
    JSON.stringify({
      players: [ADA, BOB],
      stalled: stalled.stalled,
      cut: cut.cut,
      lines: expected.length,
      status: await ada.page.textContent("#status"),
      screenshot: screenshot ?? null,
    }),
  );
} finally {
  await context.close();
  await rm(profile, { recursive: true, force: true });
}
