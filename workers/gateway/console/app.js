// The operator console: plain JavaScript over the admin API (the same routes curl and `pnpm paulp` use).
// - Who: a person signed in through Cloudflare Access (the edge adds their JWT to every request), or the shared
//   admin token, kept in this tab's sessionStorage only.
// - Every panel shows the answer to its LATEST request: each refresh takes a new sequence number and aborts the
//   one before; an answer whose number is not the newest is dropped. A failed request replaces the panel's content
//   with the failure, so a stale success is never left on screen.
// - Every action opens a confirmation that says what will happen and shows the exact request.
// - Data from venues is untrusted: everything is rendered as text (textContent), never as HTML.
/* global uPlot */

const TOKEN_KEY = "paulp.console.token";
const REFRESH_MS = 10_000;
let token = sessionStorage.getItem(TOKEN_KEY) ?? "";
let principal = null;
let currentView = "overview";

const $ = (id) => document.getElementById(id);

// ---------- the admin API ----------

class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

async function api(method, path, { body, signal, acceptStatus = [] } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", `no answer from the gateway (${error.message})`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok && !acceptStatus.includes(res.status)) {
    const e = data && typeof data === "object" ? data.error : null;
    throw new ApiError(
      res.status,
      e?.code ?? `http_${res.status}`,
      e?.message ?? String(text).slice(0, 300) ?? res.statusText,
      data,
    );
  }
  return data;
}

function isPerson() {
  return principal?.method === "access";
}

function principalName(p) {
  if (!p) return "nobody";
  if (p.method === "access") return p.email ?? p.subject;
  if (p.method === "token") return "shared admin token";
  return `${p.method}:${p.subject}`;
}

