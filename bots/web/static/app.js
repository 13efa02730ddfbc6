// EUMEX Assistant web chat: no build step, no external resources.
// Data from the server is only ever inserted with textContent / createElement, never innerHTML.
"use strict";

const STRINGS = {
  en: {
    skip: "Skip to the question box",
    tagline: "Cited answers on EU research funding for Mexico",
    new: "New conversation",
    loadingSources: "Loading the list of sources…",
    haveTitle: "Documents I have read",
    missingTitle: "Key texts not in my sources",
    conversation: "Conversation",
    welcome: "Ask about Horizon 2020 or Horizon Europe participation — eligibility, funding, evaluation, " +
      "costs, partners — in English or Spanish. Every answer quotes its source.",
    try: "Try:",
    examples: [
      "What is the threshold for individual evaluation criteria in an H2020 RIA?",
      "Which Mexican organisations took part in H2020 projects on geothermal energy?",
      "What are common errors in H2020 personnel cost claims?",
    ],
    questionLabel: "Your question",
    placeholder: "Type your question…",
    send: "Send",
    hint: "Enter to send · Shift+Enter for a new line",
    you: "You",
    assistant: "Assistant",
    thinking: "Looking in the sources…",
    notInSources: "Not in my sources",
    sources: "Sources",
    page: "p.",
    openPdf: "Open the PDF at this page (new tab)",
    openRecord: "Open the official page (new tab)",
    helpful: "Was this answer useful?",
    up: "Useful",
    down: "Not useful",
    reasonLabel: "What was good or wrong? (optional)",
    sendFeedback: "Send feedback",
    thanks: "Thank you — your feedback was recorded.",
    feedbackFailed: "Sorry, the feedback could not be sent.",
    error: "Sorry, something went wrong:",
    network: "The assistant cannot be reached. Check your connection and try again.",
    tooMany: "Too many questions in a short time — please wait {s} s.",
    coverage: "My sources: {n} documents and CORDIS data ({programmes}). Not in my sources yet: {missing}.",
    coverageShort: "My sources: {n} documents and CORDIS data ({programmes}).",
    official: "official text",
    // partners view
    skipPartners: "Skip to the partner search",
    viewsLabel: "View",
    tabAsk: "Ask",
    tabPartners: "Partners",
    partnersIntro: "Find organisations and projects in the CORDIS data on EU research projects. " +
      "Every result cites its dataset row.",
    pq: "Subject (free text)",
    pqPlaceholder: "e.g. geothermal energy",
    pcountry: "Participant countries",
    pcountryPlaceholder: "MX, ES",
    pcountryHint: "Two-letter codes, separated by commas: MX, ES, DE, FR, IT, BR…",
    pcountryInvalid: "A country code has two letters (MX, ES, DE…): check “{bad}”.",
    ptopic: "Topic code",
    ptopicPlaceholder: "e.g. LC-SC3-RES-11-2018",
    paction: "Type of action",
    actionAny: "Any",
    actionNames: {
      "ERA-NET": "ERA-NET Cofund", RIA: "Research and innovation action", IA: "Innovation action",
      CSA: "Coordination and support action", MSCA: "Marie Skłodowska-Curie action", ERC: "ERC grant",
    },
    pcoordinators: "Coordinators only",
    psearch: "Search partners",
    pneed: "Type a subject or fill in at least one filter (countries, topic code or type of action).",
    presults: "Results",
    psearching: "Searching the CORDIS data…",
    pfound: "{shown} of {total} matching projects shown; {orgs} of {orgTotal} organisations.",
    pnone: "No project in the CORDIS data matches this search.",
    unknownTopic: "There are no records for the topic code {topic} in the CORDIS data: check the code " +
      "(e.g. SC5-13-2018-2019).",
    projectsTitle: "Projects",
    orgsTitle: "Organisations",
    programmeLabel: "Programme",
    topicLabel: "Topic",
    actionLabel: "Type of action",
    contributionLabel: "EU contribution",
    whyLabel: "Why it matches",
    participantsLabel: "Participants in the data ({n})",
    noParticipants: "The participation files do not list this project's organisations.",
    cordisPage: "Project page on CORDIS (new tab)",
    source: "Source {n}",
    roles: { coordinator: "coordinator", participant: "participant", partner: "partner" },
    activities: {
      HES: "higher education", REC: "research organisation", PRC: "company", PUB: "public body", OTH: "other",
    },
  },
  es: {
    skip: "Ir al cuadro de la pregunta",
    tagline: "Respuestas con fuentes sobre financiación europea de la investigación para México",
    new: "Nueva conversación",
    loadingSources: "Cargando la lista de fuentes…",
    haveTitle: "Documentos que he leído",
    missingTitle: "Textos clave que no están en mis fuentes",
    conversation: "Conversación",
    welcome: "Pregunta sobre la participación en Horizonte 2020 u Horizonte Europa — elegibilidad, " +
      "financiación, evaluación, costes, socios — en español o en inglés. Cada respuesta cita su fuente.",
    try: "Prueba:",
    examples: [
      "¿Cuál es el umbral de cada criterio de evaluación en una RIA de H2020?",
      "¿Qué instituciones mexicanas participaron en proyectos H2020 de energía geotérmica?",
      "¿Qué dice la ley mexicana de ciencia sobre la cooperación internacional?",
    ],
    questionLabel: "Tu pregunta",
    placeholder: "Escribe tu pregunta…",
    send: "Enviar",
    hint: "Intro para enviar · Mayús+Intro para una línea nueva",
    you: "Tú",
    assistant: "Asistente",
    thinking: "Buscando en las fuentes…",
    notInSources: "No está en mis fuentes",
    sources: "Fuentes",
    page: "p.",
    openPdf: "Abrir el PDF en esta página (pestaña nueva)",
    openRecord: "Abrir la página oficial (pestaña nueva)",
    helpful: "¿Te fue útil esta respuesta?",
    up: "Útil",
    down: "No útil",
    reasonLabel: "¿Qué estuvo bien o mal? (opcional)",
    sendFeedback: "Enviar opinión",
    thanks: "Gracias: tu opinión quedó registrada.",
    feedbackFailed: "Lo siento, no se pudo enviar la opinión.",
    error: "Lo siento, algo salió mal:",
    network: "No se puede contactar al asistente. Revisa tu conexión e inténtalo de nuevo.",
    tooMany: "Demasiadas preguntas en poco tiempo: espera {s} s, por favor.",
    coverage: "Mis fuentes: {n} documentos y datos de CORDIS ({programmes}). Aún no están en mis fuentes: {missing}.",
    coverageShort: "Mis fuentes: {n} documentos y datos de CORDIS ({programmes}).",
    official: "texto oficial",
    // partners view
    skipPartners: "Ir a la búsqueda de socios",
    viewsLabel: "Vista",
    tabAsk: "Preguntar",
    tabPartners: "Socios",
    partnersIntro: "Busca organizaciones y proyectos en los datos de CORDIS sobre proyectos europeos de " +
      "investigación. Cada resultado cita su fila del conjunto de datos.",
    pq: "Tema (texto libre)",
    pqPlaceholder: "p. ej. energía geotérmica",
    pcountry: "Países de los participantes",
    pcountryPlaceholder: "MX, ES",
    pcountryHint: "Códigos de dos letras, separados por comas: MX, ES, DE, FR, IT, BR…",
    pcountryInvalid: "Un código de país tiene dos letras (MX, ES, DE…): revisa «{bad}».",
    ptopic: "Código de tema (topic)",
    ptopicPlaceholder: "p. ej. LC-SC3-RES-11-2018",
    paction: "Tipo de acción",
    actionAny: "Cualquiera",
    actionNames: {
      "ERA-NET": "ERA-NET Cofund", RIA: "Acción de investigación e innovación", IA: "Acción de innovación",
      CSA: "Acción de coordinación y apoyo", MSCA: "Acción Marie Skłodowska-Curie", ERC: "Subvención del ERC",
    },
    pcoordinators: "Solo coordinadores",
    psearch: "Buscar socios",
    pneed: "Escribe un tema o rellena al menos un filtro (países, código de tema o tipo de acción).",
    presults: "Resultados",
    psearching: "Buscando en los datos de CORDIS…",
    pfound: "Se muestran {shown} de {total} proyectos que coinciden; {orgs} de {orgTotal} organizaciones.",
    pnone: "Ningún proyecto de los datos de CORDIS coincide con esta búsqueda.",
    unknownTopic: "No hay registros del código de tema {topic} en los datos de CORDIS: revisa el código " +
      "(p. ej. SC5-13-2018-2019).",
    projectsTitle: "Proyectos",
    orgsTitle: "Organizaciones",
    programmeLabel: "Programa",
    topicLabel: "Tema",
    actionLabel: "Tipo de acción",
    contributionLabel: "Contribución de la UE",
    whyLabel: "Por qué coincide",
    participantsLabel: "Participantes en los datos ({n})",
    noParticipants: "Los ficheros de participaciones no listan las organizaciones de este proyecto.",
    cordisPage: "Página del proyecto en CORDIS (pestaña nueva)",
    source: "Fuente {n}",
    roles: { coordinator: "coordinador", participant: "participante", partner: "socio" },
    activities: {
      HES: "educación superior", REC: "organismo de investigación", PRC: "empresa", PUB: "organismo público",
      OTH: "otro",
    },
  },
};

