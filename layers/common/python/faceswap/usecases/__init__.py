"""Use cases: what the API, the triggers and the workflow steps do, composed from domain and adapters."""
