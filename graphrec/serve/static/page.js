// graphrec's page: plain JavaScript over the service's JSON endpoints (no framework, no build step).
// Every value from the server is put on the page as text (textContent), never parsed as HTML.
"use strict";

const state = { scenario: null, user: null, scenarios: [], interests: new Set() };
const $ = (id) => document.getElementById(id);

// ---- talking to the service ------------------------------------------------------------------

/** The server's message of a failed answer: FastAPI's `detail` (a string or a list of problems), or `error`. */
function problem(body, status) {
  if (body && typeof body.detail === "string") return body.detail;
  if (body && Array.isArray(body.detail)) {
    return body.detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("\n");
  }
  if (body && typeof body.error === "string") return body.error;
  if (body && typeof body.message === "string") return body.message;
  return `the server answered HTTP ${status}`;
}

/** The bearer token typed into the page (kept for this tab only), for a service started with a token. */
function authHeaders() {
  const token = sessionStorage.getItem("graphrec-token");
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function call(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { ...options, headers: { ...(options.headers || {}), ...authHeaders() } });
  } catch (e) {
    throw new Error(`cannot reach the service (${e.message}); is graphrec serve still running?`);
  }
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch (e) {
    body = { error: text };
  }
  if (response.status === 401) $("auth").hidden = false;
  if (!response.ok) throw new Error(`${path.split("?")[0]}: ${problem(body, response.status)}`);
  return body;
}

function query(params) {
  return new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== "")).toString();
}

function showError(error) {
  const box = $("error");
  box.textContent = error ? error.message || String(error) : "";
  box.hidden = !error;
}

// ---- small DOM helpers -----------------------------------------------------------------------

function cell(row, value, numeric) {
  const td = row.insertCell();
  td.textContent = value === null || value === undefined ? "–" : String(value);
  if (numeric) td.className = "num";
  return td;
}

/** One row of ``table``'s body saying why it is empty. */
function emptyRow(table, text) {
  const td = cell(table.tBodies[0].insertRow(), text);
  td.colSpan = table.tHead.rows[0].cells.length;
  td.className = "muted";
}

function fmt(x, digits = 4) {
  return typeof x === "number" ? x.toFixed(digits) : x;
}

function clear(element) {
  while (element.firstChild) element.removeChild(element.firstChild);
}

// ---- the run, its scenarios and users --------------------------------------------------------

async function loadScenarios() {
  const body = await call("scenarios");
  state.scenarios = body.scenarios;
  const select = $("scenario");
  clear(select);
  for (const s of body.scenarios) {
    select.add(new Option(`${s.name} (${s.items} items)`, s.name));
  }
  const preferred = body.target && body.scenarios.some((s) => s.name === body.target) ? body.target : null;
  if (preferred) select.value = preferred;
  state.scenario = select.value;
  $("run-info").textContent = `run ${body.run}` + (body.target ? ` · trained for ${body.target}` : "");
}

async function loadUsers() {
  const [warm, cold] = await Promise.all(
    [false, true].map((c) => call(`users?${query({ scenario: state.scenario, limit: 100, cold: c })}`)),
  );
  const select = $("user-pick");
  clear(select);
  select.add(new Option(`(pick one: ${warm.total + cold.total} users in the run)`, ""));
  const groups = [
    [warm, `with history in ${state.scenario}`],
    [cold, `no history in ${state.scenario} (placed by their other scenarios)`],
  ];
  for (const [body, what] of groups) {
    if (!body.users.length) continue;
    const group = document.createElement("optgroup");
    const shown = body.users.length < body.total ? `the first ${body.users.length} of ${body.total}` : body.total;
    group.label = `${what}: ${shown}`;
    for (const u of body.users) {
      const here = u.in_scenario ? `${u.in_scenario} in ${state.scenario}, ` : "";
      group.appendChild(new Option(`${u.user} (${here}${u.items} items in all)`, u.user));
    }
    select.appendChild(group);
  }
}

// ---- recommendations -------------------------------------------------------------------------

function showRecommendations(items, caption) {
  const table = $("recs");
  const body = table.tBodies[0];
  clear(body);
  for (const it of items) {
    const row = body.insertRow();
    row.dataset.item = it.item;
    cell(row, it.rank, true);
    cell(row, it.item);
    cell(row, it.title);
    cell(row, fmt(it.score), true);
    if (state.user !== null) {
      row.tabIndex = 0;
      row.title = "why? click for the explanation";
      row.addEventListener("click", () => explain(it.item, row));
      row.addEventListener("keydown", (e) => {
        if (e.key === "Enter") explain(it.item, row);
      });
    }
  }
  table.hidden = items.length === 0;
  $("results-caption").textContent = items.length ? caption : `${caption}: no items to recommend`;
}

