/**
 * Checks the admin API's answers against the shapes of `api.ts`, so that an answer the
 * page cannot read is reported with the field that was wrong, instead of drawing nonsense.
 */

import type {
  ClusterNode,
  ClusterStatus,
  CoreStatus,
  Histogram,
  HotObject,
  Placement,
  PlacementGroup,
  SessionEntry,
  SessionList,
  Status,
  TaskStatus,
} from "./api";

/** An answer that does not have the shape the page reads; `where` names the field. */
export class ShapeError extends Error {
  /**
   * @param where - the field, as `/api/v1/status: totals.committed`
   * @param what - what was wrong with it
   */
  constructor(
    readonly where: string,
    what: string,
  ) {
    super(`${where}: ${what}`);
    this.name = "ShapeError";
  }
}

type Fields = Record<string, unknown>;

/** A field path under construction: the endpoint and the keys walked so far. */
class At {
  constructor(
    private readonly source: string,
    private readonly path: string,
  ) {}

  key(key: string): At {
    return new At(this.source, this.path === "" ? key : `${this.path}.${key}`);
  }

  index(i: number): At {
    return new At(this.source, `${this.path}[${i}]`);
  }

  fail(what: string): never {
    throw new ShapeError(this.path === "" ? this.source : `${this.source}: ${this.path}`, what);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return `${typeof value === "object" ? "an" : "a"} ${typeof value}`;
}

/** What a field held, for an error message: `nothing` when it is missing. */
function found(value: unknown): string {
  return value === undefined ? "nothing" : describe(value);
}

function object(value: unknown, at: At): Fields {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Fields;
  return at.fail(`expected an object, found ${describe(value)}`);
}

function num(o: Fields, key: string, at: At): number {
  const v = o[key];
  if (typeof v === "number" && Number.isFinite(v)) return v;
  return at.key(key).fail(`expected a number, found ${found(v)}`);
}

function str(o: Fields, key: string, at: At): string {
  const v = o[key];
  if (typeof v === "string") return v;
  return at.key(key).fail(`expected a string, found ${found(v)}`);
}

function strOrNull(o: Fields, key: string, at: At): string | null {
  return o[key] === null ? null : str(o, key, at);
}

function bool(o: Fields, key: string, at: At): boolean {
  const v = o[key];
  if (typeof v === "boolean") return v;
  return at.key(key).fail(`expected true or false, found ${found(v)}`);
}

/** An object id: a string of decimal digits (ids can exceed what a JSON number holds). */
function id(value: unknown, at: At): string {
  if (typeof value === "string" && /^[0-9]+$/.test(value)) return value;
  return at.fail(`expected an object id (a string of decimal digits), found ${describe(value)}`);
}

function list<T>(o: Fields, key: string, at: At, item: (v: unknown, at: At) => T): T[] {
  const v = o[key];
  const here = at.key(key);
  if (!Array.isArray(v)) return here.fail(`expected an array, found ${found(v)}`);
  return v.map((e: unknown, i: number) => item(e, here.index(i)));
}

function numbers(o: Fields, key: string, at: At): number[] {
  return list(o, key, at, (v, here): number => {
    if (typeof v === "number" && Number.isFinite(v)) return v;
    return here.fail(`expected a number, found ${describe(v)}`);
  });
}

/** Picks the named number fields of `o`, all required. */
function numberFields<K extends string>(o: Fields, keys: readonly K[], at: At): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of keys) out[k] = num(o, k, at);
  return out;
}

function histogram(value: unknown, at: At): Histogram {
  const o = object(value, at);
  const h: Histogram = {
    title: str(o, "title", at),
    bounds_us: numbers(o, "bounds_us", at),
    counts: numbers(o, "counts", at),
    count: num(o, "count", at),
    sum_us: num(o, "sum_us", at),
  };
  if (h.counts.length !== h.bounds_us.length + 1) {
    at.key("counts").fail(
      `has ${h.counts.length} elements for ${h.bounds_us.length} bounds; it needs one more than the bounds`,
    );
  }
  return h;
}

function core(value: unknown, at: At): CoreStatus {
  const o = object(value, at);
  return numberFields(o, ["core", "busy_us", "committed", "conflicts", "failed", "batches", "timers"], at);
}

function task(value: unknown, at: At): TaskStatus {
  const o = object(value, at);
  return {
    task: str(o, "task", at),
    ...numberFields(
      o,
      ["commits", "conflicts", "retries", "time_limits", "errors", "panics", "rescheduled"],
      at,
    ),
  };
}

