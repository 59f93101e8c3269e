/** The table of cores: busy share over the last second, totals, timers, affinity slots. */

import type { Placement, Status } from "../api";
import * as fmt from "../format";
import type { Rates } from "../rates";
import { fillRows } from "./dom";

/** Fills `#core-table`. */
export function renderCores(status: Status, rates: Rates | undefined, placement: Placement | undefined): void {
  fillRows(
    "core-table",
    status.cores.map((c, i) => {
      const busy = rates?.busy[i];
      const slots = placement?.slots_per_core[c.core];
      return {
        key: String(c.core),
        cells: [
          { column: "core", text: String(c.core) },
          busy === undefined ? { column: "busy", text: "…" } : { column: "busy", text: fmt.percent(busy), value: busy },
          { column: "committed", text: fmt.count(c.committed), value: c.committed },
          { column: "conflicts", text: fmt.count(c.conflicts), value: c.conflicts },
          { column: "failed", text: fmt.count(c.failed), value: c.failed },
          { column: "batches", text: fmt.count(c.batches), value: c.batches },
          { column: "timers", text: fmt.count(c.timers), value: c.timers },
          slots === undefined ? { column: "slots", text: "–" } : { column: "slots", text: fmt.count(slots), value: slots },
        ],
      };
    }),
  );
}

/** Empties the table. */
export function clearCores(): void {
  fillRows("core-table", []);
}