const PROGRAMMES = {
  h2020: ["Horizon 2020", "Horizonte 2020"],
  "horizon-europe": ["Horizon Europe", "Horizonte Europa"],
  mexico: ["Mexico", "México"],
  "eu-mexico": ["EU–Mexico", "UE–México"],
};

const state = {
  lang: "en",
  conversationId: "",
  history: [], // [{role: "user", text} | {role: "assistant", answer}]
  docsByPath: new Map(), // corpus path -> document from /api/documents
  documents: [],
  busy: false,
  view: "ask", // "ask" | "partners"
  partners: { params: null, result: null, error: "", lang: "", busy: false, token: 0 },
};

const $ = (id) => document.getElementById(id);

function tr(key, values) {
  let text = (STRINGS[state.lang] || STRINGS.en)[key];
  if (text === undefined) text = STRINGS.en[key];
  if (typeof text === "string" && values) {
    for (const [k, v] of Object.entries(values)) text = text.replaceAll("{" + k + "}", String(v));
  }
  return text;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return "c-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
}

// --- language ---------------------------------------------------------------------------------
function initialLanguage() {
  const saved = localStorage.getItem("eumex.lang");
  if (saved === "en" || saved === "es") return saved;
  return (navigator.language || "en").toLowerCase().startsWith("es") ? "es" : "en";
}

