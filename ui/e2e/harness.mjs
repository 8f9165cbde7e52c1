// The browser tests' harness: a real MOM in development mode (the binaries cargo built,
// with the UI embedded), optionally with its demo fleet of simulated OMMs, and Debian's
// Chromium driven by playwright-core. Each test file starts one MOM and one browser.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { connect } from "node:net";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
// The MOM's certificate is self-signed; the API calls of the tests accept it.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";

/** Where the binaries are: MOM_BIN_DIR, else target/debug. */
export const binDir = process.env.MOM_BIN_DIR ?? join(repo, "target", "debug");
/** Where screenshots go. */
export const shotDir = process.env.UI_SCREENSHOTS ?? join(repo, "target", "ui-screenshots");
/** A password that meets every rule. */
export const PASSWORD = "Blue.Whale-2024";

/** Starts the MOM of `dir` with `config`; resolves with its process and addresses once
 * svc-web answers. */
async function launch(dir, config, fleet) {
  const args = ["--dev", "--dev-dir", join(dir, "dev"), "--config", config];
  if (!fleet) args.push("--no-fleet");
  const child = spawn(join(binDir, "sip-dect-mom"), args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn" } });
  const log = [];
  child.stderr.on("data", (d) => log.push(String(d)));
  // A test process that is killed (a timeout, Ctrl-C) takes its MOM with it.
  const reap = () => child.exitCode === null && child.kill("SIGKILL");
  process.on("exit", reap);
  for (const signal of ["SIGTERM", "SIGINT"]) {
    process.once(signal, () => {
      reap();
      process.exit(1);
    });
  }
  const lines = createInterface({ input: child.stdout });
  let url = null;
  let control = null;
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the MOM did not start within 60 s:\n${log.join("")}`)), 60_000);
    child.on("exit", (code) => reject(new Error(`the MOM exited (${code}):\n${log.join("")}`)));
    lines.on("line", (line) => {
      const https = /https\s+(https:\/\/[^/ ]+)\//.exec(line);
      if (https) url = https[1];
      const c = /control socket (\S+),/.exec(line);
      if (c) control = c[1];
      if (url && (!fleet || control)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await ready;
  await waitFor(async () => (await fetch(`${url}/healthz`)).ok, 30_000, "svc-web to answer");
  return { child, url, control };
}

/** Ends `child` with SIGTERM; resolves once it exited (or after 10 s). */
function terminate(child) {
  child.kill("SIGTERM");
  return new Promise((r) => {
    if (child.exitCode !== null) r();
    else child.on("exit", r);
    setTimeout(r, 10_000);
  });
}

/** Starts a MOM; resolves once svc-web answers. */
export async function startMom({ fleet = false, extra = "" } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "mom-ui-"));
  const config = join(dir, "mom.toml");
  writeFileSync(config, `[listen]\nhttps = "127.0.0.1:0"\nhttp = "127.0.0.1:0"\nmaxi = "127.0.0.1:0"\n\n[statistics]\nsample-secs = 1\n${extra}`);
  let running = await launch(dir, config, fleet);
  return {
    get url() {
      return running.url;
    },
    get control() {
      return running.control;
    },
    dir,
    /** Runs the CLI against this MOM; resolves with {code, stdout, stderr}. */
    cli(...cliArgs) {
      return run(join(binDir, "sip-dect-mom"), ["--dev", "--dev-dir", join(dir, "dev"), "--config", config, ...cliArgs]);
    },
    /** The development issuer key (licenses for tests). */
    issuerKey: join(dir, "dev", "state", "dev-issuer.key"),
    /** Stops the MOM, appends `text` to its mom.toml and starts it again (its state kept). */
    async restartWith(text) {
      await terminate(running.child);
      writeFileSync(config, readFileSync(config, "utf8") + text);
      running = await launch(dir, config, fleet);
    },
    async stop() {
      await terminate(running.child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs a program; resolves with its exit code and output. */
export function run(program, args) {
  return new Promise((resolve) => {
    const p = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Polls `cond` until it is true; throws after `ms`. */
export async function waitFor(cond, ms, what) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await cond()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

/** A logged-in API client (for setting up and checking what the UI did). */
export async function api(mom, name = "mom", password = PASSWORD) {
  const r = await fetch(`${mom.url}/api/v1/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, password }) });
  if (!r.ok) throw new Error(`API login as ${name}: ${r.status} ${await r.text()}`);
  const s = await r.json();
  const cookie = r.headers.get("set-cookie").split(";")[0];
  const call = async (method, path, body, type = "application/json") => {
    const headers = { cookie, "x-csrf-token": s.csrf_token };
    if (body !== undefined) headers["content-type"] = type;
    const a = await fetch(`${mom.url}/api/v1${path}`, { method, headers, body: body === undefined ? undefined : type === "application/json" ? JSON.stringify(body) : body });
    const text = await a.text();
    if (!a.ok) throw new Error(`${method} ${path}: ${a.status} ${text}`);
    return text ? (a.headers.get("content-type") ?? "").includes("json") ? JSON.parse(text) : text : null;
  };
  return { session: s, call, get: (p) => call("GET", p) };
}

