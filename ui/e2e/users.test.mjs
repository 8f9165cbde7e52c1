// "Users / DECT phones": the three views; add a fixed pair, an unbound user (PIN entered
// twice, Permanent); copy; relation type; source External → Internal; edit on tabs;
// multi-edit of the page's selection; delete with confirmation; unsubscribe; the bulk CSV
// import with its dry-run report; 3-state sort, filters and hidden columns; live updates
// from an OMM-side change at omm-sim, and "Suppress table updates" in each mode; the
// conflicts list linking to the record involved.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as H from "./harness.mjs";

let mom;
let browser;
let page;
let api;
const files = mkdtempSync(join(tmpdir(), "mom-ui-users-"));

before(async () => ({ mom, api, browser, page } = await H.open({ fleet: true, pane: "Users / DECT phones" })));
beforeEach(() => page && H.closeDialogs(page));
after(() => H.close(browser, mom));

const dialog = (name) => page.getByRole("dialog", { name });
const rows = () => page.locator(".tabulator-row");
const counter = (text) => page.locator(".tabulator-page-counter", { hasText: text }).waitFor();
const view = async (name) => {
  await page.getByLabel("Change view").selectOption(name);
  await page.locator(".tabulator-row").first().waitFor();
};
async function filter(column, text) {
  const box = page.getByLabel(`Filter ${column}`, { exact: true });
  await box.fill("");
  await box.pressSequentially(text);
}
const byNum = async (num) => (await api.get(`/users?filter=num:eq:${num}`)).items[0];
const selectRow = (text) => page.locator(".tabulator-row", { hasText: text }).locator('input[type="checkbox"]').check();

test("the Overview, Users and Devices views page through every record", async () => {
  await counter("of 300");
  await H.screenshot(page, "pane-users-overview");
  await view("users");
  await counter("of 300");
  await page.getByRole("columnheader", { name: /SIP auth name/ }).waitFor();
  await view("devices");
  await counter("of 300");
  await page.getByRole("columnheader", { name: /IPEI/ }).waitFor();
  await H.screenshot(page, "pane-users-devices");
  await view("users");
});

test("the Overview sorts and filters on the DECT phone's columns, rows seen by a person", async () => {
  await view("overview");
  await counter("of 300");
  // The oracle is the Devices and Users API, not the Overview's own.
  const bound = (await api.get("/devices?filter=uid:gt:0&sort=ipei&order=desc&limit=1")).items[0];
  const owner = await api.get(`/users/${bound.uid}`);
  const unbound = (await api.get("/users?filter=ppn:eq:0&limit=1")).total;
  const header = page.locator('.tabulator-col[tabulator-field="device.ipei"] .tabulator-col-title');
  const firstRow = () => rows().first();
  await header.click();
  await header.click();
  await H.waitFor(async () => (await firstRow().locator('[tabulator-field="device.ipei"]').textContent()) === bound.ipei, 5000, "highest IPEI first");
  assert.ok(await H.seenByPerson(firstRow()), "the first row is seen");
  assert.equal((await firstRow().locator('[tabulator-field="user.num"]').textContent()).trim(), owner.num);
  await header.click();
  await filter("IPEI", `=${bound.ipei}`);
  await counter(/^1 record$/);
  const seen = await H.rowsSeen(page.locator(".grid-wrap").first());
  assert.deepEqual([seen.rows, seen.seen], [1, 1], JSON.stringify(seen.unseen));
  assert.match(await firstRow().textContent(), new RegExp(owner.num));
  await filter("IPEI", "");
  await filter("Device ID", "=0");
  await counter(unbound === 1 ? /^1 record$/ : unbound === 0 ? "No records" : `of ${unbound} records`);
  await filter("Device ID", "");
  await filter("Location", `=${bound.location}`);
  const here = (await api.get(`/devices?filter=location:eq:${bound.location}&filter=uid:gt:0&limit=1`)).total;
  await counter(here === 1 ? /^1 record$/ : `of ${here} records`);
  await filter("Location", "");
  await counter("of 300");
  await view("users");
});

test("a fixed user/device pair is added", async () => {
  await page.getByRole("button", { name: "Add fixed pair" }).click();
  const d = dialog("Add fixed user/device record");
  await d.getByLabel("Number").fill("5001");
  await d.getByLabel("Name").fill("Ward phone 1");
  await d.getByLabel("IPEI of the DECT phone").fill("00077 0012345 3");
  await H.submit(d, "Add");
  const u = await byNum("5001");
  assert.equal(u.rel_type, "Fixed");
  assert.ok(u.ppn > 0);
  assert.equal((await api.get(`/devices/${u.ppn}`)).ipei, "00077 0012345 3");
});

