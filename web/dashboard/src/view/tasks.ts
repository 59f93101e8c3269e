/** The table of task types: totals since the start and rates over the last second. */

import type { Status } from "../api";
import * as fmt from "../format";
import { taskRatesBetween } from "../rates";
import { fillRows, type Row } from "./dom";

/** Fills `#task-table`, busiest task type first. */
export function renderTasks(status: Status, previous: Status | undefined): void {
  const rates = previous === undefined ? undefined : taskRatesBetween(previous, status);
  const rows: Row[] = [...status.tasks]
    .sort((a, b) => b.commits - a.commits || a.task.localeCompare(b.task))
    .map((t) => {
      const r = rates?.get(t.task);
      const perSecond = (column: string, v: number | undefined): Row["cells"][number] =>
        v === undefined ? { column, text: "…" } : { column, text: fmt.rate(v), value: v };
      const aborts = t.errors + t.panics + t.time_limits;
      return {
        key: t.task,
        cells: [
          { column: "task", text: t.task },
          { column: "commits", text: fmt.count(t.commits), value: t.commits },
          perSecond("commits-per-second", r?.commits),
          { column: "conflicts", text: fmt.count(t.conflicts), value: t.conflicts },
          perSecond("conflicts-per-second", r?.conflicts),
          { column: "retries", text: fmt.count(t.retries), value: t.retries },
          perSecond("retries-per-second", r?.retries),
          {
            column: "aborts",
            text: fmt.count(aborts),
            value: aborts,
            title: `${fmt.count(t.errors)} errors, ${fmt.count(t.panics)} panics, ${fmt.count(t.time_limits)} past the time limit`,
          },
          { column: "rescheduled", text: fmt.count(t.rescheduled), value: t.rescheduled },
        ],
      };
    });
  fillRows("task-table", rows);
}

/** Empties the table. */
export function clearTasks(): void {
  fillRows("task-table", []);
}