// ---------- DOM and formatting ----------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Appends children, flattening arrays and leaving out null, undefined and false (append would print them). */
function add(parent, ...children) {
  parent.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

function ago(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 172_800) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86_400)} days ago`;
}

function seconds(s) {
  return s === null || s === undefined ? "–" : ago(s * 1000).replace(" ago", "");
}

/** The time between two ISO instants, in hours (or days past 48 hours), as the citation rule states it. */
function spanHours(fromIso, toIso) {
  const hours = (Date.parse(toIso) - Date.parse(fromIso)) / 3_600_000;
  return hours >= 48 ? `${(hours / 24).toFixed(1)} days` : `${hours.toFixed(1)} hours`;
}

function when(iso) {
  if (!iso) return "–";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso);
  const d = new Date(t).toISOString();
  const today = new Date().toISOString().slice(0, 10);
  return `${d.slice(0, 10) === today ? "" : `${d.slice(0, 10)} `}${d.slice(11, 19)} UTC`;
}

function whenAgo(iso) {
  return iso ? `${when(iso)} (${ago(Date.now() - Date.parse(iso))})` : "–";
}

function money(text) {
  if (text === null || text === undefined) return "–";
  const n = Number(text);
  if (!Number.isFinite(n)) return String(text);
  return `${n < 0 ? "−" : ""}$${Math.abs(n).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** A contract price as sent ("0.8000"), shown with at least cents and no trailing zeros past them. */
function price(text) {
  if (text === null || text === undefined) return "–";
  const m = /^(-?\d+)(?:\.(\d*))?$/.exec(String(text));
  if (!m) return String(text);
  const frac = (m[2] ?? "").replace(/0+$/, "").padEnd(2, "0");
  return `${m[1]}.${frac}`;
}

function signClass(text) {
  const n = Number(text);
  return n > 0 ? "pos" : n < 0 ? "neg" : "";
}

function badge(text, kind) {
  return h("span", { class: `badge ${kind ?? text}` }, text);
}

function kv(pairs) {
  return h(
    "dl",
    { class: "kv" },
    pairs.filter(Boolean).map(([k, v]) => [h("dt", null, k), h("dd", null, v ?? "–")]),
  );
}

function table(headers, rows, empty) {
  if (rows.length === 0) return h("p", { class: "muted" }, empty);
  return h(
    "table",
    null,
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        headers.map((x) =>
          h("th", { scope: "col", class: x.startsWith("#") ? "num" : "" }, x.replace(/^#/, "")),
        ),
      ),
    ),
    h(
      "tbody",
      null,
      rows.map((r) =>
        h(
          "tr",
          null,
          r.map((c, i) => h("td", { class: headers[i]?.startsWith("#") ? "num" : "" }, c)),
        ),
      ),
    ),
  );
}

function meter(label, observedPct, limitPct, usedPct, note) {
  const used = Number(usedPct);
  const known = Number.isFinite(used);
  const width = known ? Math.min(100, Math.max(0, used)) : 0;
  const level = !known ? "warn" : used >= 80 ? "bad" : used >= 50 ? "warn" : "";
  return h(
    "div",
    { class: "meter" },
    h(
      "div",
      { class: "meter-label" },
      h("span", null, label),
      h(
        "span",
        null,
        known
          ? `${trimPct(observedPct)} % of ${trimPct(limitPct)} % (${trimPct(usedPct)} % used)`
          : `unknown of ${trimPct(limitPct)} %`,
      ),
    ),
    h(
      "div",
      {
        class: "meter-track",
        role: "meter",
        "aria-label": label,
        "aria-valuemin": 0,
        "aria-valuemax": 100,
        "aria-valuenow": known ? width.toFixed(1) : 0,
        "aria-valuetext": known ? `${trimPct(usedPct)} % of the limit used` : "unknown",
      },
      h("div", { class: `meter-fill ${level}`, style: null, "data-width": width }),
    ),
    note ? h("div", { class: "muted" }, note) : null,
  );
}

function trimPct(text) {
  const n = Number(text);
  return Number.isFinite(n) ? String(Math.round(n * 100) / 100) : String(text);
}

// CSP allows no inline style attributes from markup: widths are set through the CSSOM after rendering.
function applyWidths(root) {
  for (const el of root.querySelectorAll("[data-width]")) el.style.width = `${el.dataset.width}%`;
}

const LIMIT_LABELS = {
  maxPositionPct: "Position",
  maxConcentrationPct: "Per market",
  maxMarketExposurePct: "Correlated group",
  maxCategoryExposurePct: "Category",
  maxDailyLossPct: "Daily loss",
  maxDrawdownPct: "Drawdown",
};

const ACTION_LABELS = {
  "breaker.recovery_to_normal": "Breaker RECOVERY → NORMAL",
  "strategy.go_live": "Strategy go-live",
  "risk.limits_increase": "Raise risk limits",
  "risk.capital_increase": "Raise the capital base",
  "strategy.allocation_increase": "Raise a strategy's allocation",
  "execution.policy_live": "Execution to live mode",
  "governance.roster_change": "Change who may approve",
};

// ---------- keeping the reader's place through a redraw ----------

/** What a control says about itself: a redraw makes a new element for the same control, found again by this. */
function controlKey(el) {
  return {
    tag: el.localName,
    id: el.id || null,
    label: el.getAttribute("aria-label"),
    text: el.textContent.trim(),
  };
}

/**
 * The control under `root` that stands where the one `key` described stood: the one enabled control of that id,
 * label or (for one with neither) text. Null when it has gone, is disabled, or more than one matches (focus on
 * another row's control would be worse than on the panel's heading).
 */
function findControl(root, key) {
  const same = [...root.querySelectorAll(key.tag)].filter((el) =>
    key.id
      ? el.id === key.id
      : key.label
        ? el.getAttribute("aria-label") === key.label
        : !el.hasAttribute("aria-label") && el.textContent.trim() === key.text,
  );
  return same.length === 1 && !same[0].disabled ? same[0] : null;
}

/** Focus that has nowhere to go (its element was removed): the page's body holds it then. */
function focusLost() {
  return !document.activeElement || document.activeElement === document.body;
}

/** Focuses `el` without scrolling, making it focusable first if it is not (a heading). */
function focusQuietly(el) {
  if (!el) return;
  if (el.tabIndex < 0 && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
  el.focus({ preventScroll: true });
}

/**
 * Keeps what a redraw of `panel` would take from its reader: keyboard focus on a control it draws (a row's Cancel…,
 * Abandon…), and how far its body is scrolled sideways (a wide table on a phone). Call before the redraw; the
 * answer puts them back after it. A control whose row has gone leaves focus on the panel's heading, not the page's
 * top, so a keyboard or screen-reader user stays where they were.
 */
function keepPlace(panel, body) {
  const focused = document.activeElement;
  const key = focused && focused !== document.body && panel.contains(focused) ? controlKey(focused) : null;
  const scrollLeft = body.scrollLeft;
  return () => {
    body.scrollLeft = scrollLeft;
    if (key && focusLost()) focusQuietly(findControl(panel, key) ?? panel.querySelector("h2") ?? panel);
  };
}

// ---------- panels: the latest answer only ----------

const panels = new Map();

class Panel {
  constructor(id, view, load, render) {
    this.id = id;
    this.view = view;
    this.el = $(id);
    this.body = this.el.querySelector(".body") ?? this.el;
    this.ageEl = this.el.querySelector(".age");
    this.load = load;
    this.render = render;
    this.seq = 0;
    this.controller = null;
    this.okAt = null;
    this.failed = null;
    this.last = null;
    this.el.querySelector(".refresh")?.addEventListener("click", () => this.refresh());
    panels.set(id, this);
  }

  async refresh() {
    const seq = ++this.seq;
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.el.dataset.status = "loading";
    this.el.setAttribute("aria-busy", "true");
    try {
      const data = await this.load(controller.signal);
      if (seq !== this.seq) return this.dropped(); // a newer request was made: this answer is stale
      this.okAt = Date.now();
      this.failed = null;
      this.last = data;
      const restore = keepPlace(this.el, this.body);
      this.body.replaceChildren();
      this.render(data, this.body);
      applyWidths(this.body);
      restore();
      this.el.dataset.status = "ok";
      this.el.dataset.seq = String(seq);
    } catch (error) {
      if (seq !== this.seq || error.name === "AbortError") return this.dropped();
      this.okAt = null;
      this.failed = error;
      this.last = null;
      this.onFailure?.();
      const restore = keepPlace(this.el, this.body);
      this.body.replaceChildren(
        h(
          "div",
          { class: "panel-error", role: "alert" },
          h("strong", null, "This request failed: "),
          `${error.status ? `${error.status} ` : ""}${error.code ? `${error.code}: ` : ""}${error.message}`,
          h("div", { class: "muted" }, `Nothing older is shown. Asked ${when(new Date().toISOString())}.`),
        ),
      );
      restore();
      this.el.dataset.status = "error";
      this.el.dataset.seq = String(seq);
    } finally {
      if (seq === this.seq) this.el.removeAttribute("aria-busy");
    }
    this.tick();
  }

  /** Counts answers dropped for being older than the newest request (shown to tests as data-dropped). */
  dropped() {
    this.el.dataset.dropped = String(Number(this.el.dataset.dropped ?? 0) + 1);
  }

  tick() {
    if (!this.ageEl) return;
    this.ageEl.textContent = this.failed
      ? "request failed"
      : this.okAt
        ? `updated ${ago(Date.now() - this.okAt)}`
        : "";
  }
}

// ---------- the breaker banner ----------

const banner = new Panel(
  "banner",
  "*",
  (signal) => api("GET", "/admin/circuit-breaker", { signal }),
  (b) => {
    const el = $("banner");
    el.className = `banner ${b.state}`;
    el.dataset.state = b.state;
    $("banner-state").textContent = `${b.state} (v${b.version})`;
    $("banner-detail").textContent = `since ${whenAgo(b.since)} · “${b.reason}” · by ${b.changedBy}`;
    renderBannerActions(b);
  },
);
banner.body = $("banner-detail");
banner.ageEl = $("banner-age");
banner.onFailure = () => {
  const el = $("banner");
  el.className = "banner failed";
  el.dataset.state = "unknown";
  $("banner-state").textContent = "UNKNOWN";
  renderBannerActions(null);
};

function renderBannerActions(b) {
  const box = $("banner-actions");
  box.replaceChildren();
  const state = b?.state;
  if (state !== "HALT")
    box.append(
      h("button", { type: "button", class: "danger", onclick: () => haltAction() }, "Emergency halt…"),
    );
  if (state === "HALT")
    box.append(h("button", { type: "button", onclick: () => recoveryAction(b) }, "Request recovery…"));
  if (state === "CAUTION")
    box.append(h("button", { type: "button", onclick: () => cautionToNormalAction(b) }, "Back to NORMAL…"));
  if (state === "RECOVERY")
    box.append(
      h(
        "button",
        {
          type: "button",
          onclick: () => recoveryToNormalAction(b),
          disabled: !isPerson(),
          title: isPerson() ? null : "Two-person action: sign in through Cloudflare Access",
        },
        "Request NORMAL (two people)…",
      ),
    );
}

// The pending approvals count in the navigation, with the banner (a panel of its own: latest answer only).
const approvalsCount = new Panel(
  "approvals-count",
  "*",
  (signal) => api("GET", "/admin/approvals?status=pending", { signal }),
  (list) => {
    $("approvals-count").textContent = list.length ? String(list.length) : "";
  },
);
approvalsCount.ageEl = null;
approvalsCount.onFailure = () => {
  $("approvals-count").textContent = "?";
};
approvalsCount.body = document.createElement("span");

// ---------- overview ----------

let equityChart = null;

/** A value range with room around it, never empty (a flat series would otherwise fill the whole axis). */
function padded(_u, min, max) {
  const pad = Math.max((max - min) * 0.1, Math.abs(max) * 0.0005, 1);
  return [min - pad, max + pad];
}
let categoryChart = null;

new Panel(
  "p-equity",
  "overview",
  async (signal) => {
    const [series, exposure] = await Promise.all([
      api("GET", "/admin/equity?minutes=1440", { signal }),
      api("GET", "/admin/risk/exposure", { signal }),
    ]);
    return { series, exposure };
  },
  ({ series, exposure }, body) => {
    const dayLoss = exposure.limits.find((l) => l.limit === "maxDailyLossPct");
    const drawdown = exposure.limits.find((l) => l.limit === "maxDrawdownPct");
    const dayPnl =
      exposure.equity !== null && exposure.dayStartEquity !== null
        ? (Number(exposure.equity) - Number(exposure.dayStartEquity)).toFixed(2)
        : null;
    const figure = (label, value, cls) =>
      h(
        "div",
        { class: "figure" },
        h("div", { class: `value ${cls ?? ""}` }, value),
        h("div", { class: "label" }, label),
      );
    add(
      body,
      h(
        "div",
        { class: "figures" },
        figure("Equity", money(exposure.equity)),
        figure("Today's P&L", money(dayPnl), signClass(dayPnl)),
        figure("Realised", money(exposure.realisedPnl), signClass(exposure.realisedPnl)),
        figure("Unrealised", money(exposure.unrealisedPnl), signClass(exposure.unrealisedPnl)),
        figure("Open positions", String(exposure.openPositions)),
      ),
      dayLoss
        ? meter(
            "Today's loss vs the daily-loss limit",
            dayLoss.observedPct,
            dayLoss.limitPct,
            dayLoss.usedPct,
          )
        : null,
      drawdown
        ? meter("Drawdown vs the drawdown limit", drawdown.observedPct, drawdown.limitPct, drawdown.usedPct)
        : null,
    );
    const samples = series.samples.filter((s) => s.equity !== null);
    const newest = series.samples.at(-1);
    add(
      body,
      h(
        "p",
        { class: "muted" },
        newest
          ? `Equity curve: ${series.samples.length} one-minute sample(s); newest ${ago(Date.now() - Date.parse(newest.at))} (sampled by the monitor from risk's valuation).`
          : "No equity samples yet: the monitor samples risk's equity once a minute.",
      ),
    );
    const target = h("div", {
      class: "chart",
      role: "img",
      "aria-label": "Equity and today's P&L over time",
    });
    add(body, target);
    equityChart?.destroy();
    equityChart = null;
    if (samples.length > 0 && typeof uPlot === "function") {
      const xs = samples.map((s) => Date.parse(s.at) / 1000);
      const eq = samples.map((s) => Number(s.equity));
      const pnl = samples.map((s) => (s.dayPnl === null ? null : Number(s.dayPnl)));
      equityChart = new uPlot(
        {
          width: Math.max(280, body.clientWidth - 24),
          height: 220,
          series: [
            {},
            { label: "Equity ($)", stroke: "#1d5fb8", width: 2, points: { show: samples.length < 3 } },
            {
              label: "Today's P&L ($)",
              stroke: "#b3261e",
              width: 1.5,
              scale: "pnl",
              points: { show: samples.length < 3 },
            },
          ],
          axes: [{}, { size: 70 }, { side: 1, scale: "pnl", grid: { show: false }, size: 60 }],
          // A little room around flat lines (one sample is a point).
          scales: {
            y: { range: padded },
            pnl: { range: padded },
          },
        },
        [xs, eq, pnl],
        target,
      );
      // uPlot widens a single point's time axis to years: show at least the last hour instead.
      equityChart.setScale("x", { min: Math.min(xs[0], xs.at(-1) - 3600), max: xs.at(-1) + 60 });
    }
  },
);

new Panel(
  "p-limits",
  "overview",
  (signal) => api("GET", "/admin/risk/exposure", { signal }),
  (exposure, body) => {
    add(
      body,
      h(
        "p",
        { class: "muted" },
        `Limits v${exposure.limitsVersion} in force under ${exposure.breakerState} (CAUTION and RECOVERY halve the exposure limits).`,
      ),
      exposure.limits.map((l) =>
        meter(
          LIMIT_LABELS[l.limit] ?? l.limit,
          l.observedPct,
          l.limitPct,
          l.usedPct,
          l.at && l.at !== "portfolio" ? `worst: ${l.at}` : null,
        ),
      ),
      exposure.unmarkedPositions.length
        ? h(
            "p",
            { class: "error" },
            `Positions without a fresh mark (opening orders are denied): ${exposure.unmarkedPositions.join(", ")}`,
          )
        : null,
    );
  },
);

new Panel(
  "p-categories",
  "overview",
  (signal) => api("GET", "/admin/risk/exposure", { signal }),
  (exposure, body) => {
    const cats = exposure.categories ?? [];
    categoryChart?.destroy();
    categoryChart = null;
    const limit = exposure.limits.find((l) => l.limit === "maxCategoryExposurePct");
    if (cats.length === 0) {
      add(body, h("p", { class: "muted" }, "Nothing held: no exposure in any category."));
      return;
    }
    const target = h("div", {
      class: "chart",
      role: "img",
      "aria-label": "Exposure by category, % of equity",
    });
    add(body, target);
    if (typeof uPlot === "function") {
      const xs = cats.map((_, i) => i);
      categoryChart = new uPlot(
        {
          width: Math.max(260, body.clientWidth - 24),
          height: 200,
          legend: { show: false },
          series: [
            {},
            {
              label: "% of equity",
              fill: "rgba(29,95,184,.55)",
              stroke: "#1d5fb8",
              paths: uPlot.paths.bars({ size: [0.6, 80] }),
              points: { show: false },
            },
          ],
          scales: {
            x: { time: false, range: [-0.5, cats.length - 0.5] },
            y: { range: (_u, _min, max) => [0, Math.max(max * 1.25, 0.05)] },
          },
          axes: [
            { splits: () => xs, values: (_u, splits) => splits.map((i) => cats[i]?.category ?? "") },
            { label: "% of equity", size: 60 },
          ],
        },
        [xs, cats.map((c) => Number(c.pctOfEquity))],
        target,
      );
    }
    add(
      body,
      table(
        ["Category", "#Exposure", "#% of equity"],
        cats.map((c) => [c.category, money(c.exposure), `${trimPct(c.pctOfEquity)} %`]),
        "",
      ),
      limit ? h("p", { class: "muted" }, `Category limit: ${trimPct(limit.limitPct)} % of equity.`) : null,
    );
  },
);

new Panel(
  "p-alerts",
  "overview",
  (signal) => api("GET", "/admin/alerts?limit=10", { signal }),
  (view, body) => {
    add(
      body,
      view.active.length === 0
        ? h("p", null, badge("no active alert", "ok"))
        : table(
            ["Severity", "Alert", "Detail", "Raised"],
            view.active.map((a) => [badge(a.severity), a.title, a.detail, whenAgo(a.raisedAt)]),
            "",
          ),
      h("h3", null, "Recent changes"),
      table(
        ["At", "Alert", "Change", "Severity", "Detail"],
        view.recent.map((r) => [when(r.at), r.key, r.action, badge(r.severity), r.detail]),
        "No alert has been raised or cleared yet.",
      ),
      h(
        "p",
        { class: "muted" },
        view.lastEvaluation
          ? `The monitor last evaluated ${whenAgo(view.lastEvaluation.at)}${view.lastEvaluation.unavailable.length ? `; could not read: ${view.lastEvaluation.unavailable.join(", ")}` : ""}.`
          : "The monitor has not evaluated yet.",
      ),
    );
  },
);

// ---------- trading ----------

new Panel(
  "p-positions",
  "trading",
  (signal) => api("GET", "/admin/risk/exposure", { signal }),
  (exposure, body) => {
    const positions = exposure.positions ?? [];
    add(
      body,
      table(
        ["Market", "Venue", "Strategy", "#Size", "#Avg price", "#Mark", "Mark age", "#P&L", ""],
        positions.map((p) => [
          h("span", { class: "mono" }, p.market),
          p.venue,
          h("span", { class: "mono" }, p.strategyId),
          String(p.quantity),
          price(p.avgPrice),
          price(p.mark),
          p.stale
            ? h(
                "span",
                null,
                badge("stale", "stale"),
                ` ${p.markAgeSeconds === null ? "no mark" : seconds(p.markAgeSeconds)}`,
              )
            : seconds(p.markAgeSeconds),
          h("span", { class: signClass(p.unrealisedPnl) }, money(p.unrealisedPnl)),
          h(
            "button",
            {
              type: "button",
              onclick: () => closePositionAction(p),
              disabled: p.mark === null || !p.markEvidenceHash,
              title: p.mark === null ? "No mark price to close at" : null,
              "aria-label": `Close ${p.market}`,
            },
            "Close…",
          ),
        ]),
        "No open position.",
      ),
    );
  },
);

// Unhedged exposure: covered Kalshi fills whose IBKR hedge is not placed yet (each loop run retries them), and fills
// not judged against the hedge map yet. Shown beside the positions, as the monitor's unhedged_exposure alert counts.
new Panel(
  "p-hedges",
  "trading",
  (signal) => api("GET", "/admin/execution/hedge-obligations?state=open&limit=50", { signal }),
  ({ obligations, undetermined }, body) => {
    const mono = (text) => h("span", { class: "mono" }, text);
    add(
      body,
      h(
        "div",
        { class: "owed" },
        table(
          [
            "Owed since",
            "Obligation (Kalshi order)",
            "Market",
            "Hedge",
            "#Shares",
            "#Attempts",
            "Why not placed",
            "",
          ],
          obligations.map((o) => [
            whenAgo(o.firstSeenAt),
            mono(o.obligationId),
            mono(o.market),
            `${o.side} ibkr:${o.conid}`,
            String(o.quantity),
            String(o.attempts),
            o.lastReason ?? "–",
            o.state === "open"
              ? h(
                  "button",
                  {
                    type: "button",
                    onclick: () => abandonHedgeAction(o),
                    "aria-label": `Abandon the hedge owed for ${o.obligationId}`,
                  },
                  "Abandon…",
                )
              : null,
          ]),
          "No hedge is owed.",
        ),
      ),
      undetermined.length === 0
        ? null
        : h(
            "div",
            null,
            h("h3", null, "Fills not judged against the hedge map yet (counted as owed)"),
            table(
              ["Recorded", "Kalshi order", "Market", "#Contracts", "Why"],
              undetermined.map((u) => [
                whenAgo(u.recordedAt),
                mono(u.clientOrderId),
                mono(u.market),
                `${u.filledBefore} → ${u.filledAfter}`,
                u.reason ?? "the next run judges it",
              ]),
              "",
            ),
          ),
    );
  },
);

const CANCELLABLE = new Set(["submitted", "partially_filled", "pending_submit"]);

new Panel(
  "p-orders",
  "trading",
  (signal) => api("GET", "/admin/orders?limit=50", { signal }),
  ({ orders }, body) => {
    add(
      body,
      table(
        ["Created", "Market", "Order", "#Qty", "#Limit", "State", "#Filled", "Why", ""],
        orders.map((o) => [
          when(o.createdAt),
          h("span", { class: "mono" }, `${o.intent.venue}:${o.intent.market}`),
          `${o.intent.side} ${o.intent.effect}`,
          String(o.intent.quantity),
          price(o.intent.limitPrice),
          badge(o.state),
          `${o.filledQuantity}${o.avgFillPrice ? ` @ ${o.avgFillPrice}` : ""}`,
          o.context?.kind ?? "–",
          h(
            "div",
            { class: "actions" },
            h(
              "button",
              {
                type: "button",
                onclick: () => showTrace(o.clientOrderId),
                "aria-label": `Trace ${o.clientOrderId}`,
              },
              "Trace",
            ),
            CANCELLABLE.has(o.state)
              ? h(
                  "button",
                  {
                    type: "button",
                    onclick: () => cancelOrderAction(o),
                    "aria-label": `Cancel ${o.clientOrderId}`,
                  },
                  "Cancel…",
                )
              : null,
          ),
        ]),
        "No order yet.",
      ),
    );
  },
);

let traceId = null;
const trace = new Panel(
  "p-trace",
  "trading",
  (signal) => (traceId ? api("GET", `/admin/orders/${encodeURIComponent(traceId)}/trace`, { signal }) : null),
  (t, body) => {
    if (!t) return;
    const o = t.order;
    const d = t.decision;
    add(
      body,
      h(
        "div",
        { class: "trace-step" },
        h("h3", null, "1 · Order"),
        kv([
          ["Client order id", h("span", { class: "mono" }, o.clientOrderId)],
          [
            "Intent",
            `${o.intent.side} ${o.intent.effect} ${o.intent.quantity} × ${o.intent.venue}:${o.intent.market} at ${o.intent.limitPrice}`,
          ],
          ["State", badge(o.state)],
          ["Intent hash", h("span", { class: "mono" }, o.intentHash)],
          [
            "History",
            o.history.map((x) => `${when(x.at)} ${x.state}${x.reason ? ` (${x.reason})` : ""}`).join(" → "),
          ],
        ]),
      ),
      h(
        "div",
        { class: `trace-step ${d?.approved && d.matchesIntent ? "" : "bad"}` },
        h("h3", null, "2 · Risk decision"),
        d
          ? kv([
              ["Decision", d.approved ? badge("approved") : badge("denied")],
              [
                "Reasons",
                d.reasons.length ? d.reasons.map((r) => `${r.code}: ${r.message}`).join("; ") : "none",
              ],
              [
                "Binds this intent",
                d.matchesIntent ? "yes: the decision's intent hash is the order's" : "NO: hashes differ",
              ],
              ["Breaker, limits", `${d.breakerState}, limits v${d.limitsVersion}`],
              ["Audit entry", `#${d.auditSeq}`],
            ])
          : h("p", { class: "error" }, "No risk decision recorded for this order."),
      ),
      h(
        "div",
        { class: "trace-step" },
        h("h3", null, `3 · Evidence (${t.evidence.length})`),
        t.evidence.map((e) =>
          h(
            "div",
            { class: e.ok ? "" : "trace-step bad" },
            kv([
              ["SHA-256", h("span", { class: "mono" }, e.hash)],
              [
                "Re-hashed",
                e.ok ? badge("matches", "ok") : badge(e.error ? `${e.error.code}` : "MISMATCH", "bad"),
              ],
              ["From", e.url ? `${e.venue} ${e.url}` : "–"],
              ["Bytes", e.byteLength === undefined ? "–" : `${e.byteLength} (${e.contentType})`],
              ["Seen", e.sightings ? `${e.sightings.length} time(s)` : "–"],
            ]),
            e.bytesBase64
              ? h("details", null, h("summary", null, "First bytes"), h("pre", null, preview(e.bytesBase64)))
              : null,
          ),
        ),
      ),
      h(
        "div",
        { class: "trace-step" },
        h("h3", null, "4 · Pair approval"),
        t.pair
          ? kv([
              ["Pair", h("span", { class: "mono" }, t.pair.pairId)],
              [
                "At the decision",
                `approved by ${t.pair.atDecision.approvedBy ?? "–"} at ${when(t.pair.atDecision.approvedAt)}`,
              ],
              [
                "Now",
                t.pair.now?.tradable
                  ? `tradable: ${t.pair.now.grade}, approved by ${t.pair.now.approvedBy}`
                  : t.pair.now?.error
                    ? `unknown (${t.pair.now.error.message})`
                    : "no longer tradable",
              ],
            ])
          : h("p", { class: "muted" }, "Not a pair trade (manual order or hedge)."),
      ),
    );
  },
);

function preview(b64) {
  try {
    const bytes = Uint8Array.from(atob(b64).slice(0, 1200), (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  } catch {
    return "(not text)";
  }
}

function showTrace(id) {
  traceId = id;
  $("p-trace").hidden = false;
  $("h-trace").textContent = `Order trace: ${id}`;
  trace.refresh();
  $("p-trace").scrollIntoView({ block: "start" });
}

new Panel(
  "p-strategies",
  "trading",
  (signal) => api("GET", "/admin/strategies", { signal }),
  (list, body) => {
    const strategies = Array.isArray(list) ? list : (list.strategies ?? []);
    add(
      body,
      table(
        ["Strategy", "Kind", "State", "#Allocation", "Changed", ""],
        strategies.map((s) => [
          h("span", null, s.name, h("div", { class: "mono muted" }, s.id)),
          s.kind,
          badge(s.state, s.state === "live" ? "ok" : s.state === "paused" ? "warn" : "info"),
          money(s.allocation),
          `${when(s.updatedAt)} by ${s.updatedBy}`,
          h(
            "div",
            { class: "actions" },
            ["paper", "live", "pending_live"].includes(s.state)
              ? h(
                  "button",
                  { type: "button", onclick: () => pauseAction(s), "aria-label": `Pause ${s.name}` },
                  "Pause…",
                )
              : null,
            s.state === "paper" && !s.pendingRequestId
              ? h(
                  "button",
                  {
                    type: "button",
                    onclick: () => goLiveAction(s),
                    disabled: !isPerson(),
                    title: isPerson() ? null : "Two-person action: sign in through Cloudflare Access",
                    "aria-label": `Request go-live for ${s.name}`,
                  },
                  "Request go-live…",
                )
              : null,
            s.pendingRequestId ? h("span", { class: "muted" }, `waiting on ${s.pendingRequestId}`) : null,
            h(
              "button",
              {
                type: "button",
                onclick: () => showReplays(s.id),
                "data-replays-of": s.id,
                "aria-label": `Replays of ${s.name}`,
                "aria-pressed": s.id === replayStrategyId ? "true" : "false",
              },
              "Replays",
            ),
          ),
        ]),
        "No strategy.",
      ),
    );
  },
);

// ---------- replays: a strategy over recorded evidence ----------

// The strategy whose replays are shown (the first one listed until another is chosen), and the replay opened.
let replayStrategyId = null;
let replayStrategy = null;
let replayId = null;
let replayChart = null;
let replayFollow = null;
/** A replay's progress: a share of the window's sightings where the record counted them when it started. */
function replayProgress(r) {
  const total = typeof r.totalSightings === "number" ? r.totalSightings : null;
  const done = total === null ? `${r.sightings}` : `${r.sightings} of ${total}`;
  if (r.status !== "running") return `${done} sighting(s) replayed`;
  const share = total ? ` (${Math.min(100, Math.floor((100 * r.sightings) / total))} %)` : "";
  return h(
    "span",
    null,
    h("progress", {
      "aria-label": "Replay running",
      ...(total ? { value: String(Math.min(r.sightings, total)), max: String(total) } : {}),
    }),
    ` ${done} sighting(s) replayed so far${share}`,
  );
}

/** How often a running replay is read again while it is followed (it advances in alarm steps of ~200 sightings). */
const REPLAY_FOLLOW_MS = 1_000;
/** The window fields roll forward with the clock ("the last hour") until someone types in them. */
let replayWindowEdited = false;

const REPLAY_STATUS_KIND = { running: "info", complete: "ok", failed: "bad" };

/** The last full hour of evidence: to is now rounded down to the minute (a minute-old window is complete). */
function lastHour() {
  const to = Math.floor(Date.now() / 60_000) * 60_000;
  return { from: new Date(to - 3_600_000).toISOString(), to: new Date(to).toISOString() };
}

function setReplayWindow({ from, to }) {
  $("replay-from").value = from.replace(".000Z", "Z");
  $("replay-to").value = to.replace(".000Z", "Z");
}

/** JSON with object keys sorted (RFC 8785's order for parsed JSON): equal params, equal text. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

/** A fraction of 1 ("0.2500") as a percentage ("25 %"). */
function fractionPct(text) {
  const n = Number(text);
  return text === null || text === undefined || !Number.isFinite(n) ? "–" : `${trimPct(n * 100)} %`;
}

function windowText(w) {
  return `${when(w.from)} → ${when(w.to)}`;
}

function shortHash(hash) {
  return hash ? h("span", { class: "mono nowrap", title: hash }, `${hash.slice(0, 12)}…`) : "–";
}

const replays = new Panel(
  "p-replays",
  "trading",
  async (signal) => {
    const list = await api("GET", "/admin/strategies", { signal });
    const strategies = Array.isArray(list) ? list : (list.strategies ?? []);
    const strategy =
      strategies.find((s) => s.id === replayStrategyId) ??
      strategies.find((s) => s.state !== "retired") ??
      strategies[0] ??
      null;
    if (!strategy) return { strategy: null, runs: [] };
    const { replays: runs } = await api(
      "GET",
      `/admin/replays?strategyId=${encodeURIComponent(strategy.id)}`,
      {
        signal,
      },
    );
    return { strategy, runs };
  },
  ({ strategy, runs }, body) => {
    replayStrategy = strategy;
    replayStrategyId = strategy?.id ?? null;
    $("replay-form").hidden = !strategy;
    if (!strategy) {
      $("h-replays").textContent = "Replays";
      add(body, h("p", { class: "muted" }, "No strategy to replay."));
      return;
    }
    $("h-replays").textContent = `Replays: ${strategy.name}`;
    for (const b of document.querySelectorAll("[data-replays-of]"))
      b.setAttribute("aria-pressed", b.dataset.replaysOf === strategy.id ? "true" : "false");
    if (!replayWindowEdited) setReplayWindow(lastHour());
    $("replay-params").placeholder = JSON.stringify(strategy.params ?? {});
    $("replay-form-note").textContent =
      `${strategy.id} · the strategy's params now: ${JSON.stringify(strategy.params ?? {})}`;
    add(
      body,
      h(
        "p",
        { class: "muted" },
        "The strategy run over the evidence ingestion recorded in a window: the same signal, risk rules and fill model as the live loop. A go-live must cite a complete replay of the params the strategy has now.",
      ),
      table(
        ["Requested", "Window", "Status", "#Sightings", "#P&L", "Report", "By", ""],
        runs.map((r) => [
          when(r.requestedAt),
          windowText(r.window),
          badge(r.status, REPLAY_STATUS_KIND[r.status]),
          String(r.sightings),
          r.summary ? h("span", { class: signClass(r.summary.pnl) }, money(r.summary.pnl)) : "–",
          shortHash(r.reportHash),
          r.requestedBy,
          h(
            "button",
            {
              type: "button",
              onclick: () => showReplay(r.id),
              "aria-label": `Show replay ${r.id}`,
              "aria-pressed": r.id === replayId ? "true" : "false",
            },
            "Show",
          ),
        ]),
        "No replay of this strategy yet: start one below.",
      ),
    );
  },
);

function showReplays(strategyId) {
  if (strategyId !== replayStrategyId) closeReplay();
  replayStrategyId = strategyId;
  replays.refresh();
  $("p-replays").scrollIntoView({ block: "start" });
}

for (const id of ["replay-from", "replay-to"])
  $(id).addEventListener("input", () => {
    replayWindowEdited = true;
  });
$("replay-last-hour").addEventListener("click", () => {
  replayWindowEdited = false;
  setReplayWindow(lastHour());
});

/** Reads the form: the request body, or what is wrong with the form (said in place; nothing is sent). */
function replayRequest() {
  const from = $("replay-from").value.trim();
  const to = $("replay-to").value.trim();
  const paramsText = $("replay-params").value.trim();
  if (!replayStrategy) return { error: "No strategy chosen." };
  if (Number.isNaN(Date.parse(from))) return { error: "From: an ISO 8601 time, e.g. 2026-01-01T00:00:00Z." };
  if (Number.isNaN(Date.parse(to))) return { error: "To: an ISO 8601 time, e.g. 2026-01-01T01:00:00Z." };
  const body = {
    strategyId: replayStrategy.id,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
  };
  if (paramsText) {
    let params;
    try {
      params = JSON.parse(paramsText);
    } catch (error) {
      return { error: `Params: not JSON (${error.message}).` };
    }
    if (params === null || typeof params !== "object" || Array.isArray(params))
      return { error: 'Params: a JSON object, e.g. {"minEdge": 0.02}.' };
    body.params = params;
  }
  return { body };
}

$("replay-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const { body, error } = replayRequest();
  $("replay-form-error").hidden = !error;
  $("replay-form-error").textContent = error ?? "";
  if (error) return;
  const s = replayStrategy;
  confirmAction({
    title: `Replay: ${s.name}`,
    explain: [
      `Runs ${s.name} over the evidence recorded from ${when(body.from)} to ${when(body.to)}, with ${body.params ? "the params below (for this run only; the strategy keeps its own)" : "the params it has now"}. Nothing is traded: the replay has its own portfolio.`,
      "It runs in steps; this page follows it until it is complete (the report is stored and its hash audited) or failed.",
    ],
    request: () => ({ method: "POST", path: "/admin/replays", body }),
    done: (record) => {
      showReplay(record.id);
      return `Replay ${record.id} started: ${windowText(record.window)}.`;
    },
    confirmLabel: "Start the replay",
  });
});

function closeReplay() {
  replayId = null;
  clearTimeout(replayFollow);
  replayChart?.destroy();
  replayChart = null;
  $("p-replay").hidden = true;
}

/** Opens one replay below the list and follows it while it runs. */
function showReplay(id) {
  closeReplay();
  replayId = id;
  replay.last = null;
  $("p-replay").hidden = false;
  $("h-replay").textContent = `Replay ${id}`;
  $("p-replay").querySelector(".body").replaceChildren();
  replay.refresh();
  $("p-replay").scrollIntoView({ block: "nearest" });
}

const replay = new Panel(
  "p-replay",
  "trading",
  (signal) => (replayId ? api("GET", `/admin/replays/${encodeURIComponent(replayId)}`, { signal }) : null),
  (answer, body) => {
    if (!answer) return;
    const { replay: r, report } = answer;
    const panel = $("p-replay");
    panel.dataset.replayStatus = r.status;
    replayChart?.destroy();
    replayChart = null;
    add(
      body,
      kv([
        ["Status", badge(r.status, REPLAY_STATUS_KIND[r.status])],
        ["Window", windowText(r.window)],
        ["Requested", `${whenAgo(r.requestedAt)} by ${r.requestedBy}`],
        ["Progress", replayProgress(r)],
        r.completedAt ? ["Completed", when(r.completedAt)] : null,
        ["Params hash", h("span", { class: "mono" }, r.paramsHash)],
      ]),
    );
    clearTimeout(replayFollow);
    if (r.status === "running") {
      // Followed until final: read again shortly (an answer for another replay, or after closing, stops it).
      replayFollow = setTimeout(() => {
        if (replayId === r.id) replay.refresh();
      }, REPLAY_FOLLOW_MS);
      return;
    }
    if (r.status === "failed") {
      add(
        body,
        h(
          "div",
          { class: "panel-error", role: "alert" },
          h("strong", null, "The replay failed: "),
          r.failure ? `${r.failure.code}: ${r.failure.message}` : "no reason recorded",
        ),
      );
    }
    if (r.status === "complete" && report) renderReport(r, report, body);
    // A run that just ended: the list shows its final state too.
    if (replays.last?.runs?.some((x) => x.id === r.id && x.status !== r.status)) replays.refresh();
  },
);

/** A figure of the summary, with the API's exact value beside what is shown (data-value). */
function replayFigure(key, label, value, raw, cls) {
  return h(
    "div",
    { class: "figure", "data-figure": key, "data-value": raw },
    h("div", { class: `value ${cls ?? ""}` }, value),
    h("div", { class: "label" }, label),
  );
}

/** An axis label in UTC: seconds when ticks are under a minute apart, the date when the curve spans days. */
function utcTick(seconds, incrSeconds, spanSeconds) {
  const iso = new Date(seconds * 1000).toISOString();
  if (incrSeconds < 60) return iso.slice(11, 19);
  if (incrSeconds >= 86_400) return iso.slice(5, 10);
  if (spanSeconds > 86_400) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  return iso.slice(11, 16);
}

function renderReport(r, report, body) {
  const s = report.summary;
  const m = report.manifest;
  const denials = Object.entries(s.denialsByCode ?? {}).sort((a, b) => b[1] - a[1]);
  add(
    body,
    h(
      "div",
      { class: "figures", "aria-label": "Replay summary" },
      replayFigure("pnl", "P&L", money(s.pnl), s.pnl, signClass(s.pnl)),
      replayFigure(
        "endingEquity",
        `Ending equity (from ${money(s.startingEquity)})`,
        money(s.endingEquity),
        s.endingEquity,
      ),
      replayFigure("fees", "Fees", money(s.fees), s.fees),
      replayFigure(
        "maxDrawdown",
        "Max drawdown",
        money(s.maxDrawdown),
        s.maxDrawdown,
        Number(s.maxDrawdown) > 0 ? "neg" : "",
      ),
      replayFigure(
        "maxDrawdownFraction",
        "Max drawdown, % of peak",
        fractionPct(s.maxDrawdownFraction),
        s.maxDrawdownFraction,
      ),
      replayFigure("turnover", "Turnover", money(s.turnover), s.turnover),
      replayFigure("decisions", "Decisions", String(s.decisions), String(s.decisions)),
      replayFigure("orders", "Orders", String(s.orders), String(s.orders)),
      replayFigure("fills", "Fills", String(s.fills), String(s.fills)),
      replayFigure(
        "staleDecisionShare",
        "Decisions on stale books",
        fractionPct(s.staleDecisionShare),
        s.staleDecisionShare,
        Number(s.staleDecisionShare) > 0 ? "warn-text" : "",
      ),
    ),
    h(
      "div",
      { class: "replay-denials", "data-figure": "denialsByCode" },
      h("strong", null, "Risk denials: "),
      denials.length === 0
        ? "none"
        : denials.map(([code, n], i) => [i ? ", " : "", h("span", { class: "mono" }, code), ` ${n}`]),
    ),
  );
  const curve = report.equityCurve ?? [];
  const target = h("div", {
    class: "chart",
    role: "img",
    "aria-label": `Replay equity curve, ${curve.length} point(s)`,
    "data-points": curve.length,
  });
  add(
    body,
    h("h3", null, "Equity curve"),
    curve.length === 0 ? h("p", { class: "muted" }, "The report has no equity point.") : target,
  );
  if (curve.length > 0 && typeof uPlot === "function") {
    const xs = curve.map((p) => Date.parse(p.at) / 1000);
    const eq = curve.map((p) => Number(p.equity));
    replayChart = new uPlot(
      {
        width: Math.max(260, body.clientWidth - 24),
        height: 220,
        series: [
          { label: "UTC", value: (_u, t) => (t === null ? "–" : when(new Date(t * 1000).toISOString())) },
          { label: "Replay equity ($)", stroke: "#1d5fb8", width: 2, points: { show: curve.length < 3 } },
        ],
        // Times in UTC like the rest of the page (uPlot's default is the browser's zone, with long date labels).
        axes: [
          {
            // Room for "12:58:05" between ticks (uPlot's default spacing fits its own shorter labels).
            space: 80,
            values: (_u, splits, _axis, _space, incr) =>
              splits.map((t) => utcTick(t, incr, xs.at(-1) - xs[0])),
          },
          { size: 80 },
        ],
        scales: { y: { range: padded } },
      },
      [xs, eq],
      target,
    );
    // A single point: a short span around it rather than uPlot's years.
    if (xs.length === 1 || xs.at(-1) === xs[0])
      replayChart.setScale("x", { min: xs[0] - 300, max: xs[0] + 300 });
  }
  // The desk decides (by the params' hash); this only says beforehand what it would refuse.
  const sameParams = canonical(m.strategy.params) === canonical(replayStrategy?.params ?? {});
  const citable =
    replayStrategy?.id === r.strategyId &&
    replayStrategy.state === "paper" &&
    !replayStrategy.pendingRequestId &&
    sameParams;
  add(
    body,
    h("h3", null, "Report"),
    kv([
      ["Report hash (SHA-256)", h("span", { class: "mono", "data-figure": "reportHash" }, r.reportHash)],
      [
        "Evidence",
        h(
          "span",
          { "data-figure": "evidence", "data-value": m.evidence.length },
          `${m.evidence.length} evidence object(s), ${m.sightings} sighting(s) replayed`,
        ),
      ],
      [
        // What a go-live counts: the first to the last sighting replayed, not the window asked for.
        "Evidence span",
        h(
          "span",
          { "data-figure": "evidenceSpan" },
          s.evidenceFrom && s.evidenceTo
            ? `${when(s.evidenceFrom)} → ${when(s.evidenceTo)} (${spanHours(s.evidenceFrom, s.evidenceTo)})`
            : "no evidence replayed (cannot be cited)",
        ),
      ],
      ["Strategy", `${m.strategy.id} (${m.strategy.kind}), allocation ${money(m.strategy.allocation)}`],
      ["Params", h("span", { class: "mono" }, JSON.stringify(m.strategy.params))],
      ["Pairs watched", String(m.pairs.length)],
      ["Risk limits", `v${m.risk.limitsVersion}`],
      ["Fill latency", `${m.fill.latencyMs} ms`],
      ["Engine, code", `${m.engineVersion}, ${m.codeVersion}`],
    ]),
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        {
          type: "button",
          class: "primary",
          onclick: () => goLiveAction(replayStrategy, r.id),
          disabled: !citable || !isPerson(),
          title: !isPerson()
            ? "Two-person action: sign in through Cloudflare Access"
            : !sameParams
              ? "This replay ran other params than the strategy has now: replay it again"
              : !citable
                ? `Only a strategy in paper with no open request can go live (${replayStrategy?.state ?? "unknown"})`
                : null,
        },
        "Cite in go-live…",
      ),
      sameParams
        ? h(
            "span",
            { class: "muted" },
            "Opens the go-live request with this replay's id filled in; the desk checks it is complete, of the params the strategy has now, long and recent enough.",
          )
        : h(
            "span",
            { class: "warn-text" },
            "This replay ran other params than the strategy has now, so a go-live cannot cite it.",
          ),
    ),
  );
  const trades = report.trades ?? [];
  if (trades.length > 0)
    add(
      body,
      h(
        "details",
        null,
        h("summary", null, `Trades (${trades.length}${trades.length > 100 ? ", the first 100 shown" : ""})`),
        table(
          ["Decided", "Market", "Order", "#Filled", "#Avg price", "#Fee"],
          trades
            .slice(0, 100)
            .map((t) => [
              when(t.decidedAt),
              h("span", { class: "mono" }, `${t.venue}:${t.marketId}`),
              `${t.side} ${t.quantity} @ ${price(t.limitPrice)}`,
              `${t.filled} of ${t.quantity}`,
              price(t.avgPrice),
              money(t.fee),
            ]),
          "",
        ),
      ),
    );
}

// ---------- approvals ----------

function payloadView(payload) {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload))
    return h("pre", null, JSON.stringify(payload, null, 2));
  return kv(
    Object.entries(payload).map(([k, v]) => [
      k,
      v !== null && typeof v === "object" ? h("pre", null, JSON.stringify(v, null, 2)) : String(v),
    ]),
  );
}

