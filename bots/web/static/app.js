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
    // calls view
    tabCalls: "Find calls",
    skipCalls: "Skip to the research idea box",
    callsIntro: "Describe your research idea: I look for the Horizon Europe topics that fit it in the work " +
      "programmes 2026–2027 and the ERC work programme 2026. Every reason is quoted from its page.",
    callsIdea: "Your research idea",
    callsIdeaPlaceholder: "e.g. Early warning of dengue outbreaks with satellite data and machine learning",
    callsIdeaHint: "A sentence or a whole abstract, in English or Spanish",
    callsOpenAfter: "Open after",
    callsOpenAfterHint: "A deadline on or after this date",
    callsDeadlineBefore: "Deadline before",
    callsDeadlineBeforeHint: "A deadline on or before this date",
    callsPart: "Work programme part",
    partAny: "Any part",
    partNames: {
      2: "Marie Skłodowska-Curie actions", 3: "Research infrastructures", 4: "Health",
      5: "Culture, creativity and inclusive society", 6: "Civil security for society",
      7: "Digital, industry and space", 8: "Climate, energy and mobility",
      9: "Food, bioeconomy, natural resources, agriculture and environment",
      10: "European innovation ecosystems", 11: "Widening participation and the European Research Area",
      12: "Missions", ERC: "European Research Council",
    },
    partLabel: "Part {p}",
    callsInternational: "International cooperation",
    callsInternationalHint: "Only topics that mention international cooperation or a region outside the EU",
    callsSearch: "Find calls",
    callsNeed: "Describe your idea first: a sentence or an abstract.",
    callsBadDates: "“Deadline before” is earlier than “Open after”: no topic can match both.",
    callsSearching: "Looking for topics that fit…",
    callsFound: "{n} topics that fit, best first (today is {today}).",
    callsNone: "No topic in my sources fits this idea with these filters. Try fewer filters or other words.",
    topicActionNames: {
      RIA: "Research and innovation action", IA: "Innovation action", CSA: "Coordination and support action",
      COFUND: "Programme co-fund action", PCP: "Pre-commercial procurement", PPI: "Public procurement of innovation",
      PRIZE: "Prize", "MSCA-DN": "MSCA Doctoral networks", "MSCA-PF": "MSCA Postdoctoral fellowships",
      "MSCA-SE": "MSCA Staff exchanges", "MSCA-COFUND": "MSCA COFUND", "ERC-StG": "ERC Starting grant",
      "ERC-CoG": "ERC Consolidator grant", "ERC-AdG": "ERC Advanced grant", "ERC-SyG": "ERC Synergy grant",
      "ERC-PoC": "ERC Proof of concept", "ERC-PLUS": "ERC Plus",
    },
    topicStatus: { open: "Open", forthcoming: "Forthcoming", closed: "Closed" },
    nextDeadline: "next deadline {d}",
    opensOn: "opens {d}",
    factCall: "Call",
    factAction: "Type of action",
    factOpens: "Opens",
    factDeadline: "Deadline",
    factDeadlines: "Deadlines",
    stages: { "First Stage": "first stage", "Second Stage": "second stage" },
    factBudget: "Topic budget",
    factContribution: "EU contribution per project",
    factProjects: "Projects funded",
    factTrl: "Technology readiness",
    factLumpSum: "Funding",
    lumpSum: "lump sum",
    factWp: "Work programme",
    million: "€{m} million",
    whyFits: "Why it fits",
    nonEu: "Participants from outside the EU",
    nonEuNone: "This topic's conditions say nothing specific about participants from outside the EU: the " +
      "general rules apply (check them in the Eligibility tab).",
    regions: "Regions named",
    topicPdf: "Topic text, p. {p} (PDF)",
    portal: "Funding & Tenders portal",
    newTab: "(opens in a new tab)",
    pick: "Add to calendar: {code}",
    pickShort: "Add to calendar",
    picked: "{n} topic(s) picked for the calendar.",
    pickHint: "Tick topics to download their deadlines as a calendar file.",
    downloadIcs: "Download calendar (.ics)",
    cardSources: "Sources ({n})",
    // eligibility view
    tabEligibility: "Eligibility",
    skipEligibility: "Skip to the consortium check",
    consortiumTitle: "Consortium check",
    consortiumIntro: "Does a Horizon Europe consortium meet the minimum composition, and who is funded? " +
      "Add the partners and choose the type of action.",
    partnersLegend: "Partners",
    partnerN: "Partner {n}",
    nameLabel: "Name (optional)",
    countryLabel: "Country",
    countryPlaceholder: "e.g. Mexico",
    countryHint: "A name in English or Spanish, or a two-letter code (MX)",
    typeLabel: "Type of organisation",
    entityTypes: { HES: "University", REC: "Research organisation", PRC: "Company", PUB: "Public body", OTH: "Other" },
    removePartner: "Remove partner {n}",
    addPartner: "Add a partner",
    exampleConsortium: "Fill in an example",
    consortiumCheck: "Check the consortium",
    consortiumNeed: "Add at least one partner with its country.",
    partnerNeedsCountry: "Partner {n} needs a country.",
    eligActionNames: {
      RIA: "Research and innovation action", IA: "Innovation action", CSA: "Coordination and support action",
      "MSCA-DN": "MSCA Doctoral networks", "MSCA-PF": "MSCA Postdoctoral fellowships",
      "MSCA-SE": "MSCA Staff exchanges", ERC: "ERC grant",
    },
    checking: "Checking the rules…",
    consortiumResults: "Consortium verdict",
    meets: "Meets the minimum composition",
    fails: "Does not meet the minimum composition",
    noVerdict: "No verdict on the composition",
    conditionsTitle: "Conditions",
    met: "met",
    notMet: "not met",
    fixesTitle: "What would fix it",
    partnerTable: "Partners: role and funding",
    colPartner: "Partner",
    colCountry: "Country",
    colType: "Type",
    colRole: "Role",
    colFunded: "Funded",
    colCounts: "Counts for the composition",
    roleNames: {
      beneficiary: "Beneficiary", affiliated_entity: "Affiliated entity", associated_partner: "Associated partner",
    },
    roleNone: "Cannot take part",
    fundedValues: { yes: "Yes", no: "No", conditional: "Conditional", not_stated: "Not stated" },
    yes: "Yes",
    no: "No",
    notesTitle: "Notes",
    countryTitle: "One organisation",
    countryIntro: "May an organisation from this country take part, and is it funded?",
    countryCheck: "Check",
    countryNeed: "Type a country (a name or a two-letter code).",
    countryResults: "Verdict",
    mayTakePart: "May take part",
    mayNotTakePart: "May not take part",
    fundedAuto: "funded automatically",
    notFundedAuto: "not funded automatically",
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
    // calls view
    tabCalls: "Convocatorias",
    skipCalls: "Ir al cuadro de la idea de investigación",
    callsIntro: "Describe tu idea de investigación: busco los temas (topics) de Horizonte Europa que encajan en " +
      "los programas de trabajo 2026–2027 y en el del ERC 2026. Cada motivo se cita de su página.",
    callsIdea: "Tu idea de investigación",
    callsIdeaPlaceholder: "p. ej. Alerta temprana de brotes de dengue con datos satelitales y aprendizaje automático",
    callsIdeaHint: "Una frase o un resumen completo, en español o en inglés",
    callsOpenAfter: "Abierta después del",
    callsOpenAfterHint: "Un cierre en esta fecha o después",
    callsDeadlineBefore: "Cierre antes del",
    callsDeadlineBeforeHint: "Un cierre en esta fecha o antes",
    callsPart: "Parte del programa de trabajo",
    partAny: "Cualquier parte",
    partNames: {
      2: "Acciones Marie Skłodowska-Curie", 3: "Infraestructuras de investigación", 4: "Salud",
      5: "Cultura, creatividad y sociedad inclusiva", 6: "Seguridad civil para la sociedad",
      7: "Digital, industria y espacio", 8: "Clima, energía y movilidad",
      9: "Alimentación, bioeconomía, recursos naturales, agricultura y medio ambiente",
      10: "Ecosistemas europeos de innovación", 11: "Ampliar la participación y el Espacio Europeo de Investigación",
      12: "Misiones", ERC: "Consejo Europeo de Investigación (ERC)",
    },
    partLabel: "Parte {p}",
    callsInternational: "Cooperación internacional",
    callsInternationalHint: "Solo temas que mencionan la cooperación internacional o una región fuera de la UE",
    callsSearch: "Buscar convocatorias",
    callsNeed: "Primero describe tu idea: una frase o un resumen.",
    callsBadDates: "«Cierre antes del» es anterior a «Abierta después del»: ningún tema puede cumplir ambas.",
    callsSearching: "Buscando temas que encajen…",
    callsFound: "{n} temas que encajan, el mejor primero (hoy es {today}).",
    callsNone: "Ningún tema de mis fuentes encaja con esta idea y estos filtros. Prueba con menos filtros u otras palabras.",
    topicActionNames: {
      RIA: "Acción de investigación e innovación", IA: "Acción de innovación",
      CSA: "Acción de coordinación y apoyo", COFUND: "Acción de cofinanciación de programas",
      PCP: "Compra precomercial", PPI: "Compra pública de innovación", PRIZE: "Premio",
      "MSCA-DN": "MSCA Redes doctorales", "MSCA-PF": "MSCA Becas posdoctorales",
      "MSCA-SE": "MSCA Intercambios de personal", "MSCA-COFUND": "MSCA COFUND",
      "ERC-StG": "ERC Starting grant", "ERC-CoG": "ERC Consolidator grant", "ERC-AdG": "ERC Advanced grant",
      "ERC-SyG": "ERC Synergy grant", "ERC-PoC": "ERC Prueba de concepto", "ERC-PLUS": "ERC Plus",
    },
    topicStatus: { open: "Abierta", forthcoming: "Próxima", closed: "Cerrada" },
    nextDeadline: "próximo cierre {d}",
    opensOn: "abre el {d}",
    factCall: "Convocatoria",
    factAction: "Tipo de acción",
    factOpens: "Apertura",
    factDeadline: "Cierre",
    factDeadlines: "Cierres",
    stages: { "First Stage": "primera fase", "Second Stage": "segunda fase" },
    factBudget: "Presupuesto del tema",
    factContribution: "Contribución de la UE por proyecto",
    factProjects: "Proyectos financiados",
    factTrl: "Nivel de madurez tecnológica",
    factLumpSum: "Financiación",
    lumpSum: "suma global (lump sum)",
    factWp: "Programa de trabajo",
    million: "{m} millones de €",
    whyFits: "Por qué encaja",
    nonEu: "Participantes de fuera de la UE",
    nonEuNone: "Las condiciones de este tema no dicen nada específico sobre participantes de fuera de la UE: " +
      "se aplican las reglas generales (compruébalas en la pestaña Elegibilidad).",
    regions: "Regiones mencionadas",
    topicPdf: "Texto del tema, p. {p} (PDF)",
    portal: "Portal Funding & Tenders",
    newTab: "(se abre en una pestaña nueva)",
    pick: "Añadir al calendario: {code}",
    pickShort: "Añadir al calendario",
    picked: "{n} tema(s) elegido(s) para el calendario.",
    pickHint: "Marca temas para descargar sus cierres como archivo de calendario.",
    downloadIcs: "Descargar calendario (.ics)",
    cardSources: "Fuentes ({n})",
    // eligibility view
    tabEligibility: "Elegibilidad",
    skipEligibility: "Ir a la comprobación del consorcio",
    consortiumTitle: "Comprobar un consorcio",
    consortiumIntro: "¿Cumple un consorcio de Horizonte Europa la composición mínima, y quién recibe " +
      "financiación? Añade los socios y elige el tipo de acción.",
    partnersLegend: "Socios",
    partnerN: "Socio {n}",
    nameLabel: "Nombre (opcional)",
    countryLabel: "País",
    countryPlaceholder: "p. ej. México",
    countryHint: "Un nombre en español o en inglés, o un código de dos letras (MX)",
    typeLabel: "Tipo de organización",
    entityTypes: {
      HES: "Universidad", REC: "Organismo de investigación", PRC: "Empresa", PUB: "Organismo público", OTH: "Otro",
    },
    removePartner: "Quitar el socio {n}",
    addPartner: "Añadir un socio",
    exampleConsortium: "Rellenar un ejemplo",
    consortiumCheck: "Comprobar el consorcio",
    consortiumNeed: "Añade al menos un socio con su país.",
    partnerNeedsCountry: "Falta el país del socio {n}.",
    eligActionNames: {
      RIA: "Acción de investigación e innovación", IA: "Acción de innovación",
      CSA: "Acción de coordinación y apoyo", "MSCA-DN": "MSCA Redes doctorales",
      "MSCA-PF": "MSCA Becas posdoctorales", "MSCA-SE": "MSCA Intercambios de personal", ERC: "Subvención del ERC",
    },
    checking: "Comprobando las reglas…",
    consortiumResults: "Veredicto sobre el consorcio",
    meets: "Cumple la composición mínima",
    fails: "No cumple la composición mínima",
    noVerdict: "Sin veredicto sobre la composición",
    conditionsTitle: "Condiciones",
    met: "se cumple",
    notMet: "no se cumple",
    fixesTitle: "Qué lo arreglaría",
    partnerTable: "Socios: función y financiación",
    colPartner: "Socio",
    colCountry: "País",
    colType: "Tipo",
    colRole: "Función",
    colFunded: "Financiado",
    colCounts: "Cuenta para la composición",
    roleNames: {
      beneficiary: "Beneficiario", affiliated_entity: "Entidad afiliada", associated_partner: "Socio asociado",
    },
    roleNone: "No puede participar",
    fundedValues: { yes: "Sí", no: "No", conditional: "Con condiciones", not_stated: "No consta" },
    yes: "Sí",
    no: "No",
    notesTitle: "Notas",
    countryTitle: "Una organización",
    countryIntro: "¿Puede participar una organización de este país, y recibe financiación?",
    countryCheck: "Comprobar",
    countryNeed: "Escribe un país (un nombre o un código de dos letras).",
    countryResults: "Veredicto",
    mayTakePart: "Puede participar",
    mayNotTakePart: "No puede participar",
    fundedAuto: "financiación automática",
    notFundedAuto: "sin financiación automática",
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
  view: "ask", // "ask" | "calls" | "eligibility" | "partners"
  partners: { params: null, result: null, error: "", lang: "", busy: false, token: 0 },
  // Each tool keeps what was asked, the answer and the language it was asked in (a language switch asks again).
  calls: { params: null, result: null, error: "", lang: "", busy: false, token: 0, picked: new Set(), icsError: "" },
  consortium: { params: null, result: null, error: "", lang: "", busy: false, token: 0, rows: [] },
  country: { params: null, result: null, error: "", lang: "", busy: false, token: 0 },
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
  renderToolOptions();
  renderPartnerRows();
  const partners = state.partners;
  if (partners.result && partners.lang !== lang && !partners.busy) searchPartners(partners.params);
  else renderPartners();
  // The server writes its verdicts and cards in the page's language: ask again in the new one.
  const again = (tool, run, render) => {
    const st = state[tool];
    if (st.result && st.lang !== lang && !st.busy) run(st.params);
    else render();
  };
  again("calls", findCalls, renderCalls);
  again("consortium", checkConsortium, renderConsortium);
  again("country", checkCountry, renderCountry);
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
  renderCalls();
  renderConsortium();
  renderCountry();
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