function applyLanguage(lang) {
  state.lang = lang;
  localStorage.setItem("eumex.lang", lang);
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = tr(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = tr(node.dataset.i18nPlaceholder);
  }
  for (const node of document.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", tr(node.dataset.i18nLabel));
  }
  for (const btn of document.querySelectorAll(".lang-btn")) {
    btn.setAttribute("aria-pressed", btn.dataset.lang === lang ? "true" : "false");
  }
  renderExamples();
  renderCoverage();
  renderHistory();
  renderSkip();
  renderActions();
  const partners = state.partners;
  if (partners.result && partners.lang !== lang && !partners.busy) searchPartners(partners.params);
  else renderPartners();
}

function renderExamples() {
  const list = $("examples");
  list.replaceChildren();
  for (const example of tr("examples")) {
    list.append(el("li", {}, el("button", {
      type: "button", class: "example", text: example,
      onclick: () => { $("question").value = example; $("question").focus(); },
    })));
  }
}

// --- sources ----------------------------------------------------------------------------------
async function loadDocuments() {
  try {
    const response = await fetch("/api/documents");
    if (!response.ok) throw new Error(String(response.status));
    const data = await response.json();
    state.documents = data.documents;
    state.docsByPath = new Map(data.documents.map((d) => [d.path, d]));
  } catch (err) {
    state.documents = [];
  }
  renderCoverage();
  renderHistory(); // citation links need the document ids
  renderPartners();
}

function programmeLabel(code) {
  const labels = PROGRAMMES[code];
  return labels ? labels[state.lang === "es" ? 1 : 0] : code;
}

