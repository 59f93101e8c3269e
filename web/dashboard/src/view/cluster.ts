/** A cluster node's figures and the nodes it knows; hidden on a single server. */

import type { Status } from "../api";
import * as fmt from "../format";
import { byId, fillRows, setFigure } from "./dom";

const FIGURES = [
  "cluster-node",
  "cluster-log-position",
  "cluster-head-seen",
  "cluster-behind",
  "cluster-lag-p50",
  "cluster-lag-p99",
  "cluster-records",
  "cluster-batches-committed",
  "cluster-batches-conflicted",
] as const;

/** Shows `#cluster` filled from a status answer, or hides it when `cluster` is null. */
export function renderCluster(status: Status): void {
  const cluster = status.cluster;
  const section = byId("cluster");
  if (cluster === null) {
    clearCluster();
    return;
  }
  section.hidden = false;
  setFigure("cluster-node", cluster.node);
  setFigure("cluster-log-position", fmt.count(cluster.log_position), cluster.log_position);
  setFigure("cluster-head-seen", fmt.count(cluster.head_seen), cluster.head_seen);
  const behind = Math.max(0, cluster.head_seen - cluster.log_position);
  setFigure("cluster-behind", `${fmt.count(behind)} records`, behind);
  setFigure("cluster-lag-p50", fmt.micros(cluster.lag_us.p50), cluster.lag_us.p50);
  setFigure("cluster-lag-p99", fmt.micros(cluster.lag_us.p99), cluster.lag_us.p99);
  setFigure("cluster-records", fmt.count(cluster.records_applied), cluster.records_applied);
  setFigure("cluster-batches-committed", fmt.count(cluster.batches_committed), cluster.batches_committed);
  setFigure("cluster-batches-conflicted", fmt.count(cluster.batches_conflicted), cluster.batches_conflicted);
  fillRows(
    "node-table",
    cluster.nodes.map((n) => ({
      key: n.name,
      cells: [
        { column: "name", text: n.this ? `${n.name} (this node)` : n.name },
        { column: "address", text: n.address },
        { column: "slots", text: fmt.count(n.slots), value: n.slots },
        { column: "draining", text: n.draining ? "draining" : "no" },
      ],
    })),
  );
}

/** Hides and empties the section. */
export function clearCluster(): void {
  byId("cluster").hidden = true;
  for (const id of FIGURES) setFigure(id, "");
  fillRows("node-table", []);
}
