import * as H from "./harness.mjs";
const { mom, api, browser, page } = await H.open({ fleet: false, pane: "Accounts" });
await page.setViewportSize({ width: 1280, height: 800 });
await page.evaluate(() => document.querySelectorAll(".tabulator-tableholder").forEach((h) => { h.style.setProperty("height", "auto", "important"); h.style.setProperty("min-height", "0", "important"); }));
await page.waitForTimeout(1500);
const m = await page.evaluate(() => [...document.querySelectorAll(".tabulator")].map((t) => {
  const holder = t.querySelector(".tabulator-tableholder");
  const table = t.querySelector(".tabulator-table");
  return { holder: holder?.getBoundingClientRect().height, holderStyle: holder?.getAttribute("style"), rows: table?.getBoundingClientRect().height, tab: t.getBoundingClientRect().height, tabStyle: t.getAttribute("style") };
}));
console.log(JSON.stringify(m));
await page.screenshot({ path: "/tmp/probe/accounts.png" });
await H.close(browser, mom);
