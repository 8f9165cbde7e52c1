// Before the panes: the pre-login banner and the login (with the authenticator code when the
// account has a second factor), then on first login the EULA and the forced password change
// with each rule shown as met or not while typing.

import { ApiError, call, get, setCsrf, Session } from "./api";
import { act, field, h, input, Notice } from "./dom";

/** Shows the login page in `root`; resolves with the session once logged in. */
export async function login(root: HTMLElement, message = ""): Promise<Session> {
  let banner = { system_name: "MOM", banner_enabled: false, banner_text: "" };
  try {
    banner = await get("/banner");
  } catch {
    /* the login page works without it */
  }
  document.title = `${banner.system_name} – SIP-DECT MOM`;
  return new Promise((resolve) => {
    const notice = new Notice();
    if (message) notice.error(message);
    const name = input("", { autocomplete: "username", name: "name", required: true });
    const password = input("", { type: "password", autocomplete: "current-password", name: "password", required: true });
    const code = input("", { inputmode: "numeric", autocomplete: "one-time-code", name: "code", maxlength: 6 });
    const codeField = field("Authenticator code", code, "Six digits from your authenticator app");
    codeField.hidden = true;
    const submit = h("button", { type: "submit", class: "primary" }, "Log in");
    const form = h("form", { class: "login", "aria-label": "Log in" }, field("Account", name), field("Password", password), codeField, submit, notice.el);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      await act(notice, async () => {
        try {
          const s = await call<Session>("POST", "/session", { name: name.value, password: password.value, code: code.value || null }, { quiet401: true });
          setCsrf(s.csrf_token);
          resolve(s);
        } catch (err) {
          if (err instanceof ApiError && err.code === "second_factor_required") {
            codeField.hidden = false;
            code.focus();
            throw new ApiError(401, err.code, "Enter the code from your authenticator app.");
          }
          throw err;
        }
      }, undefined, submit);
    });
    root.replaceChildren(
      h(
        "main",
        { class: "login-page" },
        h("h1", { class: "system-name" }, banner.system_name),
        h("p", { class: "product" }, "SIP-DECT Multi-OMM Manager"),
        banner.banner_enabled && banner.banner_text ? h("div", { class: "banner", role: "note", "aria-label": "Pre-login banner" }, banner.banner_text) : null,
        form,
      ),
    );
    name.focus();
  });
}

/** The EULA to accept on first login. */
export async function eula(root: HTMLElement): Promise<void> {
  const text = await get<{ version: string; text: string }>("/eula");
  return new Promise((resolve) => {
    const notice = new Notice();
    const accept = h("button", { type: "button", class: "primary" }, "Accept");
    accept.addEventListener("click", () =>
      act(notice, async () => {
        await call("POST", "/eula/accept");
        resolve();
      }, undefined, accept),
    );
    root.replaceChildren(
      h("main", { class: "login-page wide" }, h("h1", {}, "End User License Agreement"), h("p", {}, `Version ${text.version}. Please read and accept it to continue.`), h("pre", { class: "eula", tabindex: 0, "aria-label": "EULA text" }, text.text), accept, notice.el),
    );
    accept.focus();
  });
}

/** A new-password field pair with the rules shown while typing. */
export class NewPassword {
  readonly password = input("", { type: "password", autocomplete: "new-password", name: "new-password" });
  readonly repeat = input("", { type: "password", autocomplete: "new-password", name: "repeat-password" });
  readonly rules = h("ul", { class: "rules", "aria-label": "Password rules", "aria-live": "polite" });
  readonly el: HTMLElement;
  private timer = 0;
  private allMet = false;

  constructor(
    readonly account: () => string,
    readonly old: () => string,
  ) {
    this.el = h("div", {}, field("New password", this.password), field("Repeat the new password", this.repeat), this.rules);
    const check = () => {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => void this.check(), 120);
    };
    this.password.addEventListener("input", check);
    this.repeat.addEventListener("input", check);
    void this.check();
  }

  private async check(): Promise<void> {
    const states = await call<Array<{ rule: string; message: string; met: boolean }>>("POST", "/password-rules", {
      password: this.password.value,
      account: this.account() || null,
      old_password: this.old() || null,
    }).catch(() => []);
    const same = this.password.value !== "" && this.password.value === this.repeat.value;
    this.allMet = states.every((s) => s.met) && same;
    this.rules.replaceChildren(
      ...states.map((s) => h("li", { class: s.met ? "met" : "unmet", "data-rule": s.rule }, h("span", { class: "mark", "aria-hidden": "true" }, s.met ? "✓" : "✗"), `${s.met ? "Met" : "Not met"}: ${s.message}`)),
      h("li", { class: same ? "met" : "unmet", "data-rule": "repeat" }, h("span", { class: "mark", "aria-hidden": "true" }, same ? "✓" : "✗"), `${same ? "Met" : "Not met"}: both entries are the same`),
    );
  }

  /** The new password, or an error when the entries differ. */
  value(): string {
    if (this.password.value !== this.repeat.value) throw new Error("The two entries of the new password differ.");
    return this.password.value;
  }

  /** Whether every rule was met at the last check. */
  met(): boolean {
    return this.allMet;
  }
}

/** The forced password change of a first login. */
export async function forcedPasswordChange(root: HTMLElement, session: Session): Promise<void> {
  return new Promise((resolve) => {
    const notice = new Notice();
    const old = input("", { type: "password", autocomplete: "current-password", name: "old-password" });
    const next = new NewPassword(() => session.account, () => old.value);
    const submit = h("button", { type: "submit", class: "primary" }, "Change password");
    const user = h("input", { type: "text", name: "username", autocomplete: "username", value: session.account, hidden: true, "aria-hidden": "true", tabindex: -1 });
    const form = h("form", { class: "login", "aria-label": "Change password" }, user, field("Current password", old), next.el, submit, notice.el);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void act(notice, async () => {
        await call("POST", "/session/password", { old_password: old.value, new_password: next.value() });
        resolve();
      }, undefined, submit);
    });
    root.replaceChildren(h("main", { class: "login-page" }, h("h1", {}, "Change your password"), h("p", {}, `The account ${session.account} must get a new password before it can be used.`), form));
    old.focus();
  });
}
