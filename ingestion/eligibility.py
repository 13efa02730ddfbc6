"""The eligibility rules, built from what the index holds: the pages of the documents that carry an
``eligibility_role`` in the manifest (the General Annexes' country lists; the Regulation, Programme Guide,
Model Grant Agreement, MSCA and ERC work programmes' rules), the Horizon Europe work programmes (topics that
open funding to named countries) and the CORDIS country names. Rebuilt when any of them changes; stored in
the catalog as JSON for assistant/eligibility.py.
"""

from __future__ import annotations

import hashlib
import json
import logging

from assistant.index.catalog import ELIGIBILITY_RULES, Catalog
from assistant.manifest import Manifest
from ingestion.corpus import sha256_of
from ingestion.parse_eligibility import CountryNames, EligibilityParseError, build_rules

log = logging.getLogger(__name__)

RULES_KEY = ELIGIBILITY_RULES
VERSION = "eligibility-1"


def _sources(manifest: Manifest, catalog: Catalog) -> tuple[dict[str, str], list[str], str | None]:
    """(role -> doc id, work-programme doc ids, CORDIS countries path) of what the index holds."""
    indexed = catalog.documents()
    roles = {d.eligibility_role: d.id for d in manifest.present if d.eligibility_role and d.id in indexed}
    programmes = [
        d.id for d in manifest.present
        if d.programme == "horizon-europe" and d.kind == "work-programme" and d.id in indexed
        and d.id not in roles.values()
    ]
    countries = next((d.path for d in manifest.present if d.parser == "cordis-countries"), None)
    return roles, programmes, countries


def refresh_eligibility_rules(manifest: Manifest, catalog: Catalog, corpus_dir, warn) -> bool:  # type: ignore[no-untyped-def]
    """Build the rules again when their sources changed; True when they were (re)built. A parse problem is
    reported through ``warn`` and leaves the previous rules in place."""
    roles, programmes, countries = _sources(manifest, catalog)
    if "general_annexes" not in roles or countries is None or not (corpus_dir / countries).is_file():
        return False
    states = catalog.documents()
    key = "|".join(
        [VERSION, *(f"{r}:{states[d].fingerprint}" for r, d in sorted(roles.items())),
         *(states[d].fingerprint for d in sorted(programmes)), sha256_of(corpus_dir / countries)]
    )
    fingerprint = hashlib.sha256(key.encode()).hexdigest()
    if catalog.get_meta(RULES_KEY + "_fingerprint") == fingerprint:
        return False
    by_id = {d.id: d for d in manifest.present}
    try:
        names = CountryNames.from_cordis(corpus_dir / countries)
        sources = {role: (by_id[doc_id].path, catalog.pages(doc_id)) for role, doc_id in roles.items()}
        wps = [(by_id[doc_id].path, catalog.pages(doc_id)) for doc_id in programmes]
        rules = build_rules(sources, names, wps)
    except (EligibilityParseError, OSError, ValueError) as exc:
        warn(f"eligibility rules not rebuilt ({exc}); the previous ones are kept")
        return False
    catalog.set_meta(RULES_KEY, json.dumps(rules.to_dict(), ensure_ascii=False))
    catalog.set_meta(RULES_KEY + "_fingerprint", fingerprint)
    return True
