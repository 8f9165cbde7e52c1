// "Health states": the license, OMM connections, database and provisioning checks; beyond
// the original, the fleet view (every OMM's link, sync and provisioning state with the reason
// when not well) and the conflicts list with a link to each record involved.

import { get } from "../api";
import { h, Notice, Progress, section, when } from "../dom";
import * as live from "../live";
import type { Pane } from "./index";
import type { HealthState, Omm, Conflict } from "../types";

const CHECKS: Record<string, string> = { License: "License", OmmConnections: "OMM connections", Database: "Database", Provisioning: "OMM provisioning", Cluster: "Cluster" };

function badge(ok: boolean, text: string): HTMLElement {
  return h("span", { class: `badge ${ok ? "good" : "bad"}` }, text);
}

export const health: Pane = {
  id: "health",
  title: "Health states",
  nav: true,
  render(host) {
    const notice = new Notice();
    const states = h("table", { class: "plain", "aria-label": "Health states" });
    const fleet = h("table", { class: "plain fleet", "aria-label": "Fleet" });
    const conflicts = h("div", {});
    const sync = new Progress("OMM synchronisation");
    host.append(notice.el, section("System health", states), section("Fleet", sync.el, fleet), section("Conflicts", conflicts));
    const load = async () => {
      try {
        const [hs, list, cs] = await Promise.all([get<HealthState[]>("/health"), get<Omm[]>("/omms"), get<Conflict[]>("/conflicts")]);
        notice.clear();
        states.replaceChildren(
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Check"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Reason"))),
          h("tbody", {}, ...hs.map((s) => h("tr", { "data-check": s.check }, h("td", {}, CHECKS[s.check] ?? s.check), h("td", {}, badge(!s.severity, s.severity ?? "OK")), h("td", {}, s.reason || "—")))),
        );
        const enabled = list.filter((o) => o.enabled);
        const up = enabled.filter((o) => o.health?.link === "Up").length;
        if (up < enabled.length) sync.set(`Synchronising: ${up} of ${enabled.length} enabled OMMs linked and in sync`, up, enabled.length);
        else sync.hide();
        fleet.replaceChildren(
          h("thead", {}, h("tr", {}, ...["OMM", "Name", "Link", "Sync / health", "Provisioning", "Software", "Since", "Reason"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            ...list.map((o) => {
              const prov = o.provisioning_state ?? {};
              const reason = [o.enabled ? "" : "disabled", o.health?.last_error, prov.warning].filter(Boolean).join("; ");
              return h(
                "tr",
                { "data-omm": o.id },
                h("td", {}, h("a", { href: `#/omms?edit=${o.id}` }, String(o.id))),
                h("td", {}, o.name),
                h("td", {}, badge(o.health?.link === "Up", o.health?.link ?? "?")),
                h("td", {}, badge(Boolean(o.health?.healthy), o.health?.healthy ? "healthy" : "not healthy")),
                h("td", {}, o.provisioning ? badge(!prov.warning, prov.last_fetch ? (prov.last_fetch.refused ? `refused: ${prov.last_fetch.refused}` : `fetched ${when(prov.last_fetch.time)}`) : "not fetched yet") : "off"),
                h("td", {}, o.health?.software_version || "—"),
                h("td", {}, when(o.health?.since)),
                h("td", {}, reason || "—"),
              );
            }),
          ),
        );
        if (list.length === 0) fleet.append(h("tbody", {}, h("tr", {}, h("td", { colspan: 8 }, "No OMM records yet: add them on the OMMs pane."))));
        conflicts.replaceChildren(
          cs.length === 0
            ? h("p", {}, "No conflicts: every OMM's records are accepted.")
            : h(
                "table",
                { class: "plain", "aria-label": "Conflicts" },
                h("thead", {}, h("tr", {}, ...["Kind", "Record", "OMM", "Other OMM", "Seen", "Reason"].map((t) => h("th", { scope: "col" }, t)))),
                h(
                  "tbody",
                  {},
                  ...cs.map((c) => {
                    const view = c.entity === "Device" ? "devices" : "users";
                    const column = c.entity === "Device" ? "ipei" : "num";
                    return h(
                      "tr",
                      {},
                      h("td", {}, c.kind),
                      h("td", {}, h("a", { href: `#/users?view=${view}&${column}=${encodeURIComponent(c.key)}` }, `${c.entity} ${c.key}`)),
                      h("td", {}, h("a", { href: `#/omms?edit=${c.omm}` }, `OMM ${c.omm}`), ` (record ${c.omm_record})`),
                      h("td", {}, c.other_omm ? h("a", { href: `#/omms?edit=${c.other_omm}` }, `OMM ${c.other_omm}`) : "—"),
                      h("td", {}, `${c.count}× since ${when(c.first_seen)}`),
                      h("td", {}, c.reason),
                    );
                  }),
                ),
              ),
        );
      } catch (e) {
        notice.error(e);
      }
    };
    void load();
    const timer = window.setInterval(load, 5000);
    const off = live.onChange((c) => {
      if (c === null || ["Omm", "License", "Settings"].includes(c.entity)) void load();
    });
    return () => {
      window.clearInterval(timer);
      off();
    };
  },
};
