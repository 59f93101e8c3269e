/**
 * Requests to the admin API, from the page's own origin, with the token in the
 * `Authorization` header (never in the URL, which logs and proxies keep).
 */

/** The server refused the token (401): it is wrong, or there is none. */
export class Refused extends Error {
  /** @param detail - the server's `error` text */
  constructor(readonly detail: string) {
    super(`wrong or missing admin token (${detail})`);
    this.name = "Refused";
  }
}

/** The server answered with an error other than a refused token. */
export class ApiFailure extends Error {
  /**
   * @param path - the request's path
   * @param status - the HTTP status
   * @param detail - the server's `error` text, or the start of its body
   */
  constructor(
    readonly path: string,
    readonly status: number,
    detail: string,
  ) {
    super(`${path} answered ${status}: ${detail}`);
    this.name = "ApiFailure";
  }
}

/** The `error` text of an error answer, or the start of its body when it is not JSON. */
async function errorText(response: Response): Promise<string> {
  const body = await response.text();
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === "object" && parsed !== null && "error" in parsed) {
      const text = (parsed as { error: unknown }).error;
      if (typeof text === "string") return text;
    }
  } catch {
    // Not JSON: the body itself says what happened.
  }
  return body.slice(0, 200) || response.statusText;
}

/**
 * GETs `path` and returns its JSON body.
 *
 * @param token - the admin token, or `null` to ask without one (the server refuses)
 * @throws Refused on 401, ApiFailure on another error status, TypeError when the server
 *   cannot be reached, SyntaxError when the body is not JSON
 */
export async function getJson(path: string, token: string | null): Promise<unknown> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token !== null) headers["Authorization"] = `Bearer ${token}`;
  const response = await fetch(path, { headers, cache: "no-store" });
  if (response.status === 401) throw new Refused(await errorText(response));
  if (!response.ok) throw new ApiFailure(path, response.status, await errorText(response));
  return response.json();
}
