"""The web app (FastAPI + Jinja2): the lead portal (lead.py) and the officers' workspace (officer*.py), over
grants.* directly; app.py builds it, security.py holds the shared protections. Never imports Prefect."""
