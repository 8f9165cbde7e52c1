// "OMMs": add, edit (Connections and Certificates tabs, placeholders), multi-edit,
// enable/disable, delete; the address links to the OMM's web interface; the template
// editor with its check, "Show config file", and "Update OMM" for one and for all, with
// the check and the diff shown before anything is sent.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import * as H from "./harness.mjs";

let mom;
let browser;
let page;
let api;

before(async () => ({ mom, api, browser, page } = await H.open({ fleet: true, pane: "OMMs" })));
beforeEach(async () => {
  if (!page) return;
  await H.closeDialogs(page);
  await clearSelection();
});
after(() => H.close(browser, mom));

const dialog = (name) => page.getByRole("dialog", { name });
const row = (text) => page.locator(".tabulator-row", { hasText: text });
const select = (text) => row(text).locator('input[type="checkbox"]').check();
/** Unselects every row, so a test's selection is only what it selects. */
async function clearSelection() {
  const checked = page.locator('.tabulator-row input[type="checkbox"]:checked');
  for (let i = 0; i < 20 && (await checked.count()) > 0; i++) await checked.first().uncheck();
}

test("the fleet is listed with its links, and an OMM's address opens its web interface", async () => {
  await row("Demo site 1").waitFor();
  const omm1 = (await api.get("/omms")).find((o) => o.id === 1);
  const link = row("Demo site 1").getByRole("link", { name: `Open the web interface of ${omm1.omm1}` });
  assert.equal(await link.getAttribute("href"), `https://${omm1.omm1}/`);
  assert.equal(await link.getAttribute("target"), "_blank");
  await row("Demo site 1").getByText("Up").waitFor();
  await H.screenshot(page, "pane-omms");
});

test("an OMM is added and edited on its tabs", async () => {
  await page.getByRole("button", { name: "Add", exact: true }).click();
  const add = dialog("Add OMM");
  await add.getByLabel("Name", { exact: true }).fill("Site North");
  await add.getByLabel("OMM 1", { exact: true }).fill("192.0.2.10");
  await add.getByLabel("Description", { exact: true }).fill("Ward building");
  await add.getByLabel("Enabled", { exact: true }).uncheck();
  await add.getByRole("button", { name: "Add" }).click();
  await row("Site North").waitFor();
  const created = (await api.get("/omms")).find((o) => o.name === "Site North");
  assert.equal(created.omm1, "192.0.2.10");
  assert.equal(created.enabled, false);
  await row("Site North").dblclick();
  const edit = dialog(`Edit OMM ${created.id} Site North`);
  await edit.getByLabel("Description", { exact: true }).fill("Ward building, floor 2");
  await edit.getByRole("tab", { name: "Connections" }).click();
  await edit.getByText("Link", { exact: true }).waitFor();
  await edit.getByRole("tab", { name: "Certificates" }).click();
  await edit.getByLabel("Certificate validation").selectOption("PinnedSha256");
  await edit.getByLabel("Fingerprint or CA certificate").fill("ab".repeat(32));
  await H.screenshot(page, "omm-edit-certificates");
  await edit.getByRole("tab", { name: "Placeholders" }).click();
  await edit.getByLabel(/Placeholders of this OMM/).fill("SystemName_name=North\nNTP_server1=10.0.0.1\n");
  await H.submit(edit, "Save");
  const saved = await api.get(`/omms/${created.id}`);
  assert.equal(saved.description, "Ward building, floor 2");
  assert.deepEqual(saved.cert_validation, { PinnedSha256: "ab".repeat(32) });
  assert.match(await api.get(`/omms/${created.id}/placeholders`), /SystemName_name=North/);
  // A bad address is refused in words; nothing changes.
  await row("Site North").dblclick();
  const bad = dialog(`Edit OMM ${created.id} Site North`);
  await bad.getByLabel("OMM 1", { exact: true }).fill("not an address\u0007");
  await bad.getByRole("button", { name: "Save" }).click();
  await bad.getByRole("alert").waitFor();
  // Not an IPv4 address although it looks like one.
  await bad.getByLabel("OMM 1", { exact: true }).fill("999.1.1.1");
  await bad.getByRole("button", { name: "Save" }).click();
  await bad.getByRole("alert").filter({ hasText: "999.1.1.1" }).waitFor();
  await bad.getByRole("button", { name: "Cancel" }).click();
  assert.equal((await api.get(`/omms/${created.id}`)).omm1, "192.0.2.10");
  // A second record for the same OMM is refused, naming the first.
  await page.getByRole("button", { name: "Add", exact: true }).click();
  const twin = dialog("Add OMM");
  await twin.getByLabel("Name", { exact: true }).fill("Site North again");
  await twin.getByLabel("OMM 1", { exact: true }).fill("192.0.2.10:12622");
  await twin.getByRole("button", { name: "Add" }).click();
  const taken = twin.getByRole("alert").filter({ hasText: `already OMM ${created.id}` });
  await taken.waitFor();
  assert.ok(await H.seenByPerson(taken));
  await twin.getByRole("button", { name: "Cancel" }).click();
});

