// "Event log": what the MOM did and saw, newest first, with "Clear all".

import { call } from "../api";
import { confirmThen, h, writeButton, when } from "../dom";
import { Grid } from "../grid";
import type { Pane } from "./index";

export const eventLog: Pane = {
  id: "event-log",
  title: "Event log",
  nav: true,
  render(host) {
    const grid = new Grid({
      url: "/event-log",
      index: "seq",
      label: "Event log",
      entities: ["EventLog"],
      toggleColumns: true,
      columns: [
        { title: "Time", field: "time", formatter: (c) => when(c.getValue()), headerFilter: undefined },
        { title: "Severity", field: "severity" },
        { title: "Subsystem", field: "subsystem" },
        { title: "Count", field: "count", headerFilter: undefined },
        { title: "Text", field: "text", widthGrow: 3 },
      ],
    });
    const clear = writeButton("Clear all", () => confirmThen("Clear the event log", "Remove every entry of the event log?", "Clear all", async () => {
      await call("DELETE", "/event-log");
      await grid.reload();
    }));
    host.append(h("div", { class: "toolbar" }, clear), grid.el);
    return () => grid.destroy();
  },
};
