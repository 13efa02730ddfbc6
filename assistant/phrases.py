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
        "closed_call_not_found": "I could not find this call's dates in my sources, but it is a Horizon 2020 call, "
        "and Horizon 2020 (2014-2020) is closed: its calls no longer accept proposals. Its successor is Horizon "
        "Europe (2021-2027): ask me about its work programme 2026-2027.",
        "h2020_closed": "Note: Horizon 2020 (2014-2020) is closed — its calls no longer accept proposals. "
        "Its successor is Horizon Europe (2021-2027): ask me about its work programme 2026-2027.",
        "h2020_rules": "Note: passages from Horizon 2020 texts state the rules of that closed programme "
        "(2014-2020), not necessarily Horizon Europe's.",
        "absent_programme": "My sources do not include any {programme} text yet, so I can't answer this "
        "reliably. The official texts start at {url}.",
        "later_period": "My sources hold the work programmes of Horizon 2020 (2014-2020) and of Horizon Europe "
        "up to {last}: none of them has a call, deadline or budget for {year}.",
        "injection": "I answer questions from my sources only, and I don't follow instructions written "
        "inside questions or documents.",
        "empty": "Please type a question.",
        "too_long": "Your question is too long ({length} characters; the limit is {limit}). Please shorten it.",
        "question_cut": "Note: your question was long, so I searched with its beginning only; ask a shorter "
        "question for a closer answer.",
        "partners_header": "Projects in the CORDIS data that match ({shown} of {total} shown)",
        "partners_orgs": "Organisations in those projects ({shown} of {total} shown)",
        "partners_no_participants": "(The participation files do not list this project's organisations.)",
        "partners_none": "I found no project in the CORDIS data that matches this ({filters}).",
        "partners_unknown_topic": "There are no records for the topic code {topic} in the CORDIS data: "
        "check the code (e.g. SC5-13-2018-2019).",
        "partners_file": "{name}: {rows} rows, {projects} projects (start years {years})",
        "partners_coverage": "What the data covers: every H2020 project ({projects}) has its title, topic, type of "
        "action and EU contribution, but organisations, countries and roles are only listed for "
        "{with_parts} projects, from these files: {files}. Counts of organisations are therefore not complete.",
        "partners_section": "Partners (CORDIS data)",
        "partners_see_cordis": "None of these projects has its organisations in the participation files: each "
        "project's CORDIS page (linked in its citation) lists its partners.",
        "rules_section": "Rules (documents)",
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
        "closed_call_not_found": "No encontré las fechas de esta convocatoria en mis fuentes, pero es una "
        "convocatoria de Horizonte 2020, y Horizonte 2020 (2014-2020) está cerrado: sus convocatorias ya no admiten "
        "propuestas. Su sucesor es Horizonte Europa (2021-2027): pregúntame por su programa de trabajo 2026-2027.",
        "h2020_closed": "Nota: Horizonte 2020 (2014-2020) está cerrado: sus convocatorias ya no admiten propuestas. "
        "Su sucesor es Horizonte Europa (2021-2027): pregúntame por su programa de trabajo 2026-2027.",
        "h2020_rules": "Nota: los fragmentos de textos de Horizonte 2020 recogen las reglas de ese programa ya "
        "cerrado (2014-2020), no necesariamente las de Horizonte Europa.",
        "absent_programme": "Mis fuentes aún no incluyen ningún texto de {programme}, así que no puedo "
        "responder esto con fiabilidad. Los textos oficiales empiezan en {url}.",
        "later_period": "Mis fuentes contienen los programas de trabajo de Horizonte 2020 (2014-2020) y de "
        "Horizonte Europa hasta {last}: ninguno tiene convocatoria, fecha límite ni presupuesto de {year}.",
        "injection": "Solo respondo preguntas con base en mis fuentes y no sigo instrucciones escritas dentro "
        "de las preguntas o de los documentos.",
        "empty": "Escribe una pregunta, por favor.",
        "too_long": "Tu pregunta es demasiado larga ({length} caracteres; el límite es {limit}). Acórtala, por favor.",
        "question_cut": "Nota: tu pregunta era larga, así que busqué solo con su comienzo; haz una pregunta más "
        "corta para una respuesta más precisa.",
        "partners_header": "Proyectos de los datos de CORDIS que coinciden (se muestran {shown} de {total})",
        "partners_orgs": "Organizaciones de esos proyectos (se muestran {shown} de {total})",
        "partners_no_participants": "(Los ficheros de participaciones no listan las organizaciones de este proyecto.)",
        "partners_none": "No encontré ningún proyecto en los datos de CORDIS que coincida con esto ({filters}).",
        "partners_unknown_topic": "No hay registros del código de tema {topic} en los datos de CORDIS: "
        "revisa el código (p. ej. SC5-13-2018-2019).",
        "partners_file": "{name}: {rows} filas, {projects} proyectos (años de inicio {years})",
        "partners_coverage": "Qué cubren los datos: todos los proyectos H2020 ({projects}) tienen título, tema, tipo "
        "de acción y contribución de la UE, pero las organizaciones, países y roles solo figuran para "
        "{with_parts} proyectos, de estos ficheros: {files}. Por tanto, los recuentos de organizaciones no son completos.",
        "partners_section": "Socios (datos de CORDIS)",
        "partners_see_cordis": "Ninguno de estos proyectos tiene sus organizaciones en los ficheros de "
        "participaciones: la página de CORDIS de cada proyecto (enlazada en su cita) lista sus socios.",
        "rules_section": "Reglas (documentos)",
    },
}


def t(lang: str, key: str, **values: object) -> str:
    """The message `key` in `lang` (English when the language is unknown)."""
    return TEXT.get(lang, TEXT["en"])[key].format(**values)