function approvalCard(a, actions) {
  return h(
    "article",
    { class: "card", "aria-label": `${ACTION_LABELS[a.action] ?? a.action} ${a.requestId}` },
    h("h3", null, ACTION_LABELS[a.action] ?? a.action, " ", badge(a.status)),
    kv([
      ["Request", h("span", { class: "mono" }, a.requestId)],
      ["Asked by", `${a.requestedBy}, ${whenAgo(a.requestedAt)}`],
      [
        "Approvals",
        `${a.approvals.length} of ${a.requiredApprovals}${a.approvals.length ? `: ${a.approvals.map((x) => `${x.approver} (${when(x.at)})`).join(", ")}` : ""}`,
      ],
      a.status === "pending"
        ? [
            "Expires",
            `${when(a.expiresAt)} (in ${ago(Date.parse(a.expiresAt) - Date.now()).replace(" ago", "")})`,
          ]
        : null,
      a.executeBy ? ["Execute by", when(a.executeBy)] : null,
      ["What exactly", payloadView(a.payload)],
      ["Payload hash", h("span", { class: "mono" }, a.payloadHash)],
    ]),
    h("div", { class: "actions" }, actions),
  );
}

function personButton(label, onclick, extra) {
  const mine = extra?.mine;
  return h(
    "button",
    {
      type: "button",
      onclick,
      class: extra?.class,
      disabled: !isPerson() || mine,
      title: !isPerson()
        ? "Two-person action: sign in through Cloudflare Access"
        : mine
          ? "You asked for it: two other people approve"
          : null,
      "aria-describedby": isPerson() ? null : "two-person-note",
      // Names its request: every card has the same visible text, and a redraw finds the control again by this.
      "aria-label": extra?.name ?? null,
    },
    label,
  );
}

