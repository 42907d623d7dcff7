// carriersim dashboard: plain JavaScript, no library, no CDN. Every datum comes from /_sim behind the admin token.
"use strict";
const $ = (id) => document.getElementById(id);
const STATES = ["inventory", "testing", "ready", "active", "suspended", "retained", "pending_cancel", "cancelled"];
const REASONS = ["quota", "arrears", "expired", "manual", "unverified", "region", "device", "lost", "maintenance",
                 "carrier"];
let token = null, world = "default", openIccid = null, refreshTimer = null;

function esc(s) { return String(s ?? "").replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }

async function api(method, path, body) {
  const opts = {method, headers: {"Authorization": "Bearer " + token}};
  if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers["Content-Type"] = "application/json"; }
  const r = await fetch(path, opts);
  const data = r.status === 204 ? null : await r.json();
  if (!r.ok) { const e = new Error(data && data.detail || r.statusText); e.status = r.status; throw e; }
  return data;
}

// ------------------------------------------------------------------ login
async function login(t) {
  token = t;
  try { await api("GET", "/_sim/clock"); }
  catch (e) { token = null; $("login").hidden = false; $("app").hidden = true;
              $("login-error").textContent = e.status === 401 ? "That is not the admin token." : e.message; return; }
  sessionStorage.setItem("carriersim-token", t);
  $("login").hidden = true; $("app").hidden = false;
  await start();
}

// ------------------------------------------------------------------ clock and worlds
async function refreshClock() {
  const worlds = (await api("GET", "/_sim/worlds")).items;
  const sel = $("world");
  if (sel.options.length !== worlds.length) sel.innerHTML = worlds.map((w) => `<option>${esc(w.id)}</option>`).join("");
  const w = worlds.find((x) => x.id === world) || worlds[0];
  const c = w.clock;
  $("clock").textContent = `${c.now} · ${c.mode}${c.mode === "accelerated" ? " ×" + c.rate : ""} · ${w.cards} cards`;
  $("clock").dataset.now = c.now;
}
async function advance(body) {
  $("clock-error").textContent = "";
  try { await api("POST", "/_sim/clock/advance", body); } catch (e) { $("clock-error").textContent = e.message; }
  await refreshAll();
}

// ------------------------------------------------------------------ overview and search
async function refreshOverview() {
  const o = await api("GET", "/_sim/overview");
  const carriers = Object.keys(o.by_carrier);
  const used = STATES.filter((s) => carriers.some((c) => o.by_carrier[c][s]));
  $("counts").innerHTML = `<tr><th>carrier</th>${used.map((s) => `<th>${s}</th>`).join("")}</tr>` +
    carriers.map((c) => `<tr><td>${esc(c)}</td>${used.map((s) => `<td>${o.by_carrier[c][s] || ""}</td>`).join("")}</tr>`).join("") +
    `<tr><td colspan="${used.length + 1}">total ${o.total}</td></tr>`;
  fill("f-carrier", carriers); fill("f-account", o.accounts); fill("f-pool", o.pools);
}
function fill(id, values) {
  const sel = $(id), keep = sel.value, first = sel.options[0].outerHTML;
  if (sel.options.length - 1 === values.length) return;
  sel.innerHTML = first + values.map((v) => `<option>${esc(v)}</option>`).join(""); sel.value = keep;
}
async function search() {
  const p = new URLSearchParams();
  const q = $("search").value.trim(); if (q) p.set("q", q);
  for (const [k, id] of [["state", "f-state"], ["reason", "f-reason"], ["carrier", "f-carrier"],
                         ["account", "f-account"], ["pool", "f-pool"]]) if ($(id).value) p.set(k, $(id).value);
  p.set("limit", "100");
  const page = await api("GET", "/_sim/cards?" + p);
  $("results").tBodies[0].innerHTML = page.items.map((c) =>
    `<tr data-iccid="${esc(c.iccid)}"><td>${esc(c.iccid)}</td><td>${esc(c.msisdn)}</td><td>${esc(c.carrier)}</td>` +
    `<td>${esc(c.account)}</td><td>${esc(c.state)}</td><td>${esc(c.reasons.join(", "))}</td><td>${esc(c.plan)}</td>` +
    `<td>${esc(c.balance)}</td></tr>`).join("");
  $("results-total").textContent = `${page.total} card(s)` + (page.total > page.items.length ? `, first ${page.items.length} shown` : "");
}

