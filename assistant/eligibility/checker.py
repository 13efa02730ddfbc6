"""Eligibility and consortium checks for Horizon Europe, computed from rules read from the documents.

Pure logic: no I/O and nothing from the rest of ``assistant``. It takes the rules as the plain data that
``ingestion.parse_eligibility.EligibilityRules.to_dict()`` produces (country lists with their pages, rules
each with (document, page, verbatim quote) citations, country names) and answers:

* ``check_entity(country, entity_type, action, programme)``: may an entity established in the country take
  part, is it automatically eligible for funding, how it could still be funded, which roles are open
  (beneficiary, affiliated entity, associated partner), every reason cited;
* ``check_consortium(partners, action)``: per partner its role, whether it is funded and counts for the
  composition; for the consortium, whether it meets the minimum composition, which condition fails and what
  would fix it, all cited.

Verdict strings are in English or Spanish (``lang``). Where the documents give no answer (Horizon 2020, whose
General Annexes are not in the corpus) the verdict says so and decides nothing.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

ACTIONS = ("RIA", "IA", "CSA", "MSCA-DN", "MSCA-PF", "MSCA-SE", "ERC")
ENTITY_TYPES = ("HES", "REC", "PRC", "PUB", "OTH")
PROGRAMMES = ("he", "h2020")
LANGS = ("en", "es")
ROLES = ("beneficiary", "affiliated_entity", "associated_partner")

YES, NO, CONDITIONAL, NOT_STATED = "yes", "no", "conditional", "not_stated"

# Country status, from the lists of the General Annexes (strongest first).
EXCLUDED, MEMBER_STATE, OCT, ASSOCIATED, NEGOTIATING, LOW_MIDDLE_INCOME, OTHER = (
    "excluded",
    "member_state",
    "oct",
    "associated",
    "associated_negotiating",
    "low_middle_income",
    "other",
)
EU_LIKE = (MEMBER_STATE, OCT)
MS_AC = (MEMBER_STATE, OCT, ASSOCIATED, NEGOTIATING)
FUNDED_BY_LIST = MS_AC + (LOW_MIDDLE_INCOME,)
ALL_NON_ASSOCIATED = "non_associated_third_countries"  # scope of a topic exception naming no country
ACADEMIC = ("HES", "REC")  # MSCA academic sector (higher education, non-profit research organisations)
GEP_TYPES = ("PUB", "REC", "HES")

REQUIRED_RULES = (
    "funding_countries",
    "beneficiary_needs_funding",
    "non_listed_funding",
    "affiliated_entities",
    "associated_partners",
    "csa_beneficiaries",
    "csa_associated_partners",
    "csa_single",
    "consortium_composition",
    "affiliated_not_counted",
    "training_mobility_single",
    "gender_equality_plan",
    "excluded_countries",
    "ga_scope",
    "associated_list_position",
    "reg_art22_participation",
    "reg_art23_third_countries",
    "pg_oct",
    "pg_own_cost",
    "pg_exceptional_funding",
    "pg_national_cofunding",
    "mga_associated_partners",
    "msca_associated_partners",
    "msca_academic_sector",
    "msca_dn_open",
    "msca_dn_consortium",
    "msca_dn_affiliated",
    "msca_pf_single",
    "msca_pf_affiliated",
    "msca_pf_global",
    "msca_se_consortium",
    "msca_se_sectors",
    "msca_se_beneficiaries",
    "msca_se_affiliated",
    "msca_se_third_countries",
    "erc_pi",
    "erc_host_any_type",
    "erc_host_ms_ac",
    "erc_synergy_third",
    "erc_team_members",
    "erc_third_funding",
)


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------


class EligibilityError(ValueError):
    """Bad input to an eligibility check; the message is in the language asked for."""


class UnknownCountryError(EligibilityError):
    def __init__(self, message: str, query: str, suggestion: str | None, code: str | None):
        super().__init__(message)
        self.query, self.suggestion, self.code = query, suggestion, code


class UnknownActionError(EligibilityError):
    pass


class UnknownEntityTypeError(EligibilityError):
    pass


class EmptyConsortiumError(EligibilityError):
    pass


class RulesError(ValueError):
    """The rules handed in lack what the checks need."""


# ---------------------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Citation:
    document: str
    page: int
    quote: str


@dataclass(frozen=True)
class TopicCondition:
    """A sentence of a topic's own conditions (its record in the call topics) and the countries it names."""

    topic: str
    document: str
    page: int
    text: str
    countries: frozenset[str]


