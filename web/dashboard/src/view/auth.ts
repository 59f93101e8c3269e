/**
 * The token form and the refusal message: shown instead of the figures when there is no
 * token or the server refused the one given.
 */

import { byId } from "./dom";

/** What the page says when the server answers 401. */
export const REFUSED = "wrong or missing admin token";

/** Shows the form, with `message` above it (none: just the form). */
export function askForToken(message: string | null): void {
  const auth = byId("auth");
  const text = byId("auth-message");
  text.textContent = message ?? "";
  text.hidden = message === null;
  auth.hidden = false;
  byId("figures").hidden = true;
  byId<HTMLInputElement>("token-input").focus();
}

/** Hides the form and the message. */
export function hideTokenForm(): void {
  byId("auth").hidden = true;
  byId("auth-message").textContent = "";
}

/** Calls `submit` with the token typed into the form, each time it is sent. */
export function onTokenSubmitted(submit: (token: string) => void): void {
  const form = byId<HTMLFormElement>("token-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>("token-input");
    const token = input.value.trim();
    input.value = "";
    if (token !== "") submit(token);
  });
}
