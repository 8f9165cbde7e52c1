// Small DOM helpers: elements, labelled fields, dialogs, tabs, inline errors and progress.
// Every control made here has a label; every dialog is a native <dialog> (focus trapped,
// Escape closes it).

import { ApiError } from "./api";

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

/** Makes an element: attributes (`on…` are listeners, booleans toggle) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

let ids = 0;
/** A fresh id for label/aria wiring. */
export function uid(prefix = "f"): string {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** Whether the logged-in account may change things (set once after login). */
export const access = { write: true };

/** A button that changes something: disabled, with the reason, for a read-only account. */
export function writeButton(label: string, onclick: () => void, attrs: Attrs = {}): HTMLButtonElement {
  const b = h("button", { type: "button", ...attrs, onclick: () => onclick() }, label);
  if (!access.write) {
    b.disabled = true;
    b.title = "Your account is read-only";
  }
  return b;
}

/** For a read-only account: disables every input, choice, text area and file picker inside
 * `root` (settings that only an account with write permission may change), so that no
 * control invites a change that would then be refused. */
export function readOnlyControls(root: HTMLElement): void {
  if (access.write) return;
  root.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>("input, select, textarea").forEach((c) => {
    c.disabled = true;
    c.title = "Your account is read-only";
  });
}

/** A plain button. */
export function button(label: string, onclick: () => void, attrs: Attrs = {}): HTMLButtonElement {
  return h("button", { type: "button", ...attrs, onclick: () => onclick() }, label);
}

/** A labelled input; returns the wrapper and the control. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  if (!control.id) control.id = uid();
  const hintEl = hint ? h("small", { id: `${control.id}-hint`, class: "hint" }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  if (control instanceof HTMLInputElement && control.type === "checkbox") {
    return h("div", { class: "field check" }, control, h("label", { for: control.id }, label), hintEl);
  }
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintEl);
}

/** A text input. */
export function input(value = "", attrs: Attrs = {}): HTMLInputElement {
  const i = h("input", { type: "text", ...attrs });
  i.value = value;
  return i;
}

/** A checkbox. */
export function checkbox(checked: boolean, attrs: Attrs = {}): HTMLInputElement {
  const i = h("input", { type: "checkbox", ...attrs });
  i.checked = checked;
  return i;
}

/** A select of `options` (value, text). */
export function select(options: Array<[string, string]>, value: string, attrs: Attrs = {}): HTMLSelectElement {
  const s = h("select", attrs, ...options.map(([v, t]) => h("option", { value: v }, t)));
  s.value = value;
  return s;
}

/** The place where an action's error (or success) is shown, next to the action. */
export class Notice {
  readonly el = h("div", { class: "notice", role: "status", "aria-live": "polite" });

  /** Shows an error in the administrator's words. */
  error(e: unknown): void {
    this.el.className = "notice error";
    this.el.setAttribute("role", "alert");
    this.el.textContent = e instanceof ApiError || e instanceof Error ? e.message : String(e);
  }

  /** Shows that something worked. */
  ok(text: string): void {
    this.el.className = "notice ok";
    this.el.setAttribute("role", "status");
    this.el.textContent = text;
  }

  /** Clears it. */
  clear(): void {
    this.el.className = "notice";
    this.el.textContent = "";
  }
}

/** Runs `work`, showing its error on `notice`; the button is disabled meanwhile. */
export async function act(notice: Notice, work: () => Promise<unknown>, done?: string, btn?: HTMLButtonElement): Promise<boolean> {
  notice.clear();
  if (btn) btn.disabled = true;
  try {
    await work();
    if (done) notice.ok(done);
    return true;
  } catch (e) {
    notice.error(e);
    return false;
  } finally {
    if (btn && access.write) btn.disabled = false;
  }
}

/** A modal dialog with a title, content and buttons; `close()` removes it. */
export class Dialog {
  readonly el: HTMLDialogElement;
  readonly body: HTMLElement;
  readonly notice = new Notice();
  readonly footer: HTMLElement;

  constructor(title: string, wide = false) {
    const heading = h("h2", { id: uid("dlg") }, title);
    this.body = h("div", { class: "dialog-body" });
    this.footer = h("div", { class: "dialog-buttons" });
    this.el = h("dialog", { class: wide ? "wide" : "", "aria-labelledby": heading.id }, heading, this.body, this.notice.el, this.footer);
    this.el.addEventListener("close", () => this.el.remove());
    // Enter in a one-line field submits the dialog, as in any form.
    this.el.addEventListener("keydown", (e) => {
      const t = e.target;
      if (e.key !== "Enter" || !(t instanceof HTMLInputElement) || ["checkbox", "radio", "file", "button", "submit"].includes(t.type)) return;
      const primary = this.footer.querySelector<HTMLButtonElement>("button.primary");
      if (primary && !primary.disabled) {
        e.preventDefault();
        primary.click();
      }
    });
    document.body.append(this.el);
  }

  /** Adds a button to the footer. */
  button(label: string, onclick: (b: HTMLButtonElement) => void, primary = false, writes = false): HTMLButtonElement {
    const b = h("button", { type: "button", class: primary ? "primary" : "" }, label);
    b.addEventListener("click", () => onclick(b));
    if (writes && !access.write) {
      b.disabled = true;
      b.title = "Your account is read-only";
    }
    this.footer.append(b);
    return b;
  }

  /** Adds a primary button that runs `work` and closes the dialog when it succeeds. */
  submit(label: string, work: () => Promise<unknown>): HTMLButtonElement {
    return this.button(
      label,
      async (b) => {
        if (await act(this.notice, work, undefined, b)) this.close();
      },
      true,
      true,
    );
  }

  /** Shows it. */
  open(): this {
    if (!this.footer.querySelector(".cancel")) {
      // "Cancel" abandons work; a dialog that only shows something is closed.
      const c = h("button", { type: "button", class: "cancel" }, this.footer.querySelector(".primary") ? "Cancel" : "Close");
      c.addEventListener("click", () => this.close());
      this.footer.append(c);
    }
    this.el.showModal();
    return this;
  }

  /** Closes and removes it. */
  close(): void {
    if (this.el.open) this.el.close();
    this.el.remove();
  }
}

/** Asks to confirm `question`; resolves after `work` succeeded (errors stay in the dialog). */
export function confirmThen(title: string, question: string, label: string, work: () => Promise<unknown>): void {
  const d = new Dialog(title);
  d.body.append(h("p", {}, question));
  d.submit(label, work);
  d.open();
  // Enter or Space alone must not confirm a deletion: the focus starts on Cancel.
  d.footer.querySelector<HTMLButtonElement>("button.cancel")?.focus();
}

/** Tabs: a tablist with one panel per tab, operable with the arrow keys. */
export function tabs(items: Array<[string, HTMLElement]>, onChange?: (index: number) => void): HTMLElement {
  const list = h("div", { role: "tablist", class: "tabs" });
  const panels: HTMLElement[] = [];
  const buttons: HTMLButtonElement[] = [];
  const choose = (i: number, focus: boolean) => {
    buttons.forEach((b, j) => {
      b.setAttribute("aria-selected", String(i === j));
      b.tabIndex = i === j ? 0 : -1;
      panels[j].hidden = i !== j;
    });
    if (focus) buttons[i].focus();
    onChange?.(i);
  };
  items.forEach(([name, panel], i) => {
    const id = uid("tab");
    const b = h("button", { type: "button", role: "tab", id, "aria-controls": `${id}-panel` }, name);
    b.addEventListener("click", () => choose(i, false));
    b.addEventListener("keydown", (e: KeyboardEvent) => {
      if (e.key === "ArrowRight") choose((i + 1) % items.length, true);
      if (e.key === "ArrowLeft") choose((i + items.length - 1) % items.length, true);
    });
    panel.id = `${id}-panel`;
    panel.setAttribute("role", "tabpanel");
    panel.setAttribute("aria-labelledby", id);
    buttons.push(b);
    panels.push(panel);
    list.append(b);
  });
  const wrap = h("div", { class: "tabbed" }, list, ...panels);
  choose(0, false);
  return wrap;
}

/** A progress bar with a text, for long work. */
export class Progress {
  readonly bar = h("progress", { max: 100 });
  readonly text = h("span", {});
  readonly el = h("div", { class: "progress", role: "status", "aria-live": "polite" }, this.bar, this.text);

  constructor(label: string) {
    this.bar.setAttribute("aria-label", label);
    this.el.hidden = true;
  }

  /** Shows `done` of `total` (undefined total: indeterminate) with a text. */
  set(text: string, done?: number, total?: number): void {
    this.el.hidden = false;
    if (done !== undefined && total) {
      this.bar.max = total;
      this.bar.value = done;
    } else {
      this.bar.removeAttribute("value");
    }
    this.text.textContent = text;
  }

  /** Hides it. */
  hide(): void {
    this.el.hidden = true;
  }
}

/** A Unix time as local date and time; "never" for 0/null. */
export function when(secs: number | null | undefined): string {
  if (!secs) return "never";
  return new Date(secs * 1000).toLocaleString();
}

/** Saves `data` as a download named `name`. */
export function download(name: string, data: Blob): void {
  const url = URL.createObjectURL(data);
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A section with a heading. */
export function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "card", "aria-label": title }, h("h3", {}, title), ...children);
}