new Panel(
  "p-approvals",
  "approvals",
  (signal) => api("GET", "/admin/approvals?status=pending", { signal }),
  (list, body) => {
    if (list.length === 0) {
      add(body, h("p", { class: "muted" }, "Nothing waits for approval."));
      return;
    }
    const me = principal?.email;
    add(
      body,
      h(
        "div",
        { class: "cards" },
        list.map((a) =>
          approvalCard(a, [
            personButton("Approve…", () => approveAction(a), {
              name: `Approve ${a.requestId}`,
              class: "primary",
              mine: me && (a.requestedBy === me || a.approvals.some((x) => x.approver === me)),
            }),
            personButton("Reject…", () => rejectAction(a), { name: `Reject ${a.requestId}` }),
          ]),
        ),
      ),
    );
  },
);

new Panel(
  "p-approved",
  "approvals",
  (signal) => api("GET", "/admin/approvals?status=approved", { signal }),
  (list, body) => {
    const waiting = list.filter((a) => !a.executedAt);
    if (waiting.length === 0) {
      add(
        body,
        h(
          "p",
          { class: "muted" },
          "No approved action waits to be executed (an approval applies itself when it reaches its threshold; Execute re-runs one that failed to apply).",
        ),
      );
      return;
    }
    add(
      body,
      h(
        "div",
        { class: "cards" },
        waiting.map((a) =>
          approvalCard(a, [
            personButton("Execute…", () => executeAction(a), { name: `Execute ${a.requestId}` }),
          ]),
        ),
      ),
    );
  },
);