test("an unbound user is added: the PIN must be entered twice the same; Permanent is kept", async () => {
  await page.getByRole("button", { name: "Add user" }).click();
  const d = dialog("Add user");
  await d.getByLabel("Number").fill("5002");
  await d.getByLabel("Name").fill("Night nurse");
  await d.getByLabel("PIN", { exact: true }).fill("1234");
  await d.getByLabel("Repeat the PIN").fill("1243");
  await d.getByLabel("Permanent (deployed to every OMM)").check();
  await d.getByRole("button", { name: "Add" }).click();
  await d.getByRole("alert").getByText("The two PIN entries differ.").waitFor();
  assert.equal(await byNum("5002"), undefined, "nothing added");
  await d.getByLabel("Repeat the PIN").fill("1234");
  await H.submit(d, "Add");
  const u = await byNum("5002");
  assert.equal(u.permanent, true);
  assert.equal(u.rel_type, "Unbound");
  // A duplicate number is refused where it was entered, in words.
  await page.getByRole("button", { name: "Add user" }).click();
  const dup = dialog("Add user");
  await dup.getByLabel("Number").fill("5002");
  await dup.getByRole("button", { name: "Add" }).click();
  await dup.getByRole("alert").waitFor();
  assert.match(await dup.getByRole("alert").textContent(), /5002|number/i);
  await dup.getByRole("button", { name: "Cancel" }).click();
});

test("a user is copied, its relation type changed, and an External user made Internal", async () => {
  await filter("Number", "5001");
  await counter(/^1 record$/);
  await selectRow("5001");
  await page.getByRole("button", { name: "Copy" }).click();
  const c = dialog("Copy user 5001 Ward phone 1");
  await c.getByLabel("Number of the new user").fill("5003");
  await H.submit(c, "Copy");
  const copy = await byNum("5003");
  assert.equal(copy.name, "Ward phone 1");
  assert.equal(copy.ppn, 0, "the copy is unbound");
  // The relation type of a pair whose phone is subscribed (the guide's precondition).
  assert.equal((await byNum("20000")).rel_type, "Fixed");
  await filter("Number", "20000");
  await counter(/^1 record$/);
  await selectRow("20000");
  await page.getByRole("button", { name: "Relation type" }).click();
  const r = dialog("Relation type of user 20000");
  await r.getByLabel("Relation type").selectOption("Dynamic");
  await H.submit(r, "Save");
  assert.equal((await byNum("20000")).rel_type, "Dynamic");
  // Several at once (the guide's multi-record change): the bound ones change, the unbound
  // ones are named and left. Without a selection the buttons that need one are disabled.
  for (const num of ["20000", "5003"]) await api.call("PATCH", `/users/${(await byNum(num)).uid}`, { hierarchy1: "Relation test" });
  await filter("Number", "");
  await filter("Description 1", "Relation test");
  await counter("of 2 records");
  assert.ok(await page.getByRole("button", { name: "Relation type" }).isDisabled(), "nothing selected");
  assert.ok(await page.getByRole("button", { name: "Copy" }).isDisabled(), "nothing selected");
  await selectRow("20000");
  await selectRow("5003");
  assert.ok(await page.getByRole("button", { name: "Copy" }).isDisabled(), "Copy takes one");
  await page.getByRole("button", { name: "Relation type" }).click();
  const many = dialog("Relation type of 2 users");
  await many.getByText("Not bound to a DECT phone, so left as they are: 5003.").waitFor();
  await many.getByLabel("Relation type").selectOption("Fixed");
  await H.submit(many, "Save");
  assert.equal((await byNum("20000")).rel_type, "Fixed");
  assert.equal((await byNum("5003")).ppn, 0);
  await filter("Description 1", "");
  // An External user bound dynamically (the guide's precondition for a source change).
  const external = await api.call("POST", "/users", { num: "5004", name: "From LDAP", source: "External" });
  const phone = await api.call("POST", "/devices", { ipei: "00077 0012346 4" });
  await api.call("POST", `/users/${external.id}/binding`, { ppn: phone.id, rel_type: "Dynamic" });
  await filter("Number", "5004");
  await counter(/^1 record$/);
  await selectRow("5004");
  await page.getByRole("button", { name: "Source → Internal" }).click();
  await H.submit(dialog("Change the provisioning source"), "Change");
  assert.equal((await byNum("5004")).source, "Internal");
});

