"""Every sentence the Telegram bot writes, in English and Spanish (answers come from the assistant).

Same shape as :mod:`assistant.phrases`: ``t(lang, key, **values)``.
"""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        # command menu (setMyCommands) and /help
        "cmd_start": "What this bot does",
        "cmd_help": "Commands and how to ask",
        "cmd_topics": "Horizon Europe calls that fit your idea: /topics dengue early warning",
        "cmd_eligibility": "May a country take part, is it funded: /eligibility Mexico HES RIA",
        "topics_usage": "Tell me your research idea after the command — a sentence or a whole abstract, e.g.\n"
        "/topics early warning of dengue outbreaks with satellite data\n\n"
        "I list the five Horizon Europe topics (2026-2027 work programmes) that fit best, with their dates, "
        "budget and the quoted reasons.",
        "eligibility_usage": "One country: /eligibility COUNTRY [TYPE] [ACTION], e.g. /eligibility Mexico HES RIA.\n"
        "A consortium: one partner per line, NAME, COUNTRY, TYPE, and the action after the command, e.g.\n"
        "/eligibility RIA\nUNAM, Mexico, HES\nTU Delft, Netherlands, HES\nCSIC, Spain, REC\n\n"
        "TYPE: HES (university), REC (research organisation), PRC (company), PUB (public body), OTH (other); "
        "HES when left out. ACTION: RIA, IA, CSA, MSCA-DN, MSCA-PF, MSCA-SE or ERC; RIA when left out.",
        "eligibility_try": "Type /eligibility to see how to write it.",
        "eligibility_bad_type": "On line “{line}”, “{value}” is not a type of organisation: use HES (university), "
        "REC (research organisation), PRC (company), PUB (public body) or OTH (other).",
        "eligibility_bad_line": "I did not understand the line “{line}”: write each partner as NAME, COUNTRY, TYPE "
        "(e.g. UNAM, Mexico, HES).",
        "eligibility_country": "{country} — {type}, {action} (Horizon Europe)",
        "eligibility_consortium": "Consortium of {n} partner(s) — {action} (Horizon Europe)",
        "type_HES": "university (HES)",
        "type_REC": "research organisation (REC)",
        "type_PRC": "company (PRC)",
        "type_PUB": "public body (PUB)",
        "type_OTH": "other (OTH)",
        "cmd_partners": "Find partners in the CORDIS data: /partners geothermal Mexico",
        "partners_usage": "Tell me what the partners should have worked on, e.g. /partners geothermal energy "
        "Mexico, or /partners Mexican organisations.",
        "cmd_lang": "Answer language: /lang en, /lang es or /lang auto",
        "cmd_sources": "What my sources cover and what is missing",
        "cmd_new": "Start a new conversation",
        "cmd_feedback": "Rate my last answer: /feedback up|down [why]",
        "cmd_approve": "Admins: approve a user's pairing code",
        "start": "Hello! I answer questions about EU research funding (Horizon 2020, Horizon Europe) from "
        "the EU–Mexico angle. Every statement cites its document, page and exact quote, and when my sources "
        "do not say something I tell you so.\n\nAsk me a question in English or Spanish. "
        "/help lists the commands.",
        "help_intro": "Ask a question in plain words, e.g. “Can a Mexican university receive H2020 "
        "funding?”. Tap a numbered source under an answer to see its quote and page.",
        "help_tools": "/topics followed by your research idea (a sentence or an abstract) lists the Horizon Europe "
        "calls that fit it. /eligibility Mexico HES RIA says whether an organisation of that country may take "
        "part and is funded; for a consortium, write one partner per line after the command: NAME, COUNTRY, TYPE.",
        "help_groups": "In a group, mention me (@{username}) or reply to one of my messages.",
        "lang_set": "I will answer in English in this chat.",
        "lang_auto": "I will answer in the language of each question.",
        "lang_usage": "Use /lang en, /lang es, or /lang auto (the language of each question).",
        "new": "New conversation: follow-up questions no longer refer to the earlier ones.",
        "sources_present": "What I have read:",
        "sources_missing": "Key texts I do not have yet (I will say so when a question needs them):",
        "sources_data": "CORDIS data on H2020 projects, participants and call topics",
        "feedback_usage": "Rate my last answer with /feedback up or /feedback down, optionally followed "
        "by why.",
        "feedback_nothing": "There is no answer to rate yet: ask me a question first.",
        "feedback_thanks": "Thank you — your feedback was recorded.",
        "tap_source": "Tap a source to see its quote and page.",
        "source_gone": "That answer is no longer in my memory — please ask again.",
        "source_page": "p. {page}",
        "source_link": "Document: {url}",
        "not_allowed": "Sorry, this bot is private. If you should have access, please contact its "
        "administrator.",
        "pairing": "This bot is private. To ask for access, send this code to its administrator: {code}",
        "admin_request": "Access request from {who} (user id {user_id}). To approve: /approve {code}",
        "approve_usage": "Use /approve CODE with the code the user received.",
        "approve_unknown": "No pending request has the code {code}.",
        "approve_done": "Approved {who} (user id {user_id}).",
        "approve_not_admin": "Only the bot's administrators can approve access.",
        "approved_user": "An administrator approved your access. Ask me anything about EU research funding!",
        "rate_limited": "You are asking a bit fast — please wait {wait} s and try again.",
        "error": "Sorry, something went wrong on my side. Please try again in a moment.",
        "not_ready": "I am still starting up — please try again in a minute.",
    },
    "es": {
        "cmd_start": "Qué hace este bot",
        "cmd_help": "Comandos y cómo preguntar",
        "cmd_topics": "Convocatorias de Horizonte Europa para tu idea: /topics alerta temprana de dengue",
        "cmd_eligibility": "¿Puede participar un país, recibe fondos?: /eligibility México HES RIA",
        "topics_usage": "Escribe tu idea de investigación después del comando — una frase o un resumen completo, "
        "p. ej.\n/topics alerta temprana de brotes de dengue con datos satelitales\n\n"
        "Te muestro los cinco temas de Horizonte Europa (programas de trabajo 2026-2027) que mejor encajan, con "
        "sus fechas, presupuesto y los motivos citados.",
        "eligibility_usage": "Un país: /eligibility PAÍS [TIPO] [ACCIÓN], p. ej. /eligibility México HES RIA.\n"
        "Un consorcio: un socio por línea, NOMBRE, PAÍS, TIPO, y la acción después del comando, p. ej.\n"
        "/eligibility RIA\nUNAM, México, HES\nTU Delft, Países Bajos, HES\nCSIC, España, REC\n\n"
        "TIPO: HES (universidad), REC (organismo de investigación), PRC (empresa), PUB (organismo público), "
        "OTH (otro); HES si no lo indicas. ACCIÓN: RIA, IA, CSA, MSCA-DN, MSCA-PF, MSCA-SE o ERC; RIA si no la "
        "indicas.",
        "eligibility_try": "Escribe /eligibility para ver cómo indicarlo.",
        "eligibility_bad_type": "En la línea «{line}», «{value}» no es un tipo de organización: usa HES "
        "(universidad), REC (organismo de investigación), PRC (empresa), PUB (organismo público) u OTH (otro).",
        "eligibility_bad_line": "No entendí la línea «{line}»: escribe cada socio como NOMBRE, PAÍS, TIPO "
        "(p. ej. UNAM, México, HES).",
        "eligibility_country": "{country} — {type}, {action} (Horizonte Europa)",
        "eligibility_consortium": "Consorcio de {n} socio(s) — {action} (Horizonte Europa)",
        "type_HES": "universidad (HES)",
        "type_REC": "organismo de investigación (REC)",
        "type_PRC": "empresa (PRC)",
        "type_PUB": "organismo público (PUB)",
        "type_OTH": "otro (OTH)",
        "cmd_partners": "Buscar socios en los datos de CORDIS: /partners geotermia México",
        "partners_usage": "Dime en qué deberían haber trabajado los socios, p. ej. /partners energía geotérmica "
        "México, o /partners organizaciones mexicanas.",
        "cmd_lang": "Idioma de respuesta: /lang es, /lang en o /lang auto",
        "cmd_sources": "Qué cubren mis fuentes y qué falta",
        "cmd_new": "Empezar una conversación nueva",
        "cmd_feedback": "Valora mi última respuesta: /feedback up|down [motivo]",
        "cmd_approve": "Administradores: aprobar el código de un usuario",
        "start": "¡Hola! Respondo preguntas sobre la financiación europea de la investigación "
        "(Horizonte 2020, Horizonte Europa) desde la perspectiva UE–México. Cada afirmación cita su "
        "documento, página y texto literal, y cuando mis fuentes no dicen algo, te lo digo.\n\n"
        "Pregúntame en español o en inglés. /help muestra los comandos.",
        "help_intro": "Escribe tu pregunta con tus palabras, p. ej. «¿Puede una universidad mexicana recibir "
        "fondos de H2020?». Toca una fuente numerada bajo una respuesta para ver su cita y su página.",
        "help_tools": "/topics seguido de tu idea de investigación (una frase o un resumen) muestra las "
        "convocatorias de Horizonte Europa que encajan. /eligibility México HES RIA dice si una organización de "
        "ese país puede participar y recibe financiación; para un consorcio, escribe un socio por línea después "
        "del comando: NOMBRE, PAÍS, TIPO.",
        "help_groups": "En un grupo, mencióname (@{username}) o responde a uno de mis mensajes.",
        "lang_set": "Responderé en español en este chat.",
        "lang_auto": "Responderé en el idioma de cada pregunta.",
        "lang_usage": "Usa /lang es, /lang en o /lang auto (el idioma de cada pregunta).",
        "new": "Conversación nueva: las preguntas de seguimiento ya no se refieren a las anteriores.",
        "sources_present": "Lo que he leído:",
        "sources_missing": "Textos clave que aún no tengo (lo diré cuando una pregunta los necesite):",
        "sources_data": "Datos de CORDIS sobre proyectos, participantes y temas de convocatoria de H2020",
        "feedback_usage": "Valora mi última respuesta con /feedback up o /feedback down, y si quieres, "
        "el motivo.",
        "feedback_nothing": "Aún no hay ninguna respuesta que valorar: hazme primero una pregunta.",
        "feedback_thanks": "Gracias: tu opinión quedó registrada.",
        "tap_source": "Toca una fuente para ver su cita y su página.",
        "source_gone": "Esa respuesta ya no está en mi memoria; vuelve a preguntar, por favor.",
        "source_page": "p. {page}",
        "source_link": "Documento: {url}",
        "not_allowed": "Lo siento, este bot es privado. Si deberías tener acceso, contacta a su "
        "administrador.",
        "pairing": "Este bot es privado. Para pedir acceso, envía este código a su administrador: {code}",
        "admin_request": "Solicitud de acceso de {who} (id de usuario {user_id}). "
        "Para aprobarla: /approve {code}",
        "approve_usage": "Usa /approve CÓDIGO con el código que recibió el usuario.",
        "approve_unknown": "Ninguna solicitud pendiente tiene el código {code}.",
        "approve_done": "Aprobado: {who} (id de usuario {user_id}).",
        "approve_not_admin": "Solo los administradores del bot pueden aprobar accesos.",
        "approved_user": "Un administrador aprobó tu acceso. ¡Pregúntame lo que quieras sobre financiación "
        "europea de la investigación!",
        "rate_limited": "Estás preguntando un poco rápido: espera {wait} s y vuelve a intentarlo, por favor.",
        "error": "Lo siento, algo falló de mi lado. Inténtalo de nuevo en un momento, por favor.",
        "not_ready": "Todavía me estoy iniciando: inténtalo de nuevo en un minuto, por favor.",
    },
}


def t(lang: str, key: str, **values: object) -> str:
    """The message `key` in `lang` (English when the language is unknown)."""
    return TEXT.get(lang, TEXT["en"])[key].format(**values)
