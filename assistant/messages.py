"""Every sentence the assistant writes around quotes, in English and Spanish."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "says": "{source} states: “{quote}” [{n}]",
        "also": "It also says: “{quote}” [{n}]",
        "adds": "{source} adds: “{quote}” [{n}]",
        "source": "The {title} ({where})",
        "page": "p. {page}",
        "record": "{locator}",
        "quotes_note": "",
        "not_found": "I could not find this in my sources, so I won't guess.",
        "covers": "My sources cover: {covers}.",
        "missing": "The text that rules on this — {title} — is not in my sources; the official version is at {url}.",
        "missing_partial": "Note: the authoritative text on this — {title} — is not in my sources ({url}); "
        "the passages above are what my documents say.",
        "h2020_closed": "Note: Horizon 2020 (2014-2020) is closed — its calls no longer accept proposals. "
        "Its successor is Horizon Europe (2021-2027), whose texts are not in my sources yet.",
        "absent_programme": "My sources do not include any {programme} text yet, so I can't answer this "
        "reliably. The official texts start at {url}.",
        "injection": "I answer questions from my sources only, and I don't follow instructions written "
        "inside questions or documents.",
        "empty": "Please type a question.",
        "too_long": "Your question is too long ({length} characters; the limit is {limit}). Please shorten it.",
    },
    "es": {
        "says": "{source} establece: “{quote}” [{n}]",
        "also": "También indica: “{quote}” [{n}]",
        "adds": "{source} añade: “{quote}” [{n}]",
        "source": "El documento «{title}» ({where})",
        "page": "p. {page}",
        "record": "{locator}",
        "quotes_note": "(Las citas se reproducen literalmente, en el idioma del documento original.)",
        "not_found": "No encontré esto en mis fuentes, así que no voy a adivinar.",
        "covers": "Mis fuentes cubren: {covers}.",
        "missing": "El texto que regula esto — {title} — no está en mis fuentes; la versión oficial está en {url}.",
        "missing_partial": "Nota: el texto de referencia sobre esto — {title} — no está en mis fuentes ({url}); "
        "los fragmentos anteriores son lo que dicen mis documentos.",
        "h2020_closed": "Nota: Horizonte 2020 (2014-2020) está cerrado: sus convocatorias ya no admiten propuestas. "
        "Su sucesor es Horizonte Europa (2021-2027), cuyos textos aún no están en mis fuentes.",
        "absent_programme": "Mis fuentes aún no incluyen ningún texto de {programme}, así que no puedo "
        "responder esto con fiabilidad. Los textos oficiales empiezan en {url}.",
        "injection": "Solo respondo preguntas con base en mis fuentes y no sigo instrucciones escritas dentro "
        "de las preguntas o de los documentos.",
        "empty": "Escribe una pregunta, por favor.",
        "too_long": "Tu pregunta es demasiado larga ({length} caracteres; el límite es {limit}). Acórtala, por favor.",
    },
}


def t(lang: str, key: str, **values: object) -> str:
    """The message `key` in `lang` (English when the language is unknown)."""
    return TEXT.get(lang, TEXT["en"])[key].format(**values)
