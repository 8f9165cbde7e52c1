// The UI's figures (BENCHMARKS.md "Browser UI"), on release binaries (MOM_BIN_DIR, default
// target/release) in headless Chromium:
//  1. with 50,000 users: login to the Users pane's first rows, a sort and a filter
//     (median of 5 each, from the click or the last key to the rows on screen);
//  2. the UI's transferred size (what the browser received, gzip);
//  3. the browser tab's memory during BENCH_MINUTES (default 10) of live updates while 500
//     simulated OMMs (100 users each) are imported, then edited.
// Run by scripts/bench; prints one line per figure.

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";

const here = dirname(fileURLToPath(import.meta.url));
process.env.MOM_BIN_DIR ??= join(here, "..", "..", "target", "release");
const H = await import("../e2e/harness.mjs");
const minutes = Number(process.env.BENCH_MINUTES ?? 10);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function tableFigures() {
  const mom = await H.startMom();
  try {
    const api = await H.prepareDefaultAccount(mom);
    let csv = "num,name\n";
    for (let i = 0; i < 50_000; i++) csv += `${100000 + i},Person ${String(i).padStart(5, "0")} ${["Alpha", "Bravo", "Charlie", "Delta"][i % 4]}\n`;
    await api.call("POST", "/users/import?format=csv", csv, "text/csv");
    const browser = await H.startBrowser();
    const first = [];
    const sort = [];
    const filter = [];
    let transferred = 0;
    for (let run = 0; run < 5; run++) {
      const page = await H.newPage(browser);
      const sizes = [];
      page.on("requestfinished", (r) => {
        if (r.url().includes("/ui/") || r.url().endsWith("/")) sizes.push(r.sizes().then((s) => s.responseBodySize + s.responseHeadersSize));
      });
      await page.goto(`${mom.url}/#/users?view=users`);
      await page.getByLabel("Account").fill("mom");
      await page.getByLabel("Password", { exact: true }).fill(H.PASSWORD);
      const t0 = Date.now();
      await page.getByRole("button", { name: "Log in" }).click();
      await page.locator(".tabulator-page-counter", { hasText: "of 50000" }).waitFor();
      first.push(Date.now() - t0);
      if (run === 0) transferred = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
      const name = () => page.locator(".tabulator-row").first().locator('[tabulator-field="name"]').textContent();
      const header = page.getByRole("columnheader", { name: /^Name/ }).locator(".tabulator-col-title");
      let t = Date.now();
      await header.click();
      await H.waitFor(async () => (await name()).trim() === "Person 00000 Alpha" && (await page.locator('[aria-sort="ascending"]').count()) > 0, 10_000, "ascending");
      t = Date.now();
      await header.click();
      await H.waitFor(async () => (await name()).trim() === "Person 49999 Delta", 10_000, "descending");
      sort.push(Date.now() - t);
      // From the last key of a filter to its rows: "Person 0000" shows 10 rows, the key "1"
      // narrows them to one.
      const box = page.getByLabel("Filter Name", { exact: true });
      await box.pressSequentially("Person 0000");
      await page.locator(".tabulator-page-counter", { hasText: "of 10 records" }).waitFor();
      t = Date.now();
      await box.press("1");
      await page.locator(".tabulator-page-counter", { hasText: /^1 record$/ }).waitFor();
      filter.push(Date.now() - t);
      await page.context().close();
    }
    await browser.close();
    console.log(`ui: 50,000 users: login to first rows p50 ${median(first)} ms (${first.join(", ")})`);
    console.log(`ui: 50,000 users: sort (descending by name) p50 ${median(sort)} ms (${sort.join(", ")})`);
    console.log(`ui: 50,000 users: filter (name contains) p50 ${median(filter)} ms including the 120 ms typing pause (${filter.join(", ")})`);
    console.log(`ui: transferred for the first page view (gzip, with headers): ${(transferred / 1024).toFixed(1)} KiB`);
  } finally {
    await mom.stop();
  }
}

