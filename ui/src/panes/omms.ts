// "OMMs": the OMM records. Add, edit (General, Connections and Certificates tabs, and the
// OMM's placeholders), multi-edit, enable/disable, delete; the OMM addresses link to the
// OMM's own web interface. The provisioning tools: the configuration template editor,
// "Show config file", and "Update OMM" for one, several or all, with the template check and
// each OMM's diff shown before anything is sent.

import { call, get } from "../api";
import { access, act, button, checkbox, confirmThen, Dialog, field, h, Progress, select, tabs, when, writeButton } from "../dom";
import { Grid, yesNo } from "../grid";
import { Form } from "../schema";
import type { Pane } from "./index";
import type { Omm, OmmHealth, LintFinding, Lint, Preview, UpdateResult } from "../types";

const GENERAL = ["name", "description", "omm1", "omm2", "user", "password", "enabled", "provisioning"];

function addressLink(cell: any): HTMLElement | string {
  const v = String(cell.getValue() ?? "");
  if (!v) return "";
  return h("a", { href: `https://${v}/`, target: "_blank", rel: "noopener noreferrer", "aria-label": `Open the web interface of ${v}` }, v);
}

function certChoice(v: Omm["cert_validation"] | undefined): { kind: string; value: string } {
  if (v === "AcceptSelfSigned" || !v) return { kind: "AcceptSelfSigned", value: "" };
  if ("Ca" in v) return { kind: "Ca", value: v.Ca };
  return { kind: "PinnedSha256", value: v.PinnedSha256 };
}

/** The edit dialog of one OMM (or a new one). */
export function editOmm(grid: Grid | null, omm: Omm | null): void {
  const d = new Dialog(omm ? `Edit OMM ${omm.id} ${omm.name}` : "Add OMM", true);
  const record = omm ?? { enabled: true, name: "", description: "", omm1: "", omm2: "", user: "omm", password: "", provisioning: false };
  const general = new Form("Omm", record, GENERAL, { secret: ["password"] });
  // Connections tab: the link as svc-axi sees it.
  const hl: Partial<OmmHealth> = omm?.health ?? {};
  const connections = h(
    "dl",
    {},
    ...(
      [
        ["Link", hl.link ?? "—"],
        ["Healthy", hl.healthy ? "yes" : "no"],
        ["Since", when(hl.since)],
        ["Last error", hl.last_error || "none"],
        ["OMM software", hl.software_version || "—"],
        ["Cloud-ID", omm?.cloud_id || "—"],
      ] as Array<[string, string]>
    ).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
  );
  // Certificates tab.
  const cv = certChoice(omm?.cert_validation);
  const kind = select([["AcceptSelfSigned", "Accept the OMM's self-signed certificate"], ["PinnedSha256", "Require this SHA-256 fingerprint"], ["Ca", "Require a chain to this CA (PEM)"]], cv.kind, { name: "cert-validation" });
  const certValue = h("textarea", { name: "cert-value", rows: 4 });
  certValue.value = cv.value;
  const validateMom = checkbox(Boolean(omm?.validate_mom_certificate), { name: "validate-mom-certificate" });
  const certificates = h("div", {}, field("Certificate validation", kind), field("Fingerprint or CA certificate", certValue), field("The OMM validates the MOM's certificate", validateMom));
  // Placeholders tab.
  const placeholders = h("textarea", { name: "placeholders", rows: 12, class: "code" });
  let storedPlaceholders = "";
  if (omm) {
    get<string>(`/omms/${omm.id}/placeholders`).then((t) => {
      storedPlaceholders = typeof t === "string" ? t : "";
      placeholders.value = storedPlaceholders;
    }, (e) => d.notice.error(e));
  }
  const placeholderPane = h("div", {}, field("Placeholders of this OMM (name=value lines)", placeholders, "Values for the template's placeholders; # starts a comment."));
  d.body.append(tabs([["General", general.el], ["Connections", h("div", {}, connections)], ["Certificates", certificates], ["Placeholders", placeholderPane]]));
  if (omm) d.button("Show config file", () => showConfigFile(omm), false, true);
  d.submit(omm ? "Save" : "Add", async () => {
    const change: Record<string, unknown> = general.read(!omm);
    const newCert = kind.value === "AcceptSelfSigned" ? "AcceptSelfSigned" : { [kind.value]: certValue.value.trim() };
    if (JSON.stringify(newCert) !== JSON.stringify(omm?.cert_validation ?? "AcceptSelfSigned")) change.cert_validation = newCert;
    if (validateMom.checked !== Boolean(omm?.validate_mom_certificate)) change.validate_mom_certificate = validateMom.checked;
    let id = omm?.id;
    if (omm) {
      if (Object.keys(change).length) await call("PATCH", `/omms/${omm.id}`, change);
    } else {
      id = (await call<{ id: number }>("POST", "/omms", change)).id;
    }
    if (placeholders.value !== storedPlaceholders) await call("PUT", `/omms/${id}/placeholders`, undefined, { raw: { body: placeholders.value, type: "text/plain" } });
    await grid?.reload();
  });
  d.open();
}