test("a user is edited on its tabs", async () => {
  await filter("Number", "5003");
  await counter(/^1 record$/);
  await page.locator(".tabulator-row", { hasText: "5003" }).dblclick();
  const d = dialog("Edit user 5003 Ward phone 1");
  for (const tab of ["General", "SIP", "Features", "Messaging and locating", "Services", "Status"]) await d.getByRole("tab", { name: tab }).waitFor();
  await d.getByLabel("Name", { exact: true }).fill("Ward phone copy");
  await d.getByRole("tab", { name: "SIP" }).click();
  await d.getByLabel("SIP authentication name").fill("ward-copy");
  await H.screenshot(page, "user-edit-dialog");
  await H.submit(d, "Save");
  const u = await byNum("5003");
  assert.equal(u.name, "Ward phone copy");
  assert.equal(u.sip_auth_id, "ward-copy");
});

test("multi-edit changes the selected records of the page only", async () => {
  await filter("Number", "500");
  await counter("of 4 records");
  await selectRow("5001");
  await selectRow("5002");
  await page.getByRole("button", { name: "Multi-edit" }).click();
  const d = dialog("Multi-edit 2 users");
  await d.getByLabel("Description 1").fill("Ward 7");
  await H.submit(d, "Save");
  assert.equal((await byNum("5001")).hierarchy1, "Ward 7");
  assert.equal((await byNum("5002")).hierarchy1, "Ward 7");
  assert.notEqual((await byNum("5003")).hierarchy1, "Ward 7");
});

test("a record is deleted after confirmation; a DECT phone is unsubscribed", async () => {
  await filter("Number", "5003");
  await counter(/^1 record$/);
  await selectRow("5003");
  await page.getByRole("button", { name: "Delete", exact: true }).click();
  const d = dialog("Delete records");
  await d.getByText("user 5003").waitFor();
  await d.getByRole("button", { name: "Delete" }).click();
  await page.locator(".tabulator-placeholder", { hasText: "No records" }).waitFor();
  assert.equal(await byNum("5003"), undefined);
  await view("devices");
  const device = (await api.get("/devices?filter=s:eq:Yes&filter=rel_type:eq:Fixed&limit=1")).items[0];
  await filter("IPEI", device.ipei);
  await counter(/^1 record$/);
  await selectRow(device.ipei);
  await page.getByRole("button", { name: "Unsubscribe" }).click();
  await H.submit(dialog("Unsubscribe DECT phones"), "Unsubscribe");
  // The guide: the phone is unsubscribed and its data set removed.
  await assert.rejects(api.get(`/devices/${device.ppn}`), /404/);
  await view("users");
});

test("bulk CSV import: the dry-run report first, then only what was confirmed", async () => {
  const file = join(files, "users.csv");
  writeFileSync(file, "num,name\n6001,Imported one\n6002,Imported two\n6003,\"Bad\u0007name\"\n");
  await page.getByRole("button", { name: "Import CSV" }).click();
  const d = dialog("Import users from CSV");
  await d.getByLabel("CSV file").setInputFiles(file);
  await d.getByRole("button", { name: "Check file" }).click();
  await d.locator(".report .summary", { hasText: "3 rows: 2 valid" }).waitFor();
  await d.locator(".row-errors li", { hasText: "Row 3" }).waitFor();
  assert.equal(await byNum("6001"), undefined, "the check wrote nothing");
  assert.equal(await d.getByRole("button", { name: "Import" }).isDisabled(), true, "a file with bad rows needs 'write the good rows'");
  await d.getByLabel("Write the good rows even if some are bad").check();
  await d.getByRole("button", { name: "Check file" }).click();
  await d.locator(".report .summary", { hasText: "Nothing written" }).waitFor();
  await H.screenshot(page, "users-import-report");
  await d.getByRole("button", { name: "Import", exact: true }).click();
  await d.locator(".report .summary", { hasText: /errors\. Written\./ }).waitFor();
  assert.equal((await byNum("6001")).name, "Imported one");
  assert.equal((await byNum("6002")).name, "Imported two");
  assert.equal(await byNum("6003"), undefined);
  await d.getByRole("button", { name: "Cancel" }).click();
});

