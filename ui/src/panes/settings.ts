// "System settings": system name, license import, DECT settings, FAC prefix, pre-login banner,
// "Suppress table updates", provisioning, the log level, security level and cipher suites, the
// certificate, and the database (export, import with the restart and the OMMs' resync as
// progress) and the system dump.

import { ApiError, call, endSession, get, sessionWillEnd } from "../api";
import type { Session } from "../api";
import { act, checkbox, confirmThen, Dialog, download, field, h, input, Notice, Progress, readOnlyControls, section, select, when, writeButton } from "../dom";
import type { Pane } from "./index";
import type { LicenseView, Security, CertificateInfo } from "../types";

type Settings = Record<string, any>;

/** A file chooser with a label. */
function filePicker(label: string, accept = ""): { el: HTMLElement; input: HTMLInputElement } {
  const i = h("input", { type: "file", accept: accept || undefined });
  return { el: field(label, i), input: i };
}

function saveButton(notice: Notice, label: string, work: () => Promise<unknown>, done: string): HTMLButtonElement {
  const b = writeButton(label, () => void act(notice, work, done, b));
  return b;
}

/** Uploads `body` with upload progress (fetch has none), resolving with the JSON answer. */
export function upload(method: string, url: string, body: Blob, csrf: string, progress: (sent: number, total: number) => void, headers: Record<string, string> = {}): Promise<any> {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open(method, `/api/v1${url}`);
    x.setRequestHeader("content-type", "application/octet-stream");
    x.setRequestHeader("x-csrf-token", csrf);
    for (const [name, value] of Object.entries(headers)) x.setRequestHeader(name, value);
    x.upload.onprogress = (e) => progress(e.loaded, e.total);
    x.onload = () => {
      let answer: any = {};
      try {
        answer = JSON.parse(x.responseText);
      } catch {
        /* not JSON */
      }
      if (x.status >= 200 && x.status < 300) resolve(answer);
      else reject(new ApiError(x.status, answer.error ?? "", answer.message ?? `The MOM refused the file (${x.status}).`));
    };
    x.onerror = () => reject(new ApiError(0, "network", "The upload broke off: the MOM cannot be reached."));
    x.send(body);
  });
}

/** What the login page says after a database import. */
const IMPORT_ENDED_SESSIONS =
  "The database was imported. Every session, API token and authenticator enrolment made before it has ended: log in with an account of the imported database.";

/** Waits, with progress, until the MOM answers again and its OMMs are linked. */
export async function waitForResync(progress: Progress, seconds = 120): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch("/readyz", { credentials: "same-origin" });
      if (r.ok) {
        const ready = await r.json();
        progress.set(`Synchronising: ${ready.omms_linked} of ${ready.omms_enabled} OMMs linked`, ready.omms_linked, Math.max(1, ready.omms_enabled));
        if (ready.omms_linked >= ready.omms_enabled) return;
      } else {
        progress.set("The MOM is restarting its services…");
      }
    } catch {
      progress.set("The MOM is restarting its services…");
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  progress.set("Not every OMM has linked yet; see the Health states pane.");
}

