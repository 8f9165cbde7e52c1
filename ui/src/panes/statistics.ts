// "Statistics" (guide: "Viewing system statistics"): every counter by its name in the
// guide, zero until something is counted; the arrow beside one expands its graph (uPlot:
// time axis, values, a cursor that reads them out); refresh and clear one, refresh and
// clear all. A gauge (links up) shows the current state and has no Clear.

import { call, get } from "../api";
import { act, button, confirmThen, h, Notice, writeButton } from "../dom";
import type { Pane } from "./index";

/** A counter as `GET /api/v1/statistics` gives it. */
interface Counter {
  name: string;
  label: string;
  kind: "total" | "high_water" | "gauge";
  value: number;
  history: Array<[number, number]>;
}

/** The counter's history as a chart with a time axis and a value axis (uPlot, loaded with
 * the first graph shown). */
export async function chart(c: Counter, width = 560): Promise<HTMLElement> {
  const box = h("div", { class: "chart", role: "img", "aria-label": `${c.label}: ${c.history.length} samples, now ${c.value}` });
  if (c.history.length === 0) {
    box.append(h("p", { class: "hint" }, "No samples yet: the MOM samples every counter once a minute."));
    return box;
  }
  const { default: uPlot } = await import("uplot");
  const times = c.history.map((p) => p[0]);
  const values = c.history.map((p) => p[1]);
  new uPlot(
    {
      width,
      height: 180,
      legend: { show: true, live: true },
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [{ label: "Time" }, { label: c.kind === "gauge" ? "Now" : "Count", size: 60 }],
      series: [{ label: "Time", value: (_u, v) => (v === null ? "" : new Date(v * 1000).toLocaleString()) }, { label: c.label, stroke: "#0b5cad", width: 2, fill: "rgba(11, 92, 173, 0.08)" }],
    },
    [times, values],
    box,
  );
  return box;
}

export const statistics: Pane = {
  id: "statistics",
  title: "Statistics",
  nav: true,
  render(host) {
    const notice = new Notice();
    const list = h("div", { class: "counters" });
    const open = new Set<string>();
    const entry = (c: Counter): HTMLElement => {
      const n = new Notice();
      const value = h("span", { class: "value" }, String(c.value));
      const body = h("div", { class: "counter-body" });
      const details = h("details", { class: "counter", "data-counter": c.name }, h("summary", {}, h("span", { class: "label" }, c.label), value), body, n.el);
      const draw = async (x: Counter) => {
        value.textContent = String(x.value);
        const tools = h("div", { class: "toolbar" }, button("Refresh", () => void act(n, refresh), { "aria-label": `Refresh ${x.label}` }));
        if (x.kind !== "gauge") {
          tools.append(writeButton("Clear", () => void act(n, async () => {
            await call("DELETE", `/statistics/${encodeURIComponent(x.name)}`);
            await refresh();
          }), { "aria-label": `Clear ${x.label}` }));
        }
        const since = x.history.length ? `${x.history.length} samples since ${new Date(x.history[0][0] * 1000).toLocaleString()}` : "";
        body.replaceChildren(await chart(x), h("small", { class: "hint" }, since), tools);
      };
      const refresh = async () => draw(await get<Counter>(`/statistics/${encodeURIComponent(c.name)}`));
      details.addEventListener("toggle", () => {
        if (details.open) {
          open.add(c.name);
          void draw(c).catch((e) => n.error(e));
        } else {
          open.delete(c.name);
        }
      });
      if (open.has(c.name)) {
        details.open = true;
        void draw(c).catch((e) => n.error(e));
      }
      return details;
    };
    const load = async () => {
      try {
        const all = await get<Counter[]>("/statistics");
        notice.clear();
        list.replaceChildren(...all.map(entry));
      } catch (e) {
        notice.error(e);
      }
    };
    host.append(
      h(
        "div",
        { class: "toolbar" },
        button("Refresh all", () => void load()),
        writeButton("Clear all", () => confirmThen("Clear all counters", "Set every statistics counter back to zero? (Gauges such as the links up show the current state and stay.)", "Clear all", async () => {
          await call("DELETE", "/statistics");
          await load();
        })),
      ),
      h("p", { class: "hint" }, "Expand a counter (the arrow beside it) to see its graph. Clearing sets the current value to zero; the samples already taken stay."),
      notice.el,
      list,
    );
    void load();
  },
};
