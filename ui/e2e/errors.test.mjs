// Every error answer of a form reaches the screen. The browser's calls that change
// something are answered with a refusal by the test (the page cannot tell it from the
// MOM's), and each form, dialog and confirmation is submitted: its refusal must be seen by a
// person (inside the window, topmost at its point), where the form is, with the MOM's words.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import * as H from "./harness.mjs";

let mom;
let browser;
let page;

const REFUSAL = "Refused by the test: the MOM said no.";

before(async () => {
  ({ mom, browser, page } = await H.open());
  // Every change is refused from now on; reads go through.
  await page.route(/\/api\/v1\//, (route) =>
    route.request().method() === "GET"
      ? route.continue()
      : route.fulfill({ status: 422, contentType: "application/json", body: JSON.stringify({ error: "invalid", message: REFUSAL }) }),
  );
});
beforeEach(() => page && H.closeDialogs(page));
after(() => H.close(browser, mom));

const dialog = (name) => page.getByRole("dialog", { name });
const region = (name) => page.getByRole("region", { name, exact: true });

/** Asserts that `where` shows the refusal to a person; a dialog is then cancelled. */
async function refusalSeen(where, what, { close = true } = {}) {
  const alert = where.getByRole("alert").filter({ hasText: REFUSAL });
  await alert.waitFor({ timeout: 10_000 });
  assert.ok(await H.seenByPerson(alert), `${what}: the refusal is seen`);
  const cancel = where.getByRole("button", { name: "Cancel", exact: true });
  if (close && (await cancel.count())) await cancel.click();
}

/** Opens `route` and waits for its pane. */
async function pane(route, title) {
  await page.goto(`${mom.url}/#/${route}`);
  await page.locator(".pane-title", { hasText: title }).waitFor();
}

test("dialogs that add records show the refusal in the dialog", async () => {
  await pane("accounts", "Accounts");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  let d = dialog("Add account");
  await d.getByLabel("Account name").fill("nurse");
  await d.getByLabel("New password", { exact: true }).fill("Night.Shift-2024");
  await d.getByLabel("Repeat the new password").fill("Night.Shift-2024");
  await d.getByRole("button", { name: "Add" }).click();
  await refusalSeen(d, "Add account");

  await pane("omms", "OMMs");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  d = dialog("Add OMM");
  await d.getByLabel("Name", { exact: true }).fill("Site");
  await d.getByLabel("OMM 1", { exact: true }).fill("192.0.2.50");
  await d.getByRole("button", { name: "Add" }).click();
  await refusalSeen(d, "Add OMM");

  await pane("rooms", "Conference rooms");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  d = dialog("Add conference room");
  await d.getByLabel("Name", { exact: true }).fill("Board");
  await d.getByLabel("Number", { exact: true }).fill("5000");
  await d.getByRole("button", { name: "Add" }).click();
  await refusalSeen(d, "Add conference room");

  await pane("users?view=users", "Users / DECT phones");
  await page.getByRole("button", { name: "Add user" }).click();
  d = dialog("Add user");
  await d.getByLabel("Number").fill("5001");
  await d.getByLabel("Name").fill("Night nurse");
  await d.getByRole("button", { name: "Add" }).click();
  await refusalSeen(d, "Add user");

  await page.getByRole("button", { name: "Add fixed pair" }).click();
  d = dialog("Add fixed user/device record");
  await d.getByLabel("Number").fill("5002");
  await d.getByLabel("IPEI of the DECT phone").fill("00077 0012345 3");
  await d.getByRole("button", { name: "Add" }).click();
  await refusalSeen(d, "Add fixed pair");

  await pane("users?view=devices", "Users / DECT phones");
  await page.getByRole("button", { name: "Add DECT phone" }).click();
  d = dialog("Add DECT phone");
  await d.getByLabel("IPEI").fill("00077 0012345 3");
  await d.getByRole("button", { name: "Add" }).click();
  await refusalSeen(d, "Add DECT phone");
});

test("settings show the refusal in their section", async () => {
  await pane("settings", "System settings");
  await region("System name").getByLabel("System name").fill("Hospital South");
  await page.getByRole("button", { name: "Save system name" }).click();
  await refusalSeen(region("System name"), "system name");
  await region("Feature access codes").getByLabel("Global FAC prefix").fill("*8");
  await page.getByRole("button", { name: "Save FAC prefix" }).click();
  await refusalSeen(region("Feature access codes"), "FAC prefix");
});

test("confirmations show the refusal in their dialog", async () => {
  await pane("event-log", "Event log");
  await page.getByRole("button", { name: "Clear all" }).click();
  let d = dialog("Clear the event log");
  await d.getByRole("button", { name: "Clear all" }).click();
  await refusalSeen(d, "Clear the event log");

  await pane("statistics", "Statistics");
  await page.getByRole("button", { name: "Clear all" }).click();
  d = dialog("Clear all counters");
  await d.getByRole("button", { name: "Clear all" }).click();
  await refusalSeen(d, "Clear all counters");
});

test("the template editor and My account show the refusal where they are", async () => {
  await pane("omms", "OMMs");
  await page.getByRole("button", { name: "Configuration file template" }).click();
  const d = dialog("OMM configuration template");
  await H.waitFor(async () => (await d.getByLabel(/^Template/).inputValue()).length > 100, 5000, "the template to load");
  await d.getByRole("button", { name: "Check" }).click();
  await refusalSeen(d, "template check", { close: false });
  await d.getByRole("button", { name: "Save template" }).click();
  await refusalSeen(d, "template save");

  await page.getByRole("link", { name: "My account" }).click();
  await page.locator(".pane-title", { hasText: "My account" }).waitFor();
  const password = region("Password");
  await password.getByLabel("Current password").fill(H.PASSWORD);
  await password.getByLabel("New password", { exact: true }).fill("Night.Shift-2025");
  await password.getByLabel("Repeat the new password").fill("Night.Shift-2025");
  await password.getByRole("button", { name: "Change password" }).click();
  await refusalSeen(password, "password change");
  await H.screenshot(page, "refusal-my-account");
});
