// "Accounts": add, edit with the previous password, permissions, delete with confirmation,
// the default account undeletable; and a read-only account that sees every control it
// cannot use as disabled and cannot change anything.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import * as H from "./harness.mjs";

let mom;
let browser;
let page;
let api;

before(async () => ({ mom, api, browser, page } = await H.open({ fleet: true, pane: "Accounts" })));
beforeEach(() => page && H.closeDialogs(page));
after(() => H.close(browser, mom));

const dialog = (name) => page.getByRole("dialog", { name });
const row = (text) => page.locator(".tabulator-row", { hasText: text });

async function addAccount(name, password, write) {
  await page.getByRole("button", { name: "Add", exact: true }).click();
  const d = dialog("Add account");
  await d.getByLabel("Account name").fill(name);
  if (write) await d.getByLabel("Write permission").check();
  await d.getByLabel("New password", { exact: true }).fill(password);
  await d.getByLabel("Repeat the new password").fill(password);
  await d.getByRole("button", { name: "Add" }).click();
  await row(name).waitFor();
}

test("accounts are added with the password rules enforced", async () => {
  await page.getByRole("button", { name: "Add", exact: true }).click();
  const d = dialog("Add account");
  await d.getByLabel("Account name").fill("nurse");
  await d.getByLabel("New password", { exact: true }).pressSequentially("short");
  await d.locator('li[data-rule="length"].unmet').waitFor();
  await d.getByLabel("Repeat the new password").fill("short");
  await d.getByRole("button", { name: "Add" }).click();
  await d.getByRole("alert").waitFor();
  assert.match(await d.getByRole("alert").textContent(), /password/);
  await d.getByRole("button", { name: "Cancel" }).click();
  await addAccount("viewer", "Green.Heron-77", false);
  await addAccount("editor", "Red.Falcon-88", true);
  const list = await api.get("/accounts");
  assert.deepEqual(list.map((a) => [a.name, a.write]).sort(), [["editor", true], ["mom", true], ["viewer", false]]);
  await H.screenshot(page, "pane-accounts");
});

test("an account's permission is edited; one's own password needs the previous one", async () => {
  await row("editor").dblclick();
  const d = dialog("Edit account editor");
  await d.getByLabel("Write permission").uncheck();
  await H.submit(d, "Save");
  assert.equal((await api.get("/accounts")).find((a) => a.name === "editor").write, false);
  await row("mom").dblclick();
  const own = dialog("Edit account mom");
  await own.getByLabel("Change the password").check();
  await own.getByLabel("Previous password").fill("wrong-previous");
  await own.getByLabel("New password", { exact: true }).fill("Brown.Bear-2025");
  await own.getByLabel("Repeat the new password").fill("Brown.Bear-2025");
  await own.getByRole("button", { name: "Save" }).click();
  await own.getByRole("alert").waitFor();
  await H.api(mom, "mom", H.PASSWORD); // unchanged
  await own.getByLabel("Previous password").fill(H.PASSWORD);
  await H.submit(own, "Save");
  api = await H.api(mom, "mom", "Brown.Bear-2025");
});

test("the default account cannot be deleted; another is deleted after confirmation", async () => {
  await row("mom").locator('input[type="checkbox"]').check();
  await page.getByRole("button", { name: "Delete", exact: true }).click();
  await page.locator(".notice.error", { hasText: "default account" }).waitFor();
  await row("mom").locator('input[type="checkbox"]').uncheck();
  await row("editor").locator('input[type="checkbox"]').check();
  await page.getByRole("button", { name: "Delete", exact: true }).click();
  const d = dialog("Delete accounts");
  await d.getByText("editor").waitFor();
  await d.getByRole("button", { name: "Cancel" }).click();
  assert.ok((await api.get("/accounts")).some((a) => a.name === "editor"), "cancel keeps it");
  await page.getByRole("button", { name: "Delete", exact: true }).click();
  await dialog("Delete accounts").getByRole("button", { name: "Delete" }).click();
  await row("editor").waitFor({ state: "detached" });
  assert.ok(!(await api.get("/accounts")).some((a) => a.name === "editor"));
});