function showConfigFile(omm: Omm): void {
  const d = new Dialog(`Configuration file of OMM ${omm.id} ${omm.name}`, true);
  const pre = h("pre", { class: "code config-file", tabindex: 0, "aria-label": "ipdect.cfg" }, "Loading…");
  d.body.append(h("p", {}, "Exactly what this OMM gets when it fetches ipdect.cfg now."), pre);
  d.open();
  get<string>(`/omms/${omm.id}/config-file`).then((t) => (pre.textContent = typeof t === "string" ? t : JSON.stringify(t)), (e) => d.notice.error(e));
}

function lintList(findings: LintFinding[]): HTMLElement {
  if (!findings.length) return h("p", { class: "lint-ok" }, "The template check found nothing to correct.");
  return h("ul", { class: "lint" }, ...findings.map((f) => h("li", { "data-code": f.code }, `${f.line ? `Line ${f.line}: ` : ""}${f.message}${f.omms?.length && !/OMM \d/.test(f.message) ? ` (OMM ${f.omms.join(", ")})` : ""}`)));
}

/** The configuration template editor with its check. */
function templateEditor(): void {
  const d = new Dialog("OMM configuration template", true);
  const text = h("textarea", { name: "template", rows: 24, class: "code", spellcheck: "false" });
  // A read-only account reads the template and may check it, but not change it.
  text.readOnly = !access.write;
  const findings = h("div", { class: "findings" });
  d.body.append(field("Template (AXI commands; uncomment what every OMM should get)", text), findings);
  get<string>("/provisioning/template").then((t) => (text.value = t), (e) => d.notice.error(e));
  // The check is of the text in the editor, saved or not.
  const check = async (): Promise<LintFinding[]> => {
    const found = (await call<Lint>("POST", "/provisioning/lint", undefined, { raw: { body: text.value, type: "text/plain" } })).findings;
    findings.replaceChildren(lintList(found));
    return found;
  };
  d.button("Check", () => void act(d.notice, check));
  let confirmedErrors = "";
  d.submit("Save template", async () => {
    // A template with errors (not well formed, say) is saved only when asked a second time.
    const errors = (await check()).filter((f) => f.severity === "error");
    if (errors.length && confirmedErrors !== text.value) {
      confirmedErrors = text.value;
      throw new Error(`The template has ${errors.length === 1 ? "an error" : `${errors.length} errors`} (listed below); OMMs would get a file they cannot use. Correct it, or press "Save template" again to save it as it is.`);
    }
    await call("PUT", "/provisioning/template", undefined, { raw: { body: text.value, type: "text/plain" } });
  });
  d.open();
}

/** "Update OMM": shows the check and each OMM's diff, then sends the update. */
async function updateOmms(ids: number[] | "all"): Promise<void> {
  const d = new Dialog(ids === "all" ? "Update all OMMs" : `Update OMM ${ids.join(", ")}`, true);
  const lint = h("div", {}, "Checking the template…");
  const previews = h("div", { class: "previews" });
  d.body.append(h("h3", {}, "Template check"), lint, h("h3", {}, "What each OMM gets"), previews);
  d.open();
  try {
    const [l, p] = await Promise.all([get<Lint>("/provisioning/lint"), get<Preview[]>("/provisioning/preview")]);
    lint.replaceChildren(lintList(l.findings));
    const chosen = p.filter((x) => (ids === "all" ? x.provisioning : ids.includes(x.id)));
    previews.replaceChildren(
      ...chosen.map((x) =>
        h(
          "details",
          { open: chosen.length <= 3 },
          h("summary", {}, `OMM ${x.id} ${x.name}: ${x.provisioning ? "" : "Provisioning disabled; "}${x.last_fetch ? (x.changed ? "changes since its last fetch" : "no change since its last fetch") : "never fetched"}${x.unresolved?.length ? `, ${x.unresolved.length} placeholders without a value` : ""}`),
          x.diff ? h("pre", { class: "code diff" }, x.diff) : h("p", {}, x.last_fetch ? "No difference." : "No earlier file to compare with."),
          x.unresolved?.length ? h("p", {}, `Without a value: ${x.unresolved.join(", ")}`) : null,
        ),
      ),
    );
    if (!chosen.length) previews.append(h("p", {}, "No OMM has Provisioning enabled."));
  } catch (e) {
    d.notice.error(e);
  }
  const result = h("ul", { class: "update-result" });
  const fetched = new Progress("OMMs that fetched their configuration");
  d.body.append(result, fetched.el);
  d.button("Send update", (b) => void act(d.notice, async () => {
    const answer = await call<UpdateResult[]>("POST", "/omms/update", ids === "all" ? { all: true } : { omms: ids });
    result.replaceChildren(...answer.map((r) => h("li", { class: r.error ? "unmet" : "met" }, `OMM ${r.id}: ${r.error ?? "update sent; it fetches its configuration now"}`)));
    if (!answer.length) result.append(h("li", {}, "No OMM was updated."));
    b.disabled = true;
    void followFetches(answer.filter((r) => !r.error).map((r) => r.id), fetched);
  }, undefined, b), true, true);
}

