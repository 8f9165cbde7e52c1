// "Statistics": every counter with its graph; refresh and clear one, refresh and clear all.

import { call, get } from "../api";
import { act, button, confirmThen, h, Notice, writeButton } from "../dom";
import type { Pane } from "./index";

interface Counter {
  name: string;
  value: number;
  history: Array<[number, number]>;
}

const SVG = "http://www.w3.org/2000/svg";

/** A small line graph of a counter's history, with a text alternative. */
export function graph(c: Counter): Element {
  const w = 240;
  const hgt = 48;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.setAttribute("width", String(w));
  svg.setAttribute("height", String(hgt));
  svg.setAttribute("role", "img");
  const points = c.history.length ? c.history : [[0, c.value] as [number, number]];
  const max = Math.max(1, ...points.map((p) => p[1]));
  const t0 = points[0][0];
  const span = Math.max(1, points[points.length - 1][0] - t0);
  const path = points.map((p, i) => `${i ? "L" : "M"}${(((p[0] - t0) / span) * (w - 4) + 2).toFixed(1)},${(hgt - 2 - (p[1] / max) * (hgt - 4)).toFixed(1)}`).join(" ");
  const title = document.createElementNS(SVG, "title");
  title.textContent = `${c.name}: ${points.length} samples, highest ${max}, now ${c.value}`;
  const line = document.createElementNS(SVG, "path");
  line.setAttribute("d", path);
  line.setAttribute("class", "line");
  svg.append(title, line);
  return svg;
}

export const statistics: Pane = {
  id: "statistics",
  title: "Statistics",
  nav: true,
  render(host) {
    const notice = new Notice();
    const list = h("div", { class: "counters" });
    const cards = new Map<string, HTMLElement>();
    const card = (c: Counter): HTMLElement => {
      const n = new Notice();
      const value = h("span", { class: "value" }, String(c.value));
      const g = h("div", { class: "graph" }, graph(c));
      const span = h("small", { class: "hint" }, c.history.length ? `${c.history.length} samples since ${new Date(c.history[0][0] * 1000).toLocaleTimeString()}` : "no samples yet");
      const el = h(
        "section",
        { class: "card counter", "data-counter": c.name, "aria-label": c.name },
        h("h3", {}, c.name),
        value,
        g,
        span,
        h(
          "div",
          { class: "toolbar" },
          button("Refresh", () => void act(n, async () => update(await get<Counter>(`/statistics/${encodeURIComponent(c.name)}`))), { "aria-label": `Refresh ${c.name}` }),
          writeButton("Clear", () => void act(n, async () => {
            await call("DELETE", `/statistics/${encodeURIComponent(c.name)}`);
            update(await get<Counter>(`/statistics/${encodeURIComponent(c.name)}`));
          }), { "aria-label": `Clear ${c.name}` }),
        ),
        n.el,
      );
      const update = (x: Counter) => {
        value.textContent = String(x.value);
        g.replaceChildren(graph(x));
      };
      return el;
    };
    const load = async () => {
      try {
        const all = await get<Counter[]>("/statistics");
        notice.clear();
        cards.clear();
        list.replaceChildren(...all.map((c) => {
          const el = card(c);
          cards.set(c.name, el);
          return el;
        }));
        if (all.length === 0) list.append(h("p", {}, "No counters yet."));
      } catch (e) {
        notice.error(e);
      }
    };
    host.append(
      h(
        "div",
        { class: "toolbar" },
        button("Refresh all", () => void load()),
        writeButton("Clear all", () => confirmThen("Clear all counters", "Set every statistics counter back to zero?", "Clear all", async () => {
          await call("DELETE", "/statistics");
          await load();
        })),
      ),
      notice.el,
      list,
    );
    void load();
  },
};