export const settings: Pane = {
  id: "settings",
  title: "System settings",
  nav: true,
  async render(host) {
    const top = new Notice();
    host.append(top.el);
    let s: Settings;
    try {
      s = await get<Settings>("/settings");
    } catch (e) {
      top.error(e);
      return;
    }
    const patch = (change: Settings) => call("PATCH", "/settings", change);

    // System name.
    const nameNotice = new Notice();
    const name = input(s.system_name, { name: "system-name", maxlength: 64 });
    const general = section("System name", field("System name", name), saveButton(nameNotice, "Save system name", () => patch({ system_name: name.value }), "System name saved."), nameNotice.el);

    // License.
    const licNotice = new Notice();
    const licInfo = h("dl", { class: "license" });
    const drawLicense = async () => {
      const l = await get<LicenseView | null>("/license");
      if (!l) {
        licInfo.replaceChildren(h("dt", {}, "License"), h("dd", {}, "No license is installed: import the license file."));
        return;
      }
      const rows: Array<[string, string]> = [["Installation ID", l.installation_id], ["Customer", l.customer_name], ["Country", l.country], ["System license", l.system_license], ["Licensed version", l.licensed_version], ["SARI", `${l.sari_printed} / ${l.sari}`]];
      licInfo.replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    };
    await drawLicense().catch((e) => licNotice.error(e));
    const licFile = filePicker("License file");
    const license = section("License", licInfo, licFile.el, saveButton(licNotice, "Import license", async () => {
      const f = licFile.input.files?.[0];
      if (!f) throw new Error("Choose the license file first.");
      await call("POST", "/license", { file: await f.text() });
      await drawLicense();
    }, "License imported."), licNotice.el);

    // DECT settings.
    const dectNotice = new Notice();
    const mode = select([["Off", "Off"], ["Subscription", "Subscription"], ["Wildcard", "Wildcard"]], s.subscription_mode, { name: "subscription-mode" });
    const auto = checkbox(s.auto_create, { name: "auto-create" });
    const dect = section(
      "DECT settings",
      h("p", {}, "SARI: ", h("strong", { class: "sari-value" }, s.sari ? `${s.sari_printed} / ${s.sari}` : "none (import a license)")),
      field("Subscription mode", mode),
      field("Auto-create on subscription", auto),
      saveButton(dectNotice, "Save DECT settings", () => patch({ subscription_mode: mode.value, auto_create: auto.checked }), "DECT settings saved."),
      dectNotice.el,
    );

    // FAC.
    const facNotice = new Notice();
    const fac = input(s.fac_prefix, { name: "fac-prefix", maxlength: 10 });
    const facSection = section("Feature access codes", field("Global FAC prefix", fac, "Digits, * and #; empty for none. Sent to every OMM."), saveButton(facNotice, "Save FAC prefix", () => patch({ fac_prefix: fac.value }), "FAC prefix saved."), facNotice.el);

    // Banner.
    const banNotice = new Notice();
    const banOn = checkbox(s.banner_enabled, { name: "banner-enabled" });
    const banText = h("textarea", { name: "banner-text", rows: 4, maxlength: 2000 });
    banText.value = s.banner_text;
    const banner = section("Pre-login banner", field("Show the banner on the login page", banOn), field("Banner text", banText), saveButton(banNotice, "Save banner", () => patch({ banner_enabled: banOn.checked, banner_text: banText.value }), "Banner saved."), banNotice.el);

    // Suppress table updates.
    const supNotice = new Notice();
    const sup = select([["Off", "Off"], ["UsersDectPhones", "Users and DECT phones"], ["All", "All"]], s.suppress_table_updates, { name: "suppress" });
    const suppress = section("Suppress table updates", field("Suppress table updates", sup, "With many records, live table updates can be held back; a Refresh control appears on the tables."), saveButton(supNotice, "Save", () => patch({ suppress_table_updates: sup.value }), "Saved."), supNotice.el);

    // Provisioning address.
    const provNotice = new Notice();
    const provAddr = input(s.provisioning_address, { name: "provisioning-address" });
    const provTimeout = input(String(s.provisioning_fetch_timeout_secs), { name: "fetch-timeout", inputmode: "numeric" });
    const provisioning = section(
      "Provisioning",
      field("Address the OMMs fetch from", provAddr, "Host or host:port of this MOM as the OMMs reach it; empty: the address they link to."),
      field("Fetch timeout (seconds)", provTimeout),
      saveButton(provNotice, "Save provisioning settings", () => {
        const t = Number(provTimeout.value);
        if (!Number.isInteger(t) || t < 1) throw new Error("The fetch timeout must be a whole number of seconds.");
        return patch({ provisioning_address: provAddr.value, provisioning_fetch_timeout_secs: t });
      }, "Saved."),
      provNotice.el,
    );

    // Log level (the journal and the trace file; until the MOM's next start).
    const logNotice = new Notice();
    const level = await get<{ level: string }>("/log-level").catch((e) => {
      logNotice.error(e);
      return { level: "" };
    });
    const logLevel = input(level.level, { name: "log-level", maxlength: 200 });
    const logging = section(
      "Logging",
      field("Log level", logLevel, "error, warn, info, debug or trace, or per service such as info,svc_axi=debug. Applies at once to every process, until the MOM's next start ([log] level in mom.toml)."),
      saveButton(logNotice, "Save log level", () => call("PUT", "/log-level", { level: logLevel.value }), "Log level changed in every process."),
      logNotice.el,
    );

    host.append(general, license, dect, facSection, banner, suppress, provisioning, logging, await securitySection(patch), await certificateSection(), databaseSection());
    readOnlyControls(host);
  },
};

