// The remaining panes: conference rooms; statistics with a graph per counter, refresh,
// clear, clear all, refresh all; the event log with clear all; the audit trail; the Health
// pane's fleet view with the reason when an OMM is not well; and My account: TOTP
// enrolment (then a login that needs the code) and API tokens.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import * as H from "./harness.mjs";

let mom;
let browser;
let page;
let api;

before(async () => ({ mom, api, browser, page } = await H.open({ fleet: true })));
beforeEach(() => page && H.closeDialogs(page));
after(() => H.close(browser, mom));

const dialog = (name) => page.getByRole("dialog", { name });
const row = (text) => page.locator(".tabulator-row", { hasText: text });

test("conference rooms are added, edited and deleted", async () => {
  await H.openPane(page, "Conference rooms");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  const d = dialog("Add conference room");
  await d.getByLabel("Name", { exact: true }).fill("Morning round");
  await d.getByLabel("Number", { exact: true }).fill("8800");
  await d.getByLabel("SIP password", { exact: true }).fill("Room.Secret-1");
  // The password is typed twice; two different entries are refused before anything is sent.
  await d.getByLabel("Repeat the SIP password").fill("Room.Secret-2");
  await d.getByRole("button", { name: "Add" }).click();
  const differ = d.getByRole("alert").filter({ hasText: "The two SIP password entries differ." });
  await differ.waitFor();
  assert.ok(await H.seenByPerson(differ));
  assert.deepEqual(await api.get("/conference-rooms"), []);
  await d.getByLabel("Repeat the SIP password").fill("Room.Secret-1");
  await H.submit(d, "Add");
  await row("Morning round").waitFor();
  const [room] = await api.get("/conference-rooms");
  assert.equal(room.number, "8800");
  assert.equal(room.sip_password, "(redacted)", "the API never reads the password back");
  await row("Morning round").dblclick();
  const e = dialog("Edit conference room Morning round");
  // The edit dialog says the password is set, without it; left empty it stays.
  const password = e.getByLabel("SIP password", { exact: true });
  assert.equal(await password.inputValue(), "");
  assert.match((await password.getAttribute("placeholder")) ?? "", /set; unchanged/);
  await e.getByLabel("Name", { exact: true }).fill("Evening round");
  await H.submit(e, "Save");
  await row("Evening round").waitFor();
  assert.equal((await api.get("/conference-rooms"))[0].sip_password, "(redacted)", "still set");
  // A second room with the same number is refused in words.
  await page.getByRole("button", { name: "Add", exact: true }).click();
  const dup = dialog("Add conference room");
  await dup.getByLabel("Name", { exact: true }).fill("Copy");
  await dup.getByLabel("Number", { exact: true }).fill("8800");
  await dup.getByRole("button", { name: "Add" }).click();
  await dup.getByRole("alert").waitFor();
  await dup.getByRole("button", { name: "Cancel" }).click();
  await H.screenshot(page, "pane-conference-rooms");
  await row("Evening round").locator('input[type="checkbox"]').check();
  await page.getByRole("button", { name: "Delete", exact: true }).click();
  await H.submit(dialog("Delete conference rooms"), "Delete");
  await row("Evening round").waitFor({ state: "detached" });
  assert.deepEqual(await api.get("/conference-rooms"), []);
});