test("3-state sort, per-column filters and hidden columns", async () => {
  await filter("Number", "");
  await counter("of 305");
  const firstNum = async () => (await rows().first().locator('[tabulator-field="num"]').textContent()).trim();
  const header = page.getByRole("columnheader", { name: /^Number/ });
  await header.locator(".tabulator-col-title").click();
  await H.waitFor(async () => (await firstNum()) === "10000", 5000, "ascending");
  await header.locator(".tabulator-col-title").click();
  await H.waitFor(async () => (await firstNum()) === "6002", 5000, "descending");
  await header.locator(".tabulator-col-title").click();
  await H.waitFor(async () => (await rows().first().locator('[tabulator-field="uid"]').textContent()).trim() === "1", 5000, "no sort: id order");
  await filter("Name", "User 3-1");
  await counter("of 11 records");
  await filter("Name", "");
  await page.getByRole("button", { name: "Columns" }).click();
  await page.getByRole("group", { name: "Columns shown" }).getByLabel("Description 1").uncheck();
  await page.getByRole("columnheader", { name: /Description 1/ }).waitFor({ state: "hidden" });
  await page.getByRole("group", { name: "Columns shown" }).getByLabel("Description 1").check();
  await page.getByRole("button", { name: "Columns" }).click();
});

test("live updates from an OMM-side change, and Suppress table updates in each mode", async () => {
  const target = await byNum("10000");
  assert.equal(target.home_omm, 1);
  await filter("Number", "10000");
  await counter(/^1 record$/);
  const cell = () => rows().first().locator('[tabulator-field="name"]');
  const edit = (name) => H.control(mom, { cmd: "edit-user", omm: 1, uid: target.omm_uid, attr: "name", value: name });
  await edit("Live one");
  await H.waitFor(async () => (await cell().textContent()) === "Live one", 10_000, "the OMM's change in the table");
  for (const mode of ["UsersDectPhones", "All"]) {
    await api.call("PATCH", "/settings", { suppress_table_updates: mode });
    await page.locator(".suppressed:not([hidden])").waitFor();
    await edit(`Held back ${mode}`);
    await H.waitFor(async () => (await byNum("10000")).name === `Held back ${mode}`, 10_000, "the MOM to have the change");
    await page.waitForTimeout(1500);
    assert.notEqual(await cell().textContent(), `Held back ${mode}`, `${mode}: the table is not updated`);
    await H.screenshot(page, `users-suppressed-${mode}`);
    await page.getByRole("button", { name: "Refresh" }).click();
    await H.waitFor(async () => (await cell().textContent()) === `Held back ${mode}`, 5000, "the refresh to show it");
  }
  await api.call("PATCH", "/settings", { suppress_table_updates: "Off" });
  await page.locator(".suppressed").waitFor({ state: "hidden" });
  await edit("Live again");
  await H.waitFor(async () => (await cell().textContent()) === "Live again", 10_000, "live updates again");
});

test("a conflict is listed on the Health pane with links to the records involved", async () => {
  const other = (await api.get("/users?filter=home_omm:eq:2&limit=1")).items[0];
  await H.control(mom, { cmd: "edit-user", omm: 2, uid: other.omm_uid, attr: "num", value: "10001" });
  await H.waitFor(async () => (await api.get("/conflicts")).length > 0, 10_000, "a conflict");
  await H.openPane(page, "Health states");
  const link = page.getByRole("table", { name: "Conflicts" }).getByRole("link", { name: "User 10001" });
  await link.waitFor();
  await H.screenshot(page, "pane-health-conflict");
  await link.click();
  await page.locator(".pane-title", { hasText: "Users / DECT phones" }).waitFor();
  await counter(/^1 record$/);
  assert.equal((await rows().first().locator('[tabulator-field="num"]').textContent()).trim(), "10001");
});

test("a hostile name from an OMM is shown as text, never as markup", async () => {
  const target = await byNum("10002");
  await H.control(mom, { cmd: "edit-user", omm: 1, uid: target.omm_uid, attr: "name", value: '<img id="pwn" src="/x"><b>bold</b>' });
  await H.waitFor(async () => (await byNum("10002")).name.startsWith("<img"), 10_000, "the hostile name at the MOM");
  await H.openPane(page, "Users / DECT phones");
  await filter("Number", "10002");
  await counter(/^1 record$/);
  await page.locator(".tabulator-row").first().getByText('<img id="pwn" src="/x"><b>bold</b>').waitFor();
  assert.equal(await page.locator("#pwn").count(), 0, "no element made from the name");
  await page.locator(".tabulator-row").first().dblclick();
  await page.getByRole("dialog").waitFor();
  assert.equal(await page.locator("#pwn").count(), 0);
  assert.match(await page.getByRole("dialog").getByRole("heading").textContent(), /<img id="pwn"/);
});
