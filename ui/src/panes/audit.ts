// "Audit trail" (beyond the original): every change with who, from where, before and after.

import { h, when } from "../dom";
import { Grid } from "../grid";
import type { Pane } from "./index";

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
    host.append(h("p", {}, "Every change made through the web interface, the API, MAXI or the console, newest last."), grid.el);
    return () => grid.destroy();
  },
};
