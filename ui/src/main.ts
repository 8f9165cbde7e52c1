// The app: session start (login, EULA, forced password change), then the layout of the
// admin guide's "MOM interface": the system name, the login area, the configuration panes
// and the bottom ribbon. Panes are addressed by the URL's hash (`#/users?view=devices`), so a
// browser refresh and back/forward keep the session and the pane.

import { ApiError, call, get, Session, setCsrf, whenUnauthorised } from "./api";
import { access, h } from "./dom";
import * as live from "./live";
import { eula, forcedPasswordChange, login } from "./login";
import * as schema from "./schema";
import { Ribbon } from "./ribbon";
import { PANES, Pane } from "./panes";
import { me } from "./panes/accounts";

const root = document.getElementById("app")!;
let session: Session | null = null;
let current: { pane: Pane; leave?: () => void } | null = null;

async function start(message = ""): Promise<void> {
  live.stop();
  session = null;
  try {
    session = await call<Session>("GET", "/session", undefined, { quiet401: true });
    setCsrf(session.csrf_token);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) message = message || (e as Error).message;
  }
  if (!session) session = await login(root, message);
  if (session.eula_required) await eula(root);
  if (session.password_change_required) await forcedPasswordChange(root, session);
  [session] = await Promise.all([get<Session>("/session"), schema.load()]);
  access.write = session.write;
  me.id = session.account_id;
  await shell(session);
}

let navLinks: HTMLAnchorElement[] = [];
let paneHost: HTMLElement;
let systemName: HTMLElement;

async function shell(s: Session): Promise<void> {
  systemName = h("span", { class: "system-name" }, "MOM");
  const logout = h("button", { type: "button", class: "logout" }, "Log out");
  logout.addEventListener("click", async () => {
    try {
      await call("DELETE", "/session");
    } catch {
      /* the session is gone either way */
    }
    location.hash = "";
    void start();
  });
  const header = h(
    "header",
    { class: "top" },
    h("h1", {}, systemName),
    h("div", { class: "login-area", "aria-label": "Login area" }, h("span", { class: "who" }, `${s.account}${s.write ? "" : " (read-only)"}`), h("a", { href: "#/account" }, "My account"), logout),
  );
  navLinks = PANES.filter((p) => p.nav).map((p) => h("a", { href: `#/${p.id}`, "data-pane": p.id }, p.title));
  const nav = h("nav", { "aria-label": "Configuration panes" }, h("ul", {}, ...navLinks.map((a) => h("li", {}, a))));
  paneHost = h("main", { id: "pane", tabindex: -1 });
  // The ribbon reads the settings (at start and on every settings change); the header's
  // system name and the suppress mode come from the same answer.
  const ribbon = new Ribbon((st) => {
    systemName.textContent = st.system_name;
    document.title = `${st.system_name} – SIP-DECT MOM`;
    live.setSuppress(st.suppress_table_updates);
  });
  root.replaceChildren(h("div", { class: "layout" }, header, nav, paneHost, ribbon.el));
  live.start();
  await route();
}

async function route(): Promise<void> {
  if (!session) return;
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  const pane = PANES.find((p) => p.id === path) ?? PANES[0];
  current?.leave?.();
  navLinks.forEach((a) => (a.dataset.pane === pane.id ? a.setAttribute("aria-current", "page") : a.removeAttribute("aria-current")));
  const host = h("div", { class: `pane pane-${pane.id}` });
  paneHost.replaceChildren(h("h2", { class: "pane-title" }, pane.title), host);
  const leave = await pane.render(host, new URLSearchParams(query ?? ""));
  current = { pane, leave: leave ?? undefined };
}

window.addEventListener("hashchange", () => void route());
whenUnauthorised((message) => {
  if (session) void start(message ?? "Your session has ended. Please log in again.");
});
void start();
