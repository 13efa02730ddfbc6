"""Who may take part in Horizon Europe and who is funded, computed from the rules the documents state.

    checker.py  verdicts for one entity or a consortium (pure: takes the rules ingestion read)
    render.py   a verdict as a cited answer (direct verdict first, then its reasons) and as JSON
"""