async function securitySection(patch: (c: Settings) => Promise<unknown>): Promise<HTMLElement> {
  const notice = new Notice();
  const sec = await get<Security>("/security");
  const level = select(sec.levels.map((l) => [l.level, l.level]), sec.level, { name: "tls-level" });
  const inForce = h("code", { class: "in-force" }, sec.in_force);
  const perLevel = sec.levels.map((l) => {
    const defaults = checkbox(l.choice.use_defaults, { name: `defaults-${l.level}` });
    const custom = h("textarea", { name: `ciphers-${l.level}`, rows: 2 });
    custom.value = l.choice.custom || l.defaults;
    custom.disabled = l.choice.use_defaults;
    defaults.addEventListener("change", () => {
      custom.disabled = defaults.checked;
      if (defaults.checked) custom.value = l.defaults;
    });
    return { level: l.level, defaults, custom, el: h("fieldset", {}, h("legend", {}, `${l.level} (${l.protocols.join(", ")})`), h("p", { class: "hint" }, l.description), field("Use defaults", defaults), field(`Cipher suites for ${l.level}`, custom, "OpenSSL names, separated by colons")) };
  });
  const suites = h(
    "table",
    { class: "plain", "aria-label": "Supported cipher suites" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "OpenSSL name"), h("th", { scope: "col" }, "IANA name"), h("th", { scope: "col" }, "Protocol"))),
    h("tbody", {}, ...sec.supported.map((c) => h("tr", {}, h("td", {}, c.openssl_name), h("td", {}, c.iana_name), h("td", {}, c.protocol)))),
  );
  const details = h("details", {}, h("summary", {}, "Supported cipher suites"), suites);
  const save = writeButton("Save security settings", () => void act(notice, async () => {
    const change: Settings = { tls_level: level.value };
    for (const l of perLevel) change[`ciphers_${l.level.toLowerCase()}`] = { use_defaults: l.defaults.checked, custom: l.defaults.checked ? "" : l.custom.value };
    await patch(change);
    const now = await get<Security>("/security");
    inForce.textContent = now.in_force;
  }, "Security settings saved; new connections use them."));
  return section("Security", field("Security level", level), h("p", {}, "Cipher suites in force: ", inForce), ...perLevel.map((l: any) => l.el), save, details, notice.el);
}

async function certificateSection(): Promise<HTMLElement> {
  const notice = new Notice();
  const info = h("dl", {});
  const draw = async () => {
    const c = await get<CertificateInfo>("/certificate");
    const rows: Array<[string, string]> = [["Subject", c.subject], ["Issuer", c.issuer], ["Valid from", when(c.not_before)], ["Valid until", when(c.not_after)], ["SHA-256 fingerprint", c.sha256_fingerprint], ["Self-signed", c.self_signed ? "yes" : "no"], ["Chain length", String(c.chain_length)]];
    info.replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  };
  await draw();
  const cert = filePicker("Certificate chain (PEM, leaf first)", ".pem,.crt,.cer");
  const key = filePicker("Private key (PEM)", ".pem,.key");
  const upload = writeButton("Upload certificate", () => void act(notice, async () => {
    const c = cert.input.files?.[0];
    const k = key.input.files?.[0];
    if (!c || !k) throw new Error("Choose both the certificate file and its private key.");
    await call("PUT", "/certificate", { certificate_pem: await c.text(), key_pem: await k.text() });
    await draw();
  }, "Certificate installed; reload the page to use it."));
  const fresh = writeButton("New self-signed certificate", () => confirmThen("New self-signed certificate", "Replace the MOM's certificate with a new self-signed one? Browsers and OMMs that trust the current one will warn.", "Replace", async () => {
    await call("POST", "/certificate/self-signed");
    await draw();
  }));
  return section("Certificate", info, cert.el, key.el, h("div", { class: "toolbar" }, upload, fresh), notice.el);
}

