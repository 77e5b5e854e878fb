"""The AILabTools "AI Face Swap" adapter (requests + stdlib only; runs in Lambda)."""

from .classification import PROVIDER_CODE_TABLE, Classification, classify
from .client import API_KEY_HEADER, CAPABILITIES, PROVIDER_NAME, QUERY_PATH, SUBMIT_PATH, AilabClient

__all__ = [
    "API_KEY_HEADER",
    "CAPABILITIES",
    "PROVIDER_CODE_TABLE",
    "PROVIDER_NAME",
    "QUERY_PATH",
    "SUBMIT_PATH",
    "AilabClient",
    "Classification",
    "classify",
]
