// Drives the dashboard of a running server in headless Chromium and checks what it shows
// against the admin API. The Rust test tests/tests/dashboard.rs starts the server (the bank
// game under load) and runs this script with:
//
//   CHROMIUM             the browser to drive (Debian's chromium; nothing is downloaded)
//   DASHBOARD_URL        the admin listener, as http://127.0.0.1:PORT
//   DASHBOARD_TOKEN      its admin token
//   DASHBOARD_SCREENSHOT where to save a screenshot of the live page (PNG)
//   DASHBOARD_TASK       the task type that must show commits (default bank.transfer)
//
// It prints one JSON line of what it read, and exits non-zero saying what was wrong.

import assert from "node:assert/strict";
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
const base = required("DASHBOARD_URL").replace(/\/$/, "");
const token = required("DASHBOARD_TOKEN");
const screenshot = required("DASHBOARD_SCREENSHOT");
const task = process.env.DASHBOARD_TASK ?? "bank.transfer";

/** The admin API's status answer, fetched with the token. */
async function apiStatus() {
  const response = await fetch(`${base}/api/v1/status`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, `GET /api/v1/status with the token answered ${response.status}`);
  return response.json();
}

/**
 * In the page, before its own script: the conditions the test waits for, each checked
 * whenever the page announces a round (`dashboard:update`). Playwright injects this as
 * source, so it holds everything it uses.
 */
function installChecks() {
  const number = (el) => (el?.dataset.value === undefined ? NaN : Number(el.dataset.value));
  const checks = {
    /** The live figures once they show the load, or `{ refused }`. */
    live(taskName) {
      const state = document.body.dataset.state;
      if (state === "refused") return { refused: document.getElementById("auth-message")?.textContent };
      if (state !== "live") return false;
      const tasksPerSecond = number(document.getElementById("tasks-per-second"));
      const row = document.querySelector(`#task-table tbody tr[data-key="${CSS.escape(taskName)}"]`);
      const commits = number(row?.querySelector('[data-col="commits"]'));
      const histograms = [...document.querySelectorAll("#latency-charts figure.histogram")].map((f) => ({
        name: f.dataset.histogram,
        count: Number(f.dataset.count),
        caption: f.querySelector("figcaption")?.textContent ?? "",
        canvas: f.querySelector("canvas") !== null,
      }));
      const nonEmpty = histograms.some((h) => h.count > 0 && h.canvas);
      if (!(tasksPerSecond > 0 && commits > 0 && nonEmpty)) return false;
      return {
        tasksPerSecond,
        tasksPerSecondText: document.getElementById("tasks-per-second").textContent,
        committed: number(document.getElementById("committed-total")),
        taskCommits: commits,
        taskRows: document.querySelectorAll("#task-table tbody tr").length,
        coreRows: document.querySelectorAll("#core-table tbody tr").length,
        sessionsLive: number(document.getElementById("sessions-live")),
        clusterHidden: document.getElementById("cluster").hidden,
        histograms,
        throughputPoints: Number(document.getElementById("chart-throughput").dataset.points ?? 0),
        url: location.href,
      };
    },
    /** What the page says when it cannot read the server's answers. */
    failing() {
      return document.body.dataset.state === "failing" && document.getElementById("poll-state").textContent;
    },
    /** Whether the page settled on the refusal. */
    refused() {
      return document.body.dataset.state === "refused";
    },
    /** Whether the page has drawn at least `n` rounds. */
    polls(n) {
      return Number(document.body.dataset.polls ?? 0) >= n;
    },
  };
  window.__dashboardChecks = checks;
}

/**
 * Waits until check `name` (of `installChecks`) holds in `page`, testing it now and on
 * every `dashboard:update` event; returns what it returned.
 */
