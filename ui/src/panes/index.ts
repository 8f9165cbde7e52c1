// The configuration panes, in the admin guide's order, and the extra ones of this MOM.

import { health } from "./health";
import { cluster } from "./cluster";
import { settings } from "./settings";
import { accounts } from "./accounts";
import { omms } from "./omms";
import { users } from "./users";
import { rooms } from "./rooms";
import { statistics } from "./statistics";
import { eventLog } from "./eventlog";
import { audit } from "./audit";
import { about } from "./about";
import { myAccount } from "./myaccount";

/** One pane: what it is called and how it draws itself; `render` may return a cleanup. */
export interface Pane {
  id: string;
  title: string;
  /** Listed in the navigation. */
  nav: boolean;
  render(host: HTMLElement, params: URLSearchParams): Promise<(() => void) | void> | (() => void) | void;
}

/** Every pane; the first is the start pane. */
export const PANES: Pane[] = [health, settings, accounts, omms, users, rooms, statistics, eventLog, audit, cluster, about, myAccount];