test("multi-edit, disable and enable change every selected OMM", async () => {
  await select("Demo site 2");
  await select("Demo site 3");
  await page.getByRole("button", { name: "Multi-edit" }).click();
  const d = dialog("Multi-edit 2 OMMs");
  await d.getByLabel("Description", { exact: true }).fill("Remote sites");
  await H.submit(d, "Save");
  let list = await api.get("/omms");
  assert.deepEqual(list.filter((o) => o.id === 2 || o.id === 3).map((o) => o.description), ["Remote sites", "Remote sites"]);
  assert.notEqual(list.find((o) => o.id === 1).description, "Remote sites");
  await select("Demo site 2");
  await select("Demo site 3");
  await page.getByRole("button", { name: "Disable" }).click();
  await H.waitFor(async () => !(await api.get("/omms/3")).enabled && !(await api.get("/omms/2")).enabled, 5000, "OMMs 2 and 3 disabled");
  await select("Demo site 2");
  await select("Demo site 3");
  await page.getByRole("button", { name: "Enable" }).click();
  await H.waitFor(async () => (await api.get("/omms/3")).enabled && (await api.get("/omms/2")).enabled, 5000, "OMMs 2 and 3 enabled");
});

test("the template editor saves the template and shows its check", async () => {
  await page.getByRole("button", { name: "Configuration file template" }).click();
  const d = dialog("OMM configuration template");
  const text = d.getByLabel(/^Template/);
  await H.waitFor(async () => (await text.inputValue()).length > 100, 5000, "the template to load");
  const template = await text.inputValue();
  // "Check" checks the text being edited, before it is saved.
  await text.fill(`${template}\n<SetSystemName name="%SystemName_name%" />\n<SetBogus x="1" />\n<SetBroken name="x"\n`);
  await d.getByRole("button", { name: "Check" }).click();
  await d.locator('.lint li[data-code="not_well_formed"]').waitFor();
  assert.equal(await api.get("/provisioning/template"), template, "checking saved nothing");
  // A template that is not well formed is saved only when asked twice.
  await d.getByRole("button", { name: "Save template" }).click();
  const warning = d.getByRole("alert").filter({ hasText: "press \"Save template\" again" });
  await warning.waitFor();
  assert.ok(await H.seenByPerson(warning), "the warning is seen");
  assert.equal(await api.get("/provisioning/template"), template, "not saved");
  await text.fill(`${template}\n<SetSystemName name="%SystemName_name%" />\n<SetBogus x="1" />\n`);
  await H.submit(d, "Save template");
  assert.match(await api.get("/provisioning/template"), /<SetBogus x="1" \/>/);
  await page.getByRole("button", { name: "Configuration file template" }).click();
  const again = dialog("OMM configuration template");
  await again.getByRole("button", { name: "Check" }).click();
  await again.locator('.lint li[data-code="unknown_command"]').waitFor();
  await H.screenshot(page, "omm-template-check");
  await again.getByRole("button", { name: "Cancel" }).click();
});

test("Show config file shows exactly what the OMM gets", async () => {
  await select("Site North");
  await page.getByRole("button", { name: "Show config file" }).click();
  const d = page.getByRole("dialog", { name: /Configuration file of OMM/ });
  await d.locator("pre.config-file", { hasText: 'name="North"' }).waitFor();
  const id = (await api.get("/omms")).find((o) => o.name === "Site North").id;
  const expected = await api.get(`/omms/${id}/config-file`);
  assert.equal((await d.locator("pre.config-file").textContent()).trim(), String(expected).trim());
  await d.getByRole("button", { name: "Close" }).click();
});

test("Update OMM shows the check and the diff first, then sends the update; Update all too", async () => {
  await api.call("PATCH", "/omms", { ids: [1, 2], changes: { provisioning: true } });
  await select("Demo site 1");
  await page.getByRole("button", { name: "Update OMM", exact: true }).click();
  const d = dialog("Update OMM 1");
  await d.getByRole("heading", { name: "Template check" }).waitFor();
  await d.locator('.lint li[data-code="unknown_command"]').waitFor();
  await d.locator("summary", { hasText: "OMM 1 Demo site 1" }).waitFor();
  await H.screenshot(page, "omm-update-preview");
  await d.getByRole("button", { name: "Send update" }).click();
  await d.locator(".update-result li", { hasText: "OMM 1" }).waitFor();
  assert.match(await d.locator(".update-result").textContent(), /OMM 1: update sent/);
  await d.getByRole("button", { name: "Close" }).click();
  await H.waitFor(async () => (await api.get("/omms/1")).provisioning_state.last_fetch !== null, 20_000, "OMM 1 to fetch its configuration");
  await page.getByRole("button", { name: "Update all" }).click();
  const all = dialog("Update all OMMs");
  await all.locator("summary", { hasText: "OMM 2 Demo site 2" }).waitFor();
  assert.equal(await all.locator("summary", { hasText: "Demo site 3" }).count(), 0, "OMM 3 is not provisioned");
  await all.getByRole("button", { name: "Send update" }).click();
  await all.locator(".update-result li", { hasText: "OMM 2" }).waitFor();
  await all.getByRole("button", { name: "Close" }).click();
});

test("an OMM is deleted after confirmation", async () => {
  await select("Site North");
  await page.getByRole("button", { name: "Delete", exact: true }).click();
  const d = dialog("Delete OMMs");
  await d.getByText(/Site North/).waitFor();
  await d.getByRole("button", { name: "Delete" }).click();
  await row("Site North").waitFor({ state: "detached" });
  assert.ok(!(await api.get("/omms")).some((o) => o.name === "Site North"));
});
