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
  await d.getByLabel("SIP password").fill("Room.Secret-1");
  await H.submit(d, "Add");
  await row("Morning round").waitFor();
  const [room] = await api.get("/conference-rooms");
  assert.equal(room.number, "8800");
  await row("Morning round").dblclick();
  const e = dialog("Edit conference room Morning round");
  await e.getByLabel("Name", { exact: true }).fill("Evening round");
  await H.submit(e, "Save");
  await row("Evening round").waitFor();
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

test("statistics: a graph per counter, refresh, clear, clear all and refresh all", async () => {
  await H.waitFor(async () => (await api.get("/statistics")).some((c) => c.history.length > 1), 20_000, "counter samples");
  await H.openPane(page, "Statistics");
  const counters = await api.get("/statistics");
  await page.locator(".counter").first().waitFor();
  assert.equal(await page.locator(".counter").count(), counters.length);
  assert.equal(await page.locator(".counter svg[role=img]").count(), counters.length, "a graph per counter");
  await H.screenshot(page, "pane-statistics");
  const name = counters.find((c) => c.value > 0 && c.name === "axi.records_synced")?.name ?? counters.find((c) => c.value > 0).name;
  const card = page.locator(`.counter[data-counter="${name}"]`);
  await card.getByRole("button", { name: `Refresh ${name}` }).click();
  await card.getByRole("button", { name: `Clear ${name}` }).click();
  await H.waitFor(async () => (await card.locator(".value").textContent()) === "0", 5000, "the counter cleared");
  assert.equal((await api.get(`/statistics/${name}`)).value, 0);
  await page.getByRole("button", { name: "Clear all" }).click();
  await H.submit(dialog("Clear all counters"), "Clear all");
  assert.ok((await api.get("/statistics")).every((c) => c.value === 0 || c.name === "axi.links_up"), "every counter cleared");
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
  await H.screenshot(page, "pane-audit");
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
  await other.getByLabel("Authenticator code").fill(totp(secret, 1));
  await other.getByRole("button", { name: "Log in" }).click();
  await other.getByRole("navigation", { name: "Configuration panes" }).waitFor();
  await other.context().close();
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