async function until(page, name, arg) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the page did not reach "${name}" within ${DEADLINE_MS / 1000} s`)),
      DEADLINE_MS,
    );
  });
  const reached = page.evaluate(
    ([check, argument]) =>
      new Promise((resolve) => {
        const test = () => {
          const result = window.__dashboardChecks[check](argument);
          if (result) {
            document.removeEventListener("dashboard:update", test);
            resolve(result);
          }
        };
        document.addEventListener("dashboard:update", test);
        test();
      }),
    [name, arg ?? null],
  );
  try {
    return await Promise.race([reached, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens `path` in a new tab (after `setUp(page)`, when given) and waits for check `name`;
 * returns the page and its result.
 */
async function open(context, path, name, arg, setUp) {
  const page = await context.newPage();
  await setUp?.(page);
  const errors = [];
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // Failed loads are judged below, by their address.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(`console: ${m.text()}`);
  });
  page.on("response", (r) => {
    const path = new URL(r.url()).pathname;
    // A refused API request is the page working as meant; the browser asks for an icon
    // the server does not have.
    const expected = (r.status() === 401 && path.startsWith("/api/")) || path === "/favicon.ico";
    if (r.status() >= 400 && !expected) errors.push(`${r.status()} for ${path}`);
  });
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  await page.goto(`${base}${path}`);
  const result = await until(page, name, arg);
  assert.deepEqual(errors, [], `the page at ${path} reported errors`);
  return { page, result };
}

/** In the page: what shows once refused, to check that no figure does. */
function refusalView() {
  const visible = (id) => {
    const el = document.getElementById(id);
    return el !== null && !el.hidden && el.offsetParent !== null;
  };
  return {
    message: document.getElementById("auth-message").textContent,
    messageVisible: visible("auth-message"),
    formVisible: visible("token-form"),
    figuresVisible: visible("figures"),
    tasksPerSecond: document.getElementById("tasks-per-second").textContent,
    committed: document.getElementById("committed-total").textContent,
    taskRows: document.querySelectorAll("#task-table tbody tr").length,
    histograms: document.querySelectorAll("#latency-charts figure").length,
    canvases: document.querySelectorAll("canvas").length,
  };
}

/** Checks that a page shows the refusal and not one figure. */
function assertRefusal(view, what) {
  assert.equal(view.message, "wrong or missing admin token", `${what}: the refusal message`);
  assert.ok(view.messageVisible, `${what}: the refusal message is visible`);
  assert.ok(view.formVisible, `${what}: the token form is visible`);
  assert.ok(!view.figuresVisible, `${what}: the figures are hidden`);
  assert.equal(view.tasksPerSecond, "", `${what}: no tasks/s figure`);
  assert.equal(view.committed, "", `${what}: no committed figure`);
  assert.equal(view.taskRows, 0, `${what}: no task rows`);
  assert.equal(view.histograms, 0, `${what}: no histograms`);
  assert.equal(view.canvases, 0, `${what}: no charts`);
}

const profile = await mkdtemp(join(tmpdir(), "dashboard-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  viewport: { width: 1280, height: 900 },
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

await context.addInitScript(installChecks);

try {
  // The live page, with the token in the fragment.
  const { page, result: dom } = await open(context, `/#token=${encodeURIComponent(token)}`, "live", task);
  const api = await apiStatus();
  assert.ok(dom.refused === undefined, `the page was refused with the right token: ${dom.refused}`);
  assert.ok(dom.committed > 0, `the page shows committed ${dom.committed}, not above 0`);
  assert.ok(
    dom.committed <= api.totals.committed,
    `the page shows ${dom.committed} committed, more than the API's ${api.totals.committed} read after it`,
  );
  const apiTask = api.tasks.find((t) => t.task === task);
  assert.ok(apiTask !== undefined, `the API lists no task ${task}`);
  assert.ok(
    dom.taskCommits <= apiTask.commits,
    `the page shows ${dom.taskCommits} commits of ${task}, more than the API's ${apiTask.commits}`,
  );
  assert.equal(dom.taskRows, api.tasks.length, "one task row per task type of the API");
  assert.equal(dom.coreRows, api.cores.length, "one core row per core of the API");
  assert.equal(dom.sessionsLive, api.sessions.live, "live sessions as the API counts them");
  assert.equal(dom.clusterHidden, api.cluster === null, "the cluster section shows only on a cluster node");
  assert.deepEqual(
    dom.histograms.map((h) => h.name).sort(),
    Object.keys(api.latency).sort(),
    "one chart per histogram of the API",
  );
  for (const h of dom.histograms) {
    const title = api.latency[h.name].title;
    assert.ok(h.caption.startsWith(title), `histogram ${h.name} is titled "${h.caption}", not with "${title}"`);
    assert.ok(h.count <= api.latency[h.name].count, `histogram ${h.name} shows more than the API counted`);
  }
  assert.ok(!dom.url.includes("token="), `the token is still in the address bar: ${dom.url}`);

  // A few more rounds, so the screenshot has lines to show; each round is an event.
  await until(page, "polls", 8);
  await mkdir(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });

  // A wrong token, then none at all: the refusal and the form, and no figures.
  const wrong = await open(context, "/#token=not-the-admin-token-at-all", "refused");
  assertRefusal(await wrong.page.evaluate(refusalView), "with a wrong token");
  const none = await open(context, "/", "refused");
  assertRefusal(await none.page.evaluate(refusalView), "without a token");

  // The form: typing the token opens the dashboard.
  await none.page.fill("#token-input", token);
  await none.page.click("#token-form button[type=submit]");
  const after = await until(none.page, "live", task);
  assert.ok(after.refused === undefined && after.committed > 0, "the token typed into the form opens the figures");

  // An answer the page cannot read: it says which field was wrong, and keeps trying.
  const broken = await open(context, `/#token=${encodeURIComponent(token)}`, "failing", null, (page) =>
    page.route("**/api/v1/status", async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      body.totals.committed = "many";
      await route.fulfill({ response, json: body });
    }),
  );
  assert.match(
    broken.result,
    /\/api\/v1\/status: totals\.committed: expected a number, found the string "many"/,
    "the page names the field it could not read",
  );

  console.log(
    JSON.stringify({
      tasks_per_second: dom.tasksPerSecondText,
      committed_shown: dom.committed,
      committed_api: api.totals.committed,
      task,
      task_commits_shown: dom.taskCommits,
      histograms: dom.histograms.map((h) => `${h.name}:${h.count}`),
      screenshot,
    }),
  );
} finally {
  await context.close();
  await rm(profile, { recursive: true, force: true });
}
