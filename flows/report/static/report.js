/* opskpi report: draws every section for the chosen period and sites from the JSON the
   page embeds (id="report-data"). It formats the warehouse's figures and compares them
   with the period before; it computes no KPI. Inlined into index.html (no request). */
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const KPIS = D.kpis;
  const KPI = Object.fromEntries(KPIS.map((k) => [k.id, k]));
  const SITES = D.sites;
  const SITE = Object.fromEntries(SITES.map((s) => [s.id, s]));
  const CARRIER = Object.fromEntries(D.carriers.map((c) => [c.id, c]));
  const VENDOR = Object.fromEntries(D.vendors.map((v) => [v.id, v]));
  const AS_OF = D.meta.as_of;
  const MINUS = "\u2212";
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8c6d31"];
  const ALL_COLOR = "#1f2937";
  const MAX_TREND_SITES = 7;
  const WHY_SHOWN = 25;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];
  // phrasing of a member's sides for rates of counted records: [records, what is missed]
  const COUNTED = {
    on_time_delivery_rate: ["shipments", "late"], otif_rate: ["order lines", "not OTIF"],
    in_full_rate: ["order lines", "short"], perfect_order_rate: ["order lines", "not perfect"],
    three_way_match_rate: ["invoice lines", "unmatched"], on_time_payment_rate: ["invoice lines", "paid late"],
    supplier_otif_rate: ["PO lines", "not OTIF"], inventory_record_accuracy: ["counts", "off"],
    sla_response_rate: ["tickets", "missed"], sla_resolution_rate: ["tickets", "missed"],
  };
  // members that stand for a whole side of a 'split' KPI
  const SIDES = new Set(["units shipped", "hours worked", "labor cost", "freight cost", "orders shipped",
    "inventory value", "cost of goods shipped", "units returned", "units delivered", "incidents"]);

  // ---------------------------------------------------------------- dates and numbers
  const parseDay = (s) => { const [y, m, d] = s.split("-").map(Number); return new Date(Date.UTC(y, m - 1, d)); };
  const iso = (dt) => dt.toISOString().slice(0, 10);
  const addDays = (s, n) => { const dt = parseDay(s); dt.setUTCDate(dt.getUTCDate() + n); return iso(dt); };
  const monthEnd = (s) => { const dt = parseDay(s); return iso(new Date(Date.UTC(dt.getUTCFullYear(), dt.getUTCMonth() + 1, 0))); };
  const dayShort = (s) => { const dt = parseDay(s); return `${dt.getUTCDate()} ${MONTHS[dt.getUTCMonth()]}`; };
  const day = (s) => s ? `${dayShort(s)} ${parseDay(s).getUTCFullYear()}` : "–";
  const isoWeek = (s) => {
    const dt = parseDay(s); const th = new Date(dt); th.setUTCDate(dt.getUTCDate() + 3);
    const jan4 = new Date(Date.UTC(th.getUTCFullYear(), 0, 4));
    return 1 + Math.round(((th - jan4) / 86400000 - 3 + ((jan4.getUTCDay() + 6) % 7)) / 7);
  };
  const periodEnd = (grain, s) => (grain === "week" ? addDays(s, 6) : monthEnd(s));
  const periodLabel = (grain, s) => {
    if (grain === "month") { const dt = parseDay(s); return `${MONTH_NAMES[dt.getUTCMonth()]} ${dt.getUTCFullYear()}`; }
    const end = addDays(s, 6);
    const first = parseDay(s).getUTCFullYear() === parseDay(end).getUTCFullYear() ? dayShort(s) : day(s);
    return `Week ${isoWeek(s)} · ${first} – ${day(end)}`;
  };
  const shortPeriod = (grain, s) => (grain === "week" ? `wk ${isoWeek(s)} ${dayShort(s)}` : periodLabel("month", s));
  const before = (grain) => (grain === "week" ? "the week before" : "the month before");
  const complete = (grain, s) => periodEnd(grain, s) <= AS_OF;

  const missing = (v) => v === null || v === undefined || Number.isNaN(v);
  // rounding of the exact value, ties to even, as Python's format() (flows/report/formatting.py)
  const formats = new Map();
  const numberFormat = (digits, percent) => {
    const key = `${digits}${percent ? "%" : ""}`;
    if (!formats.has(key)) formats.set(key, new Intl.NumberFormat("en-US", { minimumFractionDigits: digits,
      maximumFractionDigits: digits, roundingMode: "halfEven", style: percent ? "percent" : "decimal" }));
    return formats.get(key);
  };
  const group3 = (v, digits) => numberFormat(digits).format(Math.abs(v));
  const percent = (v, digits) => numberFormat(digits, true).format(Math.abs(v)).replace("%", "");
  function usd(v, cents, signed) {
    if (missing(v)) return "–";
    const digits = cents ? 2 : 0;
    if (Number(Math.abs(v).toFixed(digits)) === 0) return `$${(0).toFixed(digits)}`;
    return `${v < 0 ? "-" : signed ? "+" : ""}$${group3(v, digits)}`;
  }
  function fmt(v, unit) {  // as flows/report/formatting.py by_unit
    if (missing(v)) return "–";
    switch (unit) {
      case "rate": return `${(v < 0 && percent(v, 1) !== "0.0" ? "-" : "")}${percent(v, 1)}%`;
      case "usd": return usd(v);
      case "usd_signed": return usd(v, false, true);
      case "usd_unit": return usd(v, true);
      case "usd_order": return `${usd(v, true)}/order`;
      case "per_200k_hours": return `${v < 0 ? "-" : ""}${group3(v, 2)} per 200k h`;
      case "days": return `${v < 0 ? "-" : ""}${group3(v, 2)} days`;
      case "hours": return `${v < 0 ? "-" : ""}${group3(v, 1)} h`;
      case "per_hour": return `${v < 0 ? "-" : ""}${group3(v, 2)} units/h`;
      default: return `${v < 0 ? "-" : ""}${group3(v, 2)}`;
    }
  }
  function fmtChange(v, unit) {  // a change in points or in the KPI's units, signed
    if (missing(v)) return "–";
    let sign = v > 0 ? "+" : v < 0 ? MINUS : "±";
    const a = Math.abs(v);
    const digits = unit === "hours" ? 1 : unit === "usd" || unit === "usd_signed" ? 0 : 2;
    if (Number(unit === "rate" ? percent(a, 1) : group3(a, digits).replace(/,/g, "")) === 0) sign = "±";
    switch (unit) {
      case "rate": return `${sign}${percent(a, 1)} pts`;
      case "usd": case "usd_signed": return `${sign}$${group3(a, 0)}`;
      case "usd_unit": return `${sign}$${group3(a, 2)}`;
      case "usd_order": return `${sign}$${group3(a, 2)}/order`;
      case "per_200k_hours": return `${sign}${group3(a, 2)} per 200k h`;
      case "days": return `${sign}${group3(a, 2)} days`;
      case "hours": return `${sign}${group3(a, 1)} h`;
      case "per_hour": return `${sign}${group3(a, 2)} units/h`;
      default: return `${sign}${group3(a, 2)}`;
    }
  }
  const qty = (v) => (missing(v) ? "–" : Number.isInteger(v) ? v.toLocaleString("en-US") : group3(v, 2));
  const targetText = (t, kpi) => {
    if (missing(t)) return "no target";
    const sign = { higher_is_better: "≥ ", lower_is_better: "≤ " }[KPI[kpi].direction] || "";
    return sign + fmt(t, KPI[kpi].unit);
  };
  // better / worse / neutral, by the KPI's direction (core.dim_kpi.direction)
  function judge(change, kpi) {
    if (missing(change) || change === 0) return "neutral";
    const dir = KPI[kpi] && KPI[kpi].direction;
    if (dir === "higher_is_better") return change > 0 ? "better" : "worse";
    if (dir === "lower_is_better") return change < 0 ? "better" : "worse";
    return "neutral";
  }
  const arrow = (change) => (missing(change) ? "" : change > 0 ? "▲" : change < 0 ? "▼" : "▶");
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("data-") || k === "title" || k === "id" || k === "href" || k === "colspan" || k === "scope" || k === "role" || k === "tabindex" || k === "aria-label") node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
    return node;
  };

  // ---------------------------------------------------------------- state
  const state = { grain: "week", period: null, sites: new Set(SITES.map((s) => s.id)) };
  const G = () => D[state.grain];
  const periodIndex = () => G().periods.indexOf(state.period);
  const selectedSites = () => SITES.filter((s) => state.sites.has(s.id));
  const value = (kpi, site, i) => { const s = G().values[kpi] && G().values[kpi][site]; return s && i >= 0 ? s[i] : null; };
  const statusOf = (kpi, site, i) => {
    const s = G().status[kpi] && G().status[kpi][site];
    const c = s && i >= 0 ? s[i] : "-";
    return { g: "green", a: "amber", r: "red" }[c] || null;
  };
  const targetOf = (kpi, site) => { const t = G().targets[kpi]; return t && site in t ? t[site] : null; };
  // drivers, carriers and vendors, budget lines: one gzipped JSON chunk per period,
  // inflated when the period is chosen
  const inflated = new Map();
  async function inflate(key, chunk, empty) {
    if (inflated.has(key)) return inflated.get(key);
    let value = empty;
    if (chunk) {
      const bytes = Uint8Array.from(atob(chunk), (c) => c.charCodeAt(0));
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
      value = JSON.parse(await new Response(stream).text());
    }
    inflated.set(key, value);
    return value;
  }
  const chunkOf = (key) => inflated.get(key);
  async function ensureChunks() {
    const i = periodIndex(), m = D.month.periods.indexOf(monthForSections());
    await inflate(`${state.grain}|drivers|${i}`, D[state.grain].drivers[i], {});
    await inflate(`${state.grain}|members|${i}`, D[state.grain].members[i], {});
    if (m >= 0) {
      await inflate(`month|members|${m}`, D.month.members[m], {});
      await inflate(`budget|${m}`, D.budget[m], []);
    }
  }
  const driversOf = (kpi, site, i) => ((chunkOf(`${state.grain}|drivers|${i}`) || {})[`${kpi}|${site}`]) || [];
  // the month the monthly sections show: the chosen month, or with a week chosen the last
  // month complete by the end of that week (budget and vendors are judged on whole months)
  function monthForSections() {
    const months = D.month.periods;
    if (state.grain === "month") return state.period;
    const end = addDays(state.period, 6);
    const done = months.filter((m) => monthEnd(m) <= end);
    return done.length ? done[done.length - 1] : months[months.length - 1] || null;
  }
  // one site chosen: the carrier and vendor tables are that site's; otherwise all sites'
  function scopeSite() {
    const real = [...state.sites].filter((s) => s !== "ALL");
    return real.length === 1 ? real[0] : "ALL";
  }

  function defaultPeriod(grain) {
    const periods = D[grain].periods;
    if (!periods.length) return null;
    if (grain === "week" && D.meta.default_week && periods.includes(D.meta.default_week)) return D.meta.default_week;
    const end = D.meta.opens_on_data && D.meta.latest_data ? D.meta.latest_data : AS_OF;
    const done = periods.filter((p) => periodEnd(grain, p) <= end);
    return done.length ? done[done.length - 1] : periods[periods.length - 1];
  }

  function readHash() {
    const h = new URLSearchParams(location.hash.slice(1));
    if (h.get("grain") === "month" || h.get("grain") === "week") state.grain = h.get("grain");
    state.period = h.get("period") && D[state.grain].periods.includes(h.get("period")) ? h.get("period") : defaultPeriod(state.grain);
    if (h.get("sites")) {
      const wanted = h.get("sites").split(",").filter((s) => s in SITE);
      if (wanted.length) state.sites = new Set(wanted);
    }
  }
  function writeHash() {
    const h = new URLSearchParams({ grain: state.grain, period: state.period || "" });
    if (state.sites.size !== SITES.length) h.set("sites", [...state.sites].join(","));
    try { history.replaceState(null, "", "#" + h.toString()); } catch (e) { /* a sandboxed frame */ }
  }

  // ---------------------------------------------------------------- controls
  function renderControls() {
    for (const b of document.querySelectorAll(".grain-toggle button")) b.classList.toggle("on", b.dataset.grain === state.grain);
    const select = document.getElementById("period-select");
    select.replaceChildren(...[...G().periods].reverse().map((p) => {
      const i = G().periods.indexOf(p);
      const any = KPIS.some((k) => SITES.some((s) => !missing(value(k.id, s.id, i))));
      const notes = [complete(state.grain, p) ? "" : "partial", any ? "" : "no data"].filter(Boolean);
      return el("option", { value: p, text: periodLabel(state.grain, p) + (notes.length ? ` (${notes.join(", ")})` : ""), selected: p === state.period });
    }));
    const n = state.sites.size;
    document.getElementById("site-summary").textContent = n === SITES.length ? `all ${SITES.length - 1}` : `${n} of ${SITES.length}`;
    document.getElementById("print-choice").textContent =
      `${periodLabel(state.grain, state.period)} · sites: ${selectedSites().map((s) => s.id).join(", ")}`;
  }
  function buildSiteList() {
    const list = document.getElementById("site-list");
    list.replaceChildren(...SITES.map((s) => el("li", { "data-site": s.id },
      el("label", {}, el("input", { type: "checkbox", value: s.id, checked: state.sites.has(s.id) }), " ", s.label),
      el("button", { type: "button", class: "only", "data-only": s.id, text: "only" }))));
  }
  function syncSiteList() {
    for (const box of document.querySelectorAll("#site-list input")) box.checked = state.sites.has(box.value);
  }
  function bindControls() {
    for (const b of document.querySelectorAll(".grain-toggle button")) {
      b.addEventListener("click", () => {
        if (state.grain === b.dataset.grain) return;
        const from = state.period; state.grain = b.dataset.grain;
        // the month of the chosen week's Thursday (ISO: the month the week mostly lies in),
        // or the last week of the chosen month
        const periods = G().periods;
        const end = from ? (state.grain === "month" ? addDays(from, 3) : monthEnd(from)) : null;
        const fit = periods.filter((p) => p <= end);
        state.period = fit.length ? fit[fit.length - 1] : defaultPeriod(state.grain);
        update();
      });
    }
    document.getElementById("period-select").addEventListener("change", (e) => { state.period = e.target.value; update(); });
    const list = document.getElementById("site-list");
    list.addEventListener("change", (e) => {
      if (e.target.matches("input[type=checkbox]")) { if (e.target.checked) state.sites.add(e.target.value); else state.sites.delete(e.target.value); update(); }
    });
    list.addEventListener("click", (e) => {
      if (e.target.dataset.only) { state.sites = new Set([e.target.dataset.only]); syncSiteList(); update(); }
    });
    document.getElementById("sites-all").addEventListener("click", () => { state.sites = new Set(SITES.map((s) => s.id)); syncSiteList(); update(); });
    document.getElementById("sites-none").addEventListener("click", () => { state.sites = new Set(); syncSiteList(); update(); });
    document.getElementById("site-search").addEventListener("input", (e) => {
      const q = e.target.value.toLowerCase();
      for (const li of list.children) li.hidden = q && !SITE[li.dataset.site].label.toLowerCase().includes(q);
    });
    document.getElementById("drivers-close").addEventListener("click", closeDrivers);
    document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeDrivers(); });
    document.body.addEventListener("click", (e) => {
      const csv = e.target.closest("button.csv");
      if (csv) downloadCsv(csv.dataset.table, csv.dataset.name);
      const cell = e.target.closest("td.cell[data-kpi]");
      if (cell) openDrivers(cell.dataset.kpi, cell.dataset.site);
    });
    document.body.addEventListener("keydown", (e) => {
      const cell = e.target.closest && e.target.closest("td.cell[data-kpi]");
      if (cell && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); openDrivers(cell.dataset.kpi, cell.dataset.site); }
    });
    let resize = null;
    window.addEventListener("resize", () => { clearTimeout(resize); resize = setTimeout(renderTrends, 200); });
  }

  // ---------------------------------------------------------------- scorecard
  function lastValueBefore(kpi, site, i) {
    for (let j = i - 1; j >= 0; j--) if (!missing(value(kpi, site, j))) return G().periods[j];
    return null;
  }
  function cellFacts(kpi, site, i) {
    const v = value(kpi, site, i), prev = i > 0 ? value(kpi, site, i - 1) : null;
    const change = missing(v) || missing(prev) ? null : v - prev;
    return { v, prev, change, status: statusOf(kpi, site, i), target: targetOf(kpi, site) };
  }
  function explainOutOfRange(kpi, v) {
    const k = KPI[kpi];
    if (missing(v) || k.unit !== "rate" || (v >= 0 && v <= 1)) return null;
    return kpi === "po_coverage_rate" ? "credit notes exceed invoices" : "outside 0–100 %: negative amounts";
  }
  function scorecardCell(kpi, site, i) {
    const f = cellFacts(kpi, site, i), k = KPI[kpi];
    if (missing(f.v)) {
      const last = lastValueBefore(kpi, site, i);
      return el("td", { class: "cell none", "data-kpi": kpi, "data-site": site, "data-label": SITE[site].label,
        title: last ? `no data in this period; last value ${shortPeriod(state.grain, last)}` : "no data" },
        el("span", { class: "value", text: "–" }),
        el("span", { class: "nodata", text: last ? `no data · last ${shortPeriod(state.grain, last)}` : "no data" }));
    }
    const verdict = judge(f.change, kpi);
    const note = explainOutOfRange(kpi, f.v);
    return el("td", {
      class: `cell ${f.status || "untargeted"}${site === "ALL" ? " all" : ""}`, tabindex: "0", role: "button",
      "data-kpi": kpi, "data-site": site, "data-label": SITE[site].label, "data-value": JSON.stringify(f.v),
      "data-target": JSON.stringify(f.target), "data-status": f.status || "", "data-change": JSON.stringify(f.change),
      "data-csv": f.v, title: `${k.label}, ${SITE[site].label}: ${fmt(f.v, k.unit)}` +
        (f.target !== null ? ` (target ${targetText(f.target, kpi)}) – ${f.status}` : "") +
        (f.change !== null ? `; ${fmtChange(f.change, k.unit)} vs ${before(state.grain)} (${fmt(f.prev, k.unit)})` : "") +
        "\nclick for its drivers",
    },
    el("span", { class: "value", text: fmt(f.v, k.unit) }),
    el("span", { class: `move ${verdict}`, "data-change": JSON.stringify(f.change) },
      f.change === null ? el("span", { class: "hint", text: `no value ${before(state.grain)}` })
        : [el("span", { class: "arrow", "aria-label": verdict, text: arrow(f.change) }), " ", fmtChange(f.change, k.unit)]),
    f.target !== null ? el("span", { class: "target", text: `target ${targetText(f.target, kpi)}` }) : el("span", { class: "target", text: "no target" }),
    note ? el("span", { class: "note", text: note }) : null);
  }
  function scorecardTable(sites, id) {
    const i = periodIndex();
    const table = el("table", { class: "scorecard stack", id });
    const head = el("tr", {}, el("th", { class: "kpi-col", text: "KPI" }), sites.map((s) => {
      const any = KPIS.some((k) => !missing(value(k.id, s.id, i)));
      return el("th", { class: `site-col${s.id === "ALL" ? " all" : ""}`, "data-site": s.id }, s.label,
        any ? null : el("span", { class: "nodata", text: ` no data in this ${state.grain}` }));
    }));
    table.append(el("thead", {}, head));
    const body = el("tbody");
    let group = null;
    for (const k of KPIS) {
      if (!sites.some((s) => !missing(value(k.id, s.id, i))) && !sites.some((s) => lastValueBefore(k.id, s.id, i))) continue;
      if (k.group !== group) { group = k.group; body.append(el("tr", { class: "group" }, el("th", { colspan: sites.length + 1, text: group }))); }
      body.append(el("tr", { "data-kpi": k.id },
        el("th", { class: "kpi-col", scope: "row" }, el("span", { class: "kpi-label", text: k.label }), el("span", { class: "kpi-meaning", text: k.meaning })),
        sites.map((s) => scorecardCell(k.id, s.id, i))));
    }
    table.append(body);
    return table;
  }
  function renderScorecard() {
    const i = periodIndex(), sites = selectedSites();
    document.getElementById("scorecard-period").textContent = periodLabel(state.grain, state.period) +
      (complete(state.grain, state.period) ? "" : ` · partial: to ${day(AS_OF)}`);
    document.getElementById("scorecard-period").dataset.periodStart = state.period;
    document.getElementById("scorecard-period").dataset.grain = state.grain;
    const lead = [];
    if (!complete(state.grain, state.period)) lead.push(`This ${state.grain} is not complete: its values cover the days to ${day(AS_OF)}.`);
    lead.push(`Each cell: the value, its change against ${before(state.grain)} (▲▼: green better, red worse, by the KPI's direction), and the target.`);
    document.getElementById("scorecard-lead").textContent = lead.join(" ");
    const table = scorecardTable(sites, "scorecard-table");
    document.getElementById("scorecard-table").replaceWith(table);
    document.getElementById("scorecard-print").replaceChildren();
    const summary = document.getElementById("scorecard-summary");
    summary.replaceChildren(...sites.map((s) => {
      const c = { green: 0, amber: 0, red: 0 };
      for (const k of KPIS) { const st = statusOf(k.id, s.id, i); if (st) c[st] += 1; }
      return el("div", { class: "summary-card", "data-site": s.id }, el("div", { class: "summary-site", text: s.label }),
        el("div", { class: "summary-counts" }, ["green", "amber", "red"].map((st) => el("span", { class: `count ${st}`, title: st, text: String(c[st]) }))));
    }));
    renderWhy();
  }

  // print: the scorecard in chunks of sites that fit the page's width (built after the
  // screen is drawn, or at once when printing)
  function buildPrintScorecard() {
    const target = document.getElementById("scorecard-print");
    if (target.childElementCount) return;
    const sites = selectedSites(), chunks = [];
    for (let s = 0; s < sites.length; s += 6) chunks.push(scorecardTable(sites.slice(s, s + 6), null));
    target.replaceChildren(...chunks);
  }

  // ---------------------------------------------------------------- drivers
  const memberText = (dim, member) => {
    if (dim === "component" || SIDES.has(member)) return member;
    if (dim === "carrier" && CARRIER[member] && CARRIER[member].name) return `carrier ${member}`;
    return `${dim} ${member}`;
  };
  function memberDetail(kpi, e) {
    const [, , , , , n1, d1, n0, d0] = e;
    const k = KPI[kpi];
    if (COUNTED[kpi] && d1 !== null) {
      const [noun, miss] = COUNTED[kpi];
      return `${qty(d1 - n1)} of ${qty(d1)} ${noun} ${miss}, ${qty(d0 - n0)} ${before(state.grain)}`;
    }
    if (k.kind === "total") return `${fmt(n1, k.unit)}, ${fmt(n0, k.unit)} ${before(state.grain)}`;
    if (d1 !== null && d1 !== 0 && n1 !== null && (n1 !== 0 || d1 !== 0) && !(d1 === 0 && d0 === 0)) {
      if ((n1 === 0 && n0 === 0)) return `${qty(d1)}, ${qty(d0)} ${before(state.grain)}`;  // a denominator member
      const m1 = n1 / d1, m0 = d0 ? n0 / d0 : null;
      return `${fmt(m1, k.unit)} on ${qty(d1)}, ${m0 === null ? "none" : fmt(m0, k.unit)} ${before(state.grain)}`;
    }
    return `${qty(n1)}, ${qty(n0)} ${before(state.grain)}`;  // a numerator member of a 'split' KPI
  }
  // the dimension whose top member explains most of the change, and its top members
  function bestDimension(kpi, site, i, change) {
    const entries = driversOf(kpi, site, i);
    const byDim = new Map();
    for (const e of entries) { if (!byDim.has(e[0])) byDim.set(e[0], []); byDim.get(e[0]).push(e); }
    let best = null;
    for (const [dim, list] of byDim) {
      // the members that moved the value the way it moved (all of them when it held)
      const movers = change ? list.filter((e) => Math.sign(e[2]) === Math.sign(change)) : list;
      if (!movers.length) continue;
      const top = Math.abs(movers[0][2]);
      if (!best || top > best.top) best = { dim: G().dimensions[dim], list: movers, top };
    }
    return best;
  }
  function whySentence(kpi, site, i) {
    const f = cellFacts(kpi, site, i), k = KPI[kpi];
    const where = site === "ALL" ? "all sites" : site;
    if (f.change === null) return { text: `${k.label} at ${where} is ${fmt(f.v, k.unit)}: no value ${before(state.grain)}, so no change to explain.`, members: [] };
    const verb = f.change > 0 ? "rose" : f.change < 0 ? "fell" : "held";
    const best = bestDimension(kpi, site, i, f.change);
    const head = `${k.label} at ${where} ${verb} ${fmtChange(Math.abs(f.change), k.unit).replace(/^[+±]/, "")} to ${fmt(f.v, k.unit)}`;
    if (!best) return { text: `${head}.`, members: [] };
    const members = best.list.slice(0, 3);
    const parts = members.map((e) => `${memberText(best.dim, e[1])} ${fmtChange(e[2], k.unit)} (${memberDetail(kpi, e)})`);
    return { text: `${head}: ${parts.join(", ")}.`, dimension: best.dim, members };
  }
  function renderWhy() {
    const i = periodIndex(), sites = selectedSites();
    const rows = [];
    for (const k of KPIS) for (const s of sites) {
      const st = statusOf(k.id, s.id, i);
      if (st !== "red" && st !== "amber") continue;
      const f = cellFacts(k.id, s.id, i);
      rows.push({ k, s, st, f, why: whySentence(k.id, s.id, i) });
    }
    rows.sort((a, b) => (a.st === b.st ? 0 : a.st === "red" ? -1 : 1) || (judge(a.f.change, a.k.id) === "worse" ? -1 : 0) - (judge(b.f.change, b.k.id) === "worse" ? -1 : 0));
    const table = el("table", { class: "why stack", id: "why-table" },
      el("thead", {}, el("tr", {}, ["Status", "KPI", "Site", "Value", "Change", "Why"].map((h) => el("th", { text: h })))));
    const body = el("tbody");
    const more = document.getElementById("why-more");
    const showAll = more.dataset.all === "1";
    rows.forEach((r, n) => {
      const tr = el("tr", { "data-kpi": r.k.id, "data-site": r.s.id, "data-dimension": r.why.dimension || "", class: n >= WHY_SHOWN && !showAll ? "extra" : "" },
        el("td", { "data-label": "Status" }, el("span", { class: `badge ${r.st}`, text: r.st })),
        el("td", { "data-label": "KPI", text: r.k.label }),
        el("td", { "data-label": "Site", text: r.s.id === "ALL" ? "All sites" : r.s.id }),
        el("td", { class: "num", "data-label": "Value", "data-csv": r.f.v, text: fmt(r.f.v, r.k.unit) }),
        el("td", { class: `num move ${judge(r.f.change, r.k.id)}`, "data-label": "Change", "data-csv": r.f.change ?? "", text: fmtChange(r.f.change, r.k.unit) }),
        el("td", { class: "wrap sentence", "data-label": "Why" }, r.why.text, " ",
          el("button", { type: "button", class: "link", "data-open": `${r.k.id}|${r.s.id}`, text: "all drivers" })));
      tr.dataset.members = JSON.stringify(r.why.members.map((e) => [e[1], e[2]]));
      body.append(tr);
    });
    if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty", text: "No red or amber cell for the chosen period and sites." })));
    table.append(body);
    document.getElementById("why-table").replaceWith(table);
    table.addEventListener("click", (e) => { const b = e.target.closest("button[data-open]"); if (b) { const [k, s] = b.dataset.open.split("|"); openDrivers(k, s); } });
    more.hidden = rows.length <= WHY_SHOWN;
    more.textContent = showAll ? "show the first " + WHY_SHOWN : `show all ${rows.length}`;
    more.onclick = () => { more.dataset.all = showAll ? "0" : "1"; renderWhy(); };
  }
  function openDrivers(kpi, site) {
    const i = periodIndex(), k = KPI[kpi], f = cellFacts(kpi, site, i);
    const body = document.getElementById("drivers-body");
    const entries = driversOf(kpi, site, i);
    const title = el("h3", {}, `${k.label} · ${site === "ALL" ? "All sites" : SITE[site].label} · ${periodLabel(state.grain, state.period)}`);
    const facts = el("p", {}, `${fmt(f.v, k.unit)}`, f.change === null ? ` (no value ${before(state.grain)})`
      : [" ", el("span", { class: `move ${judge(f.change, kpi)}`, text: `${arrow(f.change)} ${fmtChange(f.change, k.unit)}` }), ` vs ${fmt(f.prev, k.unit)} ${before(state.grain)}`]);
    const parts = [title, facts];
    const sentence = whySentence(kpi, site, i);
    parts.push(el("p", { class: "sentence", text: sentence.text }));
    const full = G().drivers_full[i];
    if (!entries.length) parts.push(el("p", { class: "empty", text: f.change === null ? "No change to decompose."
      : full ? "No driver dimension for this KPI."
        : `At this size the page embeds every cell's drivers for the latest ${state.grain}s, and for older ones the sentence of each red or amber cell: this cell's are in kpi.kpi_drivers_${state.grain === "week" ? "weekly" : "monthly"}.` }));
    else if (!full) parts.push(el("p", { class: "hint", text: `For this older ${state.grain} the page embeds the members of the sentence only; every member is in kpi.kpi_drivers_${state.grain === "week" ? "weekly" : "monthly"}.` }));
    const byDim = new Map();
    for (const e of entries) { if (!byDim.has(e[0])) byDim.set(e[0], []); byDim.get(e[0]).push(e); }
    for (const [dim, list] of byDim) {
      const name = G().dimensions[dim];
      const table = el("table", { class: "drivers stack", "data-dimension": name },
        el("thead", {}, el("tr", {}, [name, "Contribution", "Rate effect", "Mix effect", "This " + state.grain, before(state.grain)].map((h) => el("th", { text: h })))),
        el("tbody", {}, list.map((e) => el("tr", { "data-member": e[1], "data-contribution": JSON.stringify(e[2]) },
          el("td", { "data-label": name, text: e[1] + (dim === "carrier" && CARRIER[e[1]] ? ` ${CARRIER[e[1]].name || ""}` : "") }),
          el("td", { class: `num move ${judge(e[2], kpi)}`, "data-label": "Contribution", title: `${e[2]} (kpi_drivers.contribution)`, text: fmtChange(e[2], k.unit) }),
          el("td", { class: "num", "data-label": "Rate effect", text: e[3] === null ? "–" : fmtChange(e[3], k.unit) }),
          el("td", { class: "num", "data-label": "Mix effect", text: e[4] === null ? "–" : fmtChange(e[4], k.unit) }),
          el("td", { class: "num", "data-label": "This period", text: sidesText(k, e[5], e[6]) }),
          el("td", { class: "num", "data-label": "Before", text: sidesText(k, e[7], e[8]) })))));
      parts.push(el("h4", { text: `by ${name}` }), el("div", { class: "scroll" }, table));
    }
    parts.push(el("p", { class: "hint", text: `Top ${D.meta.drivers_per_dimension} members per dimension; every member is in kpi.kpi_drivers_${state.grain === "week" ? "weekly" : "monthly"} (docs/drivers.md).` }));
    body.replaceChildren(...parts);
    const panel = document.getElementById("drivers-panel");
    panel.hidden = false;
    panel.dataset.kpi = kpi; panel.dataset.site = site;
  }
  function sidesText(k, n, d) {
    if (k.kind === "total") return fmt(n, k.unit);
    if (d === null) return qty(n);
    return `${qty(n)} / ${qty(d)}`;
  }
  function closeDrivers() { document.getElementById("drivers-panel").hidden = true; }

  // ---------------------------------------------------------------- trends (uPlot)
  const charts = [];
  function renderTrends() {
    for (const c of charts.splice(0)) c.destroy();
    queued.length = 0;
    const i = periodIndex(), periods = G().periods;
    const span = state.grain === "week" ? 52 : 36;
    const from = Math.max(0, i - span + 1);
    const window = periods.slice(from, i + 1);
    let sites = selectedSites();
    const hidden = Math.max(0, sites.filter((s) => s.id !== "ALL").length - MAX_TREND_SITES);
    sites = sites.filter((s) => s.id === "ALL").concat(sites.filter((s) => s.id !== "ALL").slice(0, MAX_TREND_SITES));
    document.getElementById("trends-period").textContent = window.length
      ? `${window.length} ${state.grain}s, ${shortPeriod(state.grain, window[0])} – ${shortPeriod(state.grain, window[window.length - 1])}` : "";
    document.getElementById("trends-lead").textContent = `Per ${state.grain} up to the chosen one (shaded)` +
      (complete(state.grain, state.period) ? "" : "; it is partial (days to the as-of date)") +
      (hidden ? `. ${hidden} more selected sites are not drawn: choose at most ${MAX_TREND_SITES} to see them.` : ".");
    const colors = {};
    let p = 0;
    for (const s of SITES) colors[s.id] = s.id === "ALL" ? ALL_COLOR : PALETTE[p++ % PALETTE.length];
    const xs = window.map((s) => parseDay(s).getTime() / 1000);
    const container = document.getElementById("trend-groups");
    container.replaceChildren();
    let group = null, grid = null;
    for (const k of KPIS) {
      const series = sites.map((s) => window.map((_, j) => { const v = value(k.id, s.id, from + j); return missing(v) ? null : v; }));
      if (!series.some((ys) => ys.some((v) => v !== null))) continue;
      if (k.group !== group) { group = k.group; grid = el("div", { class: "charts" }); container.append(el("h3", { text: group }), grid); }
      const target = targetOf(k.id, "ALL") ?? k.target;
      const latest = value(k.id, "ALL", i);
      const card = el("figure", { class: "chart-card", "data-kpi": k.id },
        el("figcaption", {}, el("span", { class: "chart-title", text: k.label }),
          el("span", { class: "chart-latest", title: `All sites, ${periodLabel(state.grain, state.period)}`, text: missing(latest) ? "" : fmt(latest, k.unit) }),
          el("span", { class: "chart-meaning", text: k.meaning + (target !== null && target !== undefined ? ` · target ${targetText(target, k.id)}` : "") })));
      const plot = el("div", { class: "chart" });
      card.append(plot);
      grid.append(card);
      const data = [xs, ...series];
      const opts = {
        width: 360, height: 210, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        axes: [
          { stroke: "#6b7280", grid: { stroke: "#eef0f3" }, size: 30 },
          { stroke: "#6b7280", grid: { stroke: "#eef0f3" }, size: 62, values: (u, ticks) => ticks.map((v) => axisLabel(v, k.unit)) },
        ],
        series: [{ value: (u, v) => (v === null ? "" : shortPeriod(state.grain, iso(new Date(v * 1000)))) },
          ...sites.map((s) => ({ label: s.id === "ALL" ? "All sites" : s.id, stroke: colors[s.id], width: s.id === "ALL" ? 2.6 : 1.5,
            points: { size: 4 }, spanGaps: false, value: (u, v) => fmt(v, k.unit) }))],
        hooks: { drawClear: [(u) => shade(u, window.length - 1)], draw: [(u) => drawTarget(u, target)] },
      };
      if (target !== null && target !== undefined) {
        const ys = series.flat().filter((v) => v !== null);
        opts.scales.y = { range: (u, lo, hi) => padRange(Math.min(lo, target), Math.max(hi, target), k) };
        if (!ys.length) opts.scales.y = {};
      } else if (k.kind === "total") {
        opts.scales.y = { range: (u, lo, hi) => padRange(Math.min(0, lo), hi, k) };
      }
      queued.push(() => {
        opts.width = Math.max(260, Math.floor(plot.getBoundingClientRect().width || 360));
        charts.push(new uPlot(opts, data, plot));
      });
    }
  }
  // charts are drawn a few at a time after the rest of the page, so a choice answers at once
  const queued = [];
  function flushCharts() { while (queued.length) queued.shift()(); }
  async function drawCharts(gen) {
    while (queued.length) {
      if (gen !== generation) return false;
      for (let n = 0; n < 4 && queued.length; n++) queued.shift()();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    return gen === generation;
  }
  function padRange(lo, hi, k) {
    if (lo === hi) { const pad = Math.abs(hi) * 0.1 || 1; return [lo - pad, hi + pad]; }
    const pad = (hi - lo) * 0.08;
    return [k.kind === "total" && lo >= 0 ? 0 : lo - pad, hi + pad];
  }
  function axisLabel(v, unit) {
    if (unit === "rate") return `${+(v * 100).toFixed(2)}%`;
    if (unit === "usd" || unit === "usd_signed") {
      const a = Math.abs(v), sign = v < 0 ? "-" : "";
      return a >= 1e6 ? `${sign}$${+(a / 1e6).toFixed(2)}M` : a >= 1e3 ? `${sign}$${+(a / 1e3).toFixed(1)}k` : `${sign}$${+a.toFixed(0)}`;
    }
    return `${+v.toFixed(2)}`;
  }
  function shade(u, idx) {  // the chosen period
    const x = u.data[0][idx];
    if (x === undefined) return;
    const step = u.data[0].length > 1 ? (u.data[0][1] - u.data[0][0]) : 7 * 86400;
    const x0 = u.valToPos(x - step / 2, "x", true), x1 = u.valToPos(x + step / 2, "x", true);
    const { ctx } = u;
    ctx.save(); ctx.fillStyle = "rgba(11, 92, 173, 0.08)";
    ctx.fillRect(Math.max(x0, u.bbox.left), u.bbox.top, Math.min(x1, u.bbox.left + u.bbox.width) - Math.max(x0, u.bbox.left), u.bbox.height);
    ctx.restore();
  }
  function drawTarget(u, target) {
    if (target === null || target === undefined) return;
    const y = u.valToPos(target, "y", true);
    if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) return;
    const { ctx } = u;
    ctx.save(); ctx.strokeStyle = "#b91c1c"; ctx.setLineDash([5, 4]); ctx.lineWidth = 1.4;
    ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke(); ctx.restore();
  }

  // ---------------------------------------------------------------- carriers
  function memberRows(grain, kpi, site, i) {
    const chunk = chunkOf(`${grain}|members|${i}`) || {};
    return ((chunk[kpi] || {})[site]) || [];
  }
  function renderCarriers() {
    const i = periodIndex(), site = scopeSite();
    const rows = memberRows(state.grain, "on_time_delivery_rate", site, i);
    document.getElementById("carriers-period").textContent = `${periodLabel(state.grain, state.period)} · ${site === "ALL" ? "all sites" : SITE[site].label}`;
    document.getElementById("carriers-lead").textContent =
      `Delivered shipments with a known due date, by ${state.grain} of delivery, at ${site === "ALL" ? "all sites (choose one site to see its carriers)" : SITE[site].label}` +
      (complete(state.grain, state.period) ? "." : `; partial ${state.grain}, to ${day(AS_OF)}.`) +
      " The bar is the on-time rate, the tick the carrier's contracted target.";
    const table = el("table", { class: "carriers stack", id: "carrier-table" },
      el("thead", {}, el("tr", {}, ["Carrier", "Mode", "Contracted target", "On-time", "On time / delivered", before(state.grain).replace(/^the /, "").replace(/^./, (c) => c.toUpperCase()), "Change", "Verdict"].map((h, n) => el("th", { class: n >= 2 && n <= 6 ? "num" : "", text: h })))));
    const body = el("tbody");
    for (const [id, n1, d1, n0, d0] of rows) {
      const c = CARRIER[id] || { name: null, mode: null, target: null, known: false };
      if (!d1 && !d0) continue;
      const r1 = d1 ? n1 / d1 : null, r0 = d0 ? n0 / d0 : null;
      const change = r1 === null || r0 === null ? null : r1 - r0;
      const verdict = r1 === null ? "no delivery" : c.target === null ? "no target" : r1 >= c.target ? "meets target" : "below target";
      body.append(el("tr", { "data-carrier": id, class: verdict === "below target" ? "misses" : verdict === "meets target" ? "meets" : "" },
        el("th", { scope: "row", "data-label": "Carrier" }, c.name || id, " ", el("span", { class: "id", text: id }), c.known ? null : el("span", { class: "hint", text: " not in the carriers export" })),
        el("td", { "data-label": "Mode", text: c.mode || "–" }),
        el("td", { class: "num", "data-label": "Target", "data-csv": c.target ?? "", text: c.target === null ? "none" : fmt(c.target, "rate") }),
        el("td", { class: "num rate-cell", "data-label": "On-time", "data-value": JSON.stringify(r1), "data-csv": r1 ?? "" }, el("span", { class: "value", text: fmt(r1, "rate") }),
          el("span", { class: "bullet" }, el("span", { class: "bar", style: `width: ${clamp(r1)}%` }), c.target !== null ? el("span", { class: "tick", style: `left: ${clamp(c.target)}%` }) : null)),
        el("td", { class: "num sub", "data-label": "On time / delivered", text: `${qty(n1)} / ${qty(d1)}` }),
        el("td", { class: "num", "data-label": "Before", "data-csv": r0 ?? "", text: r0 === null ? "–" : `${fmt(r0, "rate")} (${qty(n0)} / ${qty(d0)})` }),
        el("td", { class: `num move ${judge(change, "on_time_delivery_rate")}`, "data-label": "Change", "data-csv": change ?? "", text: fmtChange(change, "rate") }),
        el("td", { class: "verdict", "data-label": "Verdict", text: verdict })));
    }
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 8, class: "empty", text: "No delivered shipment with a carrier and a due date in this period." })));
    table.append(body);
    document.getElementById("carrier-table").replaceWith(table);
  }
  const clamp = (share) => (missing(share) ? 0 : Math.round(Math.max(0, Math.min(1, share)) * 1000) / 10);

  // ---------------------------------------------------------------- vendors
  function renderVendors() {
    const m = monthForSections(), site = scopeSite();
    const months = D.month.periods, i = months.indexOf(m);
    const partial = m && !complete("month", m);
    document.getElementById("vendors-period").textContent = m ? `${periodLabel("month", m)}${partial ? " (partial month)" : ""} · ${site === "ALL" ? "all sites" : SITE[site].label}` : "";
    document.getElementById("vendors-lead").textContent = (state.grain === "week"
      ? `Vendors are judged on whole months: ${m ? periodLabel("month", m) : "no month"}, the last month complete by the end of the chosen week (choose Month for another). `
      : partial ? `Partial month: invoices and PO lines to ${day(AS_OF)} only. ` : "") +
      "Spend by invoice date; supplier OTIF by PO lines' expected date; three-way match and price variance per invoice line with a PO. Red: below the default target; a positive price variance means invoices above the PO price.";
    const get = (kpi) => Object.fromEntries(memberRows("month", kpi, site, i).map((r) => [r[0], r]));
    const spend = get("spend_usd"), otif = get("supplier_otif_rate"), match = get("three_way_match_rate"), pv = get("price_variance_usd");
    const ids = [...new Set([...Object.keys(spend), ...Object.keys(otif), ...Object.keys(match), ...Object.keys(pv)])]
      .filter((id) => (spend[id] && spend[id][1] !== 0) || (otif[id] && otif[id][2]) || (match[id] && match[id][2]) || (pv[id] && pv[id][1] !== 0))
      .sort((a, b) => ((spend[b] || [])[1] || 0) - ((spend[a] || [])[1] || 0) || a.localeCompare(b));
    const tOtif = KPI.supplier_otif_rate && KPI.supplier_otif_rate.target, tMatch = KPI.three_way_match_rate && KPI.three_way_match_rate.target;
    const table = el("table", { class: "vendors stack", id: "vendor-table" },
      el("thead", {}, el("tr", {}, ["Vendor", "Category", "Spend", `Supplier OTIF${tOtif ? ` (target ${fmt(tOtif, "rate")})` : ""}`, "PO lines OTIF / due",
        `Three-way match${tMatch ? ` (target ${fmt(tMatch, "rate")})` : ""}`, "Matched / lines with PO", "Price variance"].map((h, n) => el("th", { class: n >= 2 ? "num" : "", text: h })))));
    const body = el("tbody");
    for (const id of ids) {
      const v = VENDOR[id] || { name: null, category: null, known: false };
      const s = spend[id] ? spend[id][1] : null, o = otif[id], mt = match[id], p = pv[id] ? pv[id][1] : null;
      const ro = o && o[2] ? o[1] / o[2] : null, rm = mt && mt[2] ? mt[1] / mt[2] : null;
      body.append(el("tr", { "data-vendor": id },
        el("th", { scope: "row", "data-label": "Vendor" }, v.name || id, " ", el("span", { class: "id", text: id }), v.known ? null : el("span", { class: "hint", text: " not in the vendors export" })),
        el("td", { "data-label": "Category", text: v.category || "–" }),
        el("td", { class: "num", "data-label": "Spend", "data-csv": s ?? "", title: s !== null && s < 0 ? "credit notes exceed invoices" : null },
          usd(s), s !== null && s < 0 ? el("span", { class: "note", text: " credit notes exceed invoices" }) : null),
        el("td", { class: `num${ro !== null && tOtif && ro < tOtif ? " below" : ""}`, "data-label": "Supplier OTIF", "data-csv": ro ?? "", text: fmt(ro, "rate") }),
        el("td", { class: "num sub", "data-label": "PO lines OTIF / due", text: o ? `${qty(o[1])} / ${qty(o[2])}` : "0 / 0" }),
        el("td", { class: `num${rm !== null && tMatch && rm < tMatch ? " below" : ""}`, "data-label": "Three-way match", "data-csv": rm ?? "", text: fmt(rm, "rate") }),
        el("td", { class: "num sub", "data-label": "Matched / lines with PO", text: mt ? `${qty(mt[1])} / ${qty(mt[2])}` : "0 / 0" }),
        el("td", { class: `num${p !== null && p > 0 ? " over" : ""}`, "data-label": "Price variance", "data-csv": p ?? "", text: usd(p, false, true) })));
    }
    if (!ids.length) body.append(el("tr", {}, el("td", { colspan: 8, class: "empty", text: "No vendor activity in this month." })));
    table.append(body);
    document.getElementById("vendor-table").replaceWith(table);
  }

  // ---------------------------------------------------------------- budget
  function renderBudget() {
    const m = monthForSections(), months = D.month.periods, i = months.indexOf(m);
    const partial = m && !complete("month", m);
    const chosen = [...state.sites].filter((s) => s !== "ALL");
    const rows = (chunkOf(`budget|${i}`) || []).filter((r) => !chosen.length || state.sites.has(r[0]));
    document.getElementById("budget-period").textContent = m ? periodLabel("month", m) + (partial ? " (partial month)" : "") : "";
    document.getElementById("budget-lead").textContent = (state.grain === "week"
      ? `Budgets are monthly: ${m ? periodLabel("month", m) : "no month"}, the last month complete by the end of the chosen week (choose Month for another). `
      : "") + (partial ? `Partial month: actuals to ${day(AS_OF)} against the whole month's budget, so most rows are under budget. ` : "") +
      "Actual: invoiced amounts by invoice date and spend category; a negative actual means credit notes exceed invoices.";
    const table = el("table", { class: "budget stack", id: "budget-table" },
      el("thead", {}, el("tr", {}, ["Site", "Category", "Budget", "Actual", "Variance", "Variance %", "Actual / budget"].map((h, n) => el("th", { class: n >= 2 && n <= 5 ? "num" : n === 6 ? "bar-col" : "", text: h })))));
    const body = el("tbody");
    let last = null;
    for (const [site, category, budget, actual, variance, pct] of rows) {
      const over = variance !== null && variance > 0;
      const note = actual < 0 ? "credit notes exceed invoices" : null;
      body.append(el("tr", { "data-site": site, "data-category": category, class: site !== last ? "first" : "" },
        el("th", { scope: "row", "data-label": "Site", text: site !== last ? (SITE[site] ? SITE[site].label : site) : "" }),
        el("td", { "data-label": "Category", text: category }),
        el("td", { class: "num", "data-label": "Budget", "data-csv": budget ?? "", text: budget === null ? "no budget" : usd(budget) }),
        el("td", { class: `num${note ? " negative" : ""}`, "data-label": "Actual", "data-csv": actual ?? "", title: note }, usd(actual), note ? el("span", { class: "note", text: ` ${note}` }) : null),
        el("td", { class: `num${over ? " over" : ""}`, "data-label": "Variance", "data-csv": variance ?? "", text: usd(variance, false, true) }),
        el("td", { class: `num${over ? " over" : ""}`, "data-label": "Variance %", "data-csv": pct ?? "", text: missing(pct) ? "–" : `${pct > 0 ? "+" : pct < 0 ? "-" : ""}${percent(pct, 1)}%` }),
        el("td", { class: "bar-col", "data-label": "Actual / budget" }, budget ? el("span", { class: "budget-bar" }, el("span", { class: `bar${over ? " over" : ""}`, style: `width: ${clamp(pct === null ? null : 1 + pct)}%` })) : null)));
      last = site;
    }
    if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 7, class: "empty", text: "No budget or spend in this month for the chosen sites." })));
    table.append(body);
    document.getElementById("budget-table").replaceWith(table);
  }

  // ---------------------------------------------------------------- quality: coverage
  function renderCoverage() {
    const i = periodIndex(), sites = selectedSites();
    document.getElementById("coverage-period").textContent = periodLabel(state.grain, state.period);
    const groups = [...new Set(KPIS.map((k) => k.group))];
    const table = el("table", { class: "dq coverage stack", id: "coverage-table" },
      el("thead", {}, el("tr", {}, el("th", { text: "Domain" }), sites.map((s) => el("th", { class: "num", text: s.id === "ALL" ? "All sites" : s.id })))));
    const body = el("tbody");
    for (const g of groups) {
      const kpis = KPIS.filter((k) => k.group === g);
      body.append(el("tr", { "data-domain": g }, el("th", { scope: "row", "data-label": "Domain", text: g }), sites.map((s) => {
        const have = kpis.filter((k) => !missing(value(k.id, s.id, i))).length;
        const had = kpis.filter((k) => lastValueBefore(k.id, s.id, i)).length;
        const gap = have === 0 && had > 0;
        return el("td", { class: `num${gap ? " gap" : ""}`, "data-label": s.id, "data-csv": have, title: gap ? "no value in this period, though there were before" : null,
          text: `${have} / ${kpis.length}${gap ? " no data" : ""}` });
      })));
    }
    table.append(body);
    document.getElementById("coverage-table").replaceWith(table);
    // the banner's line about the chosen period
    const line = document.getElementById("trust-period");
    const gaps = [];
    for (const s of sites) {
      if (s.id === "ALL") continue;
      const missingKpis = KPIS.filter((k) => missing(value(k.id, s.id, i)) && lastValueBefore(k.id, s.id, i));
      if (missingKpis.length === KPIS.filter((k) => lastValueBefore(k.id, s.id, i)).length && missingKpis.length) gaps.push(`${s.id} (no data at all)`);
      else if (missingKpis.length) gaps.push(`${s.id} (${missingKpis.length} KPI${missingKpis.length > 1 ? "s" : ""})`);
    }
    line.hidden = !gaps.length;
    line.className = "period-note bad";
    line.replaceChildren(`${periodLabel(state.grain, state.period)} has no data where earlier periods had some: `, gaps.join(", "), " ",
      el("a", { href: "#coverage-table", text: "coverage" }));
  }

  // ---------------------------------------------------------------- CSV export
  function csvCell(td) {
    const raw = td.dataset.csv;
    const text = raw !== undefined ? raw : td.textContent.replace(/\s+/g, " ").trim();
    return /[",\n;]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }
  function tableCsv(id) {
    const table = document.getElementById(id);
    if (!table) return "";
    return [...table.querySelectorAll("tr")].filter((tr) => !tr.classList.contains("group"))
      .map((tr) => [...tr.children].map(csvCell).join(",")).join("\r\n") + "\r\n";
  }
  function downloadCsv(id, name) {
    const csv = tableCsv(id);
    const a = el("a", { href: "data:text/csv;charset=utf-8," + encodeURIComponent("\ufeff" + csv), download: `${name}-${state.period || ""}.csv` });
    document.body.append(a); a.click(); a.remove();
  }

  // ---------------------------------------------------------------- all together
  const timings = [];
  let pending = Promise.resolve();
  function update() {
    pending = pending.then(render).catch((e) => { console.error(e); });
    return pending;
  }
  let generation = 0;
  async function render() {
    const gen = ++generation;
    writeHash();
    renderControls();
    if (!state.period) return;
    const root = document.documentElement.dataset;
    root.ready = "0"; root.charts = "0";
    const times = {};
    const timed = async (name, fn) => { const t = performance.now(); await fn(); times[name] = Math.round(performance.now() - t); };
    await timed("inflate", ensureChunks);
    await timed("scorecard", renderScorecard);
    await timed("trends", renderTrends);
    await timed("carriers", renderCarriers);
    await timed("vendors", renderVendors);
    await timed("budget", renderBudget);
    await timed("coverage", renderCoverage);
    timings.push(times);  // milliseconds per section, for bench/bench_report.py
    // then, without blocking the next choice: the charts, and the scorecard for print
    const t = performance.now();
    setTimeout(async () => {
      if (!(await drawCharts(gen))) return;
      buildPrintScorecard();
      times.charts_and_print = Math.round(performance.now() - t);
      root.charts = "1";
    }, 0);
    const panel = document.getElementById("drivers-panel");
    if (!panel.hidden) openDrivers(panel.dataset.kpi, panel.dataset.site);
    document.documentElement.dataset.ready = "1";
  }
  window.addEventListener("beforeprint", () => { flushCharts(); buildPrintScorecard(); });
  readHash();
  buildSiteList();
  bindControls();
  update();
  window.opskpi = { state, update, tableCsv, data: D, timings };  // for tests, bench and the curious
})();