// ---------- risk ----------

new Panel(
  "p-decisions",
  "risk",
  (signal) =>
    api("GET", `/admin/risk/decisions?limit=30${$("denied-only").checked ? "&denied=true" : ""}`, { signal }),
  ({ decisions }, body) => {
    add(
      body,
      table(
        ["At", "Decision", "Order", "#Qty", "#Limit", "Breaker", "Reasons"],
        decisions.map((d) => [
          when(d.at),
          d.approved ? badge("approved") : badge("denied"),
          h("span", { class: "mono" }, `${d.side} ${d.effect} ${d.venue}:${d.market}`),
          String(d.quantity),
          d.limitPrice,
          badge(d.breakerState),
          d.reasons.length ? d.reasons.map((r) => `${r.code}: ${r.message}`).join("; ") : "–",
        ]),
        "No decision yet.",
      ),
    );
  },
);
$("denied-only").addEventListener("change", () => panels.get("p-decisions").refresh());

new Panel(
  "p-breaker-history",
  "risk",
  (signal) => api("GET", "/admin/circuit-breaker/history?limit=30", { signal }),
  ({ transitions }, body) => {
    add(
      body,
      table(
        ["At", "From", "To", "#Version", "Trigger", "By", "Reason"],
        transitions.map((t) => [
          when(t.at),
          badge(t.from),
          badge(t.to),
          String(t.version),
          t.trigger,
          t.changedBy,
          t.reason,
        ]),
        "The breaker has never moved.",
      ),
    );
  },
);