test("statistics: every counter by the guide's name, a graph with axes per counter, refresh, clear, clear all and refresh all", async () => {
  await H.waitFor(async () => (await api.get("/statistics")).some((c) => c.history.length > 1), 20_000, "counter samples");
  await H.openPane(page, "Statistics");
  const counters = await api.get("/statistics");
  await page.locator(".counter").first().waitFor();
  assert.equal(await page.locator(".counter").count(), counters.length);
  // The guide's MAXI and messaging counters are there before any client connected, by name.
  for (const label of ["MAXI: Total number of client requests", "MAXI: Maximal parallel client connections", "Number of 'SendMessage' requests from OMM"]) {
    assert.ok(await H.seenByPerson(page.locator(".counter summary", { hasText: label })), label);
  }
  const labels = await page.locator(".counter summary .label").allTextContents();
  assert.deepEqual(labels.filter((l) => /[a-z]+\.[a-z_]+/.test(l)), [], "no internal key as a name");
  const synced = counters.find((c) => c.name === "axi.records_synced");
  assert.ok(synced.value > 0 && synced.history.length > 1, "the fleet's records were synchronised");
  const card = page.locator('.counter[data-counter="axi.records_synced"]');
  await card.locator("summary").click();
  const graph = card.locator(".chart");
  await graph.locator("canvas").waitFor();
  assert.ok(await H.seenByPerson(graph), "the graph is seen when expanded");
  assert.match(await graph.locator(".u-legend").textContent(), /User and DECT phone records/);
  await H.screenshot(page, "pane-statistics");
  await card.getByRole("button", { name: `Refresh ${synced.label}` }).click();
  await card.getByRole("button", { name: `Clear ${synced.label}` }).click();
  await H.waitFor(async () => (await card.locator("summary .value").textContent()) === "0", 5000, "the counter cleared");
  assert.equal((await api.get("/statistics/axi.records_synced")).value, 0);
  // A gauge follows the system: no Clear.
  const links = page.locator('.counter[data-counter="axi.links_up"]');
  await links.locator("summary").click();
  await links.getByRole("button", { name: "Refresh OMM links up" }).waitFor();
  assert.equal(await links.getByRole("button", { name: /^Clear/ }).count(), 0);
  await page.getByRole("button", { name: "Clear all" }).click();
  await H.submit(dialog("Clear all counters"), "Clear all");
  const after = await api.get("/statistics");
  assert.ok(after.every((c) => c.value === 0 || c.kind === "gauge"), "every counter cleared");
  assert.ok(after.find((c) => c.name === "axi.links_up").value > 0, "the links up still show the links");
  await page.getByRole("button", { name: "Refresh all" }).click();
  await page.locator(".counter").first().waitFor();
});

test("the event log is shown and cleared after confirmation", async () => {
  await H.openPane(page, "Event log");
  await row("SARI set on OMM 1").waitFor();
  await H.screenshot(page, "pane-event-log");
  await page.getByRole("button", { name: "Clear all" }).click();
  await H.submit(dialog("Clear the event log"), "Clear all");
  await H.waitFor(async () => (await api.get("/event-log")).every((e) => !/SARI set/.test(e.text)), 5000, "the log cleared");
  await row("SARI set on OMM 1").waitFor({ state: "detached" });
});

test("the audit trail lists the changes with who and from where", async () => {
  await H.openPane(page, "Audit trail");
  await row("conference_rooms.create").or(row("rooms.create")).first().waitFor();
  await row("statistics.clear").first().or(row("event_log.clear")).first().waitFor();
  assert.match(await row("eula.accept").first().textContent(), /mom/);
  // Newest first.
  const seqs = await page.locator(".tabulator-row [tabulator-field=seq]").allTextContents();
  const numbers = seqs.map(Number);
  assert.deepEqual(numbers, [...numbers].sort((a, b) => b - a), "newest first");
  await H.screenshot(page, "pane-audit");
  // A change opens field by field, the changed ones marked.
  await row("conference_rooms.edit").first().dblclick();
  const change = page.getByRole("dialog", { name: /conference_rooms\.edit/ });
  const name = change.locator("tr.changed", { hasText: "name" });
  await name.waitFor();
  assert.match(await name.textContent(), /Morning round.*Evening round/);
  assert.ok(await H.seenByPerson(name));
  assert.match(await change.locator("tr", { hasText: "sip_password" }).textContent(), /\(redacted\)/);
  await H.screenshot(page, "audit-change");
  await change.getByRole("button", { name: "Close" }).click();
});

