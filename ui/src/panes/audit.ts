// "Audit trail" (beyond the original): every change with who, from where, before and after,
// newest first; a row opens the change field by field.

import { Dialog, h, when } from "../dom";
import { Grid } from "../grid";
import type { Pane } from "./index";
import type { AuditEntry } from "../types";

/** Fields of a record image that hold a time (Unix seconds). */
const TIME_FIELD = /^(created|modified|timestamp(_[a-z]+)?)$/;

/** A record image of the trail (JSON text, empty for none) as field → value text, times as
 * dates. */
function fieldsOf(image: string): Map<string, string> | null {
  if (!image) return new Map();
  try {
    const value = JSON.parse(image);
    if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
    const text = (k: string, v: unknown) => (TIME_FIELD.test(k) && typeof v === "number" ? when(v) : typeof v === "string" ? v : JSON.stringify(v));
    return new Map(Object.entries(value).map(([k, v]) => [k, text(k, v)]));
  } catch {
    return null;
  }
}

/** One entry: who, when, and the record before and after, changed fields first. */
function showEntry(entry: AuditEntry): void {
  const d = new Dialog(`Change #${entry.seq}: ${entry.action}`, true);
  d.body.append(h("p", {}, `${when(entry.time)} by ${entry.actor} from ${entry.source}; ${entry.target}.`));
  const before = fieldsOf(entry.before);
  const after = fieldsOf(entry.after);
  if (before && after) {
    const names = [...new Set([...before.keys(), ...after.keys()])];
    const changed = names.filter((n) => before.get(n) !== after.get(n));
    const same = names.filter((n) => before.get(n) === after.get(n));
    const row = (n: string, cls: string) => h("tr", { class: cls }, h("th", { scope: "row" }, n), h("td", {}, before.get(n) ?? ""), h("td", {}, after.get(n) ?? ""));
    d.body.append(
      h("table", { class: "audit-change" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Before"), h("th", { scope: "col" }, "After"))),
        h("tbody", {}, ...changed.map((n) => row(n, "changed")), ...same.map((n) => row(n, "same"))),
      ),
      h("p", { class: "hint" }, changed.length ? `${changed.length} field${changed.length === 1 ? "" : "s"} changed (marked); secrets are shown as (redacted).` : "No field changed."),
    );
  } else {
    d.body.append(h("h3", {}, "Before"), h("pre", { class: "code" }, entry.before || "(none)"), h("h3", {}, "After"), h("pre", { class: "code" }, entry.after || "(none)"));
  }
  d.open();
}

export const audit: Pane = {
  id: "audit",
  title: "Audit trail",
  nav: true,
  render(host) {
    const grid = new Grid({
      url: "/audit",
      index: "seq",
      label: "Audit trail",
      entities: ["Account", "Omm", "User", "Device", "ConferenceRoom", "Settings", "License", "Template", "Database"],
      toggleColumns: true,
      initialSort: { column: "seq", dir: "desc" },
      open: showEntry,
      columns: [
        { title: "#", field: "seq", sorter: "number" },
        { title: "Time", field: "time", formatter: (c) => when(c.getValue()), headerFilter: undefined },
        { title: "Who", field: "actor" },
        { title: "From", field: "source" },
        { title: "Action", field: "action" },
        { title: "Record", field: "target" },
        { title: "Before", field: "before", widthGrow: 2 },
        { title: "After", field: "after", widthGrow: 2 },
      ],
    });
    host.append(h("p", {}, "Every change made through the web interface, the API, MAXI or the console, newest first. Double-click a change (or select it and press Enter) to see it field by field."), grid.el);
    return () => grid.destroy();
  },
};