async function recommendForUser(user) {
  const k = Number($("k").value) || 10;
  const body = await call(`recommend?${query({ user, scenario: state.scenario, k })}`);
  state.user = body.user;
  showRecommendations(
    body.items,
    `Top ${body.items.length} of ${body.scenario} for user ${body.user} (run ${body.run}); click an item for why.`,
  );
  $("explanation").hidden = true;
  await loadTopics(body.user);
}

/** `scenario,item` lines (or bare item ids, taken from the picked scenario) → the POST body's history. */
function parseHistory(text) {
  const history = [];
  text.split(/\r?\n/).forEach((line, n) => {
    const value = line.trim();
    if (!value || value.startsWith("#")) return;
    const parts = value.split(/[,\t]/).map((p) => p.trim());
    if (parts.length === 1) history.push({ item: parts[0] }); // the service finds the item's scenario
    else if (parts.length === 2 && parts[0] && parts[1]) history.push({ scenario: parts[0], item: parts[1] });
    else throw new Error(`history line ${n + 1}: ${JSON.stringify(value)} is not "scenario,item" or an item id`);
  });
  if (!history.length) throw new Error("the history is empty: paste one interaction a line, scenario,item");
  return history;
}

async function recommendForHistory() {
  const k = Number($("k").value) || 10;
  const history = parseHistory($("history").value);
  const body = await call("recommend", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ scenario: state.scenario, k, history }),
  });
  state.user = null; // a pasted history is no user of the graph: nothing to explain by graph paths
  const items = body.results && body.results.length ? body.results[0].items : [];
  showRecommendations(items, `Top ${items.length} of ${body.scenario} for the pasted history of ${history.length} items`);
  $("explanation").hidden = true;
  $("topics-caption").textContent = "A pasted history has no learned topics in the graph.";
  clear($("topic-list"));
  markInterests([]);
}

// ---- explanation -----------------------------------------------------------------------------

async function explain(item, row) {
  for (const r of $("recs").tBodies[0].rows) r.classList.toggle("selected", r === row);
  const body = await call(`explain?${query({ user: state.user, item, scenario: state.scenario })}`);
  const rec = body.recommendation;
  $("explanation-title").textContent = `Why ${body.title || body.item} for ${body.user}`;
  $("explanation-summary").textContent = rec
    ? `Rank ${rec.rank} with score ${fmt(rec.score)} in the written-back run ${rec.run}.`
    : "Not in the user's written-back top list (RECOMMENDED); the paths below still connect them.";
  const topics = $("topic-paths").tBodies[0];
  clear(topics);
  for (const p of body.topic_paths) {
    const r = topics.insertRow();
    cell(r, p.label || p.topic);
    cell(r, p.source);
    cell(r, p.via_items, true);
    cell(r, (p.examples || []).join("; "));
    cell(r, fmt(p.support, 2), true);
    cell(r, p.affinity === null || p.affinity === undefined ? null : fmt(p.affinity), true);
  }
  if (!body.topic_paths.length) emptyRow($("topic-paths"), "no topic connects the user's items to this item");
  const shared = $("shared-users").tBodies[0];
  clear(shared);
  for (const s of body.shared_users) {
    const r = shared.insertRow();
    cell(r, s.scenario);
    cell(r, s.item);
    cell(r, s.title);
    cell(r, s.shared_users, true);
  }
  if (!body.shared_users.length) {
    emptyRow($("shared-users"), "no other user has both one of the user's items and this one");
  }
  $("explanation").hidden = false;
}

// ---- learned topics --------------------------------------------------------------------------

async function loadTopics(user) {
  const body = await call(`topics?${query({ user, k: 10 })}`);
  const list = $("topic-list");
  clear(list);
  const topics = body.topics || [];
  for (const t of topics) {
    const li = document.createElement("li");
    const score = t.score === undefined ? t.affinity : t.score;
    li.textContent = `${t.label || t.topic || t.id}` + (typeof score === "number" ? ` (${fmt(score)})` : "");
    list.appendChild(li);
  }
  $("topics-caption").textContent = topics.length
    ? `User ${user}'s learned topics (INTERESTED_IN, highest first), ringed on the map.`
    : `User ${user} has no learned topics in the graph (the run wrote none for them).`;
  markInterests(topics.map((t) => t.topic || t.id));
}

// ---- topic map -------------------------------------------------------------------------------

const PALETTE = [
  [40, 110, 210],
  [215, 50, 45],
  [60, 160, 90],
  [180, 70, 160],
  [200, 60, 60],
  [120, 110, 100],
];

/** Topics whose names are written on the map (the largest; the others have theirs on hover). */
const LABELLED = 8;

function scenarioColor(k) {
  return PALETTE[k % PALETTE.length];
}

/** The mix of the scenarios' colours weighted by the topic's balance (grey without members). */
function balanceColor(balance, scenarios) {
  let rgb = [0, 0, 0];
  let total = 0;
  scenarios.forEach((s, k) => {
    const share = balance[s] || 0;
    const c = scenarioColor(k);
    rgb = rgb.map((v, j) => v + share * c[j]);
    total += share;
  });
  if (!total) return "rgb(190,190,190)";
  return `rgb(${rgb.map((v) => Math.round(v / total)).join(",")})`;
}

