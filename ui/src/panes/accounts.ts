// "Accounts": the MOM's login accounts. Add, edit (one's own password needs the previous
// one), permissions, delete with confirmation; the default account cannot be deleted.

import { call } from "../api";
import { checkbox, confirmThen, Dialog, field, h, input, writeButton } from "../dom";
import { Grid, yesNo } from "../grid";
import { NewPassword } from "../login";
import type { Pane } from "./index";
import type { AccountView } from "../types";

/** The id of the logged-in account (set by the shell). */
export const me = { id: -1 };

function edit(grid: Grid, account: AccountView | null): void {
  const d = new Dialog(account ? `Edit account ${account.name}` : "Add account");
  const name = input(account?.name ?? "", { name: "account-name", autocomplete: "off" });
  const enabled = checkbox(account?.enabled ?? true, { name: "enabled" });
  const write = checkbox(account?.write ?? false, { name: "write" });
  const old = input("", { type: "password", name: "old-password", autocomplete: "current-password" });
  const own = account && account.id === me.id;
  const pw = new NewPassword(() => name.value, () => old.value);
  const change = checkbox(!account, { name: "change-password" });
  const pwBox = h("div", {}, own ? field("Previous password", old) : null, pw.el);
  pwBox.hidden = Boolean(account);
  change.addEventListener("change", () => (pwBox.hidden = !change.checked));
  d.body.append(h("div", {},
    field("Account name", name),
    field("Enabled", enabled),
    field("Write permission", write, "Without it the account can look but not change anything."),
    account ? field("Change the password", change) : null,
    pwBox,
  ));
  d.submit(account ? "Save" : "Add", async () => {
    if (!account) {
      await call("POST", "/accounts", { name: name.value, password: pw.value(), enabled: enabled.checked, write: write.checked });
    } else {
      const edit: Record<string, unknown> = {};
      if (name.value !== account.name) edit.name = name.value;
      if (enabled.checked !== account.enabled) edit.enabled = enabled.checked;
      if (write.checked !== account.write) edit.write = write.checked;
      if (change.checked) {
        edit.password = pw.value();
        if (own) edit.old_password = old.value;
      }
      await call("PATCH", `/accounts/${account.id}`, edit);
    }
    await grid.reload();
  });
  d.open();
}

export const accounts: Pane = {
  id: "accounts",
  title: "Accounts",
  nav: true,
  render(host) {
    const grid: Grid = new Grid({
      url: "/accounts",
      index: "id",
      label: "Accounts",
      entities: ["Account"],
      toggleColumns: true,
      selectable: true,
      open: (a) => edit(grid, a),
      columns: [
        { title: "ID", field: "id", sorter: "number" },
        { title: "Name", field: "name" },
        { title: "Enabled", field: "enabled", formatter: yesNo },
        { title: "Read", field: "read", formatter: yesNo },
        { title: "Write", field: "write", formatter: yesNo },
        { title: "Second factor", field: "second_factor", formatter: yesNo },
        { title: "Must change password", field: "must_change_password", formatter: yesNo },
        { title: "Default", field: "default", formatter: yesNo },
      ],
    });
    host.append(
      h(
        "div",
        { class: "toolbar" },
        writeButton("Add", () => edit(grid, null)),
        writeButton("Edit", () => {
          const [a] = grid.selected();
          if (a) edit(grid, a);
          else grid.notice.error("Select an account first.");
        }),
        writeButton("Delete", () => {
          const sel = grid.selected();
          if (!sel.length) return grid.notice.error("Select the accounts to delete first.");
          if (sel.some((a) => a.default)) return grid.notice.error("The default account cannot be deleted.");
          confirmThen("Delete accounts", `Delete the account${sel.length > 1 ? "s" : ""} ${sel.map((a) => a.name).join(", ")}?`, "Delete", async () => {
            for (const a of sel) await call("DELETE", `/accounts/${a.id}`);
            await grid.reload();
          });
        }),
      ),
      grid.el,
    );
    return () => grid.destroy();
  },
};
