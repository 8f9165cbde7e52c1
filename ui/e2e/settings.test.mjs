// "System settings" and the ribbon: system name, license import, DECT settings, FAC prefix,
// pre-login banner, the log level, security level with custom ciphers and the defaults, certificate
// upload, database export and import (also a corrupt file), the system dump, and the
// ribbon's subscription pop-up and auto-create toggle.

import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as H from "./harness.mjs";

let mom;
let browser;
let page;
let api;
const files = mkdtempSync(join(tmpdir(), "mom-ui-files-"));

before(async () => ({ mom, api, browser, page } = await H.open({ pane: "System settings" })));
beforeEach(() => page && H.closeDialogs(page));
after(() => H.close(browser, mom));

const section = (name) => page.getByRole("region", { name, exact: true });

test("the system name is saved and shown in the header", async () => {
  await section("System name").getByLabel("System name").fill("Hospital North");
  await page.getByRole("button", { name: "Save system name" }).click();
  await section("System name").getByText("System name saved.").waitFor();
  await page.locator("header .system-name", { hasText: "Hospital North" }).waitFor();
  assert.equal((await api.get("/settings")).system_name, "Hospital North");
});

test("a license file is imported and its fields are shown; a forged one is refused", async () => {
  const file = join(files, "license.txt");
  const issued = await mom.cli("license", "issue", "--key", mom.issuerKey, "--installation-id", "hospital-1", "--customer", "Test customer", "--country", "GERMANY", "--system-license", "TEST-LICENSE", "--licensed-version", "10.1", "--sari", "1F10DE0042", "--out", file);
  assert.equal(issued.code, 0, issued.stderr);
  const forged = join(files, "forged.txt");
  writeFileSync(forged, readFileSync(file, "utf8").replace("Test customer", "Evil customer"));
  const lic = section("License");
  await lic.getByLabel("License file").setInputFiles(forged);
  await page.getByRole("button", { name: "Import license" }).click();
  await lic.getByRole("alert").waitFor();
  assert.equal(await api.get("/license"), null, "nothing installed");
  await lic.getByLabel("License file").setInputFiles(file);
  await page.getByRole("button", { name: "Import license" }).click();
  await lic.getByText("License imported.").waitFor();
  await lic.getByText("Test customer").waitFor();
  await lic.getByText("hospital-1").waitFor();
  await page.locator("footer .sari", { hasText: "31103 3600 0410 7 / 1F10DE0042" }).waitFor();
  // The printed PARK beside the hex, in the license and the DECT settings too.
  await lic.getByText("31103 3600 0410 7 / 1F10DE0042").waitFor();
});

test("DECT settings and the ribbon's subscription pop-up and auto-create icon", async () => {
  const dect = section("DECT settings");
  await dect.getByLabel("Subscription mode").selectOption("Wildcard");
  await dect.getByLabel("Auto-create on subscription").check();
  await page.getByRole("button", { name: "Save DECT settings" }).click();
  await dect.getByText("DECT settings saved.").waitFor();
  let s = await api.get("/settings");
  assert.equal(s.subscription_mode, "Wildcard");
  assert.equal(s.auto_create, true);
  // The ribbon follows (live), and changes it from its own controls.
  await page.locator("footer button.subscription", { hasText: "Wildcard" }).waitFor();
  await page.locator('footer button.auto-create[aria-pressed="true"]').waitFor();
  await page.locator("footer button.subscription").click();
  await page.getByRole("radiogroup", { name: "DECT phone subscription" }).waitFor();
  await H.screenshot(page, "ribbon-subscription-popup");
  await page.getByLabel(/^Off: /).check();
  await page.locator("footer button.subscription", { hasText: "Off" }).waitFor();
  await page.locator("footer button.auto-create").click();
  await page.locator('footer button.auto-create[aria-pressed="false"]').waitFor();
  s = await api.get("/settings");
  assert.equal(s.subscription_mode, "Off");
  assert.equal(s.auto_create, false);
});