test("a read-only account sees the controls it cannot use as disabled and changes nothing", async () => {
  const ro = await H.newPage(browser);
  // Made by an administrator: its user replaces the password at the first login.
  await H.loginReplacingPassword(ro, mom, "viewer", "Green.Heron-77", "Grey.Heron-78x");
  await ro.getByText("viewer (read-only)").waitFor();
  const before = await api.get("/settings");
  const disabled = async (pane, names) => {
    await H.openPane(ro, pane);
    for (const name of names) {
      const b = ro.getByRole("button", { name, exact: true }).first();
      await b.waitFor();
      assert.equal(await b.isDisabled(), true, `${pane}: ${name} is disabled`);
      assert.equal(await b.getAttribute("title"), "Your account is read-only");
    }
  };
  await disabled("System settings", ["Save system name", "Import license", "Save DECT settings", "Save FAC prefix", "Save banner", "Save security settings", "Upload certificate", "Import database"]);
  await disabled("Accounts", ["Add", "Edit", "Delete"]);
  await disabled("OMMs", ["Add", "Multi-edit", "Enable", "Disable", "Delete", "Update OMM", "Update all"]);
  await disabled("Users / DECT phones", ["Add fixed pair", "Add user", "Copy", "Delete", "Multi-edit", "Import CSV"]);
  await disabled("Conference rooms", ["Add", "Delete"]);
  await disabled("Statistics", ["Clear all"]);
  await disabled("Event log", ["Clear all"]);
  assert.equal(await ro.locator("footer button.subscription").isDisabled(), true);
  assert.equal(await ro.locator("footer button.auto-create").isDisabled(), true);
  // Every pane swept: the enabled controls a read-only account finds are the ones that only
  // read (filters, views, paging, selection, exports of tables, the system dump).
  const reads = /^(Filter .*|Change view|Columns|(First|Prev|Next|Last)( Page)?|Refresh|Refresh all|Select row .*|Select every row of this page|Export CSV|Download system dump|Configuration file template|Check|.* table)$/;
  for (const pane of ["Health states", "System settings", "Accounts", "OMMs", "Users / DECT phones", "Conference rooms", "Statistics", "Event log", "Audit trail", "Cluster", "EULA / Version info"]) {
    await H.openPane(ro, pane);
    await ro.waitForLoadState("networkidle");
    const enabled = await ro.locator("main#pane").evaluate((main) =>
      [...main.querySelectorAll("button, input, select, textarea")]
        .filter((c) => !c.disabled && !c.readOnly && c.getClientRects().length > 0)
        .map((c) => c.getAttribute("aria-label") || (c.labels?.[0]?.textContent ?? "") || c.textContent?.trim() || c.getAttribute("name") || c.tagName),
    );
    const writes = enabled.filter((name) => !reads.test(name.trim()));
    assert.deepEqual(writes, [], `${pane}: enabled controls of a read-only account`);
  }
  // What it can use still works: reading, exporting.
  await H.openPane(ro, "Users / DECT phones");
  await ro.locator(".tabulator-page-counter", { hasText: "of 300" }).waitFor();
  // The API refuses it too, from the page itself (with its CSRF token).
  const status = await ro.evaluate(async () => {
    const s = await (await fetch("/api/v1/session")).json();
    const r = await fetch("/api/v1/settings", { method: "PATCH", headers: { "content-type": "application/json", "x-csrf-token": s.csrf_token }, body: JSON.stringify({ system_name: "hacked" }) });
    return r.status;
  });
  assert.equal(status, 403);
  assert.deepEqual(await api.get("/settings"), before);
  await H.screenshot(ro, "read-only-users");
  await ro.context().close();
});
