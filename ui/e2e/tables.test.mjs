// Every table shows a person every row of its page: each row, scrolled into view, lies inside
// the window and every clipping box and is topmost at its point (not only present in the
// DOM). Checked with 0, 1, a few, 49, 50 and 51 records, at 1280×800 and 1920×1080, for the
// accounts, OMMs, conference rooms, the three user views (also filtered to one number), the
// event log and the audit trail.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as H from "./harness.mjs";

let mom;
let api;
let browser;
let page;

const SIZES = [
  [1280, 800],
  [1920, 1080],
];

before(async () => {
  mom = await H.startMom();
  api = await H.prepareDefaultAccount(mom);
  browser = await H.startBrowser();
  page = await H.newPage(browser);
  await H.login(page, mom);
});
after(() => H.close(browser, mom));

/** The pager's text for `shown` rows of `total`. */
function counterText(total, first = 1, shown = total) {
  if (total === 0) return "No records";
  if (total === 1) return "1 record";
  return `Showing ${first}–${first + shown - 1} of ${total} records`;
}

/** A pattern matching `text` whole ("1 record" must not match "of 51 records"). */
const exactly = (text) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);

/** Opens `route` and asserts that a person sees all `rows` rows of the page at each size. */
async function seesAll(route, total, { rows = total, first = 1, label = route } = {}) {
  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height });
    await page.goto(`${mom.url}/#/${route}`);
    const counter = page.locator(".tabulator-page-counter", { hasText: exactly(counterText(total, first, rows)) });
    await counter.waitFor({ timeout: 15_000 });
    const grid = page.locator(".grid-wrap").first();
    const seen = await H.rowsSeen(grid);
    assert.equal(seen.rows, rows, `${label} at ${width}×${height}: rows in the table`);
    assert.equal(seen.seen, rows, `${label} at ${width}×${height}: rows a person sees; not seen: ${JSON.stringify(seen.unseen)}`);
    assert.ok(await H.seenByPerson(counter), `${label} at ${width}×${height}: the pager`);
  }
}

async function addUsers(from, count) {
  let csv = "num,name\n";
  for (let i = from; i < from + count; i++) csv += `${10000 + i},Person ${i}\n`;
  const report = await api.call("POST", "/users/import?format=csv", csv, "text/csv");
  assert.equal(report.creates, count);
}

test("empty tables say so and show no row", async () => {
  await seesAll("rooms", 0);
  await seesAll("omms", 0);
  await seesAll("users?view=users", 0);
  await seesAll("users?view=devices", 0);
});

test("one record is seen in every table", async () => {
  await seesAll("accounts", 1);
  await api.call("POST", "/conference-rooms", { name: "Board", number: "5000" });
  await seesAll("rooms", 1);
  await api.call("POST", "/omms", { name: "Site 1", omm1: "192.0.2.1", user: "omm", password: "Omm#Pass2024" });
  await seesAll("omms", 1);
  await addUsers(0, 1);
  await seesAll("users?view=users", 1);
  await seesAll("users?view=overview", 1);
  await H.screenshot(page, "table-one-user");
});

test("a few records, and 49, 50 and 51 users across the page boundary", async () => {
  for (const n of [2, 3]) await api.call("POST", "/conference-rooms", { name: `Room ${n}`, number: `500${n}` });
  await seesAll("rooms", 3);
  for (const n of [2, 3, 4]) await api.call("POST", "/omms", { name: `Site ${n}`, omm1: `192.0.2.${n}`, user: "omm", password: "Omm#Pass2024" });
  await seesAll("omms", 4);
  await H.screenshot(page, "table-four-omms");
  await addUsers(1, 48);
  await seesAll("users?view=users", 49);
  await addUsers(49, 1);
  await seesAll("users?view=users", 50);
  await addUsers(50, 1);
  await seesAll("users?view=users", 51, { rows: 50 });
  await seesAll("users?view=overview", 51, { rows: 50 });
  // The second page holds the last one.
  await page.getByRole("button", { name: "Next" }).click();
  const last = page.locator(".tabulator-page-counter", { hasText: exactly(counterText(51, 51, 1)) });
  await last.waitFor();
  const seen = await H.rowsSeen(page.locator(".grid-wrap").first());
  assert.deepEqual([seen.rows, seen.seen], [1, 1], JSON.stringify(seen.unseen));
  // A refresh shows the same page again.
  await page.reload();
  await page.locator(".tabulator-page-counter", { hasText: exactly(counterText(51, 51, 1)) }).waitFor();
  await page.getByRole("button", { name: "Prev" }).click();
  await page.locator(".tabulator-page-counter", { hasText: exactly(counterText(51, 1, 50)) }).waitFor();
});

