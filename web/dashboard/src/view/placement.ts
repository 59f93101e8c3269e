/** The hot objects placement learned from conflicts, and the groups they run in. */

import type { Placement } from "../api";
import * as fmt from "../format";
import { byId, fillRows, setFigure } from "./dom";

/** How many hot objects and groups the tables list (the hottest). */
const SHOWN = 20;
/** How many of a group's members its row names. */
const MEMBERS_NAMED = 6;

/** Fills `#hot-table` and `#group-table` from a placement answer. */
export function renderPlacement(placement: Placement): void {
  byId("placement-error").hidden = true;
  const hot = [...placement.hot].sort((a, b) => b.conflicts - a.conflicts || compareIds(a.id, b.id));
  fillRows(
    "hot-table",
    hot.slice(0, SHOWN).map((h) => ({
      key: h.id,
      cells: [
        { column: "id", text: h.id },
        { column: "conflicts", text: fmt.count(h.conflicts), value: h.conflicts },
        { column: "group", text: String(h.group), value: h.group },
        { column: "core", text: String(h.core), value: h.core },
      ],
    })),
  );
  setFigure(
    "hot-more",
    hot.length === 0
      ? "No hot objects: no conflicts placement acted on."
      : hot.length > SHOWN
        ? `${fmt.count(hot.length)} hot objects; the ${SHOWN} hottest are listed.`
        : `${fmt.count(hot.length)} hot objects.`,
    hot.length,
  );
  const groups = [...placement.groups].sort((a, b) => b.objects.length - a.objects.length || a.group - b.group);
  fillRows(
    "group-table",
    groups.slice(0, SHOWN).map((g) => ({
      key: String(g.group),
      cells: [
        { column: "group", text: String(g.group), value: g.group },
        { column: "core", text: String(g.core), value: g.core },
        { column: "objects", text: fmt.count(g.objects.length), value: g.objects.length },
        {
          column: "members",
          text:
            g.objects.slice(0, MEMBERS_NAMED).join(", ") +
            (g.objects.length > MEMBERS_NAMED ? `, … (${g.objects.length - MEMBERS_NAMED} more)` : ""),
        },
      ],
    })),
  );
}

/** Says why the placement could not be read, keeping the last tables. */
export function placementFailed(reason: string): void {
  const error = byId("placement-error");
  error.textContent = `Placement unavailable: ${reason}`;
  error.hidden = false;
}

/** Empties the tables. */
export function clearPlacement(): void {
  fillRows("hot-table", []);
  fillRows("group-table", []);
  setFigure("hot-more", "");
  byId("placement-error").hidden = true;
}

/** Orders decimal id strings by value (they can exceed what a number holds exactly). */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
