// "Users / DECT phones": the Overview, Users and Devices views ("Change view"), paged,
// sorted and filtered on the server. Add a fixed user/device pair, an unbound user (PIN
// entered twice, Permanent), an unbound device; copy a user; change the relation type and
// the provisioning source (External → Internal); edit with the fields on tabs as an OMM's
// own pages group them; multi-edit of the current page's selection; delete with
// confirmation; unsubscribe a DECT phone; bulk CSV import with a dry-run report first.

import { call, get, stream } from "../api";
import { act, button, checkbox, confirmThen, Dialog, download, field, h, input, Progress, select, tabs, writeButton } from "../dom";
import { Grid, yesNo } from "../grid";
import { Form } from "../schema";
import type { Pane } from "./index";
import type { User, Device, ImportReport } from "../types";

/** The user fields on tabs, grouped as an OMM's own user pages group them. */
export const USER_TABS: Array<[string, string[]]> = [
  ["General", ["name", "num", "pin", "hierarchy1", "hierarchy2", "add_id", "alt_display_num", "lang", "home_omm", "permanent", "vip"]],
  ["SIP", ["sip_auth_id", "sip_pw", "use_sip_user_name", "use_sip_user_authentication", "sip_register_check", "sip_profile_id", "fixed_sip_port", "credential_pw"]],
  ["Features", ["forward_state", "forward_time", "forward_dest", "voicebox_num", "sos_num", "man_down_num", "pickup_group_num", "call_waiting_disabled", "hold_ring_back_time", "auto_answer", "microphone_mute", "warning_tone", "allow_barge_in", "allow_video_stream", "keep_local_pb", "hot_desking_support", "auto_logout_on_charge"]],
  ["Messaging and locating", ["msg_right", "send_vcard_right", "recv_vcard_right", "locatable", "loc_right", "tracking_active", "bt_locatable", "bt_sensitivity", "monitoring_mode"]],
  ["Services", ["service_user_name", "service_auth_name", "service_auth_password", "conference_server_type", "conference_server_uri", "pp_profile_id", "pp_data"]],
  ["Status", ["uid", "ppn", "rel_type", "source", "omm_uid", "created", "timestamp", "timestamp_admin", "timestamp_relation"]],
];

/** The device fields on tabs. */
export const DEVICE_TABS: Array<[string, string[]]> = [
  ["General", ["ipei", "ac", "encrypt", "subscribe_to_pari_only", "hw_type", "eth_addr"]],
  ["Capabilities", ["cap_messaging", "cap_messaging_for_internal_use", "cap_enh_locating", "cap_bluetooth", "pp_profile_capability", "pp_default_profile_loaded"]],
  ["Status", ["ppn", "uid", "rel_type", "s", "uak", "location", "omm_ppn", "auto_create", "created", "timestamp", "timestamp_subscription", "timestamp_roaming", "timestamp_relation"]],
];

const SECRETS = ["pin", "sip_pw", "credential_pw", "service_auth_password"];

type View = "overview" | "users" | "devices";

/** A cell formatter for an OMM id: the id, or `none` for 0 (no OMM). */
function omm(none: string): (cell: any) => string {
  return (cell) => (cell.getValue() ? `OMM ${cell.getValue()}` : none);
}