/** Prepares the default account over the API (EULA accepted, password changed). */
export async function prepareDefaultAccount(mom) {
  const first = await api(mom, "mom", "mom");
  await first.call("POST", "/eula/accept");
  await first.call("POST", "/session/password", { old_password: "mom", new_password: PASSWORD });
  return api(mom);
}

/** Sends one command to omm-sim's control socket. */
export function control(mom, command) {
  const [host, port] = mom.control.split(":");
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host, () => socket.write(JSON.stringify(command) + "\n"));
    let data = "";
    socket.on("data", (d) => {
      data += d;
      if (data.includes("\n")) {
        socket.end();
        const answer = JSON.parse(data);
        if (answer.ok) resolve(answer.result);
        else reject(new Error(`omm-sim: ${answer.error}`));
      }
    });
    socket.on("error", reject);
  });
}

/** Starts Chromium (Debian's, as root without its sandbox) with a fresh context. */
export async function startBrowser() {
  const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: install Debian's (apt-get install chromium) or set CHROMIUM`);
  if (!existsSync(join(binDir, "sip-dect-mom"))) throw new Error(`no sip-dect-mom in ${binDir}: run scripts/ui-build, then cargo build --workspace --bins`);
  const browser = await chromium.launch({
    executablePath,
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  return browser;
}

/** A new page of a new context (own cookies) of `browser`. */
export async function newPage(browser) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  return page;
}

/** Logs in through the login page. */
export async function login(page, mom, name = "mom", password = PASSWORD) {
  await page.goto(`${mom.url}/`);
  await page.getByLabel("Account").fill(name);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("navigation", { name: "Configuration panes" }).waitFor();
}

/** The first login of an account an administrator made: its password must be replaced
 * (by `next`) before the panes open. */
export async function loginReplacingPassword(page, mom, name, temporary, next) {
  await page.goto(`${mom.url}/`);
  await page.getByLabel("Account").fill(name);
  await page.getByLabel("Password", { exact: true }).fill(temporary);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Change your password" }).waitFor();
  await page.getByLabel("Current password").fill(temporary);
  await page.getByLabel("New password", { exact: true }).fill(next);
  await page.getByLabel("Repeat the new password").fill(next);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.getByRole("navigation", { name: "Configuration panes" }).waitFor();
}

/** Opens a pane from the navigation. */
export async function openPane(page, title) {
  await page.getByRole("navigation", { name: "Configuration panes" }).getByRole("link", { name: title, exact: true }).click();
  await page.locator(".pane-title", { hasText: title }).waitFor();
}

/** Defines `window.__momSeen(el)` in the page (once): whether a person sees `el` where it
 * is now. Its centre must lie inside the window and inside every box around it that clips
 * (overflow other than visible), and the topmost element there must be it or inside it.
 * DOM presence or CSS visibility alone is not enough: a row under a pager or a notice
 * behind a dialog is not seen. */
async function installSeen(page) {
  await page.evaluate(() => {
    // @ts-ignore a helper of the tests on the page's window
    window.__momSeen = (el) => {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) return false;
      const x = r.left + r.width / 2;
      const y = r.top + r.height / 2;
      if (x < 0 || y < 0 || x > window.innerWidth || y > window.innerHeight) return false;
      for (let box = el.parentElement; box; box = box.parentElement) {
        const style = getComputedStyle(box);
        if (!/(auto|scroll|hidden|clip)/.test(style.overflowX + style.overflowY)) continue;
        const b = box.getBoundingClientRect();
        if (x < b.left || x > b.right || y < b.top || y > b.bottom) return false;
      }
      const top = document.elementFromPoint(x, y);
      return top !== null && (top === el || el.contains(top));
    };
  });
}

