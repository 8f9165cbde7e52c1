// "Cluster" (beyond the original MOM): the nodes of a MOM cluster as the node serving this
// page sees them (role, log, lag, last contact), removing a node, and how to add one. A node
// is added on the leader's console: its join token carries private keys, which never pass
// through the browser.

import { call, get } from "../api";
import { confirmThen, h, Notice, section, writeButton } from "../dom";
import type { Pane } from "./index";
import type { ClusterView, NodeView } from "../types";

function badge(ok: boolean, text: string): HTMLElement {
  return h("span", { class: `badge ${ok ? "good" : "bad"}` }, text);
}

function index(i: number | null | undefined): string {
  return i === null || i === undefined ? "—" : String(i);
}

function contact(view: ClusterView, n: NodeView): string {
  if (n.this_node) return "this node";
  if (view.role !== "leader") return "known on the leader";
  return n.last_contact_ms === null || n.last_contact_ms === undefined ? "never" : `${(n.last_contact_ms / 1000).toFixed(1)} s ago`;
}

export const cluster: Pane = {
  id: "cluster",
  title: "Cluster",
  nav: true,
  render(host) {
    const notice = new Notice();
    const summary = h("p", { class: "cluster-summary" });
    const nodes = h("table", { class: "plain", "aria-label": "Cluster nodes" });
    const adding = h("div", {});
    const alone = h("div", {});
    host.append(notice.el, alone, section("This node", summary), section("Nodes", nodes), section("Add a node", adding));
    const sections = Array.from(host.querySelectorAll("section"));
    const load = async () => {
      try {
        const view = await get<ClusterView>("/cluster");
        notice.clear();
        sections.forEach((s) => (s.hidden = !view.clustered));
        if (!view.clustered) {
          alone.replaceChildren(
            section(
              "This MOM runs alone",
              h("p", {}, "It is no cluster node: there is no [cluster] section in its mom.toml. To make it the first node of a cluster, keeping its database, run this on its console as root and follow what it prints:"),
              h("pre", {}, "sip-dect-mom cluster init --address THIS-HOST:7946"),
              h("p", {}, "The README's \"A three-node cluster\" has every step."),
            ),
          );
          return;
        }
        alone.replaceChildren();
        const leader = view.leader === null || view.leader === undefined ? null : view.leader;
        summary.replaceChildren(
          `Node ${view.node}: `,
          badge(leader !== null, view.role),
          `, term ${view.term}, leader ${leader === null ? "none (an election, or no majority reachable)" : `node ${leader}`}, log ${index(view.last_log)}, applied ${index(view.applied)}.`,
        );
        nodes.replaceChildren(
          h("thead", {}, h("tr", {}, ...["Node", "Address", "Role", "Matched", "Lag", "Last contact", "Action"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            ...view.members.map((n) => {
              const remove = n.this_node
                ? h("span", {}, "")
                : writeButton("Remove", () =>
                    confirmThen("Remove a node", `Remove node ${n.id} (${n.address}) from the cluster? Stop its MOM first: a removed node that still runs hears no leader.`, "Remove", async () => {
                      await call("DELETE", `/cluster/nodes/${n.id}`);
                      await load();
                    }),
                  { "aria-label": `Remove node ${n.id}` });
              return h(
                "tr",
                { "data-node": n.id },
                h("td", {}, String(n.id), n.this_node ? " (this node)" : ""),
                h("td", {}, n.address),
                h("td", {}, n.role),
                h("td", {}, index(n.matched)),
                h("td", {}, index(n.lag)),
                h("td", {}, contact(view, n)),
                h("td", {}, remove),
              );
            }),
          ),
        );
        adding.replaceChildren(
          h("p", {}, `On the leader's console${leader === null ? "" : ` (node ${leader})`}, as root, with the new node's id and peer address:`),
          h("pre", {}, "sip-dect-mom cluster add-node --id N --address NEW-HOST:7946"),
          h("p", {}, "It prints a one-time join token to run on the new node (sip-dect-mom cluster join TOKEN). The token carries private keys, so it is made on the console and not here. The new node catches up as a learner, then votes."),
        );
      } catch (e) {
        notice.error(e);
      }
    };
    void load();
    const timer = window.setInterval(load, 2000);
    return () => window.clearInterval(timer);
  },
};