const COLUMNS: Record<View, any[]> = {
  overview: [
    { title: "User ID", field: "user.uid", sorter: "number", filterOp: "eq" },
    { title: "Number", field: "user.num" },
    { title: "Name", field: "user.name" },
    { title: "Rel. type", field: "user.rel_type" },
    { title: "Device ID", field: "device.ppn", sorter: "number", filterOp: "eq" },
    { title: "IPEI", field: "device.ipei", minWidth: 140 },
    { title: "Subscribed", field: "device.s" },
    { title: "Home OMM", field: "user.home_omm", filterOp: "eq", formatter: omm("MOM only") },
    { title: "Location", field: "device.location", filterOp: "eq", formatter: omm("—") },
    { title: "Source", field: "user.source" },
  ],
  users: [
    { title: "User ID", field: "uid", sorter: "number", filterOp: "eq" },
    { title: "Number", field: "num" },
    { title: "Name", field: "name" },
    { title: "Description 1", field: "hierarchy1" },
    { title: "Description 2", field: "hierarchy2" },
    { title: "Device ID", field: "ppn", filterOp: "eq" },
    { title: "Rel. type", field: "rel_type" },
    { title: "SIP auth name", field: "sip_auth_id" },
    { title: "Home OMM", field: "home_omm", filterOp: "eq", formatter: omm("MOM only") },
    { title: "Permanent", field: "permanent", formatter: yesNo, filterOp: "eq" },
    { title: "Source", field: "source" },
  ],
  devices: [
    { title: "Device ID", field: "ppn", sorter: "number", filterOp: "eq" },
    { title: "Rel. user", field: "uid", filterOp: "eq" },
    { title: "Rel. type", field: "rel_type" },
    { title: "IPEI", field: "ipei", minWidth: 140 },
    { title: "DECT auth code", field: "ac" },
    { title: "Encryption", field: "encrypt", formatter: yesNo, filterOp: "eq" },
    { title: "HW type", field: "hw_type" },
    { title: "Subscribed", field: "s" },
    { title: "Location", field: "location", filterOp: "eq", formatter: omm("unknown") },
  ],
};

function userForm(record: Partial<User>, multi = false): { el: HTMLElement; forms: Form[] } {
  const forms = USER_TABS.filter(([name]) => !multi || name !== "Status").map(([name, names]) => [name, new Form("User", record, multi ? names.filter((n) => n !== "num" && n !== "home_omm") : names, { secret: SECRETS, multi })] as [string, Form]);
  return { el: tabs(forms.map(([n, f]) => [n, f.el])), forms: forms.map(([, f]) => f) };
}

function read(forms: Form[], multi = false): Record<string, unknown> {
  return Object.assign({}, ...forms.map((f) => f.read(multi)));
}

/** The edit dialog of a user, with its binding. */
async function editUser(grid: Grid, uid: number): Promise<void> {
  const user = await get<User>(`/users/${uid}`);
  const d = new Dialog(`Edit user ${user.num} ${user.name}`, true);
  const { el, forms } = userForm(user);
  d.body.append(el);
  d.submit("Save", async () => {
    const change = read(forms);
    if (Object.keys(change).length) await call("PATCH", `/users/${uid}`, change);
    await grid.reload();
  });
  d.open();
}

async function editDevice(grid: Grid, ppn: number): Promise<void> {
  const dev = await get<Device>(`/devices/${ppn}`);
  const d = new Dialog(`Edit DECT phone ${dev.ppn} (${dev.ipei || "no IPEI"})`, true);
  const forms = DEVICE_TABS.map(([n, names]) => [n, new Form("Device", dev, names)] as [string, Form]);
  d.body.append(tabs(forms.map(([n, f]) => [n, f.el])));
  d.submit("Save", async () => {
    const change = read(forms.map(([, f]) => f));
    if (Object.keys(change).length) await call("PATCH", `/devices/${ppn}`, change);
    await grid.reload();
  });
  d.open();
}

/** The PIN and its confirmation. */
function pinPair(): { el: HTMLElement; value: () => string } {
  const pin = input("", { type: "password", name: "pin", inputmode: "numeric", autocomplete: "off" });
  const again = input("", { type: "password", name: "pin-repeat", inputmode: "numeric", autocomplete: "off" });
  return {
    el: h("div", {}, field("PIN", pin, "Digits the DECT phone asks for at login; may be empty."), field("Repeat the PIN", again)),
    value: () => {
      if (pin.value !== again.value) throw new Error("The two PIN entries differ.");
      if (!/^\d*$/.test(pin.value)) throw new Error("The PIN must be digits only.");
      return pin.value;
    },
  };
}

