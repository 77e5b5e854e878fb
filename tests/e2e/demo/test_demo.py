"""`make demo`'s path in the test suite (scaled time): a real swap, the documented event, a succeeded job."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import jsonschema
import numpy as np
from faceswap_local import demo

from tests.conftest import EVENTS
from tests.unit.engine.helpers import dilated_face_region, inner_hull, landmark_error, largest_landmarks


def decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_demo_produces_a_real_swap_and_its_event(tmp_path: Path, sample_photos, capsys):
    status = demo.run(tmp_path, sample_photos["astronaut"], sample_photos["grace_hopper"], time_scale=0.02, timeout=60)
    output = capsys.readouterr().out
    assert status == 0
    assert "c2pa=valid" in output and "watermark=found" in output  # the demo prints the result's verification
    result = (tmp_path / "result.png").read_bytes()
    assert (tmp_path / "side_by_side.jpg").stat().st_size > 10_000

    # A real swap: the face changed, the background did not, and a face is still found where the target's was.
    original, swapped = decode(sample_photos["astronaut"].read_bytes()), decode(result)
    target_points = largest_landmarks(original)
    outside = ~dilated_face_region(target_points, original.shape, 0.12)
    # Outside the face only the invisible watermark changed pixels: a few levels at most, about 2 on average.
    background_change = np.abs(swapped.astype(int) - original)[outside]
    assert int(background_change.max()) <= 7 and float(background_change.mean()) < 3
    inside = inner_hull(target_points, original.shape)
    assert float(np.abs(swapped.astype(int) - original)[inside].mean()) > 8
    assert landmark_error(largest_landmarks(swapped), target_points) < 0.15

    # The event arrived with the documented schema, and the job record says succeeded.
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    (event,) = [e for e in events if e["detail-type"] == "FaceSwap Succeeded"]
    schema = json.loads((EVENTS / "schemas" / "faceswap_succeeded.schema.json").read_text())
    jsonschema.validate(event, schema)
    assert event["detail"]["status"] == "succeeded" and event["detail"]["client_reference"] == "make-demo"
    assert "state Archive" in output and "job succeeded" in output


def test_demo_can_use_an_external_provider(tmp_path: Path, sample_photos, capsys):
    """--provider-url/--provider-key: the whole local app talks to a service of the integrator's choosing."""
    from faceswap_local.emulator import EmulatorConfig, EmulatorServer, engine_swapper

    external = EmulatorServer(
        EmulatorConfig(api_keys=("integrator-key-123",), queued_seconds=0.05, processing_seconds=0.2), engine_swapper
    )
    url = external.start()
    try:
        status = demo.run(
            tmp_path,
            sample_photos["astronaut"],
            sample_photos["grace_hopper"],
            time_scale=0.02,
            timeout=60,
            provider_url=url,
            provider_key="integrator-key-123",
        )
        stats = external.stats()
    finally:
        external.stop()
    assert status == 0, capsys.readouterr().err
    assert stats["accepted_submissions"] == 1
    assert url in capsys.readouterr().out
