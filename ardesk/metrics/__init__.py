"""KPIs of the AR book (DOMAIN.md): `definitions` (pure functions), `queries` (the SQL that feeds them,
as of any date), `selectors` (scoped, sliced reports), `schemas`/`api` (the /api/v1/metrics/ router) and
the `ardesk kpi` command."""
