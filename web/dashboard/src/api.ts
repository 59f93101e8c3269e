/**
 * The admin API's answers (version 1), as the dashboard reads them. Object ids, which can
 * exceed 2^53, arrive as strings of decimal digits and stay strings here; every other
 * number is a JSON number. Counters are cumulative since the server started.
 */

/** Totals over every core since the server started. */
export interface Totals {
  committed: number;
  conflicts: number;
  failed: number;
  batches: number;
  retries: number;
}

/** One core's totals; `busy_us` is time spent running batches. */
export interface CoreStatus {
  core: number;
  busy_us: number;
  committed: number;
  conflicts: number;
  failed: number;
  batches: number;
  timers: number;
}

/** One task type's totals, summed over cores. */
export interface TaskStatus {
  task: string;
  commits: number;
  conflicts: number;
  retries: number;
  time_limits: number;
  errors: number;
  panics: number;
  rescheduled: number;
}

/**
 * A latency histogram: `counts` has one more element than `bounds_us`; `counts[i]` counts
 * observations below `bounds_us[i]` and at or above `bounds_us[i - 1]`, the last one
 * everything at or above the last bound.
 */
export interface Histogram {
  title: string;
  bounds_us: number[];
  counts: number[];
  count: number;
  sum_us: number;
}

/** Sessions and channels. */
export interface SessionCounts {
  live: number;
  stored: number;
  channels: number;
}

/** The client listeners and what came through them. */
export interface NetworkStatus {
  tcp_addr: string | null;
  ws_addr: string | null;
  connections: number;
  logins: number;
}

/** The embedded store (or a cluster node's replica). */
export interface StoreStatus {
  last_seq: number;
  durable_seq: number;
  segments: number;
  live_bytes: number;
  used_bytes: number;
  keys: number;
  syncs: number;
  compacted_segments: number;
  reclaimed_bytes: number;
}

/** One node of a cluster, as the placement table lists it. */
export interface ClusterNode {
  name: string;
  address: string;
  slots: number;
  draining: boolean;
  /** Whether this is the node answering. */
  this: boolean;
}

/** A cluster node's view of the commit log and of the other nodes. */
export interface ClusterStatus {
  node: string;
  log_position: number;
  head_seen: number;
  lag_us: { p50: number; p99: number };
  records_applied: number;
  batches_committed: number;
  batches_conflicted: number;
  nodes: ClusterNode[];
}

/** `GET /api/v1/status`. */
export interface Status {
  version: string;
  /** The server's clock when it answered, in milliseconds since the Unix epoch. */
  now_ms: number;
  uptime_ms: number;
  node: string | null;
  totals: Totals;
  cores: CoreStatus[];
  tasks: TaskStatus[];
  latency: Record<string, Histogram>;
  sessions: SessionCounts;
  network: NetworkStatus;
  store: StoreStatus;
  /** `null` on a single server. */
  cluster: ClusterStatus | null;
}

/** An object placement learned is hot from its conflicts. */
export interface HotObject {
  id: string;
  conflicts: number;
  group: number;
  core: number;
}

/** Hot objects that conflicted with each other, and so run on one core. */
export interface PlacementGroup {
  group: number;
  core: number;
  objects: string[];
}

/** `GET /api/v1/placement`. */
export interface Placement {
  cores: number;
  slots_per_core: number[];
  hot: HotObject[];
  groups: PlacementGroup[];
}

/** One session of `GET /api/v1/sessions`. */
export interface SessionEntry {
  id: string;
  identity: string;
  connected: boolean;
}

/** `GET /api/v1/sessions?limit=N`: the first sessions and how many there are. */
export interface SessionList {
  total: number;
  sessions: SessionEntry[];
}
