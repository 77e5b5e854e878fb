"""Labelling results as AI-generated, and checking such labels.

Order matters: the watermark changes pixels, the XMP packet changes metadata, and the C2PA manifest hashes the final
bytes, so it comes last. Heavy libraries (numpy, c2pa) are imported by the modules that need them, which only the
archive function loads.
"""

from __future__ import annotations

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
SERVICE_NAME = "faceswap-service"
SERVICE_VERSION = "0.1.0"
MODES = ("full", "metadata", "off")
# Our own C2PA assertion labels (reverse-domain, as the specification asks of custom assertions).
CONSENT_LABEL = "org.faceswap.consent"
JOB_LABEL = "org.faceswap.job"


def unlabelled_provenance() -> dict[str, bool | None]:
    """`off` mode: nothing marks the result."""
    return {"c2pa": False, "xmp": False, "watermark": False, "digital_source_type": None, "watermark_payload": None}
