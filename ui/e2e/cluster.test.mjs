// The Cluster pane: a MOM that runs alone says so and how to begin; a cluster node (made
// with the CLI as the README says) shows every node with its role, log, lag and last
// contact; a node added by mistake (never started) is removed after confirmation, and the
// audit trail says who did it; a read-only account finds the Remove button disabled.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import * as H from "./harness.mjs";

let mom;
let browser;
let page;
let api;

before(async () => ({ mom, api, browser, page } = await H.open({ pane: "Cluster" })));
after(() => H.close(browser, mom));

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

test("a MOM that runs alone says so and how to make it a cluster's first node", async () => {
  const alone = page.getByRole("heading", { name: "This MOM runs alone" });
  await alone.waitFor();
  assert.ok(await H.seenByPerson(alone));
  assert.ok(await H.seenByPerson(page.getByText("sip-dect-mom cluster init --address")));
  assert.equal(await page.getByRole("table", { name: "Cluster nodes" }).isVisible(), false);
  assert.deepEqual(await api.get("/cluster"), { clustered: false, node: null, role: "", term: 0, leader: null, last_log: null, applied: null, members: [] });
  await H.screenshot(page, "cluster-alone");
});

test("a cluster node shows its nodes; a node never started is removed after confirmation", async () => {
  const port = await freePort();
  const init = await mom.cli("cluster", "init", "--address", `127.0.0.1:${port}`);
  assert.equal(init.code, 0, init.stderr);
  const section = init.stdout.slice(init.stdout.indexOf("[cluster]"));
  await mom.restartWith(`\n${section}heartbeat-ms = 100\nelection-ms = 600\n`);
  api = await H.api(mom);
  await H.waitFor(async () => (await api.get("/cluster")).leader === 1, 30_000, "node 1 to lead");
  // Node 2 is added (as the README says) but never started: it stays a learner.
  const added = await mom.cli("cluster", "add-node", "--id", "2", "--address", "127.0.0.1:9");
  assert.equal(added.code, 0, added.stderr);
  await api.call("POST", "/accounts", { name: "viewer", password: "Green.Heron-77", write: false });

  // The session outlived the restart (sessions live in the store); the MOM has a new port.
  await page.goto(`${mom.url}/`);
  await page.getByRole("navigation", { name: "Configuration panes" }).waitFor();
  await H.openPane(page, "Cluster");
  const table = page.getByRole("table", { name: "Cluster nodes" });
  const one = table.locator('tr[data-node="1"]');
  const two = table.locator('tr[data-node="2"]');
  await two.waitFor();
  for (const row of [one, two]) assert.ok(await H.seenByPerson(row));
  assert.match(await page.locator(".cluster-summary").innerText(), /^Node 1: leader, term \d+, leader node 1, log \d+, applied \d+\.$/);
  assert.match(await one.innerText(), /1 \(this node\)\s+127\.0\.0\.1:\d+\s+leader\s+\d+\s+0\s+this node/);
  assert.match(await two.innerText(), /2\s+127\.0\.0\.1:9\s+learner\s+—\s+—\s+never/);
  assert.equal(await one.getByRole("button").count(), 0, "a node cannot remove itself");
  await H.screenshot(page, "cluster-nodes");

  // A read-only account sees Remove, disabled, and the reason.
  const ro = await H.newPage(browser);
  await H.loginReplacingPassword(ro, mom, "viewer", "Green.Heron-77", "Grey.Heron-78x");
  await H.openPane(ro, "Cluster");
  const roRemove = ro.getByRole("button", { name: "Remove node 2" });
  await roRemove.waitFor();
  assert.equal(await roRemove.isDisabled(), true);
  assert.equal(await roRemove.getAttribute("title"), "Your account is read-only");
  await ro.close();

  await two.getByRole("button", { name: "Remove node 2" }).click();
  const d = page.getByRole("dialog", { name: "Remove a node" });
  assert.ok(await H.seenByPerson(d.getByText("Remove node 2 (127.0.0.1:9) from the cluster?")));
  await H.submit(d, "Remove");
  await two.waitFor({ state: "detached" });
  assert.deepEqual((await api.get("/cluster")).members.map((m) => m.id), [1]);
  const entry = (await api.get("/audit")).find((e) => e.action === "cluster.remove_node");
  assert.ok(entry, "the removal is in the audit trail");
  assert.equal(entry.actor, "mom");
  assert.equal(entry.target, "node 2");
});

test("the last node cannot remove itself, in words", async () => {
  await assert.rejects(api.call("DELETE", "/cluster/nodes/1"), /400 .*this node cannot remove itself/);
  await assert.rejects(api.call("DELETE", "/cluster/nodes/7"), /400 .*node 7 is no member/);
});