// ---------- audit and ingestion ----------

new Panel(
  "p-audit",
  "audit",
  (signal) => api("GET", "/admin/audit/status", { signal }),
  (s, body) => {
    const lv = s.lastVerification;
    add(
      body,
      kv([
        [
          "Integrity",
          badge(s.integrity, s.integrity === "ok" ? "ok" : s.integrity === "broken" ? "bad" : "warn"),
        ],
        [
          "Head",
          h(
            "span",
            null,
            `#${s.headSeq} `,
            h("span", { class: "mono" }, String(s.headHash ?? "").slice(0, 16)),
            "…",
          ),
        ],
        [
          "Last anchor",
          s.lastAnchor
            ? `#${s.lastAnchor.anchorNo} to entry ${s.lastAnchor.toSeq}, ${seconds(s.lastAnchorAgeSeconds)} old`
            : "none yet",
        ],
        [
          "Not yet anchored",
          `${s.unanchoredEntries} entries${s.oldestUnanchoredAgeSeconds !== null ? `, oldest ${seconds(s.oldestUnanchoredAgeSeconds)}` : ""}`,
        ],
        ["R2 mirror lag", `${s.r2MirrorLag} entries${s.r2MirrorError ? ` (error: ${s.r2MirrorError})` : ""}`],
        [
          "Last verification",
          lv
            ? `${lv.mode}, ${lv.ok ? "intact" : `BROKEN at ${lv.brokenSeq ?? "?"}`}, ${whenAgo(lv.verifiedAt)}`
            : "never",
        ],
        [
          "Last full verification",
          s.lastFullVerificationAgeSeconds === null
            ? "never"
            : `${seconds(s.lastFullVerificationAgeSeconds)} ago`,
        ],
        [
          "Alerts",
          s.alerts?.length
            ? s.alerts
                .map((a) => (typeof a === "string" ? a : (a.message ?? a.code ?? JSON.stringify(a))))
                .join("; ")
            : "none",
        ],
      ]),
    );
  },
);

new Panel(
  "p-ingestion",
  "audit",
  (signal) => api("GET", "/admin/ingestion/status", { signal }),
  (s, body) => {
    add(
      body,
      table(
        [
          "Venue",
          "Last run",
          "Finished",
          "#Fetched",
          "#Failures in a row",
          "Last ok",
          "#Markets",
          "Recent errors",
        ],
        Object.entries(s.venues).map(([venue, v]) => [
          venue,
          v.lastRun ? badge(v.lastRun.outcome, v.lastRun.outcome === "ok" ? "ok" : "bad") : "never",
          v.lastRun ? ago(Date.now() - Date.parse(v.lastRun.finishedAt)) : "–",
          v.lastRun ? String(v.lastRun.fetched) : "–",
          String(v.consecutiveFailures),
          v.lastOkAt ? ago(Date.now() - Date.parse(v.lastOkAt)) : "never",
          String(v.storedMarkets ?? "–"),
          Object.entries(v.errorsRecent ?? {})
            .map(([k, n]) => `${k} ${n}`)
            .join(", ") || "none",
        ]),
        "No venue.",
      ),
      h(
        "p",
        { class: "muted" },
        `${s.evidenceCount} evidence object(s) kept; ${s.rejectedEvidence} rejected; compliance rules v${s.rulesVersion}.`,
      ),
      evidenceIndexLine(s.evidenceIndex),
    );
  },
);

/**
 * The evidence index audit (docs/ingestion.md): its walks of the evidence bucket, what it recovered (bytes kept whose
 * record was lost), and any object it cannot vouch for, which the runbook says what to do about.
 */
function evidenceIndexLine(index) {
  if (!index) return null;
  const met = Math.max(index.unvouchedThisWalk, index.unvouchedLastWalk);
  const verdict =
    met > 0
      ? badge(`${met} cannot be vouched for`, "bad")
      : index.passesCompleted === 0
        ? badge("not walked yet", "warn")
        : badge("none unvouched", "ok");
  return h(
    "p",
    { class: "evidence-index" },
    verdict,
    ` Evidence index: ${index.passesCompleted} complete walk(s) of the bucket${index.midPass ? ", one under way" : ""}; ` +
      `last step ${index.lastStepAt ? whenAgo(index.lastStepAt) : "never"}; ${index.recordedTotal} recovered.`,
    met > 0
      ? ' Objects in the evidence bucket cannot be vouched for: runbook, "Evidence that cannot be vouched for".'
      : null,
  );
}

new Panel(
  "p-mesh",
  "audit",
  (signal) => api("GET", "/admin/status", { signal, acceptStatus: [503] }),
  (s, body) => {
    add(
      body,
      h(
        "p",
        null,
        "Mesh: ",
        badge(s.status, s.status === "ok" ? "ok" : "bad"),
        s.failing?.length ? ` failing: ${s.failing.join(", ")}` : "",
      ),
      table(
        ["Service", "Health", "#Latency", "Detail"],
        Object.entries(s.services).map(([name, v]) => [
          name,
          badge(v.ok ? "ok" : "failing", v.ok ? "ok" : "bad"),
          `${v.latencyMs} ms`,
          v.error ??
            (v.checks ?? []).map((c) => `${c.name}: ${c.detail ?? (c.ok ? "ok" : "failing")}`).join("; "),
        ]),
        "",
      ),
    );
  },
);

// ---------- pairs ----------

let pairsOffset = 0;
const PAIRS_PAGE = 25;
const pairs = new Panel(
  "p-pairs",
  "pairs",
  (signal) => {
    const q = new URLSearchParams({ offset: String(pairsOffset), limit: String(PAIRS_PAGE) });
    if ($("pairs-grade").value) q.set("grade", $("pairs-grade").value);
    if ($("pairs-review").value) q.set("review", $("pairs-review").value);
    return api("GET", `/admin/pairs/page?${q}`, { signal });
  },
  (page, body) => {
    add(
      body,
      table(
        ["Kalshi", "Polymarket", "#Similarity", "Grade", "YES maps to", "Review", "Reviewed by"],
        page.pairs.map((p) => [
          h("span", null, p.kalshi.title, h("div", { class: "mono muted" }, p.kalshi.marketId)),
          h("span", null, p.polymarket.title, h("div", { class: "mono muted" }, p.polymarket.marketId)),
          Number(p.similarity).toFixed(2),
          p.grade
            ? badge(p.grade, p.grade === "identical" || p.grade === "near_equivalent" ? "ok" : "warn")
            : badge("not assessed", "unknown"),
          p.yesMapsTo ?? "–",
          badge(p.review),
          p.reviewedBy ? `${p.reviewedBy}, ${when(p.reviewedAt)}` : "–",
        ]),
        "No pair matches.",
      ),
    );
    const end = Math.min(page.total, page.offset + page.pairs.length);
    $("pairs-range").textContent = page.total ? `${page.offset + 1}–${end} of ${page.total}` : "0 pairs";
    $("pairs-prev").disabled = page.offset === 0;
    $("pairs-next").disabled = end >= page.total;
  },
);
for (const id of ["pairs-grade", "pairs-review"])
  $(id).addEventListener("change", () => {
    pairsOffset = 0;
    pairs.refresh();
  });
