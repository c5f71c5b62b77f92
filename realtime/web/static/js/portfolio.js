// Positions and P&L from /pnl: polled every POLL_MS while the page is visible and
// fetched at once after a fill, so realized and unrealized P&L follow the marks live.

import { $, h, money, price, qty, tone } from "./dom.js";

const POLL_MS = 1000;

export class Portfolio {
  constructor(client) {
    this.client = client;
    this.timer = null;
    this.inFlight = false;
  }

  start() {
    this.refresh();
    this.timer = setInterval(() => {
      if (document.visibilityState === "visible") this.refresh();
    }, POLL_MS);
  }

  stop() {
    clearInterval(this.timer);
  }

  async refresh() {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      this.draw(await this.client.get("/pnl"));
    } catch {
      $("#pnl-status").textContent = "P&L unavailable; retrying";
    } finally {
      this.inFlight = false;
    }
  }

  draw(pnl) {
    $("#pnl-status").textContent = "";
    for (const field of ["realized_pnl", "unrealized_pnl", "total_pnl"]) {
      const element = $(`[data-pnl="${field}"]`);
      element.textContent = money(pnl[field]);
      element.className = `figure ${tone(pnl[field])}`;
    }
    for (const field of ["equity", "gross_exposure", "open_notional"]) {
      $(`[data-pnl="${field}"]`).textContent = money(pnl[field]);
    }
    const rows = pnl.positions.map((p) =>
      h(
        "tr",
        { "data-symbol": p.symbol },
        h("th", { scope: "row" }, p.symbol),
        h("td", { class: `num ${tone(p.quantity)}` }, qty(p.quantity)),
        h("td", { class: "num" }, price(p.average_cost)),
        h("td", { class: "num" }, price(p.mark)),
        h("td", { class: "num" }, money(p.market_value)),
        h("td", { class: `num ${tone(p.unrealized_pnl)}`, "data-field": "unrealized" }, money(p.unrealized_pnl)),
        h("td", { class: `num ${tone(p.realized_pnl)}`, "data-field": "realized" }, money(p.realized_pnl)),
      ),
    );
    $("#positions tbody").replaceChildren(...rows);
    $("#positions-empty").hidden = rows.length > 0;
  }
}
