// Tables: Tabulator with the admin guide's behaviour. Three-state sort (ascending,
// descending, none: in "none" the server keeps the records in id order, so changes do not
// reorder and new records come last), a filter per column, show/hide columns, multi-select
// of the current page, and live updates from the event stream unless "Suppress table
// updates" holds them back (then a visible "Refresh" control appears). The paged tables
// (users, devices, overview) sort, filter and page on the server, so 50,000 records cost
// the browser one page.

import { AjaxModule, EditModule, FilterModule, FormatModule, InteractionModule, KeybindingsModule, PageModule, PopupModule, ResizeColumnsModule, ResizeTableModule, SelectRowModule, SortModule, Tabulator, TooltipModule } from "tabulator-tables";
import type { ColumnDefinition, Options } from "tabulator-tables";
import { get } from "./api";
import { access, button, h, Notice } from "./dom";
import * as live from "./live";

/** How one table gets its rows. */
export interface GridOptions {
  /** API path: a paged one (`{total, items}`) when `paged`, else a JSON array. */
  url: string;
  /** The field that identifies a row. */
  index: string;
  /** Its columns (field, title, and whether it can be sorted/filtered on the server). */
  columns: ColumnDefinition[];
  /** Live-event entities that change it. */
  entities: string[];
  /** Server-side paging, sorting and filtering. */
  paged?: boolean;
  /** Rows can be selected (for multi-edit and bulk actions). */
  selectable?: boolean;
  /** Offer the show/hide columns control. */
  toggleColumns?: boolean;
  /** What the table is, for screen readers. */
  label: string;
  /** Called on double click / Enter on a row. */
  open?: (row: any) => void;
  /** Rows per page. */
  pageSize?: number;
  /** The order before the user sorts (local tables only), e.g. newest first. */
  initialSort?: { column: string; dir: "asc" | "desc" };
}

// Only the modules the tables use (the full build is twice the size).
Tabulator.registerModule([AjaxModule, EditModule, FilterModule, FormatModule, InteractionModule, KeybindingsModule, PageModule, PopupModule, ResizeColumnsModule, ResizeTableModule, SelectRowModule, SortModule, TooltipModule]);

const FILTER_OPS: Record<string, string> = { like: "contains", "=": "eq", "!=": "ne", "<": "lt", ">": "gt", starts: "starts" };

/** Operators typed before a filter's value, as the guide's filter offers them:
 * `=10042`, `!=Fixed`, `>5`, `<5`, `^Ward` (starts with); without one a filter is
 * "contains" (or the column's own operator). */
const TYPED_OPS: Array<[string, string]> = [["!=", "ne"], ["=", "eq"], [">", "gt"], ["<", "lt"], ["^", "starts"]];

/** A filter's text as its operator and value. */
export function typedFilter(text: string, fallback: string): [string, string] {
  for (const [prefix, op] of TYPED_OPS) if (text.startsWith(prefix) && text.length > prefix.length) return [op, text.slice(prefix.length).trim()];
  return [fallback, text];
}

/** A local table's filter with the same operators (Tabulator's own "like" otherwise). */
function localFilter(text: string, value: unknown): boolean {
  const [op, wanted] = typedFilter(String(text), "contains");
  const have = String(value ?? "");
  const number = (v: string) => (v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : null);
  const [a, b] = [number(have), number(wanted)];
  switch (op) {
    case "eq":
      return have.toLowerCase() === wanted.toLowerCase();
    case "ne":
      return have.toLowerCase() !== wanted.toLowerCase();
    case "gt":
      return a !== null && b !== null ? a > b : have > wanted;
    case "lt":
      return a !== null && b !== null ? a < b : have < wanted;
    case "starts":
      return have.toLowerCase().startsWith(wanted.toLowerCase());
    default:
      return have.toLowerCase().includes(wanted.toLowerCase());
  }
}

/** A table on a pane. */
export class Grid {
  readonly el: HTMLElement;
  readonly table: Tabulator;
  readonly notice = new Notice();
  private readonly refreshBar: HTMLElement;
  private pending = false;
  private timer: number | undefined;
  private unsubscribe: Array<() => void> = [];
  private filterOps = new Map<string, string>();
  private selectedDuringReload: any[] | null = null;
  /** Rows a person selected while a reload ran (their ids): kept with the rest after it. */
  private pickedDuringReload = new Set<any>();