function markInterests(ids) {
  state.interests = new Set(ids);
  for (const c of $("topic-map").querySelectorAll("circle")) {
    c.classList.toggle("interest", state.interests.has(c.dataset.topic));
  }
}

async function loadTopicMap() {
  const body = await call("topic-map");
  const svg = $("topic-map");
  clear(svg);
  const legend = $("map-legend");
  clear(legend);
  const swatches = body.scenarios.map((s) => [`all ${s}`, { [s]: 1 }]);
  if (body.scenarios.length > 1) {
    swatches.push(["even", Object.fromEntries(body.scenarios.map((s) => [s, 1 / body.scenarios.length]))]);
  }
  for (const [text, balance] of swatches) {
    const span = document.createElement("span");
    span.style.setProperty("--swatch", balanceColor(balance, body.scenarios));
    span.textContent = text;
    legend.appendChild(span);
  }
  if (!body.topics.length) {
    $("map-caption").textContent = `Run ${body.run} has no topic embeddings to draw.`;
    return;
  }
  const ns = "http://www.w3.org/2000/svg";
  const [w, h, pad] = [600, 420, 30];
  const biggest = Math.max(1, ...body.topics.map((t) => t.items));
  // fit the points' bounding box into the drawing, one scale for both axes (distances keep their proportions)
  const xs = body.topics.map((t) => t.x);
  const ys = body.topics.map((t) => t.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = Math.min((w - 2 * pad) / Math.max(x1 - x0, 1e-9), (h - 2 * pad) / Math.max(y1 - y0, 1e-9));
  const px = (t) => w / 2 + (t.x - (x0 + x1) / 2) * scale;
  const py = (t) => h / 2 - (t.y - (y0 + y1) / 2) * scale;
  // smallest first, so the large circles do not hide the small ones
  for (const t of [...body.topics].reverse()) {
    const c = document.createElementNS(ns, "circle");
    c.setAttribute("cx", px(t).toFixed(1));
    c.setAttribute("cy", py(t).toFixed(1));
    c.setAttribute("r", (3 + 17 * Math.sqrt(t.items / biggest)).toFixed(1));
    c.setAttribute("fill", balanceColor(t.balance, body.scenarios));
    c.dataset.topic = t.id;
    const shares = Object.entries(t.balance)
      .map(([s, v]) => `${s} ${Math.round(100 * v)}%`)
      .join(", ");
    const title = document.createElementNS(ns, "title");
    title.textContent = `${t.label || t.id}: ${t.items} items${shares ? ` (${shares})` : ""}`;
    c.appendChild(title);
    svg.appendChild(c);
  }
  // names of the largest topics, drawn over the circles
  for (const t of body.topics.slice(0, LABELLED)) {
    const text = document.createElementNS(ns, "text");
    const x = px(t);
    text.setAttribute("x", x.toFixed(1));
    text.setAttribute("y", (py(t) + 4).toFixed(1));
    text.setAttribute("text-anchor", x < w / 4 ? "start" : x > (3 * w) / 4 ? "end" : "middle");
    text.textContent = (t.label || t.id).slice(0, 28);
    svg.appendChild(text);
  }
  markInterests([...state.interests]);
  const shown = body.topics.length < body.total ? `the ${body.topics.length} largest of ${body.total}` : `${body.total}`;
  $("map-caption").textContent =
    `${shown} topics of run ${body.run}: placed by the first two principal components of their learned ` +
    "embeddings, sized by member items, coloured by the share of their items in each scenario. Hover for names.";
}

// ---- wiring ----------------------------------------------------------------------------------

function guarded(action) {
  return async (event) => {
    if (event) event.preventDefault();
    showError(null);
    try {
      await action(event);
    } catch (e) {
      showError(e);
    }
  };
}

$("scenario").addEventListener(
  "change",
  guarded(async () => {
    state.scenario = $("scenario").value;
    await loadUsers();
  }),
);
$("user-pick").addEventListener(
  "change",
  guarded(async () => {
    const user = $("user-pick").value;
    if (!user) return;
    $("user").value = user;
    await recommendForUser(user);
  }),
);
$("user-form").addEventListener(
  "submit",
  guarded(async () => {
    const user = $("user").value.trim();
    if (!user) throw new Error("type a user id or pick one from the list");
    await recommendForUser(user);
  }),
);
$("history-form").addEventListener("submit", guarded(recommendForHistory));
$("auth").addEventListener(
  "submit",
  guarded(async () => {
    sessionStorage.setItem("graphrec-token", $("token").value.trim());
    $("auth").hidden = true;
    await start();
  }),
);

async function start() {
  await loadScenarios();
  await Promise.all([loadUsers(), loadTopicMap().catch(showError)]);
}

guarded(start)();