const SKIPS = {
  ask: ["#question", "skip"],
  calls: ["#calls-idea", "skipCalls"],
  eligibility: ["#partner-country-1", "skipEligibility"],
  partners: ["#partners-q", "skipPartners"],
};

function renderSkip() {
  const skip = document.querySelector(".skip");
  const [href, key] = SKIPS[state.view] || SKIPS.ask;
  skip.href = href;
  skip.textContent = tr(key);
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

// --- shared by the tool views (find calls, eligibility) -------------------------------------------
const TOPIC_ACTIONS = ["RIA", "IA", "CSA", "COFUND", "PCP", "PPI", "PRIZE", "MSCA-DN", "MSCA-PF", "MSCA-SE",
  "MSCA-COFUND", "ERC-StG", "ERC-CoG", "ERC-AdG", "ERC-SyG", "ERC-PoC", "ERC-PLUS"];
const WP_PARTS = ["2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "ERC"];
const ELIG_ACTIONS = ["RIA", "IA", "CSA", "MSCA-DN", "MSCA-PF", "MSCA-SE", "ERC"];
const ENTITY_TYPES = ["HES", "REC", "PRC", "PUB", "OTH"];
// How the server writes dates and amounts in its cited text (assistant/topics/render.py), to find the
// citation markers that follow each fact.
const SERVER_MONTHS = {
  en: "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" "),
  es: "ene feb mar abr may jun jul ago sep oct nov dic".split(" "),
};
const EXAMPLE_CONSORTIUM = [
  { name: "Universidad Nacional Autónoma de México", country: "Mexico", type: "HES" },
  { name: "Technische Universität München", country: "Germany", type: "HES" },
  { name: "Consejo Superior de Investigaciones Científicas", country: "ES", type: "REC" },
];
const blankRow = () => ({ name: "", country: "", type: "HES" });
state.consortium.rows = [blankRow(), blankRow(), blankRow()];

function locale() {
  return state.lang === "es" ? "es-ES" : "en-GB";
}

function fmtDate(iso) {
  if (!iso) return "";
  const d = new Date(iso + "T00:00:00Z");
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" })
    .format(d);
}

function serverDate(iso, lang) {
  const [y, m, d] = iso.split("-").map(Number);
  return d + " " + SERVER_MONTHS[lang === "es" ? "es" : "en"][m - 1] + " " + y;
}

function fmtMillions(eur) {
  const m = new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(eur / 1e6);
  return tr("million", { m });
}

function options(select, items, anyLabel) {
  const value = select.value;
  const opts = items.map(([v, label]) => el("option", { value: v, text: label }));
  if (anyLabel) opts.unshift(el("option", { value: "", text: anyLabel }));
  select.replaceChildren(...opts);
  if ([...select.options].some((o) => o.value === value)) select.value = value;
}

function renderToolOptions() {
  const topicNames = tr("topicActionNames");
  options($("calls-action"), TOPIC_ACTIONS.map((a) => [a, a + " — " + topicNames[a]]), tr("actionAny"));
  const parts = tr("partNames");
  options($("calls-part"), WP_PARTS.map((p) => [p, (p === "ERC" ? "ERC" : tr("partLabel", { p })) + " — " + parts[p]]),
    tr("partAny"));
  const eligNames = tr("eligActionNames");
  const actions = ELIG_ACTIONS.map((a) => [a, a + " — " + eligNames[a]]);
  options($("consortium-action"), actions);
  options($("country-action"), actions);
  options($("country-type"), typeOptions());
}

function typeOptions() {
  const names = tr("entityTypes");
  return ENTITY_TYPES.map((t) => [t, names[t] + " (" + t + ")"]);
}

function clearFormError(form, box) {
  box.hidden = true;
  box.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

function showFormError(box, message, field) {
  box.textContent = message;
  box.hidden = false;
  if (field) {
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }
}

// The citation numbers written right after `fragment` in the server's cited text ("… [3] [4]"); the first
// occurrence followed by markers wins (a summary may repeat a sentence without them).
function markersAfter(text, fragment) {
  if (!text || !fragment) return [];
  let from = 0;
  for (;;) {
    const at = text.indexOf(fragment, from);
    if (at < 0) return [];
    const rest = text.slice(at + fragment.length);
    const found = /^(?:\s*\[\d+\])+/.exec(rest);
    if (found) return [...found[0].matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));
    from = at + 1;
  }
}

// Like markersAfter, but the fact's words may go on a little ("12.00 million [3]", "15 Sep 2026 (Second
// Stage) [2]") before the markers: up to the next marker, semicolon or line end.
function markersNear(text, fragment) {
  if (!text || !fragment) return [];
  let from = 0;
  for (;;) {
    const at = text.indexOf(fragment, from);
    if (at < 0) return [];
    const rest = text.slice(at + fragment.length);
    const found = /^[^[;\n]*?((?:\s*\[\d+\])+)/.exec(rest);
    if (found) return [...found[1].matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));
    from = at + 1;
  }
}

// [n] links to the chip `prefix + n` of the same view.
function markers(numbers, byN, prefix) {
  const out = [];
  for (const n of [...new Set(numbers)]) {
    const citation = byN.get(n);
    if (!citation) continue;
    out.push(" ", markerLink(citation, "#" + prefix + n, tr("source", { n }), false));
  }
  return out;
}

function chipList(citations, prefix) {
  return el("ol", { class: "chips" }, ...citations.map((c) => {
    const chip = citationChip(c);
    chip.id = prefix + c.n;
    chip.tabIndex = -1;
    return chip;
  }));
}

// A marker leads to its chip: open the (collapsed) sources around it, bring it into view and focus it.
function followMarker(event) {
  const link = event.target.closest("a.marker");
  const href = link && link.getAttribute("href");
  if (!href || !href.startsWith("#")) return;
  const target = document.getElementById(href.slice(1));
  if (!target) return;
  event.preventDefault();
  const box = target.closest("details");
  if (box) box.open = true;
  target.scrollIntoView({ block: "center" });
  target.focus({ preventScroll: true });
  target.classList.remove("flash");
  void target.offsetWidth; // restart the highlight
  target.classList.add("flash");
}

// Paragraphs from the server's cited text: "Heading:" lines, "- item" lists, [n] markers to the chips.
function citedLines(text, byN, prefix) {
  const nodes = [];
  let list = null;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const item = /^\s*-\s+(.*)$/.exec(line);
    const target = item ? el("li") : el("p", { class: /:\s*$/.test(line) ? "cited-heading" : "cited-line" });
    for (const part of (item ? item[1] : line).split(/(\[\d+\])/)) {
      const m = /^\[(\d+)\]$/.exec(part);
      const citation = m && byN.get(Number(m[1]));
      if (citation) target.append(markerLink(citation, "#" + prefix + citation.n, tr("source", { n: citation.n }), false));
      else if (part) target.append(part);
    }
    if (item) {
      if (!list) {
        list = el("ul", { class: "cited-list" });
        nodes.push(list);
      }
      list.append(target);
    } else {
      list = null;
      nodes.push(target);
    }
  }
  return nodes;
}

async function getJson(url, init) {
  try {
    const response = await fetch(url, init);
    if (response.ok) return { result: await response.json(), error: "" };
    return { result: null, error: await problemMessage(response) };
  } catch (err) {
    return { result: null, error: tr("network") };
  }
}

// Run one request of a tool; a newer request of the same tool wins.
async function runTool(tool, params, request, render, button) {
  const st = state[tool];
  const token = ++st.token;
  Object.assign(st, { params, busy: true, error: "" });
  if (button) button.disabled = true;
  render();
  const { result, error } = await request(params);
  if (token !== st.token) return false;
  Object.assign(st, { result, error, lang: state.lang, busy: false });
  if (button) button.disabled = false;
  render();
  return true;
}

function busyState(section, status, out, message) {
  section.setAttribute("aria-busy", "true");
  status.textContent = message;
  out.replaceChildren(el("p", { class: "status", text: message }));
}

// Scroll the view so the start of fresh results shows (on a phone they are below the form).
function revealIn(boxId, node) {
  const box = $(boxId);
  if (!node) return;
  const top = node.getBoundingClientRect().top - box.getBoundingClientRect().top;
  if (top > box.clientHeight * 0.6 || top < 0) box.scrollTop += top - 8;
}

// --- find calls -------------------------------------------------------------------------------------
function readCallsForm() {
  const form = $("calls-form");
  const box = $("calls-form-error");
  clearFormError(form, box);
  const q = $("calls-idea").value.trim();
  if (!q) {
    showFormError(box, tr("callsNeed"), $("calls-idea"));
    return null;
  }
  const params = {
    q,
    open_after: $("calls-open-after").value,
    deadline_before: $("calls-deadline-before").value,
    action: $("calls-action").value,
    part: $("calls-part").value,
    international: $("calls-international").checked,
  };
  if (params.open_after && params.deadline_before && params.deadline_before < params.open_after) {
    showFormError(box, tr("callsBadDates"), $("calls-deadline-before"));
    return null;
  }
  return params;
}

async function findCalls(params, reveal) {
  const request = (p) => {
    const query = new URLSearchParams({ q: p.q, lang: state.lang, n: "10" });
    for (const key of ["open_after", "deadline_before", "action", "part"]) if (p[key]) query.append(key, p[key]);
    if (p.international) query.append("international", "true");
    return getJson("/api/topics?" + query.toString());
  };
  state.calls.icsError = "";
  const done = await runTool("calls", params, request, renderCalls, $("calls-search"));
  if (done && reveal) revealIn("calls", $("calls-output").firstElementChild);
}

// The lines of the server's cited text that belong to topic number `i` (its card).
function topicBlock(answer, topic, i) {
  const lines = (answer || "").split("\n");
  const start = lines.findIndex((l) => l.startsWith(i + ". " + topic.code + " "));
  if (start < 0) return "";
  let end = start + 1;
  while (end < lines.length && !/^\d+\. /.test(lines[end])) end++;
  return lines.slice(start, end).join("\n");
}

function statusBadge(topic) {
  const label = tr("topicStatus")[topic.status] || topic.status;
  let detail = "";
  if (topic.next_deadline) detail = tr("nextDeadline", { d: fmtDate(topic.next_deadline) });
  if (topic.status === "forthcoming" && topic.opening_date) detail = tr("opensOn", { d: fmtDate(topic.opening_date) }) +
    (detail ? " · " + detail : "");
  return el("p", { class: "topic-status" },
    el("span", { class: "status-badge status-" + topic.status, text: label }),
    detail ? el("span", { class: "status-detail", text: detail }) : null);
}

function factRow(label, value, marks) {
  if (!value) return [];
  return [el("dt", { text: label }), el("dd", {}, value, ...(marks || []))];
}

function topicCard(topic, i, result) {
  const lang = state.calls.lang || state.lang;
  const byN = new Map(result.citations.map((c) => [c.n, c]));
  const block = topicBlock(result.answer, topic, i);
  const prefix = "tc-" + i + "-";
  const mark = (numbers) => markers(numbers, byN, prefix);
  const near = (fragment) => mark(markersNear(block, fragment));
  const doc = state.docsByPath.get(topic.document);
  const pickId = "pick-" + i;
  const pick = el("input", {
    type: "checkbox", id: pickId, class: "topic-pick", value: topic.code,
    "aria-label": tr("pick", { code: topic.code }),
  });
  pick.checked = state.calls.picked.has(topic.code);
  pick.addEventListener("change", () => {
    if (pick.checked) state.calls.picked.add(topic.code);
    else state.calls.picked.delete(topic.code);
    state.calls.icsError = "";
    renderCalendarBar();
  });
  const card = el("li", { class: "topic-card", "data-code": topic.code },
    el("div", { class: "topic-top" },
      el("p", { class: "topic-code", text: topic.code }),
      el("div", { class: "topic-pick-box" }, pick,
        el("label", { for: pickId, text: tr("pickShort") }))),
    el("h3", { class: "topic-title" }, topic.title, ...mark(markersAfter(block, topic.code + " — " + topic.title))),
    statusBadge(topic));

  const names = tr("topicActionNames");
  const action = topic.action ? topic.action + (names[topic.action] ? " — " + names[topic.action] : "") : topic.type_of_action;
  const deadlines = topic.deadlines.map((d, k) => {
    const stage = topic.deadline_stages[k];
    return fmtDate(d) + (stage ? " (" + (tr("stages")[stage] || stage) + ")" : "");
  }).join(", ");
  // the server's words for each fact, to find the markers that cite it
  const lastDeadline = topic.deadlines.length ? " " + serverDate(topic.deadlines[topic.deadlines.length - 1], lang) : "";
  const millionsText = (v) => (v / 1e6).toFixed(2);
  let contribution = "";
  let contributionText = "";
  if (topic.contribution_max_eur) {
    const low = topic.contribution_min_eur || topic.contribution_max_eur;
    const high = topic.contribution_max_eur;
    contribution = low === high ? fmtMillions(low) : fmtMillions(low) + " – " + fmtMillions(high);
    contributionText = "EUR " + (low === high ? millionsText(high) : millionsText(low) + "-" + millionsText(high));
  }
  // the budget comes first in the server's line: the contribution is looked for after it (they may be equal)
  const budgetAt = topic.budget_eur ? block.indexOf("EUR " + millionsText(topic.budget_eur)) : -1;
  const afterBudget = budgetAt < 0 ? 0 : budgetAt + 1;
  const part = topic.part === "ERC" ? "ERC" : tr("partLabel", { p: topic.part });
  const wpName = (doc && doc.short_title) || topic.document;
  const wp = /\b(Part|ERC)\b/.test(wpName) ? wpName : wpName + " · " + part;
  card.append(el("dl", { class: "facts" },
    ...factRow(tr("factCall"), [topic.call, topic.call_title].filter(Boolean).join(" — ")),
    ...factRow(tr("factAction"), action),
    ...factRow(tr("factOpens"), fmtDate(topic.opening_date),
      topic.opening_date ? mark(markersAfter(block, " " + serverDate(topic.opening_date, lang))) : []),
    ...factRow(tr(topic.deadlines.length > 1 ? "factDeadlines" : "factDeadline"), deadlines,
      lastDeadline ? near(lastDeadline) : []),
    ...factRow(tr("factBudget"), topic.budget_eur ? fmtMillions(topic.budget_eur) : "",
      topic.budget_eur ? near("EUR " + millionsText(topic.budget_eur)) : []),
    ...factRow(tr("factContribution"), contribution, contributionText
      ? mark(markersNear(block.slice(afterBudget), contributionText)) : []),
    ...factRow(tr("factProjects"), topic.projects ? String(topic.projects) : ""),
    ...factRow(tr("factTrl"), topic.trl ? "TRL " + topic.trl : "", topic.trl ? near("TRL " + topic.trl) : []),
    ...factRow(tr("factLumpSum"), topic.lump_sum ? tr("lumpSum") : ""),
    ...factRow(tr("factWp"), wp)));

  // Why it fits: only the sentences the server could cite (a quote that does not check out is not shown).
  const why = topic.why
    .map((w) => ({ w, n: markersAfter(block, "“" + w.sentence + "”") }))
    .filter((x) => x.n.length);
  if (why.length) {
    card.append(el("h4", { class: "topic-sub", text: tr("whyFits") }),
      el("ul", { class: "quotes" }, ...why.map(({ w, n }) => el("li", {},
        el("q", { class: "quote", lang: "en", text: w.sentence }), ...mark(n)))));
  }
  const nonEu = topic.non_eu
    .map((text) => ({ text, n: markersAfter(block, "“" + text + "”") }))
    .filter((x) => x.n.length);
  card.append(el("h4", { class: "topic-sub", text: tr("nonEu") }));
  if (nonEu.length) {
    card.append(el("ul", { class: "quotes" }, ...nonEu.map(({ text, n }) => el("li", {},
      el("q", { class: "quote", lang: "en", text }), ...mark(n)))));
  } else {
    card.append(el("p", { class: "muted non-eu-none", text: tr("nonEuNone") }));
  }
  if (topic.regions.length) card.append(el("p", { class: "muted", text: tr("regions") + ": " + topic.regions.join(", ") }));

  const links = el("p", { class: "topic-links" });
  if (doc && doc.viewable) {
    links.append(el("a", {
      class: "topic-pdf", href: documentUrl(doc, topic.pages[0]), target: "_blank", rel: "noopener",
      title: tr("newTab"), text: tr("topicPdf", { p: topic.pages[0] }),
    }));
  }
  links.append(el("a", {
    class: "topic-portal", href: topic.portal_url, target: "_blank", rel: "noopener noreferrer",
    title: tr("newTab"), text: tr("portal"),
  }));
  card.append(links);

  const numbers = [...new Set([...block.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))];
  const cited = numbers.map((n) => byN.get(n)).filter(Boolean);
  if (cited.length) {
    card.append(el("details", { class: "card-sources" },
      el("summary", { text: tr("cardSources", { n: cited.length }) }), chipList(cited, prefix)));
  }
  return card;
}

function renderCalendarBar() {
  const bar = $("calendar-bar");
  if (!bar) return;
  const n = state.calls.picked.size;
  bar.querySelector(".calendar-count").textContent = n ? tr("picked", { n }) : tr("pickHint");
  bar.querySelector("button").disabled = n === 0;
  const error = bar.querySelector(".calendar-error");
  error.textContent = state.calls.icsError;
  error.hidden = !state.calls.icsError;
}

async function downloadCalendar() {
  const codes = [...state.calls.picked];
  if (!codes.length) return;
  const query = new URLSearchParams();
  for (const code of codes) query.append("code", code);
  try {
    const response = await fetch("/api/topics/calendar?" + query.toString());
    if (!response.ok) {
      state.calls.icsError = await problemMessage(response);
    } else {
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const link = el("a", { href: url, download: "horizon-europe-deadlines.ics", hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      state.calls.icsError = "";
    }
  } catch (err) {
    state.calls.icsError = tr("network");
  }
  renderCalendarBar();
}

function renderCalls() {
  const out = $("calls-output");
  const status = $("calls-status");
  const section = $("calls-results");
  const { result, error, busy } = state.calls;
  if (busy) {
    busyState(section, status, out, tr("callsSearching"));
    return;
  }
  section.removeAttribute("aria-busy");
  out.replaceChildren();
  status.textContent = "";
  if (error) {
    out.append(errorBubble(error));
    return;
  }
  if (!result) return;
  if (!result.topics.length) {
    status.textContent = tr("callsNone");
    out.append(el("p", { class: "notice", text: tr("callsNone") }));
    return;
  }
  const summary = tr("callsFound", { n: result.topics.length, today: fmtDate(result.today) });
  status.textContent = summary;
  out.append(el("p", { class: "partners-summary calls-summary", text: summary }),
    el("div", { class: "calendar-bar", id: "calendar-bar" },
      el("p", { class: "calendar-count", "aria-live": "polite" }),
      el("button", { type: "button", id: "download-ics", text: tr("downloadIcs"), onclick: downloadCalendar }),
      el("p", { class: "calendar-error form-error", role: "alert", hidden: true })),
    el("ol", { class: "topic-cards" }, ...result.topics.map((t, i) => topicCard(t, i + 1, result))));
  renderCalendarBar();
}

// --- eligibility: consortium -----------------------------------------------------------------------
function renderPartnerRows() {
  const list = $("partner-rows");
  const rows = state.consortium.rows;
  const focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.id : "";
  list.replaceChildren(...rows.map((row, k) => {
    const n = k + 1;
    const name = el("input", { id: "partner-name-" + n, type: "text", maxlength: 200, autocomplete: "off" });
    name.value = row.name;
    name.addEventListener("input", () => { row.name = name.value; });
    const country = el("input", {
      id: "partner-country-" + n, type: "text", maxlength: 80, spellcheck: "false", autocomplete: "off",
      placeholder: tr("countryPlaceholder"), "aria-describedby": "partner-country-hint",
    });
    country.value = row.country;
    country.addEventListener("input", () => { row.country = country.value; country.removeAttribute("aria-invalid"); });
    const type = el("select", { id: "partner-type-" + n });
    options(type, typeOptions());
    type.value = row.type;
    type.addEventListener("change", () => { row.type = type.value; });
    const remove = el("button", {
      type: "button", class: "secondary remove-partner", "aria-label": tr("removePartner", { n }),
      title: tr("removePartner", { n }), text: "×", disabled: rows.length <= 1,
      onclick: () => {
        rows.splice(k, 1);
        renderPartnerRows();
        const next = $("partner-country-" + Math.min(n, rows.length));
        if (next) next.focus();
      },
    });
    return el("li", { class: "partner-row", role: "group", "aria-labelledby": "partner-n-" + n },
      el("p", { class: "partner-n", id: "partner-n-" + n, text: tr("partnerN", { n }) }),
      el("div", { class: "field" }, el("label", { for: name.id, text: tr("nameLabel") }), name),
      el("div", { class: "field" }, el("label", { for: country.id, text: tr("countryLabel") }), country),
      el("div", { class: "field" }, el("label", { for: type.id, text: tr("typeLabel") }), type),
      remove);
  }), el("li", { class: "partner-hint-row" },
    el("p", { id: "partner-country-hint", class: "field-hint", text: tr("countryHint") })));
  if (focused && $(focused)) $(focused).focus();
}

function readConsortiumForm() {
  const form = $("consortium-form");
  const box = $("consortium-form-error");
  clearFormError(form, box);
  const partners = [];
  for (const [k, row] of state.consortium.rows.entries()) {
    const name = row.name.trim();
    const country = row.country.trim();
    if (!name && !country) continue;
    if (!country) {
      showFormError(box, tr("partnerNeedsCountry", { n: k + 1 }), $("partner-country-" + (k + 1)));
      return null;
    }
    partners.push({ name, country, type: row.type });
  }
  if (!partners.length) {
    showFormError(box, tr("consortiumNeed"), $("partner-country-1"));
    return null;
  }
  return { partners, action: $("consortium-action").value };
}

async function checkConsortium(params, reveal) {
  const request = (p) => getJson("/api/eligibility", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ partners: p.partners, action: p.action, programme: "he", lang: state.lang }),
  });
  const done = await runTool("consortium", params, request, renderConsortium, $("consortium-check"));
  if (done && reveal) revealIn("eligibility", $("consortium-output").firstElementChild);
}

