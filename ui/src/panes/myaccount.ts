// "My account" (beyond the original): the logged-in account's password, its second factor
// (TOTP enrolment with an authenticator app) and its API tokens.

import { call, get, Session } from "../api";
import { act, confirmThen, field, h, input, Notice, section, button, when } from "../dom";
import { NewPassword } from "../login";
import type { Pane } from "./index";
import type { TokenInfo } from "../types";

export const myAccount: Pane = {
  id: "account",
  title: "My account",
  nav: false,
  async render(host) {
    const s = await get<Session>("/session");
    // Password.
    const pwNotice = new Notice();
    const old = input("", { type: "password", name: "old-password", autocomplete: "current-password" });
    const next = new NewPassword(() => s.account, () => old.value);
    const change = button("Change password", () => void act(pwNotice, () => call("POST", "/session/password", { old_password: old.value, new_password: next.value() }), "Password changed."));
    // Second factor.
    const tfNotice = new Notice();
    const tf = h("div", {});
    const drawFactor = (enrolled: boolean) => {
      const code = input("", { inputmode: "numeric", name: "totp-code", maxlength: 6, autocomplete: "one-time-code" });
      if (enrolled) {
        tf.replaceChildren(h("p", {}, "A second factor is set up: logins need the code of your authenticator app."), field("Current code", code), button("Remove the second factor", () => void act(tfNotice, async () => {
          await call("DELETE", "/session/second-factor", { code: code.value });
          drawFactor(false);
        }, "Second factor removed.")));
      } else {
        tf.replaceChildren(h("p", {}, "No second factor: logins need only the password."), button("Set up an authenticator app", () => void act(tfNotice, async () => {
          const e = await call<{ secret: string; otpauth_url: string }>("POST", "/session/second-factor");
          // The QR code's library is loaded when it is first needed.
          const { qrCode } = await import("../qr");
          tf.replaceChildren(
            h("p", {}, "Scan this code with your authenticator app (or type the secret into it), then enter the code it shows."),
            h("div", { class: "totp-qr" }, qrCode(e.otpauth_url, "QR code of the authenticator secret")),
            h("p", {}, "Secret: ", h("code", { class: "totp-secret" }, e.secret)),
            h("details", {}, h("summary", {}, "The otpauth link"), h("code", { class: "otpauth" }, e.otpauth_url)),
            field("Code from the app", code),
            button("Confirm", () => void act(tfNotice, async () => {
              await call("POST", "/session/second-factor/confirm", { code: code.value });
              drawFactor(true);
            }, "Second factor set up.")),
          );
        })));
      }
    };
    drawFactor(s.second_factor);
    // Tokens.
    const tokNotice = new Notice();
    const list = h("ul", { class: "tokens" });
    const drawTokens = async () => {
      const tokens = await get<TokenInfo[]>("/session/tokens");
      list.replaceChildren(...tokens.map((t) => h("li", {}, `${t.name} (made ${when(t.created)}) `, button("Revoke", () => confirmThen("Revoke token", `Revoke the API token ${t.name}? Programs using it can no longer log in.`, "Revoke", async () => {
        await call("DELETE", `/session/tokens/${t.id}`);
        await drawTokens();
      }), { "aria-label": `Revoke ${t.name}` }))));
      if (!tokens.length) list.append(h("li", {}, "No API tokens."));
    };
    const tokName = input("", { name: "token-name" });
    const secret = h("p", { class: "token-secret" });
    await drawTokens();
    host.append(
      section("Password", field("Current password", old), next.el, change, pwNotice.el),
      section("Second factor", tf, tfNotice.el),
      section(
        "API tokens",
        h("p", {}, "A token lets a program use the API as this account: send it as Authorization: Bearer <token>."),
        list,
        field("Name of a new token", tokName),
        button("Create token", () => void act(tokNotice, async () => {
          const t = await call<{ secret: string }>("POST", "/session/tokens", { name: tokName.value });
          secret.textContent = `New token (shown once, copy it now): ${t.secret}`;
          await drawTokens();
        })),
        secret,
        tokNotice.el,
      ),
    );
  },
};
