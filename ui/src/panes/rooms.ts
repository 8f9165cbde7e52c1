// "Conference rooms": add, edit and delete the rooms of the Integrated Conference Server.

import { call } from "../api";
import { confirmThen, Dialog, h, writeButton } from "../dom";
import { Grid } from "../grid";
import { Form } from "../schema";
import type { Pane } from "./index";
import type { ConferenceRoom } from "../types";

const FIELDS = ["name", "number", "sip_user", "sip_password", "omm_id", "fixed_port"];

function edit(grid: Grid, room: ConferenceRoom | null): void {
  const d = new Dialog(room ? `Edit conference room ${room.name}` : "Add conference room");
  const form = new Form("ConferenceRoom", room ?? { omm_id: 0, fixed_port: 0 }, FIELDS, { secret: ["sip_password"] });
  d.body.append(form.el);
  d.submit(room ? "Save" : "Add", async () => {
    if (room) await call("PATCH", `/conference-rooms/${room.id}`, form.read());
    else await call("POST", "/conference-rooms", form.read(true));
    await grid.reload();
  });
  d.open();
}

export const rooms: Pane = {
  id: "rooms",
  title: "Conference rooms",
  nav: true,
  render(host) {
    const grid: Grid = new Grid({
      url: "/conference-rooms",
      index: "id",
      label: "Conference rooms",
      entities: ["ConferenceRoom"],
      toggleColumns: true,
      selectable: true,
      open: (r) => edit(grid, r),
      columns: [
        { title: "ID", field: "id", sorter: "number" },
        { title: "Name", field: "name" },
        { title: "Number", field: "number" },
        { title: "SIP user", field: "sip_user" },
        { title: "Hosting OMM", field: "omm_id", formatter: (c) => (c.getValue() ? String(c.getValue()) : "MOM only") },
        { title: "Fixed port", field: "fixed_port" },
      ],
    });
    host.append(
      h(
        "div",
        { class: "toolbar" },
        writeButton("Add", () => edit(grid, null)),
        writeButton("Edit", () => {
          const [r] = grid.selected();
          if (r) edit(grid, r);
          else grid.notice.error("Select a room first.");
        }),
        writeButton("Delete", () => {
          const sel = grid.selected();
          if (!sel.length) return grid.notice.error("Select the rooms to delete first.");
          confirmThen("Delete conference rooms", `Delete ${sel.map((r) => r.name).join(", ")}?`, "Delete", async () => {
            for (const r of sel) await call("DELETE", `/conference-rooms/${r.id}`);
            await grid.reload();
          });
        }),
      ),
      grid.el,
    );
    return () => grid.destroy();
  },
};