function renderCoverage() {
  const docs = state.documents;
  if (!docs.length) return;
  const present = docs.filter((d) => d.present && d.viewable);
  const missing = docs.filter((d) => !d.present);
  const programmes = [...new Set(docs.filter((d) => d.present).map((d) => programmeLabel(d.programme)))];
  const missingProgrammes = [...new Set(missing.map((d) => programmeLabel(d.programme)))]
    .filter((p) => !programmes.includes(p));
  const values = { n: present.length, programmes: programmes.join(", "), missing: missingProgrammes.join(", ") };
  $("coverage-summary").textContent = tr(missingProgrammes.length ? "coverage" : "coverageShort", values);
  const have = $("coverage-present");
  have.replaceChildren();
  for (const d of present) {
    have.append(el("li", {}, el("a", { href: documentUrl(d), target: "_blank", rel: "noopener", text: d.short_title }),
      " — " + d.period));
  }
  const lack = $("coverage-missing");
  lack.replaceChildren();
  for (const d of missing) {
    const item = el("li", {}, d.short_title + " ");
    if (d.url) item.append(el("a", { href: d.url, target: "_blank", rel: "noopener noreferrer", text: "(" + tr("official") + ")" }));
    lack.append(item);
  }
}

function documentUrl(doc, page) {
  return "/api/documents/" + encodeURIComponent(doc.id) + (page ? "#page=" + page : "");
}

// --- conversation storage -----------------------------------------------------------------------
function saveHistory() {
  try {
    localStorage.setItem("eumex.history." + state.conversationId, JSON.stringify(state.history.slice(-40)));
  } catch (err) { /* storage full or disabled: the chat still works */ }
}

function loadConversation() {
  state.conversationId = localStorage.getItem("eumex.conversation") || "";
  if (!state.conversationId) {
    state.conversationId = newId();
    localStorage.setItem("eumex.conversation", state.conversationId);
  }
  try {
    state.history = JSON.parse(localStorage.getItem("eumex.history." + state.conversationId) || "[]");
  } catch (err) {
    state.history = [];
  }
}

function newConversation() {
  localStorage.removeItem("eumex.history." + state.conversationId);
  state.conversationId = newId();
  localStorage.setItem("eumex.conversation", state.conversationId);
  state.history = [];
  renderHistory();
  $("question").focus();
}

// --- rendering ---------------------------------------------------------------------------------
function renderHistory() {
  const box = $("messages");
  for (const node of box.querySelectorAll(".msg")) node.remove();
  $("welcome").hidden = state.history.length > 0;
  for (const item of state.history) {
    if (item.role === "user") box.append(userBubble(item.text));
    else if (item.role === "assistant") {
      const view = assistantBubble();
      finishAnswer(view, item.answer, item.question, item.feedback);
      box.append(view.root);
    } else if (item.role === "error") box.append(errorBubble(item.text));
  }
  scrollDown();
}

function userBubble(text) {
  return el("div", { class: "msg user" }, el("p", { class: "who visually-hidden", text: tr("you") }),
    el("p", { class: "text", text }));
}

function errorBubble(text) {
  return el("div", { class: "msg error", role: "alert" }, el("p", { class: "text", text }));
}

function assistantBubble() {
  const text = el("div", { class: "text" });
  const status = el("p", { class: "status", text: tr("thinking") });
  const root = el("article", { class: "msg assistant", "aria-busy": "true" },
    el("p", { class: "who visually-hidden", text: tr("assistant") }), status, text);
  return { root, text, status };
}

function citationHref(citation) {
  const doc = state.docsByPath.get(citation.document);
  if (doc && doc.viewable) return { href: documentUrl(doc, citation.page), pdf: true };
  if (citation.url) return { href: citation.url, pdf: false };
  return null;
}

// A citation marker [n]: to the cited source (new tab) in answers, to the citation card in the partners view.
function markerLink(citation, href, label, newTab) {
  return el("a", {
    class: "marker", href, target: newTab ? "_blank" : null, rel: newTab ? "noopener" : null,
    "aria-label": label, text: "[" + citation.n + "]",
  });
}