test("the FAC prefix is saved; a bad one is refused with the reason and changes nothing", async () => {
  const fac = section("Feature access codes");
  await fac.getByLabel("Global FAC prefix").fill("*7");
  await page.getByRole("button", { name: "Save FAC prefix" }).click();
  await fac.getByText("FAC prefix saved.").waitFor();
  assert.equal((await api.get("/settings")).fac_prefix, "*7");
  await fac.getByLabel("Global FAC prefix").fill("7\u0007x");
  await page.getByRole("button", { name: "Save FAC prefix" }).click();
  await fac.getByRole("alert").waitFor();
  assert.equal((await api.get("/settings")).fac_prefix, "*7");
});

test("the log level changes at once; junk is refused with the reason and changes nothing", async () => {
  const logging = section("Logging");
  assert.equal(await logging.getByLabel("Log level").inputValue(), (await api.get("/log-level")).level);
  await logging.getByLabel("Log level").fill("info,svc_axi=debug");
  await logging.getByRole("button", { name: "Save log level" }).click();
  await logging.getByText("Log level changed in every process.").waitFor();
  assert.equal((await api.get("/log-level")).level, "info,svc_axi=debug");
  const cli = await mom.cli("log-level");
  assert.equal(cli.stdout.trim(), "info,svc_axi=debug", "the supervisor has the same level");
  await logging.getByLabel("Log level").fill("loud");
  await logging.getByRole("button", { name: "Save log level" }).click();
  await logging.getByRole("alert").getByText("not a log level").waitFor();
  assert.equal((await api.get("/log-level")).level, "info,svc_axi=debug");
  await logging.getByLabel("Log level").fill("info");
  await logging.getByRole("button", { name: "Save log level" }).click();
  await logging.getByText("Log level changed in every process.").waitFor();
});

test("the pre-login banner is shown on the login page", async () => {
  const banner = section("Pre-login banner");
  await banner.getByLabel("Show the banner on the login page").check();
  await banner.getByLabel("Banner text").fill("Authorised staff only.\nAll access is logged.");
  await page.getByRole("button", { name: "Save banner" }).click();
  await banner.getByText("Banner saved.").waitFor();
  const other = await H.newPage(browser);
  await other.goto(`${mom.url}/`);
  const note = other.getByRole("note", { name: "Pre-login banner" });
  await note.waitFor();
  assert.match(await note.textContent(), /Authorised staff only/);
  await other.locator("h1", { hasText: "Hospital North" }).waitFor();
  await H.screenshot(other, "login-banner");
  await other.context().close();
});

test("security level, custom cipher suites, use defaults and the supported suites", async () => {
  const sec = section("Security");
  await sec.getByLabel("Security level").selectOption("Medium");
  await sec.getByLabel("Use defaults").nth(1).uncheck();
  await sec.getByLabel("Cipher suites for Medium").fill("TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES256-GCM-SHA384");
  await page.getByRole("button", { name: "Save security settings" }).click();
  await sec.getByText(/Security settings saved/).waitFor();
  await sec.locator("code.in-force", { hasText: "TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES256-GCM-SHA384" }).waitFor();
  let s = await api.get("/settings");
  assert.equal(s.tls_level, "Medium");
  assert.deepEqual(s.ciphers_medium, { use_defaults: false, custom: "TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES256-GCM-SHA384" });
  // A suite the MOM does not know is refused in words.
  await sec.getByLabel("Cipher suites for Medium").fill("NOT-A-CIPHER");
  await page.getByRole("button", { name: "Save security settings" }).click();
  await sec.getByRole("alert").waitFor();
  assert.equal((await api.get("/settings")).ciphers_medium.custom, "TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES256-GCM-SHA384");
  // Back to the defaults.
  await sec.getByLabel("Use defaults").nth(1).check();
  await page.getByRole("button", { name: "Save security settings" }).click();
  await sec.getByText(/Security settings saved/).waitFor();
  s = await api.get("/settings");
  assert.equal(s.ciphers_medium.use_defaults, true);
  await sec.getByText("Supported cipher suites").click();
  await sec.getByRole("table", { name: "Supported cipher suites" }).getByText("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384").waitFor();
});