/** Whether a person sees the element of `locator` once it is scrolled into view. */
export async function seenByPerson(locator) {
  await installSeen(locator.page());
  await locator.scrollIntoViewIfNeeded();
  // @ts-ignore defined by installSeen
  return await locator.evaluate((el) => window.__momSeen(el));
}

/** The rows of the table in `grid` (a locator of the pane or table region) and how many of
 * them a person sees, each scrolled to the middle of the window in turn. */
export async function rowsSeen(grid) {
  await installSeen(grid.page());
  return await grid.evaluate((root) => {
    const rows = [...root.querySelectorAll(".tabulator-row")];
    // @ts-ignore defined by installSeen
    const unseen = rows.filter((row) => (row.scrollIntoView({ block: "center" }), !window.__momSeen(row)));
    return { rows: rows.length, seen: rows.length - unseen.length, unseen: unseen.slice(0, 3).map((r) => r.textContent?.slice(0, 60)) };
  });
}

/** Saves a screenshot of the page as `name`.png. */
export async function screenshot(page, name) {
  mkdirSync(shotDir, { recursive: true });
  await page.screenshot({ path: join(shotDir, `${name}.png`), fullPage: false });
}

const axeSource = readFileSync(join(here, "..", "node_modules", "axe-core", "axe.min.js"), "utf8");

/** The serious and critical accessibility violations of the page (axe-core). */
export async function accessibilityViolations(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // @ts-ignore axe is what the evaluated source defined.
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Clicks the dialog's button `name` and waits for the dialog to close; an error shown in
 * the dialog instead fails with its text. */
export async function submit(dialog, name) {
  await dialog.getByRole("button", { name, exact: true }).click();
  const alert = dialog.getByRole("alert");
  await Promise.race([
    dialog.waitFor({ state: "detached" }),
    alert.waitFor().then(async () => {
      throw new Error(`the dialog showed: ${await alert.textContent()}`);
    }),
  ]);
}

/** Removes dialogs a failed test left open, so the next test starts clean. */
export async function closeDialogs(page) {
  await page.evaluate(() => document.querySelectorAll("dialog").forEach((d) => d.remove()));
}

/** What most test files start with: a MOM (with its fleet linked and synced when asked),
 * the default account ready, Chromium, and a page logged in (on `pane` if given). */
export async function open({ fleet = false, pane = null, login: logIn = true } = {}) {
  const mom = await startMom({ fleet });
  const api = await prepareDefaultAccount(mom);
  if (fleet) {
    await waitFor(async () => (await api.get("/omms")).every((o) => o.health.link === "Up"), 60_000, "the fleet to link");
    await waitFor(async () => (await api.get("/users?limit=1")).total === 300, 60_000, "the fleet's 300 users");
  }
  const browser = await startBrowser();
  const page = await newPage(browser);
  if (logIn) await login(page, mom);
  if (pane) await openPane(page, pane);
  return { mom, api, browser, page };
}

/** Ends what `open` started. */
export async function close(browser, mom) {
  await browser?.close();
  await mom?.stop();
}
