// Every pane (and the main dialogs) checked with axe-core: no serious or critical
// violation. A screenshot of every pane is saved (target/ui-screenshots) for a person to
// look at; focus is visible on the controls.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as H from "./harness.mjs";

let mom;
let browser;
let page;

before(async () => ({ mom, browser, page } = await H.open({ fleet: true, login: false })));
after(() => H.close(browser, mom));

const PANES = ["Health states", "System settings", "Accounts", "OMMs", "Users / DECT phones", "Conference rooms", "Statistics", "Event log", "Audit trail", "Cluster", "EULA / Version info"];

async function check(name) {
  const violations = await H.accessibilityViolations(page);
  assert.deepEqual(violations, [], `${name}: ${JSON.stringify(violations, null, 1)}`);
}

test("the login page has no serious accessibility violation", async () => {
  await page.goto(`${mom.url}/`);
  await page.getByLabel("Account").waitFor();
  await check("login");
  await H.screenshot(page, "login");
});

test("every pane has no serious accessibility violation (and a screenshot)", async () => {
  await H.login(page, mom);
  for (const pane of PANES) {
    await H.openPane(page, pane);
    await page.waitForLoadState("networkidle");
    await page.waitForTimeout(300);
    await check(pane);
    await H.screenshot(page, `pane-${pane.toLowerCase().replace(/[^a-z]+/g, "-").replace(/-$/, "")}`);
  }
  await page.getByRole("link", { name: "My account" }).click();
  await page.locator(".pane-title", { hasText: "My account" }).waitFor();
  await check("My account");
});

test("the main dialogs have no serious accessibility violation", async () => {
  await H.openPane(page, "Users / DECT phones");
  await page.locator(".tabulator-row").first().dblclick();
  await page.getByRole("dialog").waitFor();
  await check("user dialog");
  await page.keyboard.press("Escape");
  await page.getByRole("dialog").waitFor({ state: "detached" });
  await H.openPane(page, "OMMs");
  await page.locator(".tabulator-row").first().dblclick();
  await page.getByRole("dialog").getByRole("tab", { name: "General" }).waitFor();
  await check("OMM dialog");
  await H.screenshot(page, "omm-edit-dialog");
  await page.keyboard.press("Escape");
  await H.openPane(page, "Accounts");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await page.getByRole("dialog").waitFor();
  await check("account dialog");
  await page.keyboard.press("Escape");
});

test("the focused control has a visible outline", async () => {
  await H.openPane(page, "Accounts");
  await page.getByRole("button", { name: "Add", exact: true }).focus();
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Tab");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none");
});
