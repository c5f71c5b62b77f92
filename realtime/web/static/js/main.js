// Sign-in and wiring of the views. The API key lives in session storage only (gone
// when the tab closes) and is sent as a header; it never appears in a URL.

import { ApiClient, ApiProblem, identify } from "./api.js";
import { $ } from "./dom.js";
import { AdminPanel } from "./admin.js";
import { Blotter, OrderTicket, problemOutcome, report } from "./orders.js";
import { Portfolio } from "./portfolio.js";
import { TickerBoard } from "./tickers.js";

const KEY_STORAGE = "tradepipe.apiKey";
let running = [];

function status(name) {
  return (state) => {
    const element = $(`[data-connection="${name}"]`);
    element.dataset.state = state;
    element.querySelector(".label").textContent = state;
  };
}

async function signIn(apiKey) {
  const client = new ApiClient(apiKey);
  const who = await identify(client);
  sessionStorage.setItem(KEY_STORAGE, apiKey);
  document.body.dataset.role = who.role;
  $("#who").textContent = who.role === "admin" ? "admin" : who.name;
  $("#signin").hidden = true;
  $("#app").hidden = false;

  let ticket = null; // accounts only: a click on a ticker fills the order ticket
  const tickers = new TickerBoard(client, { onSelect: (s) => ticket && ticket.select(s), onStatus: status("market") });
  running = [tickers];
  tickers.start();
  if (who.role === "admin") {
    const admin = new AdminPanel(client);
    admin.start();
    running.push(admin);
    return;
  }
  const portfolio = new Portfolio(client);
  const blotter = new Blotter(client, { onFill: () => portfolio.refresh(), onStatus: status("orders") });
  ticket = new OrderTicket(client, tickers, { onPlaced: (order) => blotter.upsert(order) });
  ticket.start();
  portfolio.start();
  blotter.start();
  running.push(portfolio, blotter);
}

function signOut() {
  for (const part of running) part.stop();
  running = [];
  sessionStorage.removeItem(KEY_STORAGE);
  location.reload();
}

function main() {
  const form = $("#signin-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = form.elements.api_key.value.trim();
    const result = $("#signin-result");
    try {
      await signIn(key);
      form.reset();
    } catch (error) {
      const outcome = problemOutcome(error);
      if (error instanceof ApiProblem && error.status === 401) outcome.text = "That API key is not known here.";
      report(result, outcome);
    }
  });
  $("#signout").addEventListener("click", signOut);
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll("[role=tab]")) {
        const selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        $(`#${other.getAttribute("aria-controls")}`).hidden = !selected;
      }
    });
  }
  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (saved) {
    signIn(saved).catch(() => {
      sessionStorage.removeItem(KEY_STORAGE);
      $("#signin").hidden = false;
    });
  } else {
    $("#signin").hidden = false;
    form.elements.api_key.focus();
  }
}

main();
