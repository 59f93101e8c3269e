/**
 * Where the admin token comes from: the URL fragment `#token=...` (which the browser never
 * sends to the server), else this tab's `sessionStorage`, else the form the page shows.
 */

const KEY = "darkstar-admin-token";

/**
 * The token of the URL fragment, saved for this tab and then taken out of the address bar
 * (so that it is not left in a bookmark or a screenshot); else the one saved earlier in
 * this tab; else `null`.
 */
export function takeToken(): string | null {
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const given = fragment.get("token");
  if (given !== null && given !== "") {
    saveToken(given);
    fragment.delete("token");
    const rest = fragment.toString();
    const url = window.location.pathname + window.location.search + (rest === "" ? "" : `#${rest}`);
    window.history.replaceState(null, "", url);
    return given;
  }
  return storage()?.getItem(KEY) ?? null;
}

/** Keeps `token` for this tab, so that a reload needs no fragment. */
export function saveToken(token: string): void {
  storage()?.setItem(KEY, token);
}

/** Forgets the saved token (the server refused it). */
export function forgetToken(): void {
  storage()?.removeItem(KEY);
}

/** This tab's storage, or `null` where the browser denies it (the page works without). */
function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}
