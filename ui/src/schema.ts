// Record fields from the MOM's own OpenAPI document: types, choices and descriptions for the
// edit forms, so a field the API gains appears in the UI without a second list to keep.

import { get } from "./api";
import { checkbox, field, h, input, select } from "./dom";

interface Property {
  type?: string | string[];
  $ref?: string;
  enum?: string[];
  description?: string;
  oneOf?: Property[];
}

let doc: any = null;

/** Loads the document once. */
export async function load(): Promise<void> {
  if (!doc) doc = await get<any>("/openapi.json");
}

function resolve(p: Property): Property {
  if (p.$ref) return resolve(doc.components.schemas[p.$ref.split("/").pop()!] ?? {});
  if (p.oneOf) {
    const inner = p.oneOf.find((o) => o.type !== "null");
    if (inner) return { ...resolve(inner), description: p.description ?? inner.description };
  }
  return p;
}

/** What kind of control a field gets. */
export type Kind = "text" | "bool" | "number" | "choice" | "readonly";

/** One field of a record. */
export interface Field {
  name: string;
  label: string;
  kind: Kind;
  choices: string[];
  description: string;
}

const LABELS: Record<string, string> = {
  num: "Number",
  name: "Name",
  uid: "User ID",
  ppn: "Device ID",
  ipei: "IPEI",
  ac: "DECT authentication code",
  hierarchy1: "Description 1",
  hierarchy2: "Description 2",
  add_id: "Login / additional ID",
  pin: "PIN",
  sip_auth_id: "SIP authentication name",
  sip_pw: "SIP password",
  home_omm: "Home OMM",
  location: "Location (OMM)",
  rel_type: "Relation type",
  s: "Subscription state",
  hw_type: "HW type",
  uak: "UAK",
  omm1: "OMM 1",
  omm2: "OMM 2",
  cloud_id: "Cloud-ID",
  omm_id: "Hosting OMM",
  lang: "Language",
  vip: "VIP",
  sos_num: "SOS number",
  fac_prefix: "FAC prefix",
  omm_uid: "User ID on its OMM",
  omm_ppn: "Device ID on its OMM",
  timestamp: "Last change",
  timestamp_admin: "Last change by an administrator",
  timestamp_relation: "Last relation change",
  timestamp_roaming: "Last roaming",
  timestamp_subscription: "Last subscription change",
  created: "Created",
  modified: "Last change",
};

/** Fields that hold a time (Unix seconds), shown as a date and time. */
const TIMES = new Set(["created", "modified", "timestamp", "timestamp_admin", "timestamp_relation", "timestamp_roaming", "timestamp_subscription"]);

/** Zero means "none" for these ids: shown as such, not as "0". */
const NONE_WHEN_ZERO: Record<string, string> = { ppn: "none", uid: "none", omm_uid: "not on an OMM yet", omm_ppn: "not on an OMM yet", home_omm: "MOM only", location: "unknown" };

const WORDS: Record<string, string> = { sip: "SIP", pw: "password", id: "ID", pp: "PP", num: "number", bt: "Bluetooth", vcard: "vCard", omm: "OMM", uri: "URI", pin: "PIN", sos: "SOS", ac: "AC", eth: "Ethernet", addr: "address", hw: "HW", enh: "enhanced", cap: "capability", pb: "phone book", loc: "locating", msg: "messaging", recv: "receive" };