// The answer text with its [n] markers turned into links to the cited page.
function answerText(container, answer) {
  container.replaceChildren();
  const byN = new Map(answer.citations.map((c) => [String(c.n), c]));
  for (const paragraph of answer.answer.split(/\n+/)) {
    const p = el("p");
    for (const part of paragraph.split(/(\[\d+\])/)) {
      const match = /^\[(\d+)\]$/.exec(part);
      const citation = match && byN.get(match[1]);
      const target = citation && citationHref(citation);
      if (target) {
        p.append(markerLink(citation, target.href, "[" + citation.n + "] " + citation.title, true));
      } else if (part) p.append(part);
    }
    container.append(p);
  }
}

function citationChip(citation) {
  const target = citationHref(citation);
  const where = citation.page !== null && citation.page !== undefined
    ? tr("page") + " " + citation.page : (citation.locator || "CORDIS");
  const meta = [programmeLabel(citation.programme), citation.period, where].filter(Boolean).join(" · ");
  const doc = state.docsByPath.get(citation.document);
  const label = (doc && doc.short_title) || citation.title;
  const title = target
    ? el("a", {
      class: "chip-title", href: target.href, target: "_blank", rel: target.pdf ? "noopener" : "noopener noreferrer",
      title: citation.title + " — " + (target.pdf ? tr("openPdf") : tr("openRecord")), text: label,
    })
    : el("span", { class: "chip-title", title: citation.title, text: label });
  return el("li", { class: "chip", "data-n": citation.n },
    el("span", { class: "chip-n", "aria-hidden": "true", text: String(citation.n) }),
    el("div", { class: "chip-body" }, title, el("p", { class: "chip-meta", text: meta }),
      el("blockquote", { class: "chip-quote", lang: "", text: "“" + citation.quote + "”" })));
}

function finishAnswer(view, answer, question, feedback) {
  view.status.remove();
  view.root.removeAttribute("aria-busy");
  view.root.classList.toggle("abstained", Boolean(answer.abstained));
  view.root.setAttribute("lang", answer.language);
  if (answer.abstained) {
    view.root.insertBefore(el("p", { class: "badge", text: tr("notInSources") }), view.text);
  }
  answerText(view.text, answer);
  if (answer.citations.length) {
    view.root.append(el("h3", { class: "sources-title", text: tr("sources") }),
      el("ol", { class: "chips" }, ...answer.citations.map(citationChip)));
  }
  view.root.append(feedbackBox(answer, question, feedback));
}

function feedbackBox(answer, question, done) {
  const box = el("div", { class: "feedback" });
  if (done) {
    box.append(el("p", { class: "thanks", text: tr("thanks") }));
    return box;
  }
  const icon = (id) => document.getElementById(id).content.cloneNode(true);
  const form = el("form", { class: "reason", hidden: true });
  let rating = "";
  const choose = (value, button) => {
    rating = value;
    for (const b of box.querySelectorAll(".thumb")) b.setAttribute("aria-pressed", b === button ? "true" : "false");
    form.hidden = false;
    form.querySelector("input").focus();
  };
  const up = el("button", { type: "button", class: "thumb", "aria-pressed": "false", "aria-label": tr("up"), title: tr("up") });
  up.append(icon("thumb-up-icon"));
  up.addEventListener("click", () => choose("up", up));
  const down = el("button", { type: "button", class: "thumb", "aria-pressed": "false", "aria-label": tr("down"), title: tr("down") });
  down.append(icon("thumb-down-icon"));
  down.addEventListener("click", () => choose("down", down));
  const inputId = "reason-" + Math.random().toString(36).slice(2, 9);
  form.append(el("label", { for: inputId, text: tr("reasonLabel") }),
    el("div", { class: "reason-row" }, el("input", { id: inputId, type: "text", maxlength: 2000 }),
      el("button", { type: "submit", class: "secondary", text: tr("sendFeedback") })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = form.querySelector("input").value.trim();
    try {
      const response = await fetch("/api/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          conversation_id: state.conversationId, message: answer.answer, rating,
          reason: reason || null, question: question || null,
        }),
      });
      if (!response.ok) throw new Error(String(response.status));
      const entry = state.history.find((h) => h.answer === answer);
      if (entry) { entry.feedback = rating; saveHistory(); }
      box.replaceChildren(el("p", { class: "thanks", role: "status", text: tr("thanks") }));
    } catch (err) {
      box.append(el("p", { class: "thanks failed", role: "status", text: tr("feedbackFailed") }));
    }
  });
  box.append(el("div", { class: "thumbs" }, el("span", { class: "helpful", text: tr("helpful") }), up, down), form);
  return box;
}