function addUnbound(grid: Grid): void {
  const d = new Dialog("Add user");
  const num = input("", { name: "num" });
  const name = input("", { name: "name" });
  const permanent = checkbox(false, { name: "permanent" });
  const addId = input("", { name: "add_id" });
  const description1 = input("", { name: "hierarchy1" });
  const description2 = input("", { name: "hierarchy2" });
  const pin = pinPair();
  d.body.append(
    h("p", {}, "An unbound user: a DECT phone is bound when someone logs in with the number and PIN."),
    field("Number", num),
    field("Name", name),
    pin.el,
    field("Login / additional ID", addId, "Optional; another number or name the user logs in with."),
    field("Description 1", description1),
    field("Description 2", description2),
    field("Permanent (deployed to every OMM)", permanent),
  );
  d.submit("Add", async () => {
    await call("POST", "/users", { num: num.value, name: name.value, pin: pin.value(), add_id: addId.value, hierarchy1: description1.value, hierarchy2: description2.value, permanent: permanent.checked });
    await grid.reload();
  });
  d.open();
}

function addFixed(grid: Grid): void {
  const d = new Dialog("Add fixed user/device record");
  const num = input("", { name: "num" });
  const name = input("", { name: "name" });
  const ipei = input("", { name: "ipei", placeholder: "00077 0012345 3" });
  const ac = input("", { name: "ac", inputmode: "numeric" });
  d.body.append(h("p", {}, "A user and its DECT phone, fixed to each other."), field("Number", num), field("Name", name), field("IPEI of the DECT phone", ipei), field("DECT authentication code", ac, "Optional; used when the phone subscribes."));
  d.submit("Add", async () => {
    await call("POST", "/fixed-pairs", { user: { num: num.value, name: name.value }, device: { ipei: ipei.value, ac: ac.value } });
    await grid.reload();
  });
  d.open();
}

function addDevice(grid: Grid): void {
  const d = new Dialog("Add DECT phone");
  const ipei = input("", { name: "ipei" });
  const ac = input("", { name: "ac", inputmode: "numeric" });
  d.body.append(field("IPEI", ipei), field("DECT authentication code", ac));
  d.submit("Add", async () => {
    await call("POST", "/devices", { ipei: ipei.value, ac: ac.value });
    await grid.reload();
  });
  d.open();
}

function copyUser(grid: Grid, user: User): void {
  const d = new Dialog(`Copy user ${user.num} ${user.name}`);
  const num = input("", { name: "num" });
  const name = input(user.name, { name: "name" });
  d.body.append(h("p", {}, "A new, unbound user with this user's settings."), field("Number of the new user", num), field("Name", name));
  d.submit("Copy", async () => {
    await call("POST", `/users/${user.uid}/copy`, { num: num.value, name: name.value });
    await grid.reload();
  });
  d.open();
}

function relation(grid: Grid, user: User): void {
  const d = new Dialog(`Relation type of user ${user.num}`);
  const rel = select([["Dynamic", "Dynamic"], ["Fixed", "Fixed"]], user.rel_type === "Fixed" ? "Fixed" : "Dynamic", { name: "rel-type" });
  const ppn = input(user.ppn ? String(user.ppn) : "", { name: "ppn", inputmode: "numeric" });
  d.body.append(field("Relation type", rel), user.ppn ? h("p", {}, `Bound to DECT phone ${user.ppn}.`) : field("Bind to DECT phone (device ID)", ppn));
  if (user.ppn) {
    d.button("Unbind", () => {
      d.close();
      confirmThen("Unbind", `Unbind user ${user.num} from DECT phone ${user.ppn}? The phone has no number until someone logs in on it again.`, "Unbind", async () => {
        await call("DELETE", `/users/${user.uid}/binding`);
        await grid.reload();
      });
    }, false, true);
  }
  d.submit("Save", async () => {
    if (user.ppn) await call("PUT", `/users/${user.uid}/relation`, { rel_type: rel.value });
    else await call("POST", `/users/${user.uid}/binding`, { ppn: Number(ppn.value), rel_type: rel.value });
    await grid.reload();
  });
  d.open();
}