test("filtering the users by one number shows that one user", async () => {
  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height });
    await page.goto(`${mom.url}/#/users?view=users`);
    await page.getByLabel("Filter Number").fill("10042");
    await page.locator(".tabulator-page-counter", { hasText: exactly("1 record") }).waitFor();
    const row = page.locator(".tabulator-row", { hasText: "Person 42" });
    assert.ok(await H.seenByPerson(row), `the user at ${width}×${height}`);
    const seen = await H.rowsSeen(page.locator(".grid-wrap").first());
    assert.deepEqual([seen.rows, seen.seen], [1, 1]);
  }
  await H.screenshot(page, "table-filtered-one-user");
  // The guide's filter operators, typed before the value; pasted text filters at once.
  const box = page.getByLabel("Filter Number");
  await box.fill("");
  await box.pressSequentially("^1004");
  await page.locator(".tabulator-page-counter", { hasText: "of 10 records" }).waitFor();
  await box.fill("");
  await box.pressSequentially("=10042");
  await page.locator(".tabulator-page-counter", { hasText: exactly("1 record") }).waitFor();
  await box.fill("");
  await box.pressSequentially(">10045");
  await page.locator(".tabulator-page-counter", { hasText: "of 5 records" }).waitFor();
  await box.fill("");
  await page.locator(".tabulator-page-counter", { hasText: "of 51 records" }).waitFor();
});

test("every row of a page is selected at once, and the toolbar follows the selection", async () => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${mom.url}/#/users?view=users`);
  await page.locator(".tabulator-page-counter", { hasText: "of 51 records" }).waitFor();
  const multi = page.getByRole("button", { name: "Multi-edit" });
  assert.ok(await multi.isDisabled(), "nothing selected yet");
  const all = page.getByLabel("Select every row of this page");
  await all.click();
  await H.waitFor(async () => (await multi.isEnabled()) && (await page.locator(".tabulator-row.tabulator-selected").count()) === 50, 5000, "the page selected");
  assert.equal(await page.locator(".tabulator-row.tabulator-selected").count(), 50);
  await multi.click();
  await page.getByRole("dialog", { name: "Multi-edit 50 users" }).getByRole("button", { name: "Cancel" }).click();
  await all.click();
  await H.waitFor(async () => multi.isDisabled(), 5000, "the selection cleared");
});

test("the event log and the audit trail show their last rows", async () => {
  const events = (await api.get("/event-log")).length;
  assert.ok(events > 0, "some events");
  await seesAll("event-log", events, { rows: Math.min(events, 100) });
  const audit = (await api.get("/audit")).length;
  assert.ok(audit > 10, "the additions above are audited");
  await seesAll("audit", audit, { rows: Math.min(audit, 100) });
});

test("a cell too narrow for its text shows the whole text on hover", async () => {
  const long = "A name far too long for its column, so that the cell cuts it short on any screen";
  await api.call("POST", "/users", { num: "19999", name: long });
  await page.goto(`${mom.url}/#/users?view=users`);
  await page.getByLabel("Filter Number").fill("19999");
  const cell = page.locator('.tabulator-row [tabulator-field="name"]', { hasText: "A name far" });
  await cell.waitFor();
  assert.ok(await cell.evaluate((c) => c.scrollWidth > c.clientWidth), "the text is cut");
  await cell.hover();
  const tip = page.locator(".tabulator-tooltip", { hasText: long });
  await tip.waitFor();
  // A tooltip lets the mouse through (pointer-events: none), so it is never "topmost" for
  // elementFromPoint: it is seen when it lies inside the window.
  const box = await tip.boundingBox();
  const view = page.viewportSize();
  assert.ok(box && box.x >= 0 && box.y >= 0 && box.x + box.width <= view.width && box.y + box.height <= view.height, `the tooltip lies in the window: ${JSON.stringify(box)}`);
});