test("a certificate is uploaded; a key that does not match is refused", async () => {
  const key = join(files, "key.pem");
  const cert = join(files, "cert.pem");
  const made = await H.run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=mom.hospital.test", "-days", "30"]);
  assert.equal(made.code, 0, made.stderr);
  const otherKey = join(files, "other.pem");
  assert.equal((await H.run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", otherKey])).code, 0);
  const c = section("Certificate");
  await c.getByLabel("Certificate chain (PEM, leaf first)").setInputFiles(cert);
  await c.getByLabel("Private key (PEM)").setInputFiles(otherKey);
  await page.getByRole("button", { name: "Upload certificate" }).click();
  await c.getByRole("alert").waitFor();
  assert.match((await api.get("/certificate")).subject, /self-signed/);
  await c.getByLabel("Private key (PEM)").setInputFiles(key);
  await page.getByRole("button", { name: "Upload certificate" }).click();
  await c.getByText(/Certificate installed/).waitFor();
  await c.getByText("CN=mom.hospital.test").first().waitFor();
});

test("the database is exported, a corrupt file is refused, and the export is imported with progress", async () => {
  const db = section("Database and system dump");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export database" }).click()]);
  const exported = join(files, "export.momdb");
  await download.saveAs(exported);
  assert.ok(statSync(exported).size > 1000, "an export of some size");
  await db.getByText("Database exported.").waitFor();
  // Changes after the export, which the import takes back.
  await api.call("PATCH", "/settings", { system_name: "Changed after export" });
  const corrupt = join(files, "corrupt.momdb");
  const bytes = readFileSync(exported);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  writeFileSync(corrupt, bytes);
  await db.getByLabel("Database file to import").setInputFiles(corrupt);
  await page.getByRole("button", { name: "Import database" }).click();
  await page.getByRole("dialog", { name: "Import the database" }).getByRole("button", { name: "Import" }).click();
  await db.getByRole("alert").waitFor();
  assert.equal((await api.get("/settings")).system_name, "Changed after export", "the corrupt file changed nothing");
  // A secrets key file that is no key is refused with the reason, on the screen.
  const badKey = join(files, "other.key");
  writeFileSync(badKey, "# sip-dect-mom secrets key\nnot-a-key\n");
  await db.getByLabel("Database file to import").setInputFiles(exported);
  await db.getByLabel(/Secrets key of the MOM that made it/).setInputFiles(badKey);
  await page.getByRole("button", { name: "Import database" }).click();
  await page.getByRole("dialog", { name: "Import the database" }).getByRole("button", { name: "Import" }).click();
  const refusal = db.getByRole("alert").filter({ hasText: "secrets key" });
  await refusal.waitFor();
  assert.ok(await H.seenByPerson(refusal), "the refusal is visible");
  assert.equal((await api.get("/settings")).system_name, "Changed after export", "the refused import changed nothing");
  await db.getByLabel(/Secrets key of the MOM that made it/).setInputFiles([]);
  await page.getByRole("button", { name: "Import database" }).click();
  await page.getByRole("dialog", { name: "Import the database" }).getByRole("button", { name: "Import" }).click();
  // The import ended every session: the login page says so, visibly.
  const said = page.getByText("The database was imported. Every session");
  await said.waitFor({ timeout: 60_000 });
  assert.ok(await said.isVisible());
  await H.screenshot(page, "login-after-import");
  await H.login(page, mom);
  await H.openPane(page, "System settings");
  const fresh = await H.api(mom);
  assert.equal((await fresh.get("/settings")).system_name, "Hospital North");
});

test("the system dump is downloaded", async () => {
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download system dump" }).click()]);
  const file = join(files, "dump");
  await download.saveAs(file);
  assert.ok(statSync(file).size > 100);
  assert.match(download.suggestedFilename(), /dump/);
  await H.screenshot(page, "pane-system-settings");
});