// ------------------------------------------------------------------ a card's page
async function showCard(iccid) {
  openIccid = iccid;
  const life = await api("GET", `/_sim/cards/${encodeURIComponent(iccid)}/life`);
  const c = life.card;
  $("card").hidden = false;
  $("card-iccid").textContent = c.iccid;
  $("card-summary").textContent = `${c.carrier} · ${c.msisdn} · ${c.account} · ${c.state}` +
    (c.reasons.length ? ` (${c.reasons.join(", ")})` : "") + ` · plan ${c.plan} · balance ${c.balance}`;
  const t0 = Date.parse(life.bands[0].from), t1 = Math.max(Date.parse(life.now), t0 + 1);
  $("timeline").innerHTML = life.bands.map((b) => {
    const from = Date.parse(b.from), to = b.to ? Date.parse(b.to) : t1;
    const w = Math.max(b.to ? 0.5 : 4, 100 * (to - from) / (t1 - t0));  // the open band stays visible
    const label = b.state + (b.reasons.length ? " (" + b.reasons.join(", ") + ")" : "");
    return `<div class="band" data-state="${b.state}" style="flex: ${w} 1 0" title="${esc(label)}: ${esc(b.from)} → ${esc(b.to || "now")}">${esc(label)}</div>`;
  }).join("");
  $("timeline-axis").innerHTML = `<span>${esc(life.bands[0].from)}</span><span>${esc(life.now)}</span>`;
  const d = life.deadlines;
  const rows = [["term end", d.term_end], ["retention until", d.retention_until], ["real-name deadline", d.real_name_deadline],
                ["pending plan change", d.pending_change && `${d.pending_change.plan} at ${d.pending_change.effective_at}`],
                ["cancellation", d.cancellation && JSON.stringify(d.cancellation)]];
  $("deadlines").innerHTML = rows.filter((r) => r[1]).map((r) => `<dt>${r[0]}</dt><dd>${esc(r[1])}</dd>`).join("") || "<dd>none</dd>";
  $("usage-chart").innerHTML = life.cycles.map((y) => {
    const pct = y.quota_mb ? Math.min(100, 100 * y.used_mb / y.quota_mb) : 0;
    return `<div>${esc(y.cycle)} cycle${y.from ? " from " + esc(y.from) : ""}: ${y.used_mb} / ${y.quota_mb} MB</div>` +
           `<div class="bar"><span style="width:${pct}%"></span></div>`;
  }).join("") + life.alerts.map((a) => `<div>alert ${esc(a.time)}: ${esc(JSON.stringify(a.detail))}</div>`).join("");
  await fillPoints(c, d);
  $("ledger").tBodies[0].innerHTML = life.ledger.map((e) =>
    `<tr><td>${esc(e.time)}</td><td>${esc(e.kind)}</td><td>${esc(e.item)}</td><td>${esc(e.amount)}</td><td>${esc(e.balance)}</td></tr>`).join("");
}

// named points of the open card (the scenario language's points): its deadlines, and its carrier's next cycle start
async function fillPoints(c, d) {
  const points = [];
  try {
    const profile = await api("GET", `/_sim/carriers/${encodeURIComponent(c.carrier)}/profile`);
    const day = Number(profile.billing_cycle_day || 1), now = $("clock").dataset.now || "";
    const m = now.match(/^(\d{4})-(\d{2})-(\d{2})T.*?([+-]\d{2}:\d{2}|Z)$/);
    if (m) {
      let y = Number(m[1]), mo = Number(m[2]);
      if (Number(m[3]) >= day) { mo += 1; if (mo > 12) { mo = 1; y += 1; } }
      points.push(["next_cycle", `${y}-${String(mo).padStart(2, "0")}-${String(day).padStart(2, "0")}T00:00:00${m[4]}`]);
    }
  } catch (e) { /* a carrier in maintenance may refuse: the card's own points remain */ }
  for (const [name, at] of [["expiry", d.term_end], ["retention_limit", d.retention_until],
                            ["real_name_deadline", d.real_name_deadline],
                            ["pending_change", d.pending_change && d.pending_change.effective_at],
                            ["review_due", d.cancellation && d.cancellation.due]]) if (at) points.push([name, at]);
  const sel = $("advance-point"), keep = sel.value;  // a refresh keeps what the user picked
  sel.innerHTML = points.map(([n, at]) => `<option value="${esc(at)}">${esc(n)} (${esc(at)})</option>`).join("");
  if (points.some(([, at]) => at === keep)) sel.value = keep;
}