  constructor(readonly options: GridOptions) {
    const host = h("div", { class: "grid", "aria-label": options.label });
    // Wide tables scroll sideways in this region (keyboard users can focus it).
    const scroller = h("div", { class: "grid-scroll", tabindex: 0, role: "region", "aria-label": `${options.label} table` }, host);
    this.refreshBar = h("div", { class: "suppressed", hidden: true }, h("span", {}, "Table updates are suppressed (System settings)."), button("Refresh", () => this.reload(), { class: "refresh" }));
    const tools = h("div", { class: "grid-tools" });
    this.el = h("div", { class: "grid-wrap" }, tools, this.refreshBar, this.notice.el, scroller);
    // Pasted or filled-in text filters at once, as typed text does (Tabulator's filters
    // listen to keys only). Delegated, so a filter box is covered from its first moment.
    host.addEventListener("input", (e) => {
      const box = e.target;
      if (box instanceof HTMLInputElement && box.closest(".tabulator-header-filter") && !(e as InputEvent).isComposing) {
        box.dispatchEvent(new KeyboardEvent("keyup", { key: "Unidentified" }));
      }
    });
    const columns: ColumnDefinition[] = [];
    if (options.selectable) columns.push(this.selectColumn());
    for (const { filterOp, ...c } of options.columns as Array<ColumnDefinition & { filterOp?: string }>) {
      const title = c.title ?? "";
      if (filterOp && c.field) this.filterOps.set(c.field, filterOp);
      columns.push({
        headerFilter: c.headerSort === false ? undefined : "input",
        headerFilterParams: { elementAttributes: { "aria-label": `Filter ${title}`, placeholder: "Filter…", title: "Contains the text; or =, !=, >, < or ^ (starts with) before it" } } as any,
        headerFilterLiveFilter: true,
        ...(options.paged ? {} : { headerFilterFunc: (text: unknown, value: unknown) => localFilter(String(text), value) }),
        ...c,
      });
    }
    // Tabulator's own page-number buttons and "rows" counter keep every earlier copy of
    // themselves alive (16 DOM nodes and 4 listeners more per page load, 14,000 nodes
    // after 10 minutes of live updates): First/Prev/Next/Last and a text counter instead.
    const paging = { paginationButtonCount: 0, paginationCounter: counter };
    const base: Options = {
      index: options.index,
      columns,
      layout: "fitColumns",
      renderVertical: "basic",
      placeholder: "No records",
      columnDefaults: { headerSortTristate: true, tooltip: true, minWidth: 70 },
      headerFilterLiveFilterDelay: 120,
    } as Options;
    if (options.paged) {
      Object.assign(base, {
        pagination: true,
        ...paging,
        paginationMode: "remote",
        paginationSize: options.pageSize ?? 50,
        // The page shown before a refresh or a visit to another pane is shown again.
        paginationInitialPage: Math.max(1, Number(sessionStorage.getItem(this.pageKey()) ?? "1") || 1),
        sortMode: "remote",
        filterMode: "remote",
        ajaxURL: options.url,
        ajaxRequestFunc: (_url: string, _config: unknown, params: any) => this.fetchPage(params),
      });
    } else {
      Object.assign(base, { pagination: true, ...paging, paginationSize: options.pageSize ?? 100 });
      if (options.initialSort) Object.assign(base, { initialSort: [options.initialSort] });
    }
    this.table = new Tabulator(host, base);
    // The select-all box is named as soon as Tabulator draws it, also before the table is
    // built (a person may already see it then) and each time it is drawn again.
    if (options.selectable) {
      this.nameSelectAll(host);
      new MutationObserver(() => this.nameSelectAll(host)).observe(host, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"] });
    }
    if (options.open) {
      this.table.on("rowDblClick", (_e, row) => options.open!(row.getData()));
    }
    // The selection boxes follow the selection, also when it is restored after a reload.
    const mark = (row: any, on: boolean) => {
      const box = row.getElement()?.querySelector('input[type="checkbox"]') as HTMLInputElement | null;
      if (box) box.checked = on;
    };
    this.table.on("rowSelected", (row) => {
      mark(row, true);
      // A row ticked while the rows are being replaced would be lost with the old rows.
      if (this.selectedDuringReload) this.pickedDuringReload.add(row.getData()[this.options.index]);
    });
    this.table.on("rowDeselected", (row) => mark(row, false));
    // A message about what to select goes once something is selected.
    this.table.on("rowSelectionChanged", () => this.notice.clear());

    this.table.on("tableBuilt", () => {
      // The grid role may own only rows: the pager goes after the grid, and the body is
      // not a focus stop of its own (the table grows with its page; the page scrolls).
      const footer = host.querySelector(".tabulator-footer");
      if (footer) scroller.after(footer);
      host.querySelector(".tabulator-tableholder")?.removeAttribute("tabindex");

      if (!options.paged) void this.reload();
    });
    if (options.toggleColumns) tools.append(this.columnToggle());
    this.unsubscribe.push(
      live.onChange((c) => {
        if (c === null || options.entities.includes(c.entity)) this.changed();
      }),
      live.onSuppress(() => this.showSuppressed()),
    );
    this.showSuppressed();
  }

  private showSuppressed(): void {
    this.refreshBar.hidden = !this.options.entities.some((e) => live.suppressed(e));
  }

  /** Names the selection column's header box (Tabulator calls it "Select Row" and draws it
   * again on some loads; an observer of the table names it each time). */
  private nameSelectAll(host: HTMLElement): void {
    const box = host.querySelector('.tabulator-col[tabulator-field="_select"] input[type="checkbox"]');
    const name = "Select every row of this page";
    // Only when it differs: setting it is itself a change the observer sees.
    if (box && box.getAttribute("aria-label") !== name) box.setAttribute("aria-label", name);
  }

  /** Where the page shown is remembered for this browser tab. */
  private pageKey(): string {
    return `mom-page:${this.options.url}`;
  }

  private selectColumn(): ColumnDefinition {
    return {
      title: "",
      field: "_select",
      headerSort: false,
      width: 40,
      hozAlign: "center",
      // Tabulator's own box that selects or clears every row of the page (named once the
      // table is built).
      titleFormatter: "rowSelection",
      titleFormatterParams: { rowRange: "visible" },
      formatter: (cell) => {
        const row = cell.getRow();
        const box = h("input", { type: "checkbox", "aria-label": `Select row ${row.getIndex()}` });
        box.checked = row.isSelected();
        box.addEventListener("click", (e) => {
          e.stopPropagation();
          row.toggleSelect();
          box.checked = row.isSelected();
        });
        return box;
      },
    };
  }

  private columnToggle(): HTMLElement {
    const menu = h("div", { class: "popup", role: "group", "aria-label": "Columns shown", hidden: true });
    // Filled when opened: the columns exist only once the table is built.
    const fill = () => {
      menu.replaceChildren();
      for (const col of this.table.getColumns()) {
        const def = col.getDefinition();
        if (!def.field || def.field === "_select") continue;
        const box = h("input", { type: "checkbox", id: `col-${this.options.label}-${def.field}`.replace(/[^\w-]/g, "_") });
        box.checked = col.isVisible();
        box.addEventListener("change", () => (box.checked ? col.show() : col.hide()));
        menu.append(h("div", { class: "check" }, box, h("label", { for: box.id }, def.title ?? def.field)));
      }
    };
    const toggle = button("Columns", () => {
      if (menu.hidden) fill();
      menu.hidden = !menu.hidden;
      toggle.setAttribute("aria-expanded", String(!menu.hidden));
    }, { "aria-expanded": "false", class: "columns" });
    menu.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        menu.hidden = true;
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });
    return h("div", { class: "popup-host" }, toggle, menu);
  }

  private async fetchPage(params: any): Promise<{ last_page: number; last_row: number; data: any[] }> {
    const size = params.size ?? 50;
    const page = params.page ?? 1;
    const q = new URLSearchParams({ offset: String((page - 1) * size), limit: String(size) });
    const sort = (params.sort ?? [])[0];
    if (sort) {
      q.set("sort", String(sort.field).replace(/^user\./, ""));
      q.set("order", sort.dir);
    }
    for (const f of params.filter ?? []) {
      if (f.value === "" || f.value === undefined || f.value === null) continue;
      const [op, value] = typedFilter(String(f.value), this.filterOps.get(f.field) ?? FILTER_OPS[f.type] ?? "contains");
      q.append("filter", `${String(f.field).replace(/^user\./, "")}:${op}:${value}`);
    }
    try {
      const answer = await get<{ total: number; items: any[] }>(`${this.options.url}?${q}`);
      this.notice.clear();
      sessionStorage.setItem(this.pageKey(), String(page));
      if (page > 1 && answer.items.length === 0 && answer.total > 0) {
        // A remembered page the records no longer reach: the last one instead.
        const last = Math.max(1, Math.ceil(answer.total / size));
        setTimeout(() => void this.table.setPage(last), 0);
      }
      const rows = answer.items.map((r) => (this.options.url === "/overview" ? { ...r, uid: r.user.uid } : r));
      return { last_page: Math.max(1, Math.ceil(answer.total / size)), last_row: answer.total, data: rows };
    } catch (e) {
      this.notice.error(e);
      return { last_page: 1, last_row: 0, data: [] };
    }
  }

  /** Loads the rows again (the current page of a paged table); the selection stays. */
  async reload(): Promise<void> {
    const kept = this.table.getSelectedData();
    const keep = kept.map((r) => r[this.options.index]);
    // While the rows are replaced the selection is empty for a moment: a click on a
    // toolbar button then still acts on what the user selected.
    this.selectedDuringReload = kept;
    try {
      if (this.options.paged) {
        const page = this.table.getPage() || 1;
        await this.table.setPage(page);
      } else {
        try {
          const rows = await get<any[]>(this.options.url);
          await this.table.replaceData(rows);
          this.notice.clear();
        } catch (e) {
          this.notice.error(e);
        }
      }
      const again = [...new Set([...keep, ...this.pickedDuringReload])].filter((id) => this.table.getRow(id));
      if (again.length) this.table.selectRow(again);
    } finally {
      this.selectedDuringReload = null;
      this.pickedDuringReload.clear();
    }
  }

  private changed(): void {
    if (this.pending) return;
    this.pending = true;
    this.timer = window.setTimeout(() => {
      this.pending = false;
      void this.reload();
    }, 300);
  }

  /** The selected rows of the current page. */
  selected(): any[] {
    if (!this.selectedDuringReload) return this.table.getSelectedData();
    const picked = [...this.pickedDuringReload]
      .filter((id) => !this.selectedDuringReload!.some((r) => r[this.options.index] === id))
      .map((id) => this.table.getRow(id)?.getData())
      .filter((r) => r);
    return [...this.selectedDuringReload, ...picked];
  }

  /** Enables `button` only while the number of selected rows meets `fits` (and the account
   * may write); its tooltip says what to select otherwise. */
  needsSelection(button: HTMLButtonElement, fits: (n: number) => boolean, what: string): HTMLButtonElement {
    const update = () => {
      if (!access.write) return;
      const ok = fits(this.table.getSelectedRows().length);
      button.disabled = !ok;
      button.title = ok ? "" : what;
    };
    this.table.on("rowSelectionChanged", update);
    // Before the table is built nothing is selected.
    if (access.write) {
      button.disabled = !fits(0);
      button.title = fits(0) ? "" : what;
    }
    return button;
  }

  /** Stops its live updates (the pane was left). */
  destroy(): void {
    window.clearTimeout(this.timer);
    this.unsubscribe.forEach((f) => f());
    this.table.destroy();
  }
}

/** The pager's text: "No records", "1 record", "Showing 51–100 of 300 records". */
export function counter(size: number, row: number, _page: number, total: number): string {
  if (!total) return "No records";
  if (total === 1) return "1 record";
  return `Showing ${row}–${Math.min(row + size - 1, total)} of ${total} records`;
}

/** A cell formatter: a check mark or a cross, with words for screen readers. */
export function yesNo(cell: any): HTMLElement {
  const v = Boolean(cell.getValue());
  return h("span", { class: v ? "yes" : "no", "aria-label": v ? "yes" : "no" }, v ? "✓" : "✗");
}