$("pairs-prev").addEventListener("click", () => {
  pairsOffset = Math.max(0, pairsOffset - PAIRS_PAGE);
  pairs.refresh();
});
$("pairs-next").addEventListener("click", () => {
  pairsOffset += PAIRS_PAGE;
  pairs.refresh();
});

// ---------- actions: confirm, then act ----------

let pending = null;
// Where focus goes back to when the dialog closes. The browser returns it to the control that opened the dialog, but
// a panel redrawn meanwhile (every 10 s) made that control a new element: it is found again by what it says, or
// focus stays in its panel (on the heading) when its row has gone.
let returnTo = null;
// True while a confirmed request is on its way: Confirm stays disabled (typing in the reason must not enable it
// again) and a second submit (a double click, Enter) sends nothing.
let sending = false;

/**
 * Opens the confirmation: what will happen (`explain`), the exact request (updated as a reason is typed), and
 * Confirm. A refused request is shown in the dialog, which stays open; a success closes it, says what happened at
 * the top of the page and refreshes the panels it touched. A `reason` is required (Confirm stays disabled while it
 * is blank); with `min`/`max` (the API's limits) the dialog states them and counts what is typed.
 */
function confirmAction({ title, explain, reason, request, done, confirmLabel }) {
  pending = { request, done, reason };
  const opener = document.activeElement;
  returnTo =
    opener && opener !== document.body
      ? { key: controlKey(opener), within: opener.closest("section.panel, #banner") ?? document.body }
      : null;
  $("confirm-title").textContent = title;
  $("confirm-explain").replaceChildren();
  add(
    $("confirm-explain"),
    explain.map((p) => h("p", null, p)),
  );
  $("confirm-reason-row").hidden = !reason;
  $("confirm-reason").value = reason?.value ?? "";
  $("confirm-reason").maxLength = reason?.max ?? 500;
  $("confirm-reason").placeholder = reason?.placeholder ?? "";
  $("confirm-reason-label").textContent = reason?.label ?? "Reason";
  $("confirm-reason-hint").hidden = !(reason?.min || reason?.max);
  $("confirm-error").hidden = true;
  $("confirm-ok").textContent = confirmLabel ?? "Confirm";
  showRequest();
  $("confirm").showModal();
  (reason ? $("confirm-reason") : $("confirm-ok")).focus();
}

/** What is wrong with the typed reason (null when it may be sent, or when the dialog asks for none). */
function reasonProblem() {
  const limits = pending?.reason;
  if (!limits) return null;
  const text = $("confirm-reason").value.trim();
  const min = limits.min ?? 1;
  const max = limits.max ?? 500;
  if (text === "") return "A reason is required.";
  if (text.length < min) return `The reason needs at least ${min} characters.`;
  if (text.length > max) return `The reason may have at most ${max} characters.`;
  return null;
}

function showRequest() {
  if (!pending) return;
  const r = pending.request($("confirm-reason").value.trim());
  $("confirm-request").textContent =
    `${r.method} ${r.path}${r.body === undefined ? "" : `\n${JSON.stringify(r.body, null, 2)}`}`;
  const problem = reasonProblem();
  $("confirm-ok").disabled = sending || problem !== null;
  const limits = pending.reason;
  if (limits && (limits.min || limits.max)) {
    const typed = $("confirm-reason").value.trim().length;
    $("confirm-reason-hint").textContent =
      `Required: ${limits.min ?? 1} to ${limits.max ?? 500} characters (${typed} typed).${problem && typed > 0 ? ` ${problem}` : ""}`;
  }
}

$("confirm-reason").addEventListener("input", showRequest);
$("confirm").addEventListener("close", () => {
  const back = returnTo;
  returnTo = null;
  // At the close event the browser may still report focus on the closed dialog's button (it moves it off a hidden
  // element only at the next rendering): that is focus with nowhere to go too.
  if (back && (focusLost() || $("confirm").contains(document.activeElement)))
    focusQuietly(findControl(back.within, back.key) ?? back.within.querySelector("h2") ?? back.within);
});
$("confirm-cancel").addEventListener("click", () => {
  pending = null;
  $("confirm").close();
});
$("confirm-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!pending || sending) return;
  // Refused here, before anything is sent (Confirm is disabled then, but Enter in the field is a submit too).
  const problem = reasonProblem();
  if (problem) {
    $("confirm-error").textContent = `Not sent: ${problem}`;
    $("confirm-error").hidden = false;
    return;
  }
  const mine = pending;
  const { request, done } = mine;
  const r = request($("confirm-reason").value.trim());
  // Still this request's dialog (not closed with Escape or Cancel meanwhile, nor another one opened since).
  const shown = () => pending === mine && $("confirm").open;
  sending = true;
  $("confirm-ok").disabled = true;
  $("confirm-error").hidden = true;
  try {
    const result = await api(r.method, r.path, { body: r.body });
    if (shown()) {
      pending = null;
      $("confirm").close();
    }
    say(done(result), false);
  } catch (error) {
    const refused = `Refused: ${error.status ? `${error.status} ` : ""}${error.code}: ${error.message}`;
    if (shown()) {
      $("confirm-error").textContent = refused;
      $("confirm-error").hidden = false;
      // On a short window the dialog scrolls: the refusal is brought into sight.
      $("confirm-error").scrollIntoView({ block: "nearest" });
    } else say(`${r.method} ${r.path}: ${refused}`, true);
  } finally {
    sending = false;
    showRequest();
  }
  refreshAfterAction();
});

function say(text, failed) {
  const el = $("action-result");
  el.textContent = text;
  el.classList.toggle("failed", failed);
  el.hidden = false;
}

function refreshAfterAction() {
  banner.refresh();
  approvalsCount.refresh();
  refreshView();
}

function haltAction() {
  confirmAction({
    title: "Emergency halt",
    explain: [
      "The circuit breaker goes to HALT at once: every order that opens or increases a position is refused. Reducing and closing orders still go.",
      "Coming back takes a recovery request (RECOVERY, probe-sized orders only), then two people approving NORMAL.",
    ],
    reason: { label: "Reason (recorded in the audit chain)", value: "Emergency halt" },
    request: (reason) => ({
      method: "POST",
      path: "/admin/circuit-breaker/transition",
      body: { targetState: "HALT", reason },
    }),
    done: (b) => `Halted: the breaker is ${b.state} (v${b.version}).`,
    confirmLabel: "Halt trading",
  });
}

function recoveryAction(b) {
  confirmAction({
    title: "Request recovery (HALT → RECOVERY)",
    explain: [
      `The breaker leaves HALT v${b.version} for RECOVERY: only probe-sized orders pass, and the exposure limits are halved.`,
      `If the breaker has moved since you read v${b.version}, the request is refused rather than overriding it.`,
      "NORMAL then needs two people to approve.",
    ],
    reason: { label: "Reason", value: "" },
    request: (reason) => ({
      method: "POST",
      path: "/admin/circuit-breaker/transition",
      body: { targetState: "RECOVERY", reason, expectedVersion: b.version },
    }),
    done: (r) => `The breaker is ${r.state} (v${r.version}).`,
  });
}

function cautionToNormalAction(b) {
  confirmAction({
    title: "Back to NORMAL (CAUTION → NORMAL)",
    explain: [
      `The breaker leaves CAUTION v${b.version} for NORMAL: full limits apply again.`,
      `If the breaker has moved since you read v${b.version}, the request is refused.`,
    ],
    reason: { label: "Reason", value: "" },
    request: (reason) => ({
      method: "POST",
      path: "/admin/circuit-breaker/transition",
      body: { targetState: "NORMAL", reason, expectedVersion: b.version },
    }),
    done: (r) => `The breaker is ${r.state} (v${r.version}).`,
  });
}

function recoveryToNormalAction(b) {
  confirmAction({
    title: "Request NORMAL (two people)",
    explain: [
      `Files a two-person request: breaker RECOVERY v${b.version} → NORMAL. Nothing changes yet.`,
      "Two other people must approve it (Approvals view); it applies itself when the second approves, unless the breaker has moved from this version.",
    ],
    reason: { label: "Reason", value: "" },
    request: (reason) => ({
      method: "POST",
      path: "/admin/approvals",
      body: {
        action: "breaker.recovery_to_normal",
        payload: { targetState: "NORMAL", reason, expectedVersion: b.version },
      },
    }),
    done: (a) =>
      `Requested ${a.requestId}: ${a.requiredApprovals} approval(s) needed before the breaker returns to NORMAL.`,
  });
}

function approveAction(a) {
  const last = a.approvals.length + 1 >= a.requiredApprovals;
  confirmAction({
    title: `Approve: ${ACTION_LABELS[a.action] ?? a.action}`,
    explain: [
      `You approve request ${a.requestId} asked by ${a.requestedBy}, exactly this payload (hash ${a.payloadHash.slice(0, 16)}…):`,
      JSON.stringify(a.payload),
      last
        ? "Yours is the last approval needed: the action is applied at once."
        : `${a.requiredApprovals - a.approvals.length - 1} more approval(s) will still be needed.`,
    ],
    request: () => ({ method: "POST", path: `/admin/approvals/${encodeURIComponent(a.requestId)}/approve` }),
    done: (r) =>
      `Approved ${a.requestId}: now ${r.request?.status ?? "recorded"}${r.applied ? " and applied" : `, ${a.requiredApprovals - a.approvals.length - 1} more approval(s) needed`}.`,
    confirmLabel: "Approve",
  });
}

