// "EULA / Version info": the End User License Agreement and the installed version.

import { get } from "../api";
import { h, Notice, section } from "../dom";
import type { Pane } from "./index";
import type { Version, Eula } from "../types";

export const about: Pane = {
  id: "about",
  title: "EULA / Version info",
  nav: true,
  async render(host) {
    const notice = new Notice();
    host.append(notice.el);
    try {
      const [v, e] = await Promise.all([get<Version>("/version"), get<Eula>("/eula")]);
      host.append(
        section("Version", h("dl", {}, h("dt", {}, "MOM software"), h("dd", { class: "version" }, v.version), h("dt", {}, "EULA version"), h("dd", {}, v.eula_version), h("dt", {}, "Internal protocol"), h("dd", {}, String(v.ipc_protocol)))),
        section("End User License Agreement", h("pre", { class: "eula", tabindex: 0, "aria-label": "EULA text" }, e.text)),
      );
    } catch (err) {
      notice.error(err);
    }
  },
};