function clusterNode(value: unknown, at: At): ClusterNode {
  const o = object(value, at);
  return {
    name: str(o, "name", at),
    address: str(o, "address", at),
    slots: num(o, "slots", at),
    draining: bool(o, "draining", at),
    this: bool(o, "this", at),
  };
}

function cluster(value: unknown, at: At): ClusterStatus | null {
  if (value === null) return null;
  const o = object(value, at);
  const lag = object(o["lag_us"], at.key("lag_us"));
  return {
    node: str(o, "node", at),
    log_position: num(o, "log_position", at),
    head_seen: num(o, "head_seen", at),
    lag_us: { p50: num(lag, "p50", at.key("lag_us")), p99: num(lag, "p99", at.key("lag_us")) },
    records_applied: num(o, "records_applied", at),
    batches_committed: num(o, "batches_committed", at),
    batches_conflicted: num(o, "batches_conflicted", at),
    nodes: list(o, "nodes", at, clusterNode),
  };
}

/**
 * Reads a `GET /api/v1/status` answer.
 *
 * @throws ShapeError naming the first field that is missing or of the wrong type
 */
export function decodeStatus(json: unknown, source = "/api/v1/status"): Status {
  const at = new At(source, "");
  const o = object(json, at);
  const latencyAt = at.key("latency");
  const latencyObject = object(o["latency"], latencyAt);
  const latency: Record<string, Histogram> = {};
  for (const [name, h] of Object.entries(latencyObject)) latency[name] = histogram(h, latencyAt.key(name));
  const networkAt = at.key("network");
  const network = object(o["network"], networkAt);
  return {
    version: str(o, "version", at),
    now_ms: num(o, "now_ms", at),
    uptime_ms: num(o, "uptime_ms", at),
    node: strOrNull(o, "node", at),
    totals: numberFields(
      object(o["totals"], at.key("totals")),
      ["committed", "conflicts", "failed", "batches", "retries"],
      at.key("totals"),
    ),
    cores: list(o, "cores", at, core),
    tasks: list(o, "tasks", at, task),
    latency,
    sessions: numberFields(object(o["sessions"], at.key("sessions")), ["live", "stored", "channels"], at.key("sessions")),
    network: {
      tcp_addr: strOrNull(network, "tcp_addr", networkAt),
      ws_addr: strOrNull(network, "ws_addr", networkAt),
      connections: num(network, "connections", networkAt),
      logins: num(network, "logins", networkAt),
    },
    store: numberFields(
      object(o["store"], at.key("store")),
      [
        "last_seq",
        "durable_seq",
        "segments",
        "live_bytes",
        "used_bytes",
        "keys",
        "syncs",
        "compacted_segments",
        "reclaimed_bytes",
      ],
      at.key("store"),
    ),
    cluster: cluster(o["cluster"] ?? null, at.key("cluster")),
  };
}

function hot(value: unknown, at: At): HotObject {
  const o = object(value, at);
  return { id: id(o["id"], at.key("id")), ...numberFields(o, ["conflicts", "group", "core"], at) };
}

function group(value: unknown, at: At): PlacementGroup {
  const o = object(value, at);
  return {
    group: num(o, "group", at),
    core: num(o, "core", at),
    objects: list(o, "objects", at, id),
  };
}

/**
 * Reads a `GET /api/v1/placement` answer.
 *
 * @throws ShapeError naming the first field that is missing or of the wrong type
 */
export function decodePlacement(json: unknown, source = "/api/v1/placement"): Placement {
  const at = new At(source, "");
  const o = object(json, at);
  return {
    cores: num(o, "cores", at),
    slots_per_core: numbers(o, "slots_per_core", at),
    hot: list(o, "hot", at, hot),
    groups: list(o, "groups", at, group),
  };
}

function session(value: unknown, at: At): SessionEntry {
  const o = object(value, at);
  return {
    id: id(o["id"], at.key("id")),
    identity: str(o, "identity", at),
    connected: bool(o, "connected", at),
  };
}

/**
 * Reads a `GET /api/v1/sessions` answer.
 *
 * @throws ShapeError naming the first field that is missing or of the wrong type
 */
export function decodeSessions(json: unknown, source = "/api/v1/sessions"): SessionList {
  const at = new At(source, "");
  const o = object(json, at);
  return { total: num(o, "total", at), sessions: list(o, "sessions", at, session) };
}
