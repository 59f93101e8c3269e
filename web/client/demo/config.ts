/**
 * Where the chat server is: `config.json` beside the page (the chat binary's `--web`
 * listener serves it), else the page address's `?ws=` parameter.
 *
 * @module
 */

/** What `config.json` holds. */
export interface DemoConfig {
  /** The chat server's WebSocket URL, such as `ws://127.0.0.1:7491/`. */
  ws: string;
}

/**
 * The WebSocket URL to connect to, for the page at `page`. A `config.json` that is there
 * but wrong is an error, not a reason to look elsewhere: it names what was wrong.
 */
export async function serverUrl(page: URL): Promise<string> {
  const configUrl = new URL("config.json", page);
  let missing: string;
  try {
    const response = await fetch(configUrl, { cache: "no-store" });
    if (response.ok) {
      const text = await response.text();
      return checked(readConfig(text).ws, "config.json's \"ws\"", page);
    }
    missing = `${configUrl.pathname} answered ${response.status}`;
  } catch (e) {
    if (e instanceof ConfigError) {
      throw e;
    }
    missing = `${configUrl.pathname} could not be fetched (${e instanceof Error ? e.message : String(e)})`;
  }
  const param = page.searchParams.get("ws");
  if (param !== null && param !== "") {
    return checked(param, "the page's ?ws= parameter", page);
  }
  throw new ConfigError(
    `no chat server to connect to: ${missing}, and the page's address has no ?ws=ws://HOST:PORT/ parameter`,
  );
}

/** `config.json` or the `?ws=` parameter is wrong. */
export class ConfigError extends Error {
  /** @param message what was wrong, and where */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Parses `config.json`'s text. */
export function readConfig(text: string): DemoConfig {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config.json is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ConfigError(`config.json must be an object like {"ws": "ws://127.0.0.1:7491/"}, not ${text.slice(0, 80)}`);
  }
  const ws = (body as Record<string, unknown>).ws;
  if (typeof ws !== "string") {
    throw new ConfigError(`config.json: "ws" must be the chat server's WebSocket URL as a string, not ${JSON.stringify(ws) ?? "missing"}`);
  }
  return { ws };
}

/**
 * `text` as a WebSocket URL. A server listening on every address (`0.0.0.0`, `[::]`) is
 * reached at the host the page came from.
 */
export function checked(text: string, where: string, page: URL): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${where}: ${JSON.stringify(text)} is not a URL (expected ws://HOST:PORT/)`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new ConfigError(`${where}: ${JSON.stringify(text)} is not a ws:// or wss:// URL`);
  }
  if (url.hostname === "0.0.0.0" || url.hostname === "[::]") {
    url.hostname = page.hostname;
  }
  return url.toString();
}
