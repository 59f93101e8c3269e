/**
 * The page's elements, found by id, and the two ways the views fill them: a figure's text
 * (with its raw number kept in `data-value`, for readers that compare figures) and a
 * table's rows.
 */

/** The element `#id`, which the page must have. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no element #${id} (dashboard.js and index.html do not match)`);
  return element as T;
}

/** Sets `#id`'s text, and its `data-value` to `value` when given (else removes it). */
export function setFigure(id: string, text: string, value?: number): void {
  const element = byId(id);
  element.textContent = text;
  if (value === undefined) delete element.dataset["value"];
  else element.dataset["value"] = String(value);
}

/** One table cell: its text, and its column name and raw number for readers. */
export interface Cell {
  text: string;
  column: string;
  value?: number;
  title?: string;
}

/** A table row: its key (set as `data-key`) and its cells. */
export interface Row {
  key: string;
  cells: Cell[];
}

/** Replaces the rows of `#tableId`'s body with `rows`. */
export function fillRows(tableId: string, rows: readonly Row[]): void {
  const body = byId<HTMLTableElement>(tableId).tBodies[0];
  if (body === undefined) throw new Error(`table #${tableId} has no body`);
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset["key"] = row.key;
      for (const cell of row.cells) {
        const td = document.createElement("td");
        td.textContent = cell.text;
        td.dataset["col"] = cell.column;
        if (cell.value !== undefined) {
          td.dataset["value"] = String(cell.value);
          td.classList.add("number");
        }
        if (cell.title !== undefined) td.title = cell.title;
        tr.append(td);
      }
      return tr;
    }),
  );
}