/** The relation type of several users at once (guide: changing the relation type); only
 * bound users have one, so unbound ones are named and left as they are. */
function relationOfMany(grid: Grid, users: User[]): void {
  const bound = users.filter((u) => u.ppn);
  const unbound = users.filter((u) => !u.ppn);
  const d = new Dialog(`Relation type of ${users.length} users`);
  const rel = select([["Dynamic", "Dynamic"], ["Fixed", "Fixed"]], "Dynamic", { name: "rel-type" });
  d.body.append(field("Relation type", rel));
  if (unbound.length) d.body.append(h("p", {}, `Not bound to a DECT phone, so left as they are: ${unbound.map((u) => u.num).join(", ")}.`));
  d.submit("Save", async () => {
    if (!bound.length) throw new Error("None of the selected users is bound to a DECT phone.");
    const failed: string[] = [];
    for (const u of bound) {
      try {
        await call("PUT", `/users/${u.uid}/relation`, { rel_type: rel.value });
      } catch (e) {
        failed.push(`${u.num}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    await grid.reload();
    if (failed.length) throw new Error(`Changed ${bound.length - failed.length} of ${bound.length}; not changed: ${failed.join("; ")}`);
  });
  d.open();
}

function multiEdit(grid: Grid, view: View, rows: any[]): void {
  const d = new Dialog(`Multi-edit ${rows.length} ${view === "devices" ? "DECT phones" : "users"}`, true);
  let forms: Form[];
  if (view === "devices") {
    forms = [new Form("Device", {}, ["ac", "encrypt", "subscribe_to_pari_only"], { multi: true })];
    d.body.append(forms[0].el);
  } else {
    const f = userForm({}, true);
    forms = f.forms;
    d.body.append(f.el);
  }
  d.body.prepend(h("p", {}, "Only the fields you set are changed, on every selected record of this page."));
  d.submit("Save", async () => {
    const ids = rows.map((r) => (view === "devices" ? r.ppn : view === "overview" ? r.user.uid : r.uid));
    await call("PATCH", view === "devices" ? "/devices" : "/users", { ids, changes: read(forms, true) });
    await grid.reload();
  });
  d.open();
}

function bulkImport(grid: Grid, kind: "users" | "devices"): void {
  const d = new Dialog(`Import ${kind} from CSV`, true);
  const file = h("input", { type: "file", accept: ".csv,text/csv", name: "csv" });
  const partial = checkbox(false, { name: "partial" });
  const progress = new Progress("Import");
  const report = h("div", { class: "report" });
  d.body.append(
    h("p", {}, `A CSV file with a header row of ${kind === "users" ? "user" : "device"} field names (as Export writes it). The file is checked first; nothing is written until you confirm.`),
    field("CSV file", file),
    field("Write the good rows even if some are bad", partial),
    progress.el,
    report,
  );
  const run = async (dryRun: boolean) => {
    const f = file.files?.[0];
    if (!f) throw new Error("Choose the CSV file first.");
    let last = null as ImportReport | null;
    progress.set(dryRun ? "Checking…" : "Importing…");
    let failure: string | null = null;
    await stream("POST", `/${kind}/import?format=csv&progress=true&dry_run=${dryRun}&partial=${partial.checked}`, { body: f, type: "text/csv" }, (line) => {
      if (line.type === "progress") progress.set(`${line.phase}: ${line.done} of ${line.total}`, line.done, line.total);
      else if (line.type === "report") last = line.report;
      else if (line.type === "error") failure = line.error?.message ?? "The import failed.";
    });
    if (failure) {
      progress.hide();
      throw new Error(failure);
    }
    progress.hide();
    if (!last) throw new Error("The MOM sent no report.");
    report.replaceChildren(h("div", {},
      h("p", { class: "summary" }, `${last.rows} rows: ${last.valid} valid (${last.creates} new, ${last.updates} updates), ${last.errors.length} with errors. ${last.written ? "Written." : "Nothing written."}`),
      last.errors.length ? h("ul", { class: "row-errors" }, ...last.errors.slice(0, 200).map((e) => h("li", {}, `Row ${e.row}${e.key ? ` (${e.key})` : ""}: ${e.error.message}`))) : null,
      last.errors.length > 200 ? h("p", {}, `… and ${last.errors.length - 200} more.`) : null,
    ));
    return last;
  };
  // The last check's report: "Import" follows it and the box, ticked before or after.
  let checked = null as ImportReport | null;
  const allowWrite = () => {
    write.disabled = !(checked && checked.valid > 0 && (checked.errors.length === 0 || partial.checked));
  };
  partial.addEventListener("change", allowWrite);
  file.addEventListener("change", () => {
    checked = null;
    allowWrite();
  });
  d.button("Check file", (b) => void act(d.notice, async () => {
    checked = await run(true);
    allowWrite();
  }, undefined, b), true, true);
  const write = d.button("Import", (b) => void act(d.notice, async () => {
    await run(false);
    b.disabled = true;
    await grid.reload();
  }, undefined, b), false, true);
  write.disabled = true;
  d.open();
}

export const users: Pane = {
  id: "users",
  title: "Users / DECT phones",
  nav: true,
  render(host, params) {
    const view = (["overview", "users", "devices"].includes(params.get("view") ?? "") ? params.get("view") : "overview") as View;
    const grid: Grid = new Grid({
      url: view === "devices" ? "/devices" : view === "users" ? "/users" : "/overview",
      index: view === "devices" ? "ppn" : "uid",
      label: view === "devices" ? "DECT phones" : view === "users" ? "Users" : "Overview",
      entities: ["User", "Device"],
      paged: true,
      selectable: true,
      toggleColumns: true,
      columns: COLUMNS[view],
      open: (r) => void (view === "devices" ? editDevice(grid, r.ppn) : editUser(grid, view === "overview" ? r.user.uid : r.uid)).catch((e) => grid.notice.error(e)),
    });
    const preset = ["num", "ipei", "name"].find((k) => params.get(k));
    if (preset) {
      grid.table.on("tableBuilt", () => grid.table.setHeaderFilterValue((view === "overview" ? `user.${preset}` : preset) as any, params.get(preset)!));
    }
    const changeView = select([["overview", "Overview"], ["users", "Users"], ["devices", "Devices"]], view, { name: "view" });
    changeView.addEventListener("change", () => (location.hash = `#/users?view=${changeView.value}`));
    const one = (): any | null => {
      const sel = grid.selected();
      if (sel.length !== 1) {
        grid.notice.error("Select one record first.");
        return null;
      }
      return sel[0];
    };
    const userOf = (r: any) => (view === "overview" ? r.user : r);
    const tools = h("div", { class: "toolbar" }, field("Change view", changeView));
    if (view !== "devices") {
      tools.append(
        writeButton("Add fixed pair", () => addFixed(grid)),
        writeButton("Add user", () => addUnbound(grid)),
        grid.needsSelection(writeButton("Copy", () => {
          const r = one();
          if (r) copyUser(grid, userOf(r));
        }), (n) => n === 1, "Select one user to copy"),
        grid.needsSelection(writeButton("Relation type", () => {
          const sel = grid.selected();
          if (sel.length === 1) relation(grid, userOf(sel[0]));
          else if (sel.length > 1) relationOfMany(grid, sel.map(userOf));
          else grid.notice.error("Select the users first.");
        }), (n) => n >= 1, "Select one or more users"),
        grid.needsSelection(writeButton("Source → Internal", () => {
          const sel = grid.selected().map(userOf);
          if (!sel.length) return grid.notice.error("Select the users to move first.");
          const internal = sel.filter((u) => u.source !== "External");
          if (internal.length) return grid.notice.error(`Only External users can be moved: ${internal.map((u) => u.num).join(", ")} ${internal.length > 1 ? "are" : "is"} already Internal.`);
          const notDynamic = sel.filter((u) => u.rel_type !== "Dynamic");
          if (notDynamic.length) return grid.notice.error(`The source changes only for users with relation type Dynamic; ${notDynamic.map((u) => `${u.num} is ${u.rel_type}`).join(", ")}.`);
          confirmThen("Change the provisioning source", `Make ${sel.length > 1 ? `these ${sel.length} users` : `user ${sel[0].num}`} internal records, edited at the MOM from now on?`, "Change", async () => {
            for (const u of sel) await call("PUT", `/users/${u.uid}/source`, { source: "Internal" });
            await grid.reload();
          });
        }), (n) => n >= 1, "Select the External users to move"),
      );
    } else {
      tools.append(
        writeButton("Add DECT phone", () => addDevice(grid)),
        grid.needsSelection(writeButton("Unsubscribe", () => {
          const sel = grid.selected();
          if (!sel.length) return grid.notice.error("Select the DECT phones to unsubscribe first.");
          const notFixed = sel.filter((r) => r.rel_type !== "Fixed");
          if (notFixed.length) return grid.notice.error(`Only DECT phones with relation type Fixed can be unsubscribed; ${notFixed.map((r) => `device ${r.ppn} is ${r.rel_type}`).join(", ")}.`);
          confirmThen("Unsubscribe DECT phones", `Unsubscribe ${sel.length} DECT phone${sel.length > 1 ? "s" : ""} (${sel.map((r) => r.ipei).join(", ")})? ${sel.length > 1 ? "They" : "It"} must subscribe again to be used.`, "Unsubscribe", async () => {
            for (const r of sel) await call("POST", `/devices/${r.ppn}/unsubscribe`);
            await grid.reload();
          });
        }), (n) => n >= 1, "Select the DECT phones to unsubscribe"),
      );
    }
    tools.append(
      grid.needsSelection(writeButton("Edit", () => {
        const r = one();
        if (r) grid.options.open!(r);
      }), (n) => n === 1, "Select one record to edit (or double-click it)"),
      grid.needsSelection(writeButton("Multi-edit", () => {
        const sel = grid.selected();
        if (!sel.length) return grid.notice.error("Select the records of this page to edit first.");
        multiEdit(grid, view, sel);
      }), (n) => n >= 1, "Select the records of this page to edit"),
      grid.needsSelection(writeButton("Delete", () => {
        const sel = grid.selected();
        if (!sel.length) return grid.notice.error("Select the records to delete first.");
        const what = view === "devices" ? sel.map((r) => `DECT phone ${r.ppn}`) : sel.map((r) => `user ${userOf(r).num}`);
        confirmThen("Delete records", `Delete ${what.slice(0, 10).join(", ")}${what.length > 10 ? ` and ${what.length - 10} more` : ""}? They are removed from every OMM.`, "Delete", async () => {
          for (const r of sel) await call("DELETE", view === "devices" ? `/devices/${r.ppn}` : `/users/${userOf(r).uid}`);
          await grid.reload();
        });
      }), (n) => n >= 1, "Select the records to delete"),
      writeButton("Import CSV", () => bulkImport(grid, view === "devices" ? "devices" : "users")),
      button("Export CSV", () => void act(grid.notice, async () => {
        const kind = view === "devices" ? "devices" : "users";
        const r = await fetch(`/api/v1/${kind}/export?format=csv`, { credentials: "same-origin" });
        if (!r.ok) throw new Error(`Export refused (${r.status}).`);
        download(`${kind}.csv`, await r.blob());
      })),
    );
    host.append(tools, grid.el);
    return () => grid.destroy();
  },
};
