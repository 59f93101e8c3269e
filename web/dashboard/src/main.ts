/**
 * The dashboard page's entry point: finds the admin token, polls the admin API every
 * second, and draws each round of answers. Every round ends with a `dashboard:update`
 * event on `document` (its detail a {@link UpdateDetail}), and `<body>`'s `data-state`
 * and `data-polls` say where the page is, for whoever watches it.
 */

import { Refused } from "./client";
import { Dashboard } from "./dashboard";
import { pollOnce } from "./poll";
import { forgetToken, saveToken, takeToken } from "./token";
import { askForToken, hideTokenForm, onTokenSubmitted, REFUSED } from "./view/auth";
import { setFigure } from "./view/dom";

/** Time between the starts of two rounds. */
const PERIOD_MS = 1000;

/**
 * Where the page is: showing figures, refused, or failing (the server cannot be reached,
 * or answered something the page cannot read).
 */
export type PageState = "starting" | "live" | "refused" | "failing";

/** The detail of a `dashboard:update` event. */
export interface UpdateDetail {
  state: PageState;
  /** Rounds drawn since the page loaded. */
  polls: number;
}

const dashboard = new Dashboard();
let token = takeToken();
let polls = 0;
/** Bumped when a new token starts a new polling loop, which ends the old one. */
let generation = 0;

function announce(state: PageState): void {
  document.body.dataset["state"] = state;
  document.body.dataset["polls"] = String(polls);
  const detail: UpdateDetail = { state, polls };
  document.dispatchEvent(new CustomEvent<UpdateDetail>("dashboard:update", { detail }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function poll(loop: number): Promise<void> {
  while (loop === generation) {
    const started = Date.now();
    try {
      const round = await pollOnce(token);
      if (loop !== generation) return;
      hideTokenForm();
      dashboard.show(round);
      polls += 1;
      const at = new Date(round.status.now_ms).toISOString().slice(11, 19);
      setFigure("poll-state", `Updated every second; last answer ${at} UTC.`);
      announce("live");
    } catch (error) {
      if (loop !== generation) return;
      if (error instanceof Refused) {
        // Polling again with the same token would only be refused again: wait for a new one.
        forgetToken();
        dashboard.clear();
        setFigure("poll-state", "");
        askForToken(REFUSED);
        announce("refused");
        return;
      }
      const reason = error instanceof Error ? error.message : String(error);
      setFigure("poll-state", `Cannot read the server (${reason}); trying again every second.`);
      announce("failing");
    }
    await sleep(Math.max(0, PERIOD_MS - (Date.now() - started)));
  }
}

onTokenSubmitted((given) => {
  token = given;
  saveToken(given);
  hideTokenForm();
  // No longer refused: the next announcement says what the new token brought.
  announce("starting");
  generation += 1;
  void poll(generation);
});

// Without a token the first round is refused like a wrong one, which shows the form.
void poll(generation);