async function memoryFigure() {
  const mom = await H.startMom();
  const sim = spawn(join(process.env.MOM_BIN_DIR, "omm-sim"), ["--omms", "500", "--users", "100", "--devices", "100"], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const api = await H.prepareDefaultAccount(mom);
    const dir = mkdtempSync(join(tmpdir(), "mom-bench-"));
    const file = join(dir, "license.txt");
    const issued = await mom.cli("license", "issue", "--key", mom.issuerKey, "--installation-id", "bench", "--customer", "Bench", "--country", "-", "--system-license", "BENCH", "--licensed-version", "10.1", "--sari", "1F10DE0000", "--out", file);
    if (issued.code !== 0) throw new Error(issued.stderr);
    await api.call("POST", "/license", { file: (await import("node:fs")).readFileSync(file, "utf8") });
    const omms = [];
    let control = null;
    for await (const line of createInterface({ input: sim.stdout })) {
      const v = JSON.parse(line);
      if (v.control) {
        control = v.control;
        break;
      }
      omms.push(v);
    }
    const browser = await H.startBrowser();
    const page = await H.newPage(browser);
    await H.login(page, mom);
    await page.goto(`${mom.url}/#/users?view=overview`);
    await page.locator(".tabulator-page-counter").waitFor();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    const heap = async (collect = false) => {
      // Before the start and end figures, a garbage collection: they are what is retained.
      if (collect) await cdp.send("HeapProfiler.collectGarbage");
      const m = (await cdp.send("Performance.getMetrics")).metrics;
      const get = (n) => m.find((x) => x.name === n)?.value ?? 0;
      return { heap: get("JSHeapUsedSize"), nodes: get("Nodes"), listeners: get("JSEventListeners") };
    };
    const start = await heap(true);
    const t0 = Date.now();
    for (const o of omms) await api.call("POST", "/omms", { enabled: true, name: `Bench ${o.omm}`, omm1: `127.0.0.1:${o.port}`, user: o.username, password: o.password });
    let imported = 0;
    let maxHeap = start.heap;
    let edits = 0;
    const deadline = t0 + minutes * 60_000;
    const fleet = { control };
    while (Date.now() < deadline) {
      if (!imported && (await api.get("/users?limit=1")).total >= 50_000) imported = Date.now() - t0;
      if (imported) {
        // After the import, keep changes coming: 10 OMM-side edits a second.
        for (let i = 0; i < 10; i++) {
          const omm = 1 + Math.floor(Math.random() * 500);
          await H.control(fleet, { cmd: "edit-user", omm, uid: 1 + Math.floor(Math.random() * 100), attr: "name", value: `Edit ${edits++}` }).catch(() => {});
        }
      }
      const now = await heap();
      maxHeap = Math.max(maxHeap, now.heap);
      if (process.env.BENCH_VERBOSE && (Date.now() - t0) % 15_000 < 1100) {
        const users = (await api.get("/users?limit=1")).total;
        const up = (await api.get("/omms")).filter((o) => o.health.link === "Up").length;
        console.log(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${up} OMMs up, ${users} users, heap ${(now.heap / 1048576).toFixed(1)} MB, ${now.nodes} nodes, pane ${await page.locator(".pane-title").textContent().catch(() => "none")}`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const end = await heap(true);
    await browser.close();
    const mb = (b) => (b / 1048576).toFixed(1);
    console.log(`ui: tab memory over ${minutes} min of live updates (500-OMM import of 50,000 users in ${imported ? (imported / 1000).toFixed(0) + " s" : "not finished"}, then ${edits} OMM-side edits): JS heap ${mb(start.heap)} MB at start, ${mb(end.heap)} MB at the end (after a GC each), ${mb(maxHeap)} MB at most; DOM nodes ${start.nodes} → ${end.nodes}; listeners ${start.listeners} → ${end.listeners}`);
  } finally {
    sim.kill("SIGINT");
    await mom.stop();
  }
}

if (!process.argv.includes("--memory-only")) await tableFigures();
if (!process.argv.includes("--tables-only")) await memoryFigure();