/** Shows how many updated OMMs fetched their new configuration, for up to two minutes. */
async function followFetches(ids: number[], progress: Progress): Promise<void> {
  if (!ids.length) return;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && progress.el.isConnected !== false) {
    try {
      const list = await get<Omm[]>("/omms");
      const done = list.filter((o) => ids.includes(o.id) && !o.provisioning_state?.update_sent).length;
      progress.set(`${done} of ${ids.length} OMMs fetched their configuration`, done, ids.length);
      if (done === ids.length) return;
    } catch {
      /* keep trying */
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  progress.set("Some OMMs have not fetched yet; the Health states pane shows which.");
}

export const omms: Pane = {
  id: "omms",
  title: "OMMs",
  nav: true,
  render(host, params) {
    const grid: Grid = new Grid({
      url: "/omms",
      index: "id",
      label: "OMMs",
      entities: ["Omm"],
      selectable: true,
      toggleColumns: true,
      open: (o) => editOmm(grid, o),
      columns: [
        { title: "OMM ID", field: "id", sorter: "number" },
        { title: "Enabled", field: "enabled", formatter: yesNo, headerFilter: undefined },
        { title: "Name", field: "name" },
        { title: "Description", field: "description" },
        { title: "OMM 1", field: "omm1", formatter: addressLink },
        { title: "OMM 2", field: "omm2", formatter: addressLink },
        { title: "Cloud-ID", field: "cloud_id" },
        { title: "User", field: "user" },
        { title: "Provisioning", field: "provisioning", formatter: yesNo, headerFilter: undefined },
        { title: "Connection", field: "health.link" },
        { title: "Health", field: "health.healthy", formatter: yesNo, headerFilter: undefined },
        { title: "Last error", field: "health.last_error" },
      ],
    });
    const need = (min: number): any[] | null => {
      const sel = grid.selected();
      if (sel.length < min) {
        grid.notice.error(min > 1 ? "Select at least two OMMs." : "Select an OMM first.");
        return null;
      }
      return sel;
    };
    const multiEdit = () => {
      const sel = need(1);
      if (!sel) return;
      const d = new Dialog(`Multi-edit ${sel.length} OMMs`);
      const form = new Form("Omm", {}, ["enabled", "provisioning", "user", "password", "description"], { multi: true, secret: ["password"] });
      d.body.append(h("p", {}, "Only the fields you set are changed on every selected OMM."), form.el);
      d.submit("Save", async () => {
        await call("PATCH", "/omms", { ids: sel.map((o) => o.id), changes: form.read(true) });
        await grid.reload();
      });
      d.open();
    };
    const setEnabled = (on: boolean) => {
      const sel = need(1);
      if (sel) void act(grid.notice, async () => {
        await call("PATCH", "/omms", { ids: sel.map((o) => o.id), changes: { enabled: on } });
        await grid.reload();
      });
    };
    host.append(
      h(
        "div",
        { class: "toolbar" },
        writeButton("Add", () => editOmm(grid, null)),
        writeButton("Edit", () => {
          const sel = need(1);
          if (sel) editOmm(grid, sel[0]);
        }),
        writeButton("Multi-edit", multiEdit),
        writeButton("Enable", () => setEnabled(true)),
        writeButton("Disable", () => setEnabled(false)),
        writeButton("Delete", () => {
          const sel = need(1);
          if (sel) confirmThen("Delete OMMs", `Delete ${sel.map((o) => `OMM ${o.id} ${o.name}`).join(", ")}? The MOM stops linking to ${sel.length > 1 ? "them" : "it"}.`, "Delete", async () => {
            for (const o of sel) await call("DELETE", `/omms/${o.id}`);
            await grid.reload();
          });
        }),
        button("Configuration file template", templateEditor),
        // The file holds the OMM's passwords: for accounts with write permission.
        writeButton("Show config file", () => {
          const sel = need(1);
          if (sel) showConfigFile(sel[0]);
        }),
        writeButton("Update OMM", () => {
          const sel = need(1);
          if (sel) void updateOmms(sel.map((o) => o.id));
        }),
        writeButton("Update all", () => void updateOmms("all")),
      ),
      grid.el,
    );
    const editId = Number(params.get("edit"));
    if (editId) get<Omm>(`/omms/${editId}`).then((o) => editOmm(grid, o), (e) => grid.notice.error(e));
    return () => grid.destroy();
  },
};