/** A readable label for a field name. */
export function label(name: string): string {
  if (LABELS[name]) return LABELS[name];
  const s = name
    .split("_")
    .map((w) => WORDS[w] ?? w)
    .join(" ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

const READ_ONLY = new Set(["uid", "ppn", "created", "timestamp", "timestamp_admin", "timestamp_relation", "timestamp_roaming", "timestamp_subscription", "extra", "omm_uid", "omm_ppn", "uak", "s", "id", "modified", "health", "provisioning_state", "cloud_id", "auto_create"]);

/** The fields of schema `name` (e.g. "User"). */
export function fields(name: string): Field[] {
  const schema = doc.components.schemas[name];
  return Object.entries<Property>(schema.properties).map(([n, raw]) => {
    const p = resolve(raw);
    const type = Array.isArray(p.type) ? p.type.find((t) => t !== "null") : p.type;
    let kind: Kind = "text";
    if (READ_ONLY.has(n)) kind = "readonly";
    else if (p.enum) kind = "choice";
    else if (type === "boolean") kind = "bool";
    else if (type === "integer") kind = "number";
    return { name: n, label: label(n), kind, choices: p.enum ?? [], description: raw.description ?? p.description ?? "" };
  });
}

/** `label` inside a sentence: "Password" → "password"; "SIP password" and "PIN" stay. */
function lowerWord(label: string): string {
  return /^[A-Z]{2}/.test(label) ? label : label.charAt(0).toLowerCase() + label.slice(1);
}

/** What the API shows instead of a secret that is set. */
const REDACTED = "(redacted)";

/** A form for `record`'s fields `names`; `read()` gives the changed values only. A secret
 * field (`options.secret`) starts empty, says whether a value is set, and has a second
 * field to repeat a new value in; left empty it keeps the value. */
export class Form {
  readonly el = h("div", { class: "form" });
  private controls = new Map<string, { f: Field; c: HTMLInputElement | HTMLSelectElement }>();
  private repeats = new Map<string, HTMLInputElement>();

  constructor(
    schema: string,
    readonly record: Record<string, any>,
    names: string[],
    options: { secret?: string[]; multi?: boolean } = {},
  ) {
    const all = new Map(fields(schema).map((f) => [f.name, f]));
    for (const n of names) {
      const f = all.get(n);
      if (!f) continue;
      const value = record[n];
      let c: HTMLInputElement | HTMLSelectElement;
      if (f.kind === "bool") {
        c = checkbox(Boolean(value), { name: n });
        if (options.multi) c.indeterminate = true;
      } else if (f.kind === "choice") {
        const opts: Array<[string, string]> = f.choices.map((x) => [x, x]);
        if (options.multi) opts.unshift(["", "(unchanged)"]);
        c = select(opts, options.multi ? "" : String(value ?? f.choices[0]), { name: n });
      } else {
        const secret = options.secret?.includes(n) ?? false;
        let shown = value === undefined || value === null || options.multi || secret ? "" : String(value);
        if (f.kind === "readonly" && TIMES.has(n)) shown = value ? new Date(Number(value) * 1000).toLocaleString() : "never";
        else if (f.kind === "readonly" && value === 0 && NONE_WHEN_ZERO[n]) shown = NONE_WHEN_ZERO[n];
        c = input(shown, { name: n });
        if (f.kind === "number") c.inputMode = "numeric";
        if (f.kind === "readonly") c.readOnly = true;
        if (options.multi) c.placeholder = "(unchanged)";
        if (secret) {
          c.type = "password";
          c.autocomplete = "new-password";
          if (value === REDACTED) c.placeholder = "(set; unchanged unless you type a new one)";
          const again = input("", { type: "password", name: `${n}-repeat`, autocomplete: "new-password" });
          again.dataset.field = `${n}-repeat`;
          this.repeats.set(n, again);
          c.dataset.field = n;
          this.controls.set(n, { f, c });
          this.el.append(field(f.label, c, f.description), field(`Repeat the ${lowerWord(f.label)}`, again));
          continue;
        }
      }
      c.dataset.field = n;
      this.controls.set(n, { f, c });
      this.el.append(field(f.label, c, f.description));
    }
  }

  /** The control of field `name`. */
  control(name: string): HTMLInputElement | HTMLSelectElement | undefined {
    return this.controls.get(name)?.c;
  }

  /** The values that differ from the record (for a multi-edit: those set). */
  read(multi = false): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [n, { f, c }] of this.controls) {
      if (f.kind === "readonly") continue;
      let v: unknown;
      if (c instanceof HTMLInputElement && c.type === "checkbox") {
        if (multi && c.indeterminate) continue;
        v = c.checked;
      } else if (f.kind === "number") {
        if (multi && c.value === "") continue;
        const n = Number(c.value);
        if (!Number.isInteger(n) || n < 0) throw new Error(`${f.label} must be a whole number (0 or more).`);
        v = n;
      } else {
        const again = this.repeats.get(n);
        if (again) {
          if (c.value !== again.value) throw new Error(`The two ${lowerWord(f.label)} entries differ.`);
          // An empty secret field keeps the value.
          if (c.value === "") continue;
          if (n === "pin" && !/^\d*$/.test(c.value)) throw new Error("The PIN must be digits only.");
        }
        if (multi && c.value === "") continue;
        v = c.value;
      }
      if (multi || v !== this.record[n]) out[n] = v;
    }
    return out;
  }
}