# How a topic's conditions word its own exceptions (the work programmes' standard phrasing)
TOPIC_FUNDED = re.compile(r"eligible (for|to receive) (union |eu )?funding", re.IGNORECASE)
TOPIC_ASSOCIATED_ONLY = re.compile(r"only (be )?(possible )?as (an )?associated partners?", re.IGNORECASE)
# The work programmes' standard sentences that close a topic to entities outside the countries they list
# ("participation is limited to legal entities established in Member States, Iceland and Norway and the
# following associated countries: …"), or its coordinator's role ("Coordinators of projects must be legal
# entities established in an EU Member State or Associated Country").
TOPIC_LIMITED = re.compile(
    r"\bparticipation (in this \w+ )?is limited to (legal )?entities established in (?P<list>.+)", re.IGNORECASE
)
LIMITED_MEMBER_STATES = re.compile(r"\bmember states?\b", re.IGNORECASE)
LIMITED_ASSOCIATED = re.compile(r"(?<!following )\bassociated countr(y|ies)\b", re.IGNORECASE)
# Groups the rules do not list country by country: a sentence naming one decides nothing for a country it
# does not name.
LIMITED_UNRESOLVED = re.compile(r"\b(OECD|African Union|Mercosur|CELAC|widening|identified|listed)\b", re.IGNORECASE)
MS_AC_WORDS = r"(an? )?(eu )?member states? (and|or) (an? )?associated countr(y|ies)"
TOPIC_MS_AC_COORDINATOR = re.compile(
    r"coordinators?\b.{0,40}?\b(must be|is limited to|are limited to) (legal )?entities established in "
    + MS_AC_WORDS,
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    citations: tuple[Citation, ...]


@dataclass
class EntityVerdict:
    country: str  # ISO code
    country_name: str
    status: (
        str  # member_state | oct | associated | associated_negotiating | low_middle_income | other | excluded
    )
    entity_type: str
    action: str
    programme: str
    lang: str
    may_participate: bool | None  # None: no verdict (Horizon 2020)
    funded_automatically: bool | None
    roles: dict[str, str]  # role -> yes | no | conditional | not_stated
    participation: str  # short verdict, e.g. "Yes: …" / "Sí: …"
    funding: str  # e.g. "Not automatically: …" / "No automáticamente: …"
    coordinator: str = ""  # a named topic's condition on who may coordinate, when it has one
    reasons: list[Reason] = field(default_factory=list)
    how_funded: list[Reason] = field(default_factory=list)
    notes: list[Reason] = field(default_factory=list)

    @property
    def citations(self) -> list[Citation]:
        seen: list[Citation] = []
        for r in self.reasons + self.how_funded + self.notes:
            for c in r.citations:
                if c not in seen:
                    seen.append(c)
        return seen

    @property
    def summary(self) -> str:
        roles = ", ".join(
            f"{_t('role_' + r, self.lang)}: {_t('v_' + v, self.lang)}" for r, v in self.roles.items()
        )
        head = f"{self.country_name} ({self.entity_type}, {self.action})"
        if self.may_participate is None:
            return f"{head}: {self.participation}"
        return f"{head}. {_t('participation', self.lang)}: {self.participation} {_t('funding', self.lang)}: {self.funding} {_t('roles', self.lang)}: {roles}."


@dataclass
class Partner:
    country: str
    entity_type: str
    name: str = ""
    role: str | None = None  # requested role, if any


@dataclass
class PartnerVerdict:
    index: int
    name: str
    country: str
    entity_type: str
    role: str | None  # role taken in the consortium (None: cannot take part)
    funded: str  # yes | no | conditional
    counts_for_composition: bool
    verdict: EntityVerdict
    problems: list[Reason] = field(default_factory=list)


@dataclass
class Condition:
    code: str
    met: bool
    text: str
    citations: tuple[Citation, ...]


@dataclass
class ConsortiumVerdict:
    action: str
    programme: str
    lang: str
    partners: list[PartnerVerdict]
    conditions: list[Condition]
    meets_minimum: bool | None
    fixes: list[Reason]
    notes: list[Reason]
    summary: str

    @property
    def failing(self) -> list[Condition]:
        return [c for c in self.conditions if not c.met]

    @property
    def citations(self) -> list[Citation]:
        seen: list[Citation] = []
        groups = [c.citations for c in self.conditions] + [r.citations for r in self.fixes + self.notes]
        for p in self.partners:
            groups += [r.citations for r in p.problems]
            groups.append(tuple(p.verdict.citations))
        for g in groups:
            for c in g:
                if c not in seen:
                    seen.append(c)
        return seen


# ---------------------------------------------------------------------------------------------------------
# Messages (EN / ES)
# ---------------------------------------------------------------------------------------------------------

M: dict[str, tuple[str, str]] = {
    "participation": ("Participation", "Participación"),
    "funding": ("Funding", "Financiación"),
    "roles": ("Roles", "Funciones"),
    "role_beneficiary": ("beneficiary", "beneficiario"),
    "role_affiliated_entity": ("affiliated entity", "entidad afiliada"),
    "role_associated_partner": ("associated partner", "socio asociado"),
    "v_yes": ("yes", "sí"),
    "v_no": ("no", "no"),
    "v_conditional": ("only under conditions", "solo bajo condiciones"),
    "v_not_stated": ("not stated", "no se indica"),
    # participation
    "p_any": (
        "Yes: any legal entity may take part, wherever it is established.",
        "Sí: cualquier entidad jurídica puede participar, esté donde esté establecida.",
    ),
    "p_excluded": (
        "No: entities established in {c} may not take part in any capacity (exceptions only case by case).",
        "No: las entidades establecidas en {c} no pueden participar en ninguna calidad (solo excepciones caso por caso).",
    ),
    "p_csa_ap": (
        "Yes, as associated partner (beneficiaries must be in a Member State or Associated Country unless the call says otherwise).",
        "Sí, como socio asociado (los beneficiarios deben estar en un Estado miembro o país asociado salvo que la convocatoria diga otra cosa).",
    ),
    "p_msca_ap": (
        "Yes, as associated partner: only entities in Member States or Associated Countries can be beneficiaries.",
        "Sí, como socio asociado: solo las entidades de Estados miembros o países asociados pueden ser beneficiarias.",
    ),
    "p_dn_open": (
        "Yes: Doctoral Networks are open to organisations from third countries.",
        "Sí: las Redes Doctorales están abiertas a organizaciones de terceros países.",
    ),
    "p_erc_host": (
        "Yes: it can be the Host Institution of an ERC grant (any type of legal entity).",
        "Sí: puede ser la institución de acogida de una subvención ERC (cualquier tipo de entidad jurídica).",
    ),
    "p_erc_limited": (
        "Only in limited roles: hosting team members, or as a non-corresponding Host Institution in a Synergy Grant.",
        "Solo en funciones limitadas: acoger a miembros del equipo, o como institución de acogida no correspondiente en una Synergy Grant.",
    ),
    # funding
    "f_member_state": (
        "Yes: {c} is a Member State, in the list of countries whose entities are eligible for funding.",
        "Sí: {c} es Estado miembro, en la lista de países cuyas entidades pueden recibir financiación.",
    ),
    "f_oct": (
        "Yes: {c} is an overseas country or territory linked to a Member State, listed as eligible for funding.",
        "Sí: {c} es un país o territorio de ultramar vinculado a un Estado miembro, en la lista de países que pueden recibir financiación.",
    ),
    "f_associated": (
        "Yes: {c} is associated to Horizon Europe, in the list of countries whose entities are eligible for funding.",
        "Sí: {c} está asociado a Horizonte Europa, en la lista de países cuyas entidades pueden recibir financiación.",
    ),
    "f_negotiating": (
        "Yes, if the association agreement applies when the grant is signed: {c} is negotiating association.",
        "Sí, si el acuerdo de asociación se aplica al firmar la subvención: {c} negocia su asociación.",
    ),
    "f_lmic": (
        "Yes: {c} is in the list of low- and middle-income countries whose entities are eligible for funding.",
        "Sí: {c} está en la lista de países de renta baja y media cuyas entidades pueden recibir financiación.",
    ),
    "f_other": (
        "Not automatically: {c} is in none of the lists of countries whose entities are eligible for funding.",
        "No automáticamente: {c} no figura en ninguna de las listas de países cuyas entidades pueden recibir financiación.",
    ),
    "f_excluded": (
        "No: entities established in {c} are not eligible in any capacity.",
        "No: las entidades establecidas en {c} no son elegibles en ninguna calidad.",
    ),
    "f_csa": (
        "Not automatically: in CSA only entities in Member States or Associated Countries can be beneficiaries, unless the call conditions say otherwise.",
        "No automáticamente: en las CSA solo pueden ser beneficiarias las entidades de Estados miembros o países asociados, salvo que la convocatoria diga otra cosa.",
    ),
    "f_pf": (
        "No: the single beneficiary of a Postdoctoral Fellowship must be established in a Member State or Associated Country.",
        "No: el único beneficiario de una Postdoctoral Fellowship debe estar establecido en un Estado miembro o país asociado.",
    ),
    "f_se": (
        "No: in Staff Exchanges only entities established in Member States or Associated Countries can be beneficiaries.",
        "No: en Staff Exchanges solo pueden ser beneficiarias las entidades establecidas en Estados miembros o países asociados.",
    ),
    "f_erc_yes": (
        "Yes: the Host Institution must be in a Member State or Associated Country, and {c} is one.",
        "Sí: la institución de acogida debe estar en un Estado miembro o país asociado, y {c} lo es.",
    ),
    "f_erc_no": (
        "Not automatically: entities outside the EU and Associated Countries are funded only as a Synergy Host Institution, when essential, or when hosting team members.",
        "No automáticamente: las entidades fuera de la UE y de los países asociados solo se financian como institución de acogida en una Synergy Grant, si son esenciales o si acogen a miembros del equipo.",
    ),
    "f_h2020": (
        "No verdict: the Horizon 2020 rules (the H2020 General Annexes) are not in the corpus.",
        "Sin veredicto: las reglas de Horizonte 2020 (los Anexos Generales de H2020) no están en el corpus.",
    ),
    # reasons
    "r_list_member_state": (
        "{c} is listed among the Member States.",
        "{c} figura entre los Estados miembros.",
    ),
    "r_list_oct": (
        "{c} is listed among the overseas countries and territories.",
        "{c} figura entre los países y territorios de ultramar.",
    ),
    "r_list_associated": (
        "{c} is listed among the countries associated to Horizon Europe.",
        "{c} figura entre los países asociados a Horizonte Europa.",
    ),
    "r_list_associated_negotiating": (
        "{c} is listed among the countries negotiating association.",
        "{c} figura entre los países que negocian su asociación.",
    ),
    "r_list_low_middle_income": (
        "{c} is listed among the low- and middle-income countries.",
        "{c} figura entre los países de renta baja y media.",
    ),
    "r_not_listed": (
        "{c} is not in the lists of Member States, overseas countries and territories, Associated Countries, or low- and middle-income countries.",
        "{c} no está en las listas de Estados miembros, países y territorios de ultramar, países asociados ni países de renta baja y media.",
    ),
    "r_participation": (
        "Any legal entity may participate if the conditions of the Regulation and the work programme are met.",
        "Cualquier entidad jurídica puede participar si cumple las condiciones del Reglamento y del programa de trabajo.",
    ),
    "r_excluded": (
        "Entities established in {c} are excluded from participation in any capacity.",
        "Las entidades establecidas en {c} están excluidas de participar en cualquier calidad.",
    ),
    "r_beneficiary_needs_funding": (
        "To be a beneficiary, an entity must be eligible for funding; otherwise it can be an associated partner.",
        "Para ser beneficiaria, una entidad debe poder recibir financiación; si no, puede ser socio asociado.",
    ),
    "r_oct_equivalent": (
        "OCT entities participate and are funded under the same conditions as Member State entities.",
        "Las entidades de los PTU participan y se financian en las mismas condiciones que las de los Estados miembros.",
    ),
    "r_affiliated": (
        "Affiliated entities are funded if established in a listed country or in one named in the call conditions.",
        "Las entidades afiliadas se financian si están establecidas en un país de las listas o en uno que indique la convocatoria.",
    ),
    "r_csa": (
        "CSA beneficiaries (and affiliated entities) must be in a Member State or Associated Country unless the call conditions say otherwise; entities from non-associated third countries can be associated partners.",
        "Los beneficiarios (y entidades afiliadas) de una CSA deben estar en un Estado miembro o país asociado salvo que la convocatoria diga otra cosa; las entidades de terceros países no asociados pueden ser socios asociados.",
    ),
    "r_msca_no_affiliated": (
        "Affiliated entities are not allowed in this MSCA action.",
        "En esta acción MSCA no se admiten entidades afiliadas.",
    ),
    "r_msca_ap": (
        "MSCA associated partners take part without claiming costs and may not employ the researchers.",
        "Los socios asociados MSCA participan sin imputar costes y no pueden contratar a los investigadores.",
    ),
    "r_dn_open": (
        "Doctoral Networks are open to organisations from third countries; beneficiaries may be in non-associated third countries.",
        "Las Redes Doctorales están abiertas a organizaciones de terceros países; puede haber beneficiarios en terceros países no asociados.",
    ),
    "r_pf": (
        "A Postdoctoral Fellowship has a single beneficiary, established in a Member State or Associated Country; organisations elsewhere can host the outgoing phase of a Global Fellowship as associated partners.",
        "Una Postdoctoral Fellowship tiene un único beneficiario, establecido en un Estado miembro o país asociado; organizaciones de otros países pueden acoger la fase de salida de una Global Fellowship como socios asociados.",
    ),
    "r_se": (
        "Only entities in Member States or Associated Countries can be beneficiaries of Staff Exchanges; organisations from non-associated third countries are encouraged to take part.",
        "Solo las entidades de Estados miembros o países asociados pueden ser beneficiarias de Staff Exchanges; se anima a participar a organizaciones de terceros países no asociados.",
    ),
    "r_erc_scope": (
        "The General Annexes (and their country lists) do not cover ERC calls; the ERC work programme applies.",
        "Los Anexos Generales (y sus listas de países) no cubren las convocatorias ERC; se aplica el programa de trabajo del ERC.",
    ),
    "r_erc_host": (
        "The Host Institution must be established in a Member State or Associated Country; any type of legal entity can host.",
        "La institución de acogida debe estar establecida en un Estado miembro o país asociado; cualquier tipo de entidad jurídica puede acoger.",
    ),
    "r_erc_outside": (
        "Entities outside the EU and Associated Countries can host team members, or be one non-corresponding Host Institution in a Synergy Grant, and are funded in those cases or when essential.",
        "Las entidades fuera de la UE y de los países asociados pueden acoger a miembros del equipo, o ser una institución de acogida no correspondiente en una Synergy Grant, y se financian en esos casos o si son esenciales.",
    ),
    "r_erc_pi": (
        "Principal Investigators can be of any nationality and reside anywhere, with a Host Institution in a Member State or Associated Country.",
        "Los investigadores principales pueden ser de cualquier nacionalidad y residir en cualquier lugar, con una institución de acogida en un Estado miembro o país asociado.",
    ),
    # how funded
    "h_call": (
        "If the call/topic conditions provide for it.",
        "Si las condiciones de la convocatoria/tema lo prevén.",
    ),
    "h_essential": (
        "If the granting authority considers its participation essential for implementing the action.",
        "Si la autoridad otorgante considera esencial su participación para ejecutar la acción.",
    ),
    "f_topic_funded": (
        "Yes, in {t}: the topic makes entities in {c} eligible for funding.",
        "Sí, en {t}: el tema hace elegibles para financiación a las entidades de {c}.",
    ),
    "f_topic_associated_only": (
        "Not as a beneficiary in {t}: entities in {c} can take part in this topic only as associated partners.",
        "No como beneficiaria en {t}: las entidades de {c} solo pueden participar en este tema como socios asociados.",
    ),
    "f_topic_closed": (
        "No: in {t} participation is limited to entities established in the countries the topic lists, and {c} is not one of them.",
        "No: en {t} la participación se limita a entidades establecidas en los países que el tema enumera, y {c} no está entre ellos.",
    ),
    "r_topic_closed": (
        "Topic {t} limits participation to entities established in the countries it lists.",
        "El tema {t} limita la participación a entidades establecidas en los países que enumera.",
    ),
    "k_topic_yes": (
        "Yes: in {t} the coordinator must be established in a Member State or Associated Country, and {c} is one.",
        "Sí: en {t} el coordinador debe estar establecido en un Estado miembro o país asociado, y {c} lo es.",
    ),
    "k_topic_no": (
        "No: in {t} the coordinator must be established in a Member State or Associated Country, and {c} is neither.",
        "No: en {t} el coordinador debe estar establecido en un Estado miembro o país asociado, y {c} no es ninguno de ellos.",
    ),
    "r_topic_coordinator": (
        "Topic {t} states who may coordinate.",
        "El tema {t} fija quién puede coordinar.",
    ),
    "l_associated_partner_yes": (
        "Yes, as an associated partner: entities in {c} may take part as associated partners (they do not receive EU funding).",
        "Sí, como socio asociado: las entidades de {c} pueden participar como socios asociados (no reciben fondos de la UE).",
    ),
    "l_associated_partner_no": (
        "No: entities in {c} may not take part as associated partners here.",
        "No: las entidades de {c} no pueden participar aquí como socios asociados.",
    ),
    "l_erc_host_no": (
        "No: the Host Institution of an ERC grant must be established in a Member State or Associated Country, and {c} is neither (only a Synergy Grant may have a non-corresponding Host Institution elsewhere).",
        "No: la institución de acogida de una subvención ERC debe estar establecida en un Estado miembro o país asociado, y {c} no lo es (solo una Synergy Grant puede tener una institución de acogida no correspondiente en otro lugar).",
    ),
    "l_not_automatic": ("No, not automatically.", "No, no automáticamente."),
    "r_topic_own": (
        "Topic {t} states its own condition for entities in {c}.",
        "El tema {t} fija su propia condición para las entidades de {c}.",
    ),
    "h_topic": (
        "Topic {t} ({a}) makes entities in {c} exceptionally eligible for funding, under the conditions it states.",
        "El tema {t} ({a}) hace excepcionalmente elegibles para financiación a las entidades de {c}, en las condiciones que indica.",
    ),
    "h_topic_all": (
        "Topic {t} ({a}) makes entities in all non-associated third countries exceptionally eligible for funding.",
        "El tema {t} ({a}) hace excepcionalmente elegibles para financiación a las entidades de todos los terceros países no asociados.",
    ),
    "h_own_cost": (
        "Otherwise it takes part at its own cost (as associated partner) and the proposal must explain how its costs are covered.",
        "Si no, participa a su propio coste (como socio asociado) y la propuesta debe explicar cómo se cubren sus costes.",
    ),
    "h_cofunding": (
        "National co-funding: the documents do not describe {c}'s own schemes; the Programme Guide only says some non-associated countries have national mechanisms and refers to a separate page.",
        "Cofinanciación nacional: los documentos no describen los mecanismos propios de {c}; la Guía del Programa solo dice que algunos países no asociados tienen mecanismos nacionales y remite a otra página.",
    ),
    "h_cofunding_unnamed": (
        " {c} is not named in the General Annexes, the Regulation, the Programme Guide, the Model Grant Agreement, or the MSCA and ERC work programmes.",
        " {c} no se menciona en los Anexos Generales, el Reglamento, la Guía del Programa, el Acuerdo de Subvención Modelo ni los programas de trabajo MSCA y ERC.",
    ),
    "h_csa_call": (
        "If the call conditions allow beneficiaries from other countries, the general funding rules apply.",
        "Si la convocatoria admite beneficiarios de otros países, se aplican las reglas generales de financiación.",
    ),
    "h_csa_call_lmic": (
        "If the call conditions allow beneficiaries from other countries, the general rules apply, under which {c} (low- and middle-income list) is eligible for funding.",
        "Si la convocatoria admite beneficiarios de otros países, se aplican las reglas generales, según las cuales {c} (lista de renta baja y media) puede recibir financiación.",
    ),
    "h_erc": (
        "As a Synergy Host Institution (not the corresponding one), when essential, or when hosting team members.",
        "Como institución de acogida en una Synergy Grant (no la correspondiente), si es esencial, o si acoge a miembros del equipo.",
    ),
    # notes
    "n_associated_position": (
        "The list of Associated Countries is the one at the adoption of the work programme; the Portal's list of participating countries gives the current list and each Associated Country's position: check it before relying on this.",
        "La lista de países asociados es la vigente al adoptarse el programa de trabajo; la lista de países participantes del Portal da la lista actual y la situación de cada país asociado: consúltela antes de basarse en esto.",
    ),
    "n_erc_associated": (
        "For ERC, the country counts as associated by the General Annexes' list; the ERC work programme refers to the Portal's list of participating countries.",
        "Para el ERC, el país se considera asociado según la lista de los Anexos Generales; el programa de trabajo del ERC remite a la lista de países participantes del Portal.",
    ),
    "n_erc_gep": (
        "As a public body, research organisation or higher education institution from a Member State or Associated Country it needs a gender equality plan.",
        "Como organismo público, organización de investigación o institución de educación superior de un Estado miembro o país asociado necesita un plan de igualdad de género.",
    ),
    "n_uk": (
        "The United Kingdom is associated except for the EIC Fund.",
        "El Reino Unido está asociado salvo para el Fondo del EIC.",
    ),
    "n_negotiating": (
        "Entities from countries negotiating association are treated as from an Associated Country only if the agreement applies when the grant is signed.",
        "Las entidades de países que negocian su asociación se tratan como de un país asociado solo si el acuerdo se aplica al firmar la subvención.",
    ),
    "n_excluded_part": (
        "Not eligible in any capacity: entities established in {p}.",
        "No elegibles en ninguna calidad: entidades establecidas en {p}.",
    ),
    "n_gep": (
        "As a public body, research organisation or higher education establishment from a Member State or Associated Country it needs a gender equality plan to be a beneficiary or affiliated entity.",
        "Como organismo público, organización de investigación o centro de educación superior de un Estado miembro o país asociado necesita un plan de igualdad de género para ser beneficiario o entidad afiliada.",
    ),
    "n_china_ia": (
        "Entities controlled by China are not eligible in Innovation Actions where the call conditions say so.",
        "Las entidades controladas por China no son elegibles en las Acciones de Innovación cuando la convocatoria lo indica.",
    ),
    "n_lmic_not_for_composition": (
        "Entities from low- and middle-income countries are funded but do not count towards the minimum of entities from Member States or Associated Countries.",
        "Las entidades de países de renta baja y media reciben financiación pero no cuentan para el mínimo de entidades de Estados miembros o países asociados.",
    ),
    # consortium
    "c_min_three": (
        "At least three independent beneficiaries, each in a different Member State or Associated Country ({n} now: {list}).",
        "Al menos tres beneficiarios independientes, cada uno en un Estado miembro o país asociado distinto ({n} ahora: {list}).",
    ),
    "c_member_state": (
        "At least one beneficiary established in a Member State.",
        "Al menos un beneficiario establecido en un Estado miembro.",
    ),
    "c_csa": (
        "At least one beneficiary established in a Member State or Associated Country.",
        "Al menos un beneficiario establecido en un Estado miembro o país asociado.",
    ),
    "c_pf": (
        "Exactly one beneficiary, established in a Member State or Associated Country ({n} now).",
        "Exactamente un beneficiario, establecido en un Estado miembro o país asociado ({n} ahora).",
    ),
    "c_se_three": (
        "At least three independent entities in three different countries ({n} countries now).",
        "Al menos tres entidades independientes en tres países distintos ({n} países ahora).",
    ),
    "c_se_two": (
        "At least two of them beneficiaries in different Member States or Associated Countries ({n} now).",
        "Al menos dos de ellas beneficiarias en Estados miembros o países asociados distintos ({n} ahora).",
    ),
    "c_se_sectors": (
        "Organisations from both the academic and the non-academic sector.",
        "Organizaciones tanto del sector académico como del no académico.",
    ),
    "c_erc": (
        "A Host Institution established in a Member State or Associated Country.",
        "Una institución de acogida establecida en un Estado miembro o país asociado.",
    ),
    "c_roles": (
        "Every partner can take the role given to it.",
        "Cada socio puede asumir la función asignada.",
    ),
    "c_participation": (
        "No partner is excluded from participating.",
        "Ningún socio está excluido de participar.",
    ),
    "x_add_ms": (
        "Add a partner established in a Member State (as beneficiary).",
        "Añadir un socio establecido en un Estado miembro (como beneficiario).",
    ),
    "x_add_ms_ac": (
        "Add {n} partner(s) established in a Member State or Associated Country not yet represented (now: {list}), as beneficiaries.",
        "Añadir {n} socio(s) establecido(s) en un Estado miembro o país asociado aún no representado (ahora: {list}), como beneficiarios.",
    ),
    "x_csa": (
        "Add a partner established in a Member State or Associated Country as beneficiary; entities from non-associated third countries can stay as associated partners.",
        "Añadir un socio establecido en un Estado miembro o país asociado como beneficiario; las entidades de terceros países no asociados pueden seguir como socios asociados.",
    ),
    "x_pf_none": (
        "Add a host organisation (the beneficiary) established in a Member State or Associated Country.",
        "Añadir una organización de acogida (el beneficiario) establecida en un Estado miembro o país asociado.",
    ),
    "x_pf_many": (
        "Keep a single beneficiary; the other organisations can be associated partners.",
        "Mantener un único beneficiario; las demás organizaciones pueden ser socios asociados.",
    ),
    "x_se_three": (
        "Add {n} partner(s) from countries not yet represented (now: {list}).",
        "Añadir {n} socio(s) de países aún no representados (ahora: {list}).",
    ),
    "x_se_two": (
        "Add {n} beneficiary(ies) established in a Member State or Associated Country not yet represented (now: {list}).",
        "Añadir {n} beneficiario(s) establecido(s) en un Estado miembro o país asociado aún no representado (ahora: {list}).",
    ),
    "x_se_academic": (
        "Add a partner from the academic sector (university or non-profit research organisation).",
        "Añadir un socio del sector académico (universidad u organización de investigación sin ánimo de lucro).",
    ),
    "x_se_non_academic": (
        "Add a partner from the non-academic sector (e.g. a company).",
        "Añadir un socio del sector no académico (p. ej., una empresa).",
    ),
    "x_erc": (
        "Add a Host Institution established in a Member State or Associated Country.",
        "Añadir una institución de acogida establecida en un Estado miembro o país asociado.",
    ),
    "x_remove": (
        "Remove {p} ({c}): it cannot take part in any capacity.",
        "Retirar a {p} ({c}): no puede participar en ninguna calidad.",
    ),
    "x_role": (
        "{p} ({c}) cannot be {r}; make it {alt}.",
        "{p} ({c}) no puede ser {r}; asígnele la función de {alt}.",
    ),
    "pr_role": ("{p} cannot be {r} in this action.", "{p} no puede ser {r} en esta acción."),
    "pr_excluded": ("{p} cannot take part in any capacity.", "{p} no puede participar en ninguna calidad."),
    "n_affiliated_not_counted": (
        "Affiliated entities do not count towards the minimum composition.",
        "Las entidades afiliadas no cuentan para la composición mínima.",
    ),
    "n_independence": (
        "The check assumes the partners are legal entities independent from each other.",
        "La comprobación supone que los socios son entidades jurídicas independientes entre sí.",
    ),
    "n_se_counting": (
        "The Work Programme does not say whether associated partners count towards the three entities; as only Member State or Associated Country entities can be beneficiaries, this check counts them.",
        "El programa de trabajo no dice si los socios asociados cuentan para las tres entidades; como solo pueden ser beneficiarias las entidades de Estados miembros o países asociados, esta comprobación los cuenta.",
    ),
    "n_oct_composition": (
        "This check counts OCT entities as Member State entities (the Programme Guide's equivalence); the composition rule itself names Member States only.",
        "Esta comprobación cuenta las entidades de los PTU como de Estados miembros (equivalencia de la Guía del Programa); la regla de composición solo menciona Estados miembros.",
    ),
    "s_meets": ("Meets the minimum composition.", "Cumple la composición mínima."),
    "s_fails": (
        "Does not meet the minimum composition: {why} Fix: {fix}",
        "No cumple la composición mínima: {why} Solución: {fix}",
    ),
    "e_country": ("Unknown country: '{q}'.", "País desconocido: '{q}'."),
    "e_suggest": (" Did you mean {s}?", " ¿Quiso decir {s}?"),
    "e_action": (
        "Unknown action type: '{q}'. Use one of: {list}.",
        "Tipo de acción desconocido: '{q}'. Use uno de: {list}.",
    ),
    "e_type": (
        "Unknown entity type: '{q}'. Use one of: {list}.",
        "Tipo de entidad desconocido: '{q}'. Use uno de: {list}.",
    ),
    "e_programme": (
        "Unknown programme: '{q}'. Use 'he' (Horizon Europe) or 'h2020'.",
        "Programa desconocido: '{q}'. Use 'he' (Horizonte Europa) o 'h2020'.",
    ),
    "e_empty": ("The consortium has no partners.", "El consorcio no tiene socios."),
    "e_partner": (
        "Partner {i} is not understood: give country and entity type.",
        "El socio {i} no se entiende: indique país y tipo de entidad.",
    ),
    "e_role": ("Unknown role: '{q}'. Use one of: {list}.", "Función desconocida: '{q}'. Use una de: {list}."),
}


def _t(key: str, lang: str, **kw: object) -> str:
    en, es = M[key]
    text = es if lang == "es" else en
    return text.format(**kw) if kw else text


# ---------------------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})


def normalise_name(text: str) -> str:
    """The same key as ingestion.parse_eligibility.normalise_name: accents, case, punctuation, "St." ignored."""
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("&", " and ")
    text = re.sub(r"[^0-9a-z]+", " ", text).strip()
    words = ["saint" if w in ("st", "ste") else w for w in text.split()]
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    return " ".join(words)


def _norm_action(action: str) -> str | None:
    a = re.sub(r"[\s_]+", "-", str(action).strip().upper())
    a = {
        "MSCA-DOCTORAL-NETWORKS": "MSCA-DN",
        "DN": "MSCA-DN",
        "PF": "MSCA-PF",
        "SE": "MSCA-SE",
        "MSCA-POSTDOCTORAL-FELLOWSHIPS": "MSCA-PF",
        "MSCA-STAFF-EXCHANGES": "MSCA-SE",
    }.get(a, a)
    a = re.sub(r"^MSCA(?=DN|PF|SE)", "MSCA-", a)
    return a if a in ACTIONS else None


def _norm_programme(programme: str) -> str | None:
    p = re.sub(r"[\s_-]+", "", str(programme).strip().lower())
    return {
        "he": "he",
        "horizoneurope": "he",
        "horizonteeuropa": "he",
        "h2020": "h2020",
        "horizon2020": "h2020",
        "horizonte2020": "h2020",
    }.get(p)


# ---------------------------------------------------------------------------------------------------------
# The checker
# ---------------------------------------------------------------------------------------------------------


def _cit(raw: Mapping) -> Citation:
    return Citation(str(raw["document"]), int(raw["page"]), str(raw["quote"]))


class EligibilityChecker:
    """Eligibility verdicts from the rules read by ingestion.parse_eligibility (``to_dict()`` data)."""

    def __init__(self, rules: Mapping):
        missing = [r for r in REQUIRED_RULES if r not in rules.get("rules", {})]
        kinds = {lst["kind"] for lst in rules.get("country_lists", [])}
        missing += [f"list:{k}" for k in (MEMBER_STATE, ASSOCIATED, LOW_MIDDLE_INCOME) if k not in kinds]
        if missing:
            raise RulesError("the eligibility rules lack: " + ", ".join(missing))
        self.data = rules
        self.rules: dict[str, tuple[Citation, ...]] = {
            rid: tuple(_cit(c) for c in r["citations"]) for rid, r in rules["rules"].items()
        }
        self.lists: dict[str, Mapping] = {}
        self.entry: dict[tuple[str, str], Mapping] = {}
        for lst in rules["country_lists"]:
            self.lists.setdefault(lst["kind"], lst)
            for e in lst["entries"]:
                self.entry.setdefault((lst["kind"], e["code"]), e)
        self.excluded = set(rules.get("excluded", {}).get("codes", []))
        self.excluded_notes = list(rules.get("excluded", {}).get("notes", []))
        countries = rules.get("countries", {})
        self.lookup: dict[str, str] = dict(countries.get("lookup", {}))
        self.display: dict[str, Mapping] = dict(countries.get("display", {}))
        self.eu_codes: dict[str, str] = dict(countries.get("eu_codes", {}))
        self.mentions: dict[str, list] = dict(rules.get("mentions", {}))
        self.topics: list[Mapping] = list(rules.get("topic_exceptions", []))
        self._exception_quotes = {e["quote"] for e in self.topics}

    # -- names ---------------------------------------------------------------------------------------

    def name(self, code: str, lang: str = "en") -> str:
        d = self.display.get(code, {})
        return d.get(lang) or d.get("en") or code

    def suggest_country(self, text: str, lang: str = "en") -> tuple[str, str] | None:
        """The closest known name to a query: (code, display name), or None."""
        key = normalise_name(text)
        if not key:
            return None
        match = difflib.get_close_matches(key, list(self.lookup), n=1, cutoff=0.6)
        if not match:
            starts = sorted(k for k in self.lookup if k.startswith(key) or key.startswith(k))
            match = starts[:1]
        if not match:
            return None
        code = self.lookup[match[0]]
        return code, self.name(code, lang)

    def lookup_country(self, text: str, lang: str = "en") -> str:
        """An ISO alpha-2 code from a code (MX, UK, EL …) or an English or Spanish name (any accents/case)."""
        raw = str(text).strip()
        if re.fullmatch(r"[A-Za-z]{2}", raw):
            code = self.eu_codes.get(raw.upper(), raw.upper())
            if code in self.display:
                return code
        code = self.lookup.get(normalise_name(raw))
        if code:
            return code
        suggestion = self.suggest_country(raw, lang)
        message = _t("e_country", lang, q=raw) + (
            _t("e_suggest", lang, s=suggestion[1]) if suggestion else ""
        )
        raise UnknownCountryError(
            message, raw, suggestion[1] if suggestion else None, suggestion[0] if suggestion else None
        )

    # -- status ---------------------------------------------------------------------------------------

    def status(self, code: str) -> str:
        if code in self.excluded:
            return EXCLUDED
        for kind in (MEMBER_STATE, OCT, ASSOCIATED, NEGOTIATING, LOW_MIDDLE_INCOME):
            if (kind, code) in self.entry:
                return kind
        return OTHER

    def _list_citations(self, kind: str, code: str) -> tuple[Citation, ...]:
        lst = self.lists[kind]
        entry = self.entry[(kind, code)]
        heading = Citation(lst["document"], int(lst["page"]), lst["heading"])
        line = Citation(lst["document"], int(entry["page"]), entry["quote"])
        return (heading, line) if line != heading else (heading,)

    def _r(self, code: str, text: str, *rule_ids: str, extra: Iterable[Citation] = ()) -> Reason:
        cits: list[Citation] = list(extra)
        for rid in rule_ids:
            for c in self.rules[rid]:
                if c not in cits:
                    cits.append(c)
        return Reason(code, text, tuple(cits))

    def _rule(self, rid: str, i: int) -> tuple[Citation, ...]:
        return (self.rules[rid][i],)

    # -- entity --------------------------------------------------------------------------------------

    def _check_args(self, entity_type: str, action: str, programme: str, lang: str) -> tuple[str, str, str]:
        if lang not in LANGS:
            raise EligibilityError(f"Unknown language: {lang!r}. Use 'en' or 'es'.")
        a = _norm_action(action)
        if a is None:
            raise UnknownActionError(_t("e_action", lang, q=action, list=", ".join(ACTIONS)))
        t = str(entity_type).strip().upper()
        if t not in ENTITY_TYPES:
            raise UnknownEntityTypeError(_t("e_type", lang, q=entity_type, list=", ".join(ENTITY_TYPES)))
        p = _norm_programme(programme)
        if p is None:
            raise EligibilityError(_t("e_programme", lang, q=programme))
        return t, a, p

    def check_entity(
        self, country: str, entity_type: str, action: str, programme: str = "he", lang: str = "en",
        topic_conditions: Sequence[TopicCondition] = (), topics: Sequence[str] = (),
    ) -> EntityVerdict:
        """The verdict for an entity of this country and type in this type of action; the topics a question
        names (``topics``; ``topic_conditions``: the sentences of their own conditions) lead it when one
        of their conditions names the country."""
        t, a, p = self._check_args(entity_type, action, programme, lang)
        code = self.lookup_country(country, lang)
        c = self.name(code, lang)
        status = self.status(code)
        if p == "h2020":
            return EntityVerdict(
                code,
                c,
                status,
                t,
                a,
                p,
                lang,
                None,
                None,
                {r: NOT_STATED for r in ROLES},
                _t("f_h2020", lang),
                _t("f_h2020", lang),
            )
        v = EntityVerdict(code, c, status, t, a, p, lang, True, False, {r: NO for r in ROLES}, "", "")
        r = self._r
        L = lang

        # why: the country's place in the lists
        if status == EXCLUDED:
            v.may_participate, v.funded_automatically = False, False
            v.participation, v.funding = _t("p_excluded", L, c=c), _t("f_excluded", L, c=c)
            v.reasons.append(r("excluded", _t("r_excluded", L, c=c), "excluded_countries"))
            return v
        if status == OTHER:
            v.reasons.append(
                r("not_listed", _t("r_not_listed", L, c=c), "funding_countries", extra=self._headings())
            )
        else:
            v.reasons.append(
                r(
                    "listed",
                    _t(f"r_list_{status}", L, c=c),
                    "funding_countries",
                    extra=self._list_citations(status, code),
                )
            )
        if status == OCT:
            v.reasons.append(r("oct", _t("r_oct_equivalent", L), "pg_oct"))
        v.reasons.append(r("participation", _t("r_participation", L), "reg_art22_participation"))

        msac = status in MS_AC
        listed = status in FUNDED_BY_LIST
        if a in ("RIA", "IA"):
            self._collaborative(v, code, listed)
        elif a == "CSA":
            self._csa(v, code, msac)
        elif a == "MSCA-DN":
            self._collaborative(v, code, listed)
            v.roles["affiliated_entity"] = NO
            v.participation = _t("p_dn_open", L) if not msac else _t("p_any", L)
            v.reasons.append(
                r("dn_open", _t("r_dn_open", L), "msca_dn_open", "msca_dn_third_country_beneficiaries")
            )
            v.reasons.append(r("msca_no_affiliated", _t("r_msca_no_affiliated", L), "msca_dn_affiliated"))
            v.reasons.append(r("msca_ap", _t("r_msca_ap", L), "msca_associated_partners"))
        elif a in ("MSCA-PF", "MSCA-SE"):
            self._msca_mono(v, code, msac, a)
        elif a == "ERC":
            self._erc(v, code, msac)

        # notes
        if status in (ASSOCIATED, NEGOTIATING):
            v.notes.append(
                r("associated_position", _t("n_associated_position", L), "associated_list_position")
            )
        if status == NEGOTIATING and "associated_negotiating" in self.rules:
            v.notes.append(r("negotiating", _t("n_negotiating", L), "associated_negotiating"))
        if code == "GB" and "uk_association" in self.rules:
            v.notes.append(r("uk", _t("n_uk", L), "uk_association"))
        if self.excluded_notes and any(
            normalise_name(self.name(code, "en")) in normalise_name(n) for n in self.excluded_notes
        ):
            v.notes.append(
                r(
                    "excluded_part",
                    _t("n_excluded_part", L, p="; ".join(self.excluded_notes)),
                    "excluded_countries",
                )
            )
        if msac and t in GEP_TYPES and a != "ERC" and v.roles["beneficiary"] != NO:
            v.notes.append(r("gep", _t("n_gep", L), "gender_equality_plan"))
        if msac and t in GEP_TYPES and a == "ERC" and "erc_gender_equality_plan" in self.rules:
            v.notes.append(r("gep", _t("n_erc_gep", L), "erc_gender_equality_plan"))
        if status in (ASSOCIATED, NEGOTIATING) and a == "ERC" and "erc_associated_countries" in self.rules:
            v.notes.append(r("erc_associated", _t("n_erc_associated", L), "erc_associated_countries"))
        if code == "CN" and a == "IA" and "china_innovation_actions" in self.rules:
            v.notes.append(r("china_ia", _t("n_china_ia", L), "china_innovation_actions"))
        exceptions = [  # the topics whose exceptions ingestion read (some sentences are too long for a record)
            TopicCondition(e["topic"], e["document"], int(e["page"]), e["quote"], frozenset(e.get("codes", [])))
            for e in self.topics
            if e["topic"] in topics and e.get("scope", "countries") == "countries"
        ]
        self._topic_conditions(v, code, [*exceptions, *topic_conditions])
        return v

    def _topic_conditions(self, v: EntityVerdict, code: str, conditions: Sequence[TopicCondition]) -> None:
        """A named topic's own condition on this country leads the verdict (e.g. "legal entities established
        in Brazil are exceptionally eligible for Union funding"; "... India ... only possible as associated
        partners")."""
        L, c = v.lang, v.country_name
        msac = v.status in MS_AC
        for cond in conditions:  # closed to entities outside the countries the topic lists
            cited = (Citation(cond.document, cond.page, cond.text),)
            if self._closed_to(cond, code, v.status):
                v.may_participate, v.funded_automatically = False, False
                v.participation = v.funding = _t("f_topic_closed", L, t=cond.topic, c=c)
                v.roles = {role: NO for role in v.roles}
                v.reasons.insert(0, Reason("topic_own", _t("r_topic_closed", L, t=cond.topic), cited))
                return
            if TOPIC_MS_AC_COORDINATOR.search(cond.text):
                v.coordinator = _t("k_topic_yes" if msac else "k_topic_no", L, t=cond.topic, c=c)
                v.reasons.append(Reason("topic_coordinator", _t("r_topic_coordinator", L, t=cond.topic), cited))
        naming = [cond for cond in conditions if code in cond.countries]
        # the sentences that decide (funded; associated partner only) before those that only name the country
        decisive = [cond for cond in naming if TOPIC_ASSOCIATED_ONLY.search(cond.text) or self._funds(cond)]
        led: set[str] = set()
        for cond in decisive + naming:
            if cond.topic in led:
                continue
            led.add(cond.topic)
            cited = (Citation(cond.document, cond.page, cond.text),)
            if TOPIC_ASSOCIATED_ONLY.search(cond.text):
                v.funding = _t("f_topic_associated_only", L, t=cond.topic, c=c)
                v.roles.update(beneficiary=NO, affiliated_entity=NO, associated_partner=YES)
            elif self._funds(cond) and not v.funded_automatically:
                v.funding = _t("f_topic_funded", L, t=cond.topic, c=c)
                v.roles.update(beneficiary=YES, affiliated_entity=YES)
            v.reasons.insert(0, Reason("topic_own", _t("r_topic_own", L, t=cond.topic, c=c), cited))

    @staticmethod
    def _closed_to(cond: TopicCondition, code: str, status: str) -> bool:
        """The topic limits participation to entities in countries it lists, and this one is not among them."""
        limited = TOPIC_LIMITED.search(cond.text)
        if limited is None or code in cond.countries:
            return False
        listed = limited.group("list")
        if LIMITED_MEMBER_STATES.search(listed) and status in (MEMBER_STATE, OCT):
            return False
        if LIMITED_ASSOCIATED.search(listed) and status in (ASSOCIATED, NEGOTIATING):
            return False
        return not LIMITED_UNRESOLVED.search(listed)

    def _funds(self, cond: TopicCondition) -> bool:
        """The sentence makes the entities it names eligible for funding in its topic."""
        return bool(TOPIC_FUNDED.search(cond.text)) or cond.text in self._exception_quotes

    def _headings(self) -> tuple[Citation, ...]:
        return tuple(
            Citation(lst["document"], int(lst["page"]), lst["heading"]) for lst in self.lists.values()
        )

    def _funding_sentence(self, v: EntityVerdict) -> str:
        key = {
            MEMBER_STATE: "f_member_state",
            OCT: "f_oct",
            ASSOCIATED: "f_associated",
            NEGOTIATING: "f_negotiating",
            LOW_MIDDLE_INCOME: "f_lmic",
        }.get(v.status, "f_other")
        return _t(key, v.lang, c=v.country_name)

    def _not_funded_routes(self, v: EntityVerdict, code: str) -> None:
        """How an entity from a non-listed country could still be funded, and what happens otherwise."""
        r, L, c = self._r, v.lang, v.country_name
        v.how_funded.append(
            r(
                "call_conditions",
                _t("h_call", L),
                extra=self._rule("non_listed_funding", 0)
                + self._rule("reg_art23_third_countries", 1)
                + self._rule("pg_exceptional_funding", 0),
            )
        )
        v.how_funded.append(
            r(
                "essential",
                _t("h_essential", L),
                extra=self._rule("non_listed_funding", 0) + self._rule("pg_exceptional_funding", 1),
            )
        )
        if v.action in ("RIA", "IA", "CSA"):
            v.how_funded.extend(self._topic_routes(v, code))
        v.how_funded.append(
            r(
                "own_cost",
                _t("h_own_cost", L),
                "pg_own_cost",
                extra=self._rule("reg_art23_third_countries", 0) + self._rule("associated_partners", 0),
            )
        )
        text = _t("h_cofunding", L, c=c)
        if not self.mentions.get(code):
            text += _t("h_cofunding_unnamed", L, c=c)
        v.how_funded.append(r("national_cofunding", text, "pg_national_cofunding"))

    def _topic_routes(self, v: EntityVerdict, code: str) -> list[Reason]:
        """Topics of the work programmes whose conditions make entities of this country (or of every
        non-associated third country) exceptionally eligible for funding, for this type of action."""
        out = []
        for topic in self.topics:
            scope = topic.get("scope", "countries")
            named = scope == "countries" and code in topic.get("codes", [])
            everyone = scope == ALL_NON_ASSOCIATED and v.status in (OTHER, LOW_MIDDLE_INCOME)
            action = topic.get("action", "")
            if not (named or everyone) or (action in ("RIA", "IA", "CSA") and action != v.action):
                continue
            key = "h_topic" if named else "h_topic_all"
            text = _t(key, v.lang, t=topic["topic"], a=action or "?", c=v.country_name)
            out.append(
                Reason("topic", text, (Citation(topic["document"], int(topic["page"]), topic["quote"]),))
            )
        return out

    def _collaborative(self, v: EntityVerdict, code: str, listed: bool) -> None:
        r, L = self._r, v.lang
        v.participation = _t("p_any", L)
        v.funding = self._funding_sentence(v)
        v.roles["associated_partner"] = YES
        if listed:
            v.funded_automatically = True
            v.roles["beneficiary"] = YES
            v.roles["affiliated_entity"] = YES
            v.reasons.append(r("affiliated", _t("r_affiliated", L), "affiliated_entities"))
            if v.status == LOW_MIDDLE_INCOME and v.action in ("RIA", "IA", "MSCA-DN"):
                v.notes.append(
                    r(
                        "lmic_composition",
                        _t("n_lmic_not_for_composition", L),
                        extra=self._rule("consortium_composition", 1),
                    )
                )
        else:
            v.funded_automatically = False
            v.roles["beneficiary"] = CONDITIONAL
            v.roles["affiliated_entity"] = CONDITIONAL
            v.reasons.append(
                r(
                    "beneficiary_needs_funding",
                    _t("r_beneficiary_needs_funding", L),
                    "beneficiary_needs_funding",
                    "associated_partners",
                )
            )
            v.reasons.append(r("affiliated", _t("r_affiliated", L), "affiliated_entities"))
            self._not_funded_routes(v, code)

    def _csa(self, v: EntityVerdict, code: str, msac: bool) -> None:
        r, L, c = self._r, v.lang, v.country_name
        v.roles["associated_partner"] = YES
        v.reasons.append(r("csa", _t("r_csa", L), "csa_beneficiaries", "csa_associated_partners"))
        if msac:
            v.participation, v.funding = _t("p_any", L), self._funding_sentence(v)
            v.funded_automatically = True
            v.roles["beneficiary"] = YES
            v.roles["affiliated_entity"] = YES
            return
        v.participation, v.funding = _t("p_csa_ap", L), _t("f_csa", L)
        v.funded_automatically = False
        v.roles["beneficiary"] = CONDITIONAL
        v.roles["affiliated_entity"] = CONDITIONAL
        if v.status == LOW_MIDDLE_INCOME:
            v.how_funded.append(
                r("csa_call", _t("h_csa_call_lmic", L, c=c), "csa_beneficiaries", "csa_single")
            )
            v.how_funded.extend(self._topic_routes(v, code))
        else:
            v.how_funded.append(r("csa_call", _t("h_csa_call", L), "csa_beneficiaries", "csa_single"))
            self._not_funded_routes(v, code)

    def _msca_mono(self, v: EntityVerdict, code: str, msac: bool, action: str) -> None:
        r, L = self._r, v.lang
        pf = action == "MSCA-PF"
        v.roles["associated_partner"] = YES
        v.roles["affiliated_entity"] = NO
        if pf:
            v.reasons.append(r("pf", _t("r_pf", L), "msca_pf_single", "msca_pf_global"))
            v.reasons.append(r("msca_no_affiliated", _t("r_msca_no_affiliated", L), "msca_pf_affiliated"))
        else:
            v.reasons.append(
                r(
                    "se",
                    _t("r_se", L),
                    "msca_se_beneficiaries",
                    extra=self._rule("msca_se_third_countries", 0),
                )
            )
            v.reasons.append(r("msca_no_affiliated", _t("r_msca_no_affiliated", L), "msca_se_affiliated"))
        v.reasons.append(r("msca_ap", _t("r_msca_ap", L), "msca_associated_partners"))
        if msac:
            v.participation, v.funding = _t("p_any", L), self._funding_sentence(v)
            v.funded_automatically = True
            v.roles["beneficiary"] = YES
        else:
            v.participation = _t("p_msca_ap", L)
            v.funding = _t("f_pf" if pf else "f_se", L)
            v.funded_automatically = False
            v.roles["beneficiary"] = NO
            if v.status == OTHER:
                text = _t("h_cofunding", L, c=v.country_name) + (
                    "" if self.mentions.get(code) else _t("h_cofunding_unnamed", L, c=v.country_name)
                )
                v.how_funded.append(r("national_cofunding", text, "pg_national_cofunding"))

    def _erc(self, v: EntityVerdict, code: str, msac: bool) -> None:
        r, L = self._r, v.lang
        v.reasons.append(r("erc_scope", _t("r_erc_scope", L), "ga_scope"))
        v.reasons.append(r("erc_host", _t("r_erc_host", L), "erc_host_ms_ac", "erc_host_any_type"))
        v.reasons.append(r("erc_pi", _t("r_erc_pi", L), "erc_pi"))
        v.roles["affiliated_entity"] = NOT_STATED
        v.roles["associated_partner"] = NOT_STATED
        if msac:
            v.participation, v.funding = _t("p_erc_host", L), _t("f_erc_yes", L, c=v.country_name)
            v.funded_automatically = True
            v.roles["beneficiary"] = YES
        else:
            v.participation, v.funding = _t("p_erc_limited", L), _t("f_erc_no", L)
            v.funded_automatically = False
            v.roles["beneficiary"] = CONDITIONAL
            v.reasons.append(
                r("erc_outside", _t("r_erc_outside", L), "erc_synergy_third", "erc_team_members")
            )
            v.how_funded.append(r("erc_funding", _t("h_erc", L), "erc_third_funding"))

    # -- consortium ----------------------------------------------------------------------------------

    def _partner(self, raw: object, i: int, lang: str) -> Partner:
        if isinstance(raw, Partner):
            return raw
        if isinstance(raw, Mapping):
            country = raw.get("country")
            etype = raw.get("entity_type") or raw.get("type")
            if country and etype:
                return Partner(str(country), str(etype), str(raw.get("name") or ""), raw.get("role"))
        if isinstance(raw, (tuple, list)):
            if len(raw) == 2:
                return Partner(str(raw[0]), str(raw[1]))
            if len(raw) == 3:
                return Partner(str(raw[1]), str(raw[2]), str(raw[0]))
        raise EligibilityError(_t("e_partner", lang, i=i + 1))

    def check_consortium(
        self, partners: Sequence[object], action: str, programme: str = "he", lang: str = "en"
    ) -> ConsortiumVerdict:
        if lang not in LANGS:
            raise EligibilityError(f"Unknown language: {lang!r}. Use 'en' or 'es'.")
        a = _norm_action(action)
        if a is None:
            raise UnknownActionError(_t("e_action", lang, q=action, list=", ".join(ACTIONS)))
        p = _norm_programme(programme)
        if p is None:
            raise EligibilityError(_t("e_programme", lang, q=programme))
        if not partners:
            raise EmptyConsortiumError(_t("e_empty", lang))
        L = lang
        parsed = [self._partner(raw, i, lang) for i, raw in enumerate(partners)]
        for pt in parsed:
            if pt.role is not None and pt.role not in ROLES:
                raise EligibilityError(_t("e_role", L, q=pt.role, list=", ".join(ROLES)))
        verdicts = [self.check_entity(pt.country, pt.entity_type, a, p, lang) for pt in parsed]
        if p == "h2020":
            pvs = [
                PartnerVerdict(
                    i, pt.name or v.country_name, v.country, v.entity_type, None, NOT_STATED, False, v
                )
                for i, (pt, v) in enumerate(zip(parsed, verdicts))
            ]
            return ConsortiumVerdict(a, p, L, pvs, [], None, [], [], _t("f_h2020", L))

        pvs: list[PartnerVerdict] = []
        fixes: list[Reason] = []
        notes: list[Reason] = []
        for i, (pt, v) in enumerate(zip(parsed, verdicts)):
            label = pt.name or f"{v.country_name} ({v.entity_type})"
            pv = PartnerVerdict(i, label, v.country, v.entity_type, None, NO, False, v)
            if not v.may_participate:
                pv.problems.append(self._r("excluded", _t("pr_excluded", L, p=label), "excluded_countries"))
                fixes.append(
                    self._r("remove", _t("x_remove", L, p=label, c=v.country_name), "excluded_countries")
                )
            elif pt.role:
                pv.role = pt.role
                if v.roles.get(pt.role) == NO:
                    alt = (
                        "associated_partner"
                        if v.roles.get("associated_partner") in (YES, NOT_STATED)
                        else "beneficiary"
                    )
                    why = _role_citations(v, pt.role)
                    pv.problems.append(
                        Reason("role", _t("pr_role", L, p=label, r=_t("role_" + pt.role, L)), why)
                    )
                    fixes.append(
                        Reason(
                            "role",
                            _t(
                                "x_role",
                                L,
                                p=label,
                                c=v.country_name,
                                r=_t("role_" + pt.role, L),
                                alt=_t("role_" + alt, L),
                            ),
                            why,
                        )
                    )
            elif v.roles["beneficiary"] == YES:
                pv.role = "beneficiary"
            elif v.roles["associated_partner"] in (YES, NOT_STATED) and a != "ERC":
                pv.role = "associated_partner"
            else:
                pv.role = "beneficiary"  # ERC outside EU/AC: team-member host or Synergy HI, funded only then
            if pv.role == "beneficiary" or pv.role == "affiliated_entity":
                pv.funded = YES if v.funded_automatically else CONDITIONAL
            pv.counts_for_composition = pv.role == "beneficiary" and v.status in MS_AC and not pv.problems
            pvs.append(pv)

        conditions: list[Condition] = []
        if any(not pv.verdict.may_participate for pv in pvs):
            conditions.append(
                Condition("participation", False, _t("c_participation", L), self.rules["excluded_countries"])
            )
        if any(pv.problems and pv.verdict.may_participate for pv in pvs):
            conditions.append(
                Condition(
                    "roles",
                    False,
                    _t("c_roles", L),
                    tuple(c for pv in pvs for pr in pv.problems for c in pr.citations),
                )
            )

        bens = [pv for pv in pvs if pv.counts_for_composition]
        ms_ac_countries = _unique(pv.country for pv in bens)
        ms_countries = _unique(pv.country for pv in bens if pv.verdict.status in EU_LIKE)
        names = ", ".join(self.name(cc, L) for cc in ms_ac_countries) or "—"

        if a in ("RIA", "IA", "MSCA-DN"):
            rid = "msca_dn_consortium" if a == "MSCA-DN" else "consortium_composition"
            cits = self.rules[rid]
            has_ms = bool(ms_countries)
            enough = len(ms_ac_countries) >= 3
            conditions.append(Condition("member_state", has_ms, _t("c_member_state", L), cits))
            conditions.append(
                Condition(
                    "three_ms_ac", enough, _t("c_min_three", L, n=len(ms_ac_countries), list=names), cits
                )
            )
            if not has_ms:
                fixes.append(Reason("add_member_state", _t("x_add_ms", L), cits))
            short = 3 - len(ms_ac_countries) - (0 if has_ms else 1)
            if short > 0:
                fixes.append(Reason("add_ms_ac", _t("x_add_ms_ac", L, n=short, list=names), cits))
            if any(pv.role == "affiliated_entity" for pv in pvs) and a != "MSCA-DN":
                notes.append(
                    self._r(
                        "affiliated_not_counted", _t("n_affiliated_not_counted", L), "affiliated_not_counted"
                    )
                )
        elif a == "CSA":
            ok = bool(bens)
            conditions.append(
                Condition(
                    "csa_beneficiary",
                    ok,
                    _t("c_csa", L),
                    self.rules["csa_single"] + self.rules["csa_beneficiaries"],
                )
            )
            if not ok:
                fixes.append(
                    self._r("add_ms_ac", _t("x_csa", L), "csa_beneficiaries", "csa_associated_partners")
                )
        elif a == "MSCA-PF":
            n = sum(1 for pv in pvs if pv.role == "beneficiary")
            ok = n == 1 and len(bens) == 1
            conditions.append(Condition("pf_single", ok, _t("c_pf", L, n=n), self.rules["msca_pf_single"]))
            if not ok:
                fixes.append(self._r("pf", _t("x_pf_none" if not bens else "x_pf_many", L), "msca_pf_single"))
        elif a == "MSCA-SE":
            members = [
                pv
                for pv in pvs
                if pv.role in ("beneficiary", "associated_partner")
                and pv.verdict.may_participate
                and not pv.problems
            ]
            countries = _unique(pv.country for pv in members)
            all_names = ", ".join(self.name(cc, L) for cc in countries) or "—"
            cits = self.rules["msca_se_consortium"]
            three = len(members) >= 3 and len(countries) >= 3
            two = len(ms_ac_countries) >= 2
            conditions.append(
                Condition("se_three_countries", three, _t("c_se_three", L, n=len(countries)), cits)
            )
            conditions.append(
                Condition(
                    "se_two_ms_ac",
                    two,
                    _t("c_se_two", L, n=len(ms_ac_countries)),
                    cits + self.rules["msca_se_beneficiaries"],
                )
            )
            academic = any(pv.entity_type in ACADEMIC for pv in members)
            non_academic = any(pv.entity_type not in ACADEMIC for pv in members)
            sector_cits = self.rules["msca_se_sectors"] + self.rules["msca_academic_sector"]
            conditions.append(
                Condition("se_sectors", academic and non_academic, _t("c_se_sectors", L), sector_cits)
            )
            if not two:
                fixes.append(
                    Reason(
                        "add_ms_ac",
                        _t("x_se_two", L, n=2 - len(ms_ac_countries), list=names),
                        cits + self.rules["msca_se_beneficiaries"],
                    )
                )
            if not three:
                extra = max(3 - len(countries) - max(0, 2 - len(ms_ac_countries)), 0)
                if extra > 0:
                    fixes.append(Reason("add_country", _t("x_se_three", L, n=extra, list=all_names), cits))
            if not academic:
                fixes.append(Reason("add_academic", _t("x_se_academic", L), sector_cits))
            if not non_academic:
                fixes.append(Reason("add_non_academic", _t("x_se_non_academic", L), sector_cits))
            if any(pv.role == "associated_partner" for pv in members):
                notes.append(
                    self._r(
                        "se_counting", _t("n_se_counting", L), "msca_se_consortium", "msca_se_beneficiaries"
                    )
                )
        elif a == "ERC":
            ok = bool(bens)
            conditions.append(Condition("erc_host", ok, _t("c_erc", L), self.rules["erc_host_ms_ac"]))
            if not ok:
                fixes.append(self._r("add_host", _t("x_erc", L), "erc_host_ms_ac"))

        if any(pv.verdict.status == OCT and pv.counts_for_composition for pv in pvs) and a in (
            "RIA",
            "IA",
            "MSCA-DN",
        ):
            notes.append(
                self._r("oct_composition", _t("n_oct_composition", L), "pg_oct", "consortium_composition")
            )
        if len(pvs) > 1:
            notes.append(
                self._r(
                    "independence",
                    _t("n_independence", L),
                    extra=self.rules["consortium_composition"][:1]
                    if a != "MSCA-SE"
                    else self.rules["msca_se_consortium"],
                )
            )

        meets = all(c.met for c in conditions)
        if meets:
            summary = _t("s_meets", L)
        else:
            why = " ".join(c.text for c in conditions if not c.met)
            fix = " ".join(f.text for f in fixes)
            summary = _t("s_fails", L, why=why, fix=fix)
        return ConsortiumVerdict(a, p, L, pvs, conditions, meets, fixes, notes, summary)


_ROLE_REASONS = {
    "beneficiary": ("pf", "se", "csa", "beneficiary_needs_funding", "erc_host"),
    "affiliated_entity": ("msca_no_affiliated", "affiliated"),
    "associated_partner": ("msca_ap",),
}


def _role_citations(v: EntityVerdict, role: str) -> tuple[Citation, ...]:
    """The citations of the reasons that decide whether the entity can take a role."""
    out: list[Citation] = []
    for reason in v.reasons:
        if reason.code in _ROLE_REASONS[role]:
            out.extend(c for c in reason.citations if c not in out)
    return tuple(out)


def _unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for x in items:
        if x not in out:
            out.append(x)
    return out


def _checker(rules: Mapping | EligibilityChecker) -> EligibilityChecker:
    return rules if isinstance(rules, EligibilityChecker) else EligibilityChecker(rules)


def check_entity(
    country: str,
    entity_type: str,
    action: str,
    programme: str = "he",
    *,
    rules: Mapping | EligibilityChecker,
    lang: str = "en",
) -> EntityVerdict:
    """Verdict for one entity; ``rules`` is ``EligibilityRules.to_dict()`` data or a checker built from it."""
    return _checker(rules).check_entity(country, entity_type, action, programme, lang)


def check_consortium(
    partners: Sequence[object],
    action: str,
    programme: str = "he",
    *,
    rules: Mapping | EligibilityChecker,
    lang: str = "en",
) -> ConsortiumVerdict:
    """Verdict for a consortium: partners as (country, entity_type), (name, country, entity_type), dicts or
    Partner; ``rules`` as for check_entity."""
    return _checker(rules).check_consortium(partners, action, programme, lang)