function rejectAction(a) {
  confirmAction({
    title: `Reject: ${ACTION_LABELS[a.action] ?? a.action}`,
    explain: [`Request ${a.requestId} ends as rejected: it can never be approved or executed.`],
    reason: { label: "Why (recorded)", value: "" },
    request: (reason) => ({
      method: "POST",
      path: `/admin/approvals/${encodeURIComponent(a.requestId)}/reject`,
      body: { reason },
    }),
    done: () => `Rejected ${a.requestId}.`,
    confirmLabel: "Reject",
  });
}

function executeAction(a) {
  confirmAction({
    title: `Execute: ${ACTION_LABELS[a.action] ?? a.action}`,
    explain: [
      `Applies the approved request ${a.requestId} now (its first application failed or was not made). Payload:`,
      JSON.stringify(a.payload),
      `It must be executed by ${when(a.executeBy)}.`,
    ],
    request: () => ({ method: "POST", path: `/admin/approvals/${encodeURIComponent(a.requestId)}/execute` }),
    done: () => `Executed ${a.requestId}.`,
    confirmLabel: "Execute",
  });
}

function goLiveAction(s, replayId = "") {
  confirmAction({
    title: `Request go-live: ${s.name}`,
    explain: [
      `Opens a two-person request (strategy.go_live) for ${s.id}. The strategy stays in paper until two other people approve.`,
      "It must cite a complete replay of this strategy with the params it has now (POST /admin/replays); the approvers see its summary.",
    ],
    reason: { label: "Replay id (rp_…)", value: replayId },
    request: (replayId) => ({
      method: "POST",
      path: `/admin/strategies/${encodeURIComponent(s.id)}/go-live`,
      body: { replayId },
    }),
    done: (r) => `Go-live requested${r?.request?.requestId ? `: ${r.request.requestId}` : ""}.`,
  });
}

function pauseAction(s) {
  confirmAction({
    title: `Pause: ${s.name}`,
    explain: [
      `${s.name} (${s.state}) stops placing new orders at once. Open orders and positions are left as they are.`,
    ],
    request: () => ({ method: "POST", path: `/admin/strategies/${encodeURIComponent(s.id)}/pause` }),
    done: (r) => `${s.name} is ${r?.state ?? "paused"}.`,
    confirmLabel: "Pause",
  });
}

function cancelOrderAction(o) {
  confirmAction({
    title: `Cancel order ${o.clientOrderId}`,
    explain: [
      `Asks ${o.intent.venue} to cancel ${o.intent.side} ${o.intent.quantity} ${o.intent.market} (${o.state}, ${o.filledQuantity} filled). What has filled stays filled.`,
    ],
    request: () => ({ method: "POST", path: `/admin/orders/${encodeURIComponent(o.clientOrderId)}/cancel` }),
    done: (r) => `Order ${o.clientOrderId}: ${r?.state ?? "cancel requested"}.`,
    confirmLabel: "Cancel the order",
  });
}

function closePositionAction(p) {
  const side = p.quantity > 0 ? "sell" : "buy";
  const qty = Math.abs(p.quantity);
  confirmAction({
    title: `Close ${p.venue}:${p.market}`,
    explain: [
      `Places a closing order: ${side} ${qty} at ${p.mark} (the current mark, ${p.markAgeSeconds ?? "?"} s old), for strategy ${p.strategyId}.`,
      "Risk checks it like every order; closing orders pass in HALT too. It may fill in part or not at all.",
    ],
    request: () => ({
      method: "POST",
      path: "/admin/orders",
      body: {
        strategyId: p.strategyId,
        venue: p.venue,
        market: p.market,
        side,
        effect: "close",
        quantity: qty,
        limitPrice: p.mark,
        evidenceHashes: [p.markEvidenceHash],
      },
    }),
    done: (r) =>
      `Closing order ${r?.order?.clientOrderId ?? r?.clientOrderId ?? ""}: ${r?.order?.state ?? r?.state ?? "placed"}.`,
    confirmLabel: "Place the closing order",
  });
}

// An operator takes an owed hedge over: after placing it by hand (docs/runbook.md, "A hedge not placed"). The API
// requires a reason of 3 to 500 characters (HedgeObligationAbandon in packages/contracts), audited with it.
const ABANDON_REASON = { min: 3, max: 500 };

function abandonHedgeAction(o) {
  confirmAction({
    title: `Abandon the owed hedge ${o.obligationId}`,
    explain: [
      `Owed since ${whenAgo(o.firstSeenAt)}: ${o.side} ${o.quantity} share(s) of ibkr:${o.conid} against ${o.filled} contract(s) of ${o.market}. ${o.attempts} attempt(s); the last: ${o.lastReason ?? "none yet"}.`,
      "Abandoning means the trading loop stops retrying this hedge, and the unhedged-exposure alert stops counting it. Nothing is placed or cancelled: the position stays unhedged unless it has been hedged by hand. This cannot be undone.",
      "Abandon only after placing the hedge by hand (POST /admin/orders, venue ibkr), or once the desk has accepted the exposure.",
    ],
    reason: {
      label: "Reason (recorded in the audit chain)",
      value: "",
      placeholder: "hedged by hand: order man-…",
      ...ABANDON_REASON,
    },
    request: (reason) => ({
      method: "POST",
      path: `/admin/execution/hedge-obligations/${encodeURIComponent(o.obligationId)}/abandon`,
      body: { reason },
    }),
    done: (r) =>
      `Abandoned the owed hedge ${r?.obligationId ?? o.obligationId}: the loop no longer retries it. The position stays unhedged unless hedged by hand.`,
    confirmLabel: "Abandon this hedge",
  });
}

$("reconcile").addEventListener("click", () =>
  confirmAction({
    title: "Reconcile now",
    explain: [
      "Compares execution's fills with each venue's own positions, records the result in the audit chain, and reports drift beyond tolerance to the breaker (drift can move it to CAUTION or HALT).",
    ],
    request: () => ({ method: "POST", path: "/admin/reconcile" }),
    done: (r) => `Reconciled: ${JSON.stringify(r).slice(0, 300)}`,
    confirmLabel: "Reconcile",
  }),
);

$("verify-audit").addEventListener("click", () =>
  confirmAction({
    title: "Verify the audit chain",
    explain: [
      "Re-hashes the entries appended since the last verification and checks them against the chain and its anchors. A break is reported, and the breaker halts on it.",
    ],
    request: () => ({ method: "POST", path: "/admin/audit/verify", body: { mode: "incremental" } }),
    done: (r) =>
      r.ok
        ? `Audit chain intact: ${r.checkedEntries} entries and ${r.checkedAnchors} anchors checked.`
        : `AUDIT CHAIN BROKEN at ${r.brokenSeq}: ${r.reason}`,
    confirmLabel: "Verify",
  }),
);

// ---------- views, sign-in, refresh ----------

function refreshView() {
  for (const p of panels.values()) {
    if (p.view !== currentView) continue;
    if (p === trace && !traceId) continue;
    // A replay being read is not asked twice; one that has ended does not change (its report is stored
    // create-only): read once, not every 10 s.
    if (
      p === replay &&
      (!replayId ||
        p.el.dataset.status === "loading" ||
        (p.last?.replay?.id === replayId && p.last.replay.status !== "running"))
    )
      continue;
    p.refresh();
  }
}

function showView(name) {
  const views = [...document.querySelectorAll("[data-view]")].map((s) => s.dataset.view);
  currentView = views.includes(name) ? name : "overview";
  for (const s of document.querySelectorAll("[data-view]")) s.hidden = s.dataset.view !== currentView;
  for (const a of document.querySelectorAll("[data-view-link]")) {
    if (a.dataset.viewLink === currentView) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  $("two-person-note").hidden = !principal || isPerson();
  if (principal) refreshView();
}

// Who is signed in: the latest question's answer only (the page's first question, asked before a token is typed,
// can be answered after the question asked with the token).
let whoSeq = 0;

async function whoAmI() {
  const seq = ++whoSeq;
  try {
    const r = await api("GET", "/admin/whoami");
    if (seq !== whoSeq) return;
    principal = r.principal;
  } catch (error) {
    if (seq !== whoSeq) return;
    principal = null;
    if (error.status !== 401 && error.status !== 403) {
      $("signin-error").textContent = `Could not check who you are: ${error.message}`;
      $("signin-error").hidden = false;
    } else if (token) {
      $("signin-error").textContent = `That token was refused (${error.message}).`;
      $("signin-error").hidden = false;
    }
  }
  const signedIn = principal !== null;
  $("who").replaceChildren();
  add(
    $("who"),
    signedIn
      ? `Signed in: ${principalName(principal)}${isPerson() ? " · Cloudflare Access" : " · cannot approve two-person actions"} `
      : "not signed in",
    token ? h("button", { type: "button", onclick: forgetToken }, "Forget token") : null,
  );
  $("signin").hidden = signedIn;
  $("sign-out").hidden = !token;
  document.querySelector("main").hidden = !signedIn;
  if (signedIn) {
    $("signin-error").hidden = true;
    banner.refresh();
    approvalsCount.refresh();
  }
  showView(location.hash.slice(1));
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("token").value.trim();
  $("token").value = "";
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  whoAmI();
});
function forgetToken() {
  token = "";
  sessionStorage.removeItem(TOKEN_KEY);
  principal = null;
  location.reload();
}
$("sign-out").addEventListener("click", forgetToken);

window.addEventListener("hashchange", () => showView(location.hash.slice(1)));
window.addEventListener("resize", () => {
  for (const [chart, p] of [
    [equityChart, "p-equity"],
    [categoryChart, "p-categories"],
    [replayChart, "p-replay"],
  ])
    chart?.setSize({
      width: Math.max(260, $(p).querySelector(".body").clientWidth - 24),
      height: chart.height,
    });
});

setInterval(() => {
  if (!principal || document.hidden) return;
  banner.refresh();
  approvalsCount.refresh();
  refreshView();
}, REFRESH_MS);
setInterval(() => {
  for (const p of panels.values()) p.tick();
}, 1000);

whoAmI();
