"""Partner search over the CORDIS data: who took part in which projects, with evidence.

    filters.py  what a question asks for (countries, topic, type of action, role, subject words)
    search.py   the ranked projects and organisations, with structured reasons
    render.py   the cited text answer and the JSON, in English or Spanish
"""