function scrollDown() {
  const box = $("chat");
  box.scrollTop = box.scrollHeight;
}

// --- asking ------------------------------------------------------------------------------------
// Parse a Server-Sent Events body as it arrives; calls onEvent(name, data) per complete event.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    buffer = buffer.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // keep-alive comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = val;
        else if (field === "data") data.push(val);
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
    if (done) return;
  }
}

async function problemMessage(response) {
  if (response.status === 429) return tr("tooMany", { s: response.headers.get("Retry-After") || "60" });
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
  } catch (err) { /* not JSON */ }
  return tr("error") + " HTTP " + response.status;
}

async function ask(question) {
  if (state.busy) return;
  state.busy = true;
  $("send").disabled = true;
  $("welcome").hidden = true;
  const box = $("messages");
  box.append(userBubble(question));
  state.history.push({ role: "user", text: question });
  saveHistory();
  const view = assistantBubble();
  box.append(view.root);
  scrollDown();
  let streamed = "";
  let finished = false;
  const fail = (message) => {
    view.root.remove();
    box.append(errorBubble(message));
    state.history.push({ role: "error", text: message });
    saveHistory();
  };
  try {
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ question, conversation_id: state.conversationId, lang: "auto" }),
    });
    if (!response.ok || !response.body) {
      fail(await problemMessage(response));
      return;
    }
    await readEvents(response, (name, data) => {
      if (name === "delta") {
        streamed += data.text;
        view.text.textContent = streamed;
        scrollDown();
      } else if (name === "done") {
        finished = true;
        state.history.push({ role: "assistant", answer: data, question });
        saveHistory();
        finishAnswer(view, data, question, null);
        scrollDown();
      } else if (name === "error") {
        finished = true;
        fail(tr("error") + " " + data.message);
      }
    });
    if (!finished) fail(tr("network"));
  } catch (err) {
    if (!finished) fail(tr("network"));
  } finally {
    state.busy = false;
    $("send").disabled = false;
  }
}

// --- partners view ------------------------------------------------------------------------------
const ACTIONS = ["ERA-NET", "RIA", "IA", "CSA", "MSCA", "ERC"];

function setView(view, focusTab) {
  state.view = view;
  for (const tab of document.querySelectorAll(".view-tab")) {
    const selected = tab.dataset.view === view;
    tab.setAttribute("aria-selected", selected ? "true" : "false");
    tab.tabIndex = selected ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !selected;
    if (selected && focusTab) tab.focus();
  }
  $("new-conversation").hidden = view !== "ask"; // it belongs to the conversation
  renderSkip();
}

function tabKeys(event) {
  const tabs = [...document.querySelectorAll(".view-tab")];
  const i = tabs.indexOf(event.target);
  const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  setView(tabs[(next + tabs.length) % tabs.length].dataset.view, true);
}

function renderSkip() {
  const skip = document.querySelector(".skip");
  const partners = state.view === "partners";
  skip.href = partners ? "#partners-q" : "#question";
  skip.textContent = tr(partners ? "skipPartners" : "skip");
}

function renderActions() {
  const select = $("partners-action");
  const value = select.value;
  const names = tr("actionNames");
  select.replaceChildren(el("option", { value: "", text: tr("actionAny") }),
    ...ACTIONS.map((code) => el("option", { value: code, text: code + " — " + names[code] })));
  select.value = value;
}

function money(value) {
  if (value === null || value === undefined) return "";
  return new Intl.NumberFormat(state.lang === "es" ? "es-ES" : "en-GB",
    { style: "currency", currency: "EUR", maximumFractionDigits: 0 }).format(value);
}

function roleLabel(role) {
  return (role && tr("roles")[role.toLowerCase()]) || (role || "").toLowerCase();
}

