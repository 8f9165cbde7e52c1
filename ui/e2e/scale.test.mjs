// 50,000 users: the Users view's first rows, a sort, a filter and a hidden column, all
// against the server's paging. Prints the timings it saw (the figures are measured by
// `npm run bench` on release binaries; this test checks the behaviour).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as H from "./harness.mjs";

const USERS = 50_000;
let mom;
let browser;
let page;

before(async () => {
  mom = await H.startMom();
  const api = await H.prepareDefaultAccount(mom);
  let csv = "num,name,hierarchy1\n";
  for (let i = 0; i < USERS; i++) csv += `${100000 + i},Person ${String(i).padStart(5, "0")} ${["Alpha", "Bravo", "Charlie", "Delta"][i % 4]},Ward ${i % 37}\n`;
  const report = await api.call("POST", "/users/import?format=csv", csv, "text/csv");
  assert.equal(report.creates, USERS);
  browser = await H.startBrowser();
  page = await H.newPage(browser);
});
after(() => H.close(browser, mom));

const firstName = () => page.locator(".tabulator-row").first().locator('[tabulator-field="name"]').textContent();

test("50,000 users: first rows, 3-state sort, a filter and a hidden column stay right", async () => {
  const started = Date.now();
  await H.login(page, mom);
  await page.goto(`${mom.url}/#/users?view=users`);
  await page.locator(".tabulator-page-counter", { hasText: `of ${USERS}` }).waitFor();
  const firstRows = Date.now() - started;
  assert.equal((await firstName()).trim(), "Person 00000 Alpha");
  const header = page.getByRole("columnheader", { name: /^Name/ }).locator(".tabulator-col-title");
  let t = Date.now();
  await header.click();
  await header.click();
  await H.waitFor(async () => (await firstName()).trim() === "Person 49999 Delta", 10_000, "descending by name");
  const sort = Date.now() - t;
  t = Date.now();
  await page.getByLabel("Filter Name", { exact: true }).pressSequentially("Charlie");
  await page.locator(".tabulator-page-counter", { hasText: "of 12500" }).waitFor();
  const filter = Date.now() - t;
  assert.equal((await firstName()).trim(), "Person 49998 Charlie");
  await header.click();
  await H.waitFor(async () => (await firstName()).trim() === "Person 00002 Charlie", 10_000, "no sort: id order");
  await page.getByRole("button", { name: "Columns" }).click();
  await page.getByRole("group", { name: "Columns shown" }).getByLabel("SIP auth name").uncheck();
  await page.getByRole("columnheader", { name: /SIP auth name/ }).waitFor({ state: "hidden" });
  await page.getByRole("button", { name: "Columns" }).click();
  await page.getByRole("link", { name: "Last" }).or(page.getByRole("button", { name: "Last" })).first().click();
  await page.locator(".tabulator-page-counter", { hasText: "12451–12500 of 12500" }).waitFor();
  await H.screenshot(page, "users-50000");
  console.log(`# 50,000 users (debug build, includes the 120 ms typing pause): login to first rows ${firstRows} ms, two sort clicks ${sort} ms, filter ${filter} ms`);
});