function databaseSection(): HTMLElement {
  const notice = new Notice();
  const progress = new Progress("Database transfer");
  // The export holds every record of the database: for accounts with write permission.
  const exportButton = writeButton("Export database", () => {});
  exportButton.addEventListener("click", () => void act(notice, async () => {
    progress.set("Exporting…");
    const r = await fetch("/api/v1/database/export", { credentials: "same-origin" });
    if (!r.ok || !r.body) throw new Error((await r.json().catch(() => ({}))).message ?? `Export refused (${r.status}).`);
    const total = Number(r.headers.get("content-length") ?? 0);
    const reader = r.body.getReader();
    const parts: Uint8Array[] = [];
    let got = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
      got += value.length;
      progress.set(`Exporting: ${(got / 1048576).toFixed(1)} MiB`, got, total || undefined);
    }
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
    download(`mom-${stamp}.momdb`, new Blob(parts as BlobPart[]));
    progress.set(`Exported ${(got / 1048576).toFixed(1)} MiB.`, 1, 1);
  }, "Database exported.", exportButton));
  const file = filePicker("Database file to import", ".momdb");
  // PINs and passwords in an export are sealed with the secrets key of the installation
  // that made it: an export from another MOM needs that MOM's secrets.key.
  const keyFile = filePicker("Secrets key of the MOM that made it (only for another MOM's export)", ".key");
  const importButton = writeButton("Import database", () => {
    const f = file.input.files?.[0];
    if (!f) return notice.error("Choose the database file first.");
    const d = new Dialog("Import the database");
    d.body.append(h("p", {}, `Replace the whole database with ${f.name}? Every user, device, OMM record and setting is replaced; the MOM's services restart and every OMM is synchronised again.`));
    d.submit("Import", async () => {
      d.close();
      await runImport(f, false);
    });
    d.open();
  });
  const runImport = async (f: File, foreign: boolean): Promise<void> => {
    await act(notice, async () => {
      const session = await get<Session>("/session");
      try {
        // The import ends every session before it answers: whatever call meets that
        // first, the login page says why.
        sessionWillEnd(IMPORT_ENDED_SESSIONS);
        const key = keyFile.input.files?.[0];
        // The key file's base64 line (its other lines are comments).
        const keyLine = key ? (await key.text()).split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).join("") : "";
        progress.set("Uploading…", 0, f.size);
        const r = await upload("POST", `/database/import${foreign ? "?confirm_foreign_identity=true" : ""}`, f, session.csrf_token, (sent, total) => progress.set(`Uploading: ${Math.round((sent / Math.max(1, total)) * 100)} %`, sent, total), keyLine ? { "x-secrets-key": keyLine } : {});
        progress.set(`Imported revision ${r.revision}; the services restart…`);
      } catch (e) {
        sessionWillEnd(undefined);
        progress.hide();
        if (e instanceof ApiError && e.code === "foreign_identity") {
          confirmThen("Another installation's identity", `${e.message} Import anyway?`, "Import anyway", () => runImport(f, true));
          return;
        }
        throw e;
      }
      await waitForResync(progress);
      // The import ended every session, API token and authenticator enrolment (account
      // ids may name other accounts in the imported database).
      endSession(IMPORT_ENDED_SESSIONS);
    }, "Database imported.");
  };
  const dump = h("button", { type: "button" }, "Download system dump");
  dump.addEventListener("click", () => void act(notice, async () => {
    const r = await fetch("/api/v1/system-dump", { credentials: "same-origin" });
    if (!r.ok) throw new Error((await r.json().catch(() => ({}))).message ?? `Refused (${r.status}).`);
    const name = /filename="?([^";]+)/.exec(r.headers.get("content-disposition") ?? "")?.[1] ?? "mom-system-dump.tar.gz";
    download(name, await r.blob());
  }, "System dump downloaded.", dump));
  return section("Database and system dump", h("div", { class: "toolbar" }, exportButton), file.el, keyFile.el, h("div", { class: "toolbar" }, importButton, dump), progress.el, notice.el);
}
