// The admin view: trading state (the kill switch, confirmed before halting) and the
// risk limits in force for each account.

import { $, h, money, qty } from "./dom.js";
import { problemOutcome, report } from "./orders.js";

const POLL_MS = 2000;
const LIMIT_FIELDS = [
  ["max_order_quantity", "Max order qty", qty],
  ["max_order_notional", "Max order notional", money],
  ["max_position", "Max position", qty],
  ["max_gross_exposure", "Max gross exposure", money],
  ["starting_cash", "Starting cash", money],
  ["max_leverage", "Max leverage", (v) => `${v}×`],
  ["max_orders_per_second", "Orders / s", qty],
  ["price_collar_pct", "Price collar", (v) => `${v}%`],
  ["restricted_symbols", "Restricted", (v) => (v.length ? v.join(", ") : "—")],
];

export class AdminPanel {
  constructor(client) {
    this.client = client;
    this.result = $("#admin-result");
    this.pendingState = null;
  }

  start() {
    $("#halt").addEventListener("click", () => this.confirm("HALTED"));
    $("#reduce").addEventListener("click", () => this.confirm("REDUCING"));
    $("#resume").addEventListener("click", () => this.change("ACTIVE", "resumed from the trading page"));
    $("#halt-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const dialog = $("#halt-dialog");
      const confirmed = event.submitter && event.submitter.value === "confirm";
      dialog.close();
      if (confirmed) this.change(this.pendingState, $("#halt-reason").value || "kill switch");
    });
    this.refresh();
    this.timer = setInterval(() => this.refresh(), POLL_MS);
  }

  stop() {
    clearInterval(this.timer);
  }

  confirm(state) {
    this.pendingState = state;
    $("#halt-question").textContent =
      state === "HALTED"
        ? "Halt all trading? Every new order is rejected until trading is resumed."
        : "Set reduce-only? Only orders that shrink a position are accepted.";
    $("#halt-confirm").textContent = state === "HALTED" ? "Halt trading" : "Reduce only";
    $("#halt-dialog").showModal();
    $("#halt-reason").focus();
  }

  async change(state, reason) {
    try {
      this.drawState(await this.client.put("/admin/trading-state", { state, reason }));
      report(this.result, { kind: "ok", text: `Trading is ${state}.` });
    } catch (error) {
      report(this.result, problemOutcome(error));
    }
  }

  async refresh() {
    try {
      const [state, limits] = await Promise.all([
        this.client.get("/admin/trading-state"),
        this.client.get("/admin/limits"),
      ]);
      this.drawState(state);
      this.drawLimits(limits);
    } catch (error) {
      report(this.result, problemOutcome(error));
    }
  }

  drawState(view) {
    const badge = $("#global-state");
    badge.textContent = view.global_state;
    badge.className = `state state-${view.global_state.toLowerCase()}`;
    document.body.dataset.tradingState = view.global_state;
    $("#account-states").replaceChildren(
      ...Object.entries(view.accounts).map(([account, state]) =>
        h("li", {}, h("span", {}, account), h("span", { class: `state state-${state.toLowerCase()}` }, state)),
      ),
    );
  }

  drawLimits(limits) {
    const accounts = Object.entries(limits.accounts);
    $("#limits thead").replaceChildren(
      h("tr", {}, h("th", { scope: "col" }, "Limit"), ...accounts.map(([a]) => h("th", { scope: "col", class: "num" }, a))),
    );
    $("#limits tbody").replaceChildren(
      ...LIMIT_FIELDS.map(([field, label, format]) =>
        h("tr", {}, h("th", { scope: "row" }, label), ...accounts.map(([, l]) => h("td", { class: "num" }, format(l[field])))),
      ),
    );
    const restricted = limits.restricted_symbols.length ? limits.restricted_symbols.join(", ") : "none";
    $("#limits-note").textContent = `Restricted for everyone: ${restricted}. Digest ${limits.digest.slice(0, 12)}.`;
  }
}