test("the Health pane's fleet view shows each OMM's state and the reason when one is not well", async () => {
  await H.openPane(page, "Health states");
  const fleet = page.getByRole("table", { name: "Fleet" });
  await fleet.locator('tr[data-omm="1"]').getByText("Up").waitFor();
  await H.control(mom, { cmd: "behaviour", omm: 3, mode: "silent" });
  await H.control(mom, { cmd: "drop-links", omm: 3 });
  await H.waitFor(async () => (await api.get("/omms/3")).health.link !== "Up", 20_000, "OMM 3 to go down");
  await H.waitFor(async () => !(await fleet.locator('tr[data-omm="3"]').textContent()).includes("Up"), 10_000, "the fleet view to show it");
  await H.screenshot(page, "pane-health");
  await H.control(mom, { cmd: "behaviour", omm: 3, mode: "normal" });
  await page.getByRole("table", { name: "Health states" }).locator('tr[data-check="OmmConnections"]').waitFor();
});

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, as an authenticator app. */
function totp(secret, offset = 0) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + offset));
  const mac = createHmac("sha1", key).update(counter).digest();
  const o = mac[19] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

test("My account: an authenticator app is enrolled, then logins need its code; API tokens", async () => {
  await page.getByRole("link", { name: "My account" }).click();
  await page.locator(".pane-title", { hasText: "My account" }).waitFor();
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  const secret = (await page.locator("code.totp-secret").textContent()).trim();
  // A QR code to scan, beside the secret.
  const qr = page.getByRole("img", { name: "QR code of the authenticator secret" });
  assert.ok(await H.seenByPerson(qr), "the QR code is seen");
  await H.screenshot(page, "second-factor-qr");
  await page.getByLabel("Code from the app").fill("000000");
  await page.getByRole("button", { name: "Confirm" }).click();
  await page.getByRole("region", { name: "Second factor" }).getByRole("alert").waitFor();
  await page.getByLabel("Code from the app").fill(totp(secret));
  await page.getByRole("button", { name: "Confirm" }).click();
  await page.getByText("Second factor set up.").waitFor();
  assert.equal((await api.get("/accounts")).find((a) => a.name === "mom").second_factor, true);
  // A login now asks for the code.
  const other = await H.newPage(browser);
  await other.goto(`${mom.url}/`);
  await other.getByLabel("Account").fill("mom");
  await other.getByLabel("Password", { exact: true }).fill(H.PASSWORD);
  await other.getByRole("button", { name: "Log in" }).click();
  await other.getByLabel("Authenticator code").waitFor();
  const used = totp(secret, 1);
  await other.getByLabel("Authenticator code").fill(used);
  await other.getByRole("button", { name: "Log in" }).click();
  await other.getByRole("navigation", { name: "Configuration panes" }).waitFor();
  await other.context().close();
  // The code just used at that login cannot remove the factor, and the page says why.
  await page.getByLabel("Current code").fill(used);
  await page.getByRole("button", { name: "Remove the second factor" }).click();
  await page.getByRole("region", { name: "Second factor" }).getByRole("alert").filter({ hasText: "used already" }).waitFor();
  // API tokens: made, shown once, usable, revoked.
  await page.getByLabel("Name of a new token").fill("nagios");
  await page.getByRole("button", { name: "Create token" }).click();
  await page.locator(".token-secret", { hasText: "New token" }).waitFor();
  const shown = await page.locator(".token-secret").textContent();
  const token = shown.split(": ").pop().trim();
  const ok = await fetch(`${mom.url}/api/v1/health`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200);
  await H.screenshot(page, "pane-my-account");
  await page.getByRole("button", { name: "Revoke nagios" }).click();
  await H.submit(dialog("Revoke token"), "Revoke");
  const refused = await fetch(`${mom.url}/api/v1/health`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(refused.status, 401);
});
