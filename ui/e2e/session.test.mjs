// Logging in: the first login with the EULA and the forced password change (each rule
// shown as met or not while typing), a wrong password, a keyboard-only login, refresh and
// back/forward keeping the session and the pane, and logging out.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as H from "./harness.mjs";

let mom;
let browser;

before(async () => {
  mom = await H.startMom();
  browser = await H.startBrowser();
});
after(() => H.close(browser, mom));

test("first login: the EULA, then the forced password change with every rule shown while typing", async () => {
  const page = await H.newPage(browser);
  await page.goto(`${mom.url}/`);
  await page.getByLabel("Account").fill("mom");
  await page.getByLabel("Password", { exact: true }).fill("mom");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "End User License Agreement" }).waitFor();
  assert.match(await page.getByLabel("EULA text").textContent(), /License Agreement/);
  await H.screenshot(page, "login-eula");
  await page.getByRole("button", { name: "Accept" }).click();
  await page.getByRole("heading", { name: "Change your password" }).waitFor();
  // A wrong current password is said on the page, which stays, with what was typed.
  await page.getByLabel("Current password").fill("mum");
  await page.getByLabel("New password", { exact: true }).fill(H.PASSWORD);
  await page.getByLabel("Repeat the new password").fill(H.PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  const wrong = page.getByRole("alert").filter({ hasText: "the previous password is wrong" });
  await wrong.waitFor();
  assert.ok(await H.seenByPerson(wrong), "the refusal is seen");
  assert.equal(await page.getByLabel("New password", { exact: true }).inputValue(), H.PASSWORD, "the fields are kept");
  await page.getByLabel("Current password").fill("mom");
  const next = page.getByLabel("New password", { exact: true });
  await next.fill("");
  await next.pressSequentially("abc");
  await page.locator('li[data-rule="length"].unmet').waitFor();
  await page.getByLabel("Repeat the new password").fill("abd");
  await page.locator('li[data-rule="repeat"].unmet').waitFor();
  await next.fill(H.PASSWORD);
  await page.getByLabel("Repeat the new password").fill(H.PASSWORD);
  await page.locator('li[data-rule="length"].met').waitFor();
  await page.locator('li[data-rule="repeat"].met').waitFor();
  assert.equal(await page.locator("ul.rules li.unmet").count(), 0, "every rule met");
  await H.screenshot(page, "login-password-change");
  await page.getByRole("button", { name: "Change password" }).click();
  await page.getByRole("navigation", { name: "Configuration panes" }).waitFor();
  await page.locator(".pane-title", { hasText: "Health states" }).waitFor();
  const api = await H.api(mom);
  assert.equal(api.session.password_change_required, false);
  assert.equal(api.session.eula_required, false);
  await page.context().close();
});

test("a wrong password is refused on the login page, in words", async () => {
  const page = await H.newPage(browser);
  await page.goto(`${mom.url}/`);
  await page.getByLabel("Account").fill("mom");
  await page.getByLabel("Password", { exact: true }).fill("not-the-password");
  await page.getByRole("button", { name: "Log in" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  assert.match(await alert.textContent(), /password|account/i);
  assert.equal(await page.getByRole("navigation", { name: "Configuration panes" }).count(), 0);
  assert.equal(await page.getByLabel("Authenticator code").isVisible(), false, "the code field only for accounts with a second factor");
  await H.screenshot(page, "login-refused");
  await page.context().close();
});

test("keyboard-only login", async () => {
  const page = await H.newPage(browser);
  await page.goto(`${mom.url}/`);
  await page.getByLabel("Account").waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "name", "the account field has the focus");
  await page.keyboard.type("mom");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "password");
  await page.keyboard.type(H.PASSWORD);
  await page.keyboard.press("Enter");
  await page.getByRole("navigation", { name: "Configuration panes" }).waitFor();
  // The panes are reachable by keyboard too: Tab to the navigation and open one.
  const link = page.getByRole("link", { name: "Statistics", exact: true });
  await link.focus();
  await page.keyboard.press("Enter");
  await page.locator(".pane-title", { hasText: "Statistics" }).waitFor();
  await page.context().close();
});

test("a browser refresh and back/forward keep the session and the pane", async () => {
  const page = await H.newPage(browser);
  await H.login(page, mom);
  await H.openPane(page, "Accounts");
  await H.openPane(page, "Statistics");
  await page.reload();
  await page.locator(".pane-title", { hasText: "Statistics" }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Log in" }).count(), 0, "still logged in");
  await page.goBack();
  await page.locator(".pane-title", { hasText: "Accounts" }).waitFor();
  await page.goForward();
  await page.locator(".pane-title", { hasText: "Statistics" }).waitFor();
  await page.context().close();
});

test("logging out ends the session", async () => {
  const page = await H.newPage(browser);
  await H.login(page, mom);
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("button", { name: "Log in" }).waitFor();
  await page.reload();
  await page.getByRole("button", { name: "Log in" }).waitFor();
  const status = await page.evaluate(async () => (await fetch("/api/v1/session")).status);
  assert.equal(status, 401);
  await page.context().close();
});
