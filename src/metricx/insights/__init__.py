"""Insights and questions (DESIGN.md section 7): every number comes from the query engine.

- semantic.py   the validated semantic query and its JSON schema (the LLM tool's input)
- lexicon.py, dates.py, parser.py   the deterministic, offline parser (the default)
- results.py    the results shape the engine's output is adapted to
- executor.py   the adapter to the metrics engine (registered on the app by main.py)
- answer.py, numbers.py   deterministic answer text, visual spec, and the number guard
- llm.py        the optional Anthropic provider (translate, phrase), with fallbacks
- flow.py       one question end to end; service.py / endpoints.py the API around it
- ranking.py    the dashboard's two insights; sse.py the streaming event format
- panel.py      the two insights from engine breakdowns (GET /insights, refresh_insights)
"""