// The summary's first words repeat the verdict's title ("Does not meet the minimum composition: …").
function withoutTitle(summary, title) {
  const head = summary.slice(0, title.length);
  if (head.toLowerCase() !== title.toLowerCase()) return summary;
  const rest = summary.slice(title.length).replace(/^[\s.:]+/, "");
  return rest ? rest.charAt(0).toUpperCase() + rest.slice(1) : "";
}

function yesNo(value) {
  return value ? tr("yes") : tr("no");
}

function renderConsortium() {
  const out = $("consortium-output");
  const status = $("consortium-status");
  const section = $("consortium-results");
  const { result, error, busy } = state.consortium;
  if (busy) {
    busyState(section, status, out, tr("checking"));
    return;
  }
  section.removeAttribute("aria-busy");
  out.replaceChildren();
  status.textContent = "";
  if (error) {
    out.append(errorBubble(error));
    return;
  }
  if (!result) return;
  const byN = new Map(result.citations.map((c) => [c.n, c]));
  const prefix = "cc-";
  const mark = (text) => markers(markersAfter(result.answer, text), byN, prefix);
  const kind = result.meets_minimum === true ? "ok" : result.meets_minimum === false ? "fail" : "unknown";
  const title = tr(kind === "ok" ? "meets" : kind === "fail" ? "fails" : "noVerdict");
  status.textContent = title;
  const verdict = el("div", { class: "verdict verdict-" + kind },
    el("p", { class: "verdict-title" },
      el("span", { class: "verdict-icon", "aria-hidden": "true", text: kind === "ok" ? "✓" : kind === "fail" ? "✗" : "?" }),
      title),
    el("p", { class: "verdict-summary", text: withoutTitle(result.summary, title) }));
  out.append(verdict);
  if (result.conditions.length) {
    out.append(el("h3", { class: "tool-sub", text: tr("conditionsTitle") }),
      el("ul", { class: "conditions" }, ...result.conditions.map((c) => el("li", {
        class: c.met ? "condition met" : "condition not-met", "data-code": c.code,
      },
      el("span", { class: "condition-mark", "aria-hidden": "true", text: c.met ? "✓" : "✗" }),
      el("span", { class: "visually-hidden", text: (c.met ? tr("met") : tr("notMet")) + ": " }),
      el("span", {}, c.text, ...mark(c.text))))));
  }
  if (result.fixes.length) {
    out.append(el("h3", { class: "tool-sub", text: tr("fixesTitle") }),
      el("ul", { class: "fixes" }, ...result.fixes.map((f) => el("li", {}, f, ...mark(f)))));
  }
  const roles = tr("roleNames");
  const funded = tr("fundedValues");
  const head = ["colPartner", "colCountry", "colType", "colRole", "colFunded", "colCounts"].map((k) => tr(k));
  const rows = [];
  result.partners.forEach((p) => {
    const cells = [
      el("span", {}, el("span", { class: "org-name", text: p.name || p.country }),
        el("span", { class: "partner-funding", text: p.funding })),
      p.country, p.entity_type,
      p.role ? roles[p.role] || p.role : tr("roleNone"),
      funded[p.funded] || p.funded,
      yesNo(p.counts_for_composition),
    ];
    rows.push(el("tr", { class: p.problems.length ? "has-problems" : null },
      ...cells.map((c, k) => el(k === 0 ? "th" : "td", {
        scope: k === 0 ? "row" : null, "data-label": head[k], class: k === 0 ? null : "short",
      }, c))));
    if (p.problems.length) {
      rows.push(el("tr", { class: "problems-row" }, el("td", { colspan: 6 },
        el("ul", { class: "problems" }, ...p.problems.map((text) => el("li", {}, text, ...mark(text)))))));
    }
  });
  out.append(el("h3", { class: "tool-sub", id: "partner-table-title", text: tr("partnerTable") }),
    el("div", { class: "table-box" }, el("table", { class: "partner-table", "aria-labelledby": "partner-table-title" },
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, ...rows))));
  if (result.notes.length) {
    out.append(el("h3", { class: "tool-sub", text: tr("notesTitle") }),
      el("ul", { class: "notes" }, ...result.notes.map((n) => el("li", {}, n, ...mark(n)))));
  }
  if (result.citations.length) {
    out.append(el("h3", { class: "sources-title", text: tr("sources") }), chipList(result.citations, prefix));
  }
}