function formError(message, field) {
  const box = $("partners-form-error");
  box.textContent = message;
  box.hidden = false;
  if (field) {
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }
}

function readPartnersForm() {
  const box = $("partners-form-error");
  box.hidden = true;
  box.textContent = "";
  for (const node of $("partners-form").querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  const countries = $("partners-country").value.split(/[\s,;]+/).filter(Boolean).map((c) => c.toUpperCase());
  const bad = countries.find((c) => !/^[A-Z]{2}$/.test(c));
  if (bad) {
    formError(tr("pcountryInvalid", { bad }), $("partners-country"));
    return null;
  }
  const params = {
    q: $("partners-q").value.trim(),
    countries: [...new Set(countries)],
    topic: $("partners-topic").value.trim(),
    action: $("partners-action").value,
    coordinators: $("partners-coordinators").checked,
  };
  if (!params.q && !params.countries.length && !params.topic && !params.action) {
    formError(tr("pneed"), $("partners-q"));
    return null;
  }
  return params;
}

async function searchPartners(params, reveal) {
  const partners = state.partners;
  const token = ++partners.token;
  Object.assign(partners, { params, busy: true });
  $("partners-search").disabled = true;
  renderPartners();
  const query = new URLSearchParams();
  if (params.q) query.append("q", params.q);
  for (const code of params.countries) query.append("country", code);
  if (params.topic) query.append("topic", params.topic);
  if (params.action) query.append("action", params.action);
  if (params.coordinators) query.append("coordinators", "true");
  query.append("lang", state.lang);
  query.append("limit", "10");
  let result = null;
  let error = "";
  try {
    const response = await fetch("/api/partners?" + query.toString());
    if (response.ok) result = await response.json();
    else error = await problemMessage(response);
  } catch (err) {
    error = tr("network");
  }
  if (token !== partners.token) return; // a newer search is running
  Object.assign(partners, { result, error, lang: state.lang, busy: false });
  $("partners-search").disabled = false;
  renderPartners();
  if (reveal) revealResults();
}

// After a search the results may start below the fold (a phone): bring their start into view.
function revealResults() {
  const box = $("partners");
  const first = $("partners-output").firstElementChild;
  if (!first) return;
  const top = first.getBoundingClientRect().top - box.getBoundingClientRect().top;
  if (top > box.clientHeight * 0.6) box.scrollTop += top - 8;
}

// The citation backing a project, participant or organisation's project: the API numbers it.
function citationsByNumber(result) {
  const map = new Map(result.citations.map((c) => [c.n, c]));
  return (item) => (item && item.citation != null ? map.get(item.citation) || null : null);
}

function partnersMarker(citation) {
  return citation
    ? markerLink(citation, "#pcite-" + citation.n, tr("source", { n: citation.n }), false)
    : null;
}

function fact(label, value) {
  return value ? [el("dt", { text: label }), el("dd", { text: value })] : [];
}

function projectCard(project, cite, anyParticipants) {
  const name = project.title && project.title !== project.acronym
    ? project.acronym + " — " + project.title : project.acronym;
  const topic = [project.topic_code, project.topic_title].filter(Boolean).join(" — ");
  const card = el("li", { class: "project", "data-project": project.project_id },
    el("h4", { class: "project-name" }, name, " ", partnersMarker(cite(project))),
    el("dl", { class: "facts" },
      ...fact(tr("programmeLabel"), project.framework),
      ...fact(tr("topicLabel"), topic),
      ...fact(tr("actionLabel"), project.action_type),
      ...fact(tr("contributionLabel"), money(project.eu_contribution))));
  if (project.why.length) {
    card.append(el("p", { class: "why" }, el("span", { class: "why-label", text: tr("whyLabel") + ": " }),
      project.why.join("; ")));
  }
  if (project.participants.length) {
    const list = el("ul", { class: "participants" }, ...project.participants.map((p) => el("li", {},
      el("span", { class: "org-name", text: p.organisation }),
      " (" + [p.country_name || p.country, roleLabel(p.role), money(p.eu_contribution)].filter(Boolean).join(", ") + ") ",
      partnersMarker(cite(p)))));
    card.append(el("details", { class: "participants-box", open: project.participants.length <= 6 },
      el("summary", { text: tr("participantsLabel", { n: project.participants.length }) }), list));
  } else if (anyParticipants) {
    card.append(el("p", { class: "muted", text: tr("noParticipants") }));
  }
  if (project.url) {
    card.append(el("p", { class: "cordis-link" }, el("a", {
      href: project.url, target: "_blank", rel: "noopener noreferrer", text: tr("cordisPage"),
    })));
  }
  return card;
}

function organisationItem(org, cite) {
  const about = [org.country_name || org.country, tr("activities")[org.activity_type] || org.activity_type]
    .filter(Boolean).join(", ");
  const item = el("li", { class: "org" }, el("span", { class: "org-name", text: org.name }), " (" + about + "): ");
  org.projects.forEach((pr, i) => {
    if (i) item.append(", ");
    const details = [roleLabel(pr.role), money(pr.eu_contribution)].filter(Boolean).join(", ");
    item.append(pr.acronym + (details ? " (" + details + ")" : ""));
    const marker = partnersMarker(cite(pr));
    if (marker) item.append(" ", marker);
  });
  return item;
}

function renderPartners() {
  const out = $("partners-output");
  const status = $("partners-status");
  const { result, error, busy } = state.partners;
  out.replaceChildren();
  if (busy) $("partners-results").setAttribute("aria-busy", "true");
  else $("partners-results").removeAttribute("aria-busy");
  if (busy) {
    status.textContent = tr("psearching");
    out.append(el("p", { class: "status", text: tr("psearching") }));
    return;
  }
  if (error) {
    status.textContent = "";
    out.append(errorBubble(error));
    return;
  }
  if (!result) {
    status.textContent = "";
    return;
  }
  const cite = citationsByNumber(result);
  let summary;
  if (result.unknown_topic) summary = tr("unknownTopic", { topic: result.filters.topic });
  else if (!result.projects.length) summary = tr("pnone");
  else {
    summary = tr("pfound", {
      shown: result.projects.length, total: result.total_projects,
      orgs: result.organisations.length, orgTotal: result.total_organisations,
    });
  }
  status.textContent = summary;
  const empty = result.unknown_topic || !result.projects.length;
  out.append(el("p", { class: empty ? "notice" : "partners-summary", text: summary }),
    el("p", { class: "coverage-note", text: result.coverage.note }));
  if (result.projects.length) {
    const anyParticipants = result.projects.some((p) => p.participants.length);
    out.append(el("h3", { class: "partners-title", text: tr("projectsTitle") }),
      el("ol", { class: "projects" }, ...result.projects.map((p) => projectCard(p, cite, anyParticipants))));
  }
  if (result.organisations.length) {
    out.append(el("h3", { class: "partners-title", text: tr("orgsTitle") }),
      el("ul", { class: "orgs" }, ...result.organisations.map((o) => organisationItem(o, cite))));
  }
  if (result.citations.length) {
    out.append(el("h3", { class: "sources-title", text: tr("sources") }),
      el("ol", { class: "chips" }, ...result.citations.map((c) => {
        const chip = citationChip(c);
        chip.id = "pcite-" + c.n;
        chip.tabIndex = -1;
        return chip;
      })));
  }
}

// --- wiring ------------------------------------------------------------------------------------
function init() {
  loadConversation();
  applyLanguage(initialLanguage());
  for (const btn of document.querySelectorAll(".lang-btn")) {
    btn.addEventListener("click", () => applyLanguage(btn.dataset.lang));
  }
  $("new-conversation").addEventListener("click", newConversation);
  const input = $("question");
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || state.busy) return;
    input.value = "";
    ask(question);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("ask-form").requestSubmit();
    }
  });
  for (const tab of document.querySelectorAll(".view-tab")) {
    tab.addEventListener("click", () => setView(tab.dataset.view, false));
    tab.addEventListener("keydown", tabKeys);
  }
  $("partners-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const params = readPartnersForm();
    if (params) searchPartners(params, true);
  });
  loadDocuments();
}

document.addEventListener("DOMContentLoaded", init);
