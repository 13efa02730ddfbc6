"""The topic finder: from a research idea to the Horizon Europe call topics that fit, with dates, money and
the sentences of each topic that say why it fits.

    finder.py  ranking (the topics' own sentences, titles and keywords, fused by rank) and filters
    render.py  cards as text (English/Spanish), JSON, and an iCalendar file of the deadlines
"""