// --- eligibility: one country -----------------------------------------------------------------------
function readCountryForm() {
  const form = $("country-form");
  const box = $("country-form-error");
  clearFormError(form, box);
  const country = $("country-name").value.trim();
  if (!country) {
    showFormError(box, tr("countryNeed"), $("country-name"));
    return null;
  }
  return { country, type: $("country-type").value, action: $("country-action").value };
}

async function checkCountry(params, reveal) {
  const request = (p) => getJson("/api/eligibility?" + new URLSearchParams({
    country: p.country, type: p.type, action: p.action, programme: "he", lang: state.lang,
  }).toString());
  const done = await runTool("country", params, request, renderCountry, $("country-check"));
  if (done && reveal) revealIn("eligibility", $("country-output").firstElementChild);
}

function renderCountry() {
  const out = $("country-output");
  const status = $("country-status");
  const section = $("country-results");
  const { result, error, busy } = state.country;
  if (busy) {
    busyState(section, status, out, tr("checking"));
    return;
  }
  section.removeAttribute("aria-busy");
  out.replaceChildren();
  status.textContent = "";
  if (error) {
    out.append(errorBubble(error));
    return;
  }
  if (!result) return;
  const byN = new Map(result.citations.map((c) => [c.n, c]));
  let kind = "unknown";
  let title = result.country_name;
  if (result.may_participate === false) {
    kind = "fail";
    title += ": " + tr("mayNotTakePart");
  } else if (result.may_participate === true) {
    kind = result.funded_automatically ? "ok" : "partial";
    title += ": " + tr("mayTakePart") + " · " + tr(result.funded_automatically ? "fundedAuto" : "notFundedAuto");
  }
  status.textContent = title;
  out.append(el("div", { class: "verdict verdict-" + kind, lang: state.country.lang || null },
    el("p", { class: "verdict-title" },
      el("span", { class: "verdict-icon", "aria-hidden": "true",
        text: { ok: "✓", fail: "✗", partial: "!", unknown: "?" }[kind] }), title),
    el("div", { class: "verdict-text" }, ...citedLines(result.answer, byN, "ec-"))));
  if (result.citations.length) {
    out.append(el("h3", { class: "sources-title", text: tr("sources") }), chipList(result.citations, "ec-"));
  }
}

function initTools() {
  renderToolOptions();
  renderPartnerRows();
  $("calls-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const params = readCallsForm();
    if (params) findCalls(params, true);
  });
  $("add-partner").addEventListener("click", () => {
    state.consortium.rows.push(blankRow());
    renderPartnerRows();
    $("partner-name-" + state.consortium.rows.length).focus();
  });
  $("consortium-example").addEventListener("click", () => {
    state.consortium.rows = EXAMPLE_CONSORTIUM.map((r) => ({ ...r }));
    $("consortium-action").value = "RIA";
    renderPartnerRows();
    $("partner-country-1").focus();
  });
  $("consortium-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const params = readConsortiumForm();
    if (params) checkConsortium(params, true);
  });
  $("country-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const params = readCountryForm();
    if (params) checkCountry(params, true);
  });
  for (const id of ["calls", "eligibility"]) $(id).addEventListener("click", followMarker);
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
  initTools();
  loadDocuments();
}

document.addEventListener("DOMContentLoaded", init);
