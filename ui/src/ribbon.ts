// The bottom ribbon: the DECT phone subscription icon (Off / Subscription / Wildcard, changed
// from its pop-up), the auto-create icon (a click toggles it), the SARI and the live-update
// state.

import { call, get } from "./api";
import { access, h, Notice } from "./dom";
import * as live from "./live";

const MODES: Array<[string, string]> = [
  ["Off", "Off: no DECT phone can subscribe"],
  ["Subscription", "Subscription: configured DECT phones can subscribe"],
  ["Wildcard", "Wildcard: any DECT phone can subscribe"],
];

/** The settings the ribbon and the header show. */
export interface RibbonSettings {
  system_name: string;
  suppress_table_updates: string;
  subscription_mode: string;
  auto_create: boolean;
  sari: string;
  /** The SARI as handsets print it ("31100 5064 1024 *"). */
  sari_printed: string;
}

/** The ribbon. */
export class Ribbon {
  readonly el: HTMLElement;
  private subscription = h("button", { type: "button", class: "subscription", "aria-haspopup": "true", "aria-expanded": "false" }, "Subscription: …");
  private menu = h("div", { class: "popup up", role: "radiogroup", "aria-label": "DECT phone subscription", hidden: true });
  private autoCreate = h("button", { type: "button", class: "auto-create", "aria-pressed": "false" }, "Auto-create");
  private sari = h("span", { class: "sari" }, "SARI: …");
  private state = h("span", { class: "live", role: "status" }, "");
  private notice = new Notice();
  private mode = "Off";

  /** `onSettings` gets every settings answer the ribbon reads. */
  constructor(private readonly onSettings: (settings: RibbonSettings) => void) {
    this.el = h("footer", { class: "ribbon", "aria-label": "Status ribbon" }, h("div", { class: "popup-host" }, this.subscription, this.menu), this.autoCreate, this.sari, this.state, this.notice.el);
    if (!access.write) {
      for (const b of [this.subscription, this.autoCreate]) {
        b.disabled = true;
        b.title = "Your account is read-only";
      }
    }
    for (const [value, text] of MODES) {
      const id = `sub-${value}`;
      const radio = h("input", { type: "radio", name: "subscription-mode", id, value });
      radio.addEventListener("change", () => void this.set({ subscription_mode: value }));
      this.menu.append(h("div", { class: "check" }, radio, h("label", { for: id }, text)));
    }
    this.subscription.addEventListener("click", () => this.toggleMenu(this.menu.hidden));
    this.menu.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        this.toggleMenu(false);
        this.subscription.focus();
      }
    });
    this.autoCreate.addEventListener("click", () => void this.set({ auto_create: this.autoCreate.getAttribute("aria-pressed") !== "true" }));
    live.onChange((c) => {
      if (c === null || c.entity === "Settings" || c.entity === "License") void this.load();
    });
    window.setInterval(() => (this.state.textContent = live.connected ? "Live" : "Reconnecting…"), 1000);
    void this.load();
  }

  private toggleMenu(open: boolean): void {
    this.menu.hidden = !open;
    this.subscription.setAttribute("aria-expanded", String(open));
    if (open) (this.menu.querySelector(`input[value="${this.mode}"]`) as HTMLInputElement | null)?.focus();
  }

  private async set(change: Record<string, unknown>): Promise<void> {
    this.notice.clear();
    try {
      await call("PATCH", "/settings", change);
      this.toggleMenu(false);
      await this.load();
    } catch (e) {
      this.notice.error(e);
    }
  }

  private async load(): Promise<void> {
    try {
      const s = await get<RibbonSettings>("/settings");
      this.onSettings(s);
      this.mode = s.subscription_mode;
      this.subscription.textContent = `Subscription: ${s.subscription_mode}`;
      this.subscription.dataset.mode = s.subscription_mode;
      (this.menu.querySelector(`input[value="${s.subscription_mode}"]`) as HTMLInputElement).checked = true;
      this.autoCreate.setAttribute("aria-pressed", String(s.auto_create));
      this.autoCreate.textContent = `Auto-create: ${s.auto_create ? "on" : "off"}`;
      this.sari.textContent = `SARI: ${s.sari ? `${s.sari_printed} / ${s.sari}` : "none (import a license)"}`;
    } catch (e) {
      this.notice.error(e);
    }
  }
}