// ------------------------------------------------------------------ live events (server-sent events over fetch)
let cursor = null;
async function stream() {
  for (;;) {
    try {
      $("live-status").textContent = "● live";
      const r = await fetch("/_sim/events/stream" + (cursor !== null ? "?cursor=" + cursor : ""),
                            {headers: {"Authorization": "Bearer " + token, "Accept": "text/event-stream"}});
      const reader = r.body.getReader(), dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buf += dec.decode(value, {stream: true});
        let at;
        while ((at = buf.indexOf("\n\n")) >= 0) { handle(buf.slice(0, at)); buf = buf.slice(at + 2); }
      }
    } catch (e) { $("live-status").textContent = "○ reconnecting"; }
    await new Promise((ok) => setTimeout(ok, 300));
  }
}
let pending = false;
function handle(block) {
  const f = {};
  for (const line of block.split("\n")) { const i = line.indexOf(":"); if (i > 0) f[line.slice(0, i)] = line.slice(i + 1).trim(); }
  if (f.id) cursor = Number(f.id);
  if (!f.event || !f.data) return;
  if (f.event === "reset") { cursor = 0; $("events").innerHTML = ""; return; }
  const e = JSON.parse(f.data);
  const li = document.createElement("li");
  li.dataset.kind = e.kind;
  li.textContent = `${e.time} ${e.iccid || ""} ${e.kind}` + (e.new_state ? ` ${e.old_state} → ${e.new_state}` : "") +
    (e.reasons && e.reasons.length ? ` (${e.reasons.join(", ")})` : "") + (e.amount ? ` ${e.amount}` : "");
  const list = $("events"); list.prepend(li);
  while (list.children.length > 200) list.lastChild.remove();
  if (!pending) { pending = true; setTimeout(() => { pending = false; refreshAll(); }, 500); }
}

// ------------------------------------------------------------------ conformance report (a file opened here)
function showReport(data) {
  const rows = data.outcomes || data.results || data.scenarios || [];
  const head = data.suite ? `${esc(data.suite.name || "")} ${esc(data.suite.version || "")}` : "";
  const counts = {}; rows.forEach((r) => { counts[r.status] = (counts[r.status] || 0) + 1; });
  $("report").innerHTML = `<p>${head} ${esc(data.target || "")} — ` +
    Object.entries(counts).map(([k, v]) => `${esc(k)}: ${v}`).join(", ") + "</p>" +
    `<table><tr><th>scenario</th><th>carrier</th><th>rules</th><th>status</th></tr>` + rows.map((r) =>
      `<tr><td>${esc(r.scenario || r.name)}</td><td>${esc(r.carrier)}</td><td>${esc((r.rules || []).join(" "))}</td>` +
      `<td class="${r.status === "passed" ? "pass" : "fail"}">${esc(r.status)}</td></tr>`).join("") + "</table>";
}

// ------------------------------------------------------------------ wiring
async function refreshAll() {
  try { await refreshClock(); await refreshOverview(); await search(); if (openIccid) await showCard(openIccid); }
  catch (e) { if (e.status === 401) { $("app").hidden = true; $("login").hidden = false; } }
}
async function start() {
  fill("f-state", STATES); fill("f-reason", REASONS);
  await refreshAll();
  stream();
  refreshTimer = setInterval(refreshClock, 2000);
}
$("login-form").addEventListener("submit", (ev) => { ev.preventDefault(); login($("token").value); });
$("advance-form").addEventListener("submit", (ev) => { ev.preventDefault(); advance({by: $("advance-by").value}); });
$("advance-to-form").addEventListener("submit", (ev) => { ev.preventDefault(); advance({to: $("advance-to").value}); });
$("point-form").addEventListener("submit", (ev) => {
  ev.preventDefault(); if ($("advance-point").value) advance({to: $("advance-point").value});
});
$("mode-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = {mode: $("mode").value}; if (body.mode === "accelerated") body.rate = Number($("rate").value);
  try { await api("POST", "/_sim/clock/mode", body); } catch (e) { $("clock-error").textContent = e.message; }
  refreshClock();
});
$("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); search(); });
$("results").addEventListener("click", (ev) => { const tr = ev.target.closest("tr[data-iccid]"); if (tr) showCard(tr.dataset.iccid); });
$("card-close").addEventListener("click", () => { openIccid = null; $("card").hidden = true; });
$("world").addEventListener("change", () => { world = $("world").value; refreshAll(); });
$("report-file").addEventListener("change", async () => {
  const f = $("report-file").files[0]; if (f) showReport(JSON.parse(await f.text()));
});
(function boot() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) { history.replaceState(null, "", location.pathname); login(decodeURIComponent(m[1])); return; }
  const saved = sessionStorage.getItem("carriersim-token");
  if (saved) login(saved); else $("login").hidden = false;
})();
