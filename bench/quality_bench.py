"""Engine quality benchmark: the sample photos and generated variants of them (relit, rotated, mirrored, downscaled,
greyscale, a synthetic group made by tiling), each swapped with the default options. Per case: identity distance
(dev-only dlib descriptor, when installed), the colour and lighting figures of the report and its warnings; the old
colour method (one mean/spread colour match, no relighting) beside it for the relit cases. Writes
bench/results/quality.md and a contact sheet, docs/images/quality_sheet.jpg, that a person can judge at a glance.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from bench import quality_variants as variants
from bench.report import publish

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT / ".cache" / "samples"
RESULTS = REPO_ROOT / "bench" / "results" / "quality.md"
SHEET = REPO_ROOT / "docs" / "images" / "quality_sheet.jpg"
SAMPLE_NAMES = ("astronaut.png", "grace_hopper.jpg", "camera.png")
IDENTITY_THRESHOLD = 0.6
PANEL = 180  # contact sheet panel height, pixels
SHEET_MAX_BYTES = 600_000

if str(REPO_ROOT / "engine") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "engine"))

Image = np.ndarray


@dataclass(frozen=True)
class Case:
    name: str
    target: str  # sample name the target is made from (also the identity the swap must remove)
    template: str
    make_target: Callable[[Image], Image] = lambda image: image
    make_template: Callable[[Image], Image] = lambda image: image
    all_faces: bool = False
    compare_old_colour: bool = False  # also run the old colour method, to show what relighting changed
    back: Callable[[Image], Image] | None = None  # turns the result back upright for the identity check


A, H, C = SAMPLE_NAMES
SPAN = variants.FACE_SPAN_X


def _group(_: Image) -> Image:
    """Six copies of Eileen Collins (some mirrored, one turned a little) as a 4095 px wide group photo."""
    upright, mirrored = _load(A), variants.mirrored(_load(A))
    tilted = cv2.warpAffine(
        upright, cv2.getRotationMatrix2D((256, 256), 12, 1.0), (512, 512), borderMode=cv2.BORDER_REFLECT
    )
    return variants.tiled_group([upright, mirrored, tilted, mirrored, upright, mirrored], 560, 4095)


CASES = (
    Case("astronaut <- hopper", A, H),
    Case("hopper <- astronaut", H, A, compare_old_colour=True),
    Case("astronaut <- cameraman", A, C),
    Case("cameraman <- astronaut", C, A),
    Case("astronaut <- hopper, template dark on one side", A, H,
         make_template=lambda i: variants.one_side_darker(i, SPAN[H]), compare_old_colour=True),
    Case("astronaut <- hopper, template warm cast", A, H,
         make_template=lambda i: variants.colour_cast(i, True), compare_old_colour=True),
    Case("astronaut <- hopper, template cool cast", A, H,
         make_template=lambda i: variants.colour_cast(i, False), compare_old_colour=True),
    Case("astronaut dark on one side <- hopper", A, H,
         make_target=lambda i: variants.one_side_darker(i, SPAN[A]), compare_old_colour=True),
    Case("hopper cool cast <- astronaut", H, A, make_target=lambda i: variants.colour_cast(i, False),
         compare_old_colour=True),
    Case("astronaut <- hopper, lavender patch on a cheek", A, H,
         make_template=lambda i: variants.coloured_patch(i, (250, 300), 35, (1.5, 0.7, 1.3)), compare_old_colour=True),
    Case("astronaut rotated 90 <- hopper", A, H, make_target=lambda i: variants.rotated(i, 90),
         back=lambda i: variants.rotated(i, 270)),
    Case("astronaut rotated 180 <- hopper", A, H, make_target=lambda i: variants.rotated(i, 180),
         back=lambda i: variants.rotated(i, 180)),
    Case("astronaut <- hopper rotated 180", A, H, make_template=lambda i: variants.rotated(i, 180)),
    Case("astronaut mirrored <- hopper", A, H, make_target=variants.mirrored),
    Case("astronaut x2 <- hopper downscaled 0.4", A, H,
         make_target=lambda i: cv2.resize(i, (1024, 1024), interpolation=cv2.INTER_CUBIC),
         make_template=lambda i: variants.downscaled(i, 0.4)),
    Case("astronaut greyscale <- hopper", A, H, make_target=variants.greyscale),
    Case("group of 6, 4095 px, all faces <- hopper", A, H, make_target=_group, all_faces=True),
    Case("group of 6, 4095 px, default face <- hopper", A, H, make_target=_group),
)  # fmt: skip


def _load(name: str) -> Image:
    image = cv2.imread(str(SAMPLES / name), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(SAMPLES / name)
    return image


def _png(image: Image) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def _decode(data: bytes) -> Image:
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise ValueError("not a decodable image")
    return decoded


class _Identity:
    """dlib's face descriptor (dev only): distance between faces, 0.6 = different people."""

    def __init__(self) -> None:
        import dlib
        import face_recognition_models

        self.detector = dlib.get_frontal_face_detector()
        self.shapes = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
        self.encoder = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())
        self.dlib = dlib

    def descriptors(self, bgr: Image, box: list[int] | None = None) -> np.ndarray:
        rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        if box is not None:
            x, y, width, height = box
            rect = self.dlib.rectangle(x, y, x + width, y + height)
        else:
            found = self.detector(rgb, 1)
            if not found:  # dlib's HOG detector misses turned faces: the engine's detector gives the box
                return self.descriptors(bgr, _engine_box(bgr)) if _engine_box(bgr) else np.zeros(0)
            rect = max(found, key=lambda r: r.area())
        return np.array(self.encoder.compute_face_descriptor(rgb, self.shapes(rgb, rect)))


def _engine_box(bgr: Image) -> list[int] | None:
    from faceengine.detect import detect_faces
    from faceengine.models import load_models

    faces, _ = detect_faces(load_models(), bgr)
    if not faces:
        return None
    return [round(value) for value in max(faces, key=lambda face: face.size).box]


def _identity() -> _Identity | None:
    try:
        return _Identity()
    except ImportError as error:
        print(f"identity check skipped: {error.name} not installed (pip install -r requirements/bench.txt)")
        return None


def _face_box(report: dict, number: int = 0) -> list[int]:
    face = next(f for f in report["target"]["faces"] if f["index"] == report["target"]["faces_used"][number])
    return face["box"]


def _codes(report: dict) -> str:
    names = sorted({w["code"] + (f"[{w['face']}]" if w.get("face") is not None else "") for w in report["warnings"]})
    return ", ".join(names) or "none"


def _figures(face: dict) -> str:
    lighting, skin = face["lighting"], face["skin_vs_surroundings"]
    neck = "-" if skin["neck"] is None else f"{skin['neck']:+.1f}"
    forehead = "-" if skin["forehead"] is None else f"{skin['forehead']:+.1f}"
    return (
        f"{face['colour_match']['delta_e']:.1f} | {neck} / {forehead} | {lighting['left_right_delta_l']:+.1f} / "
        f"{lighting['top_bottom_delta_l']:+.1f} | {lighting['worst_sector_delta_ab']:.1f} | "
        f"{face['seam']['score']:+.1f}"
    )


def _compact(face: dict) -> str:
    lighting, skin = face["lighting"], face["skin_vs_surroundings"]
    neck = "-" if skin["neck"] is None else f"{skin['neck']:+.1f}"
    return (
        f"dE {face['colour_match']['delta_e']:.1f}, neck {neck}, L/R {lighting['left_right_delta_l']:+.1f}, "
        f"patch {lighting['worst_sector_delta_ab']:.1f}"
    )


def _close_up(image: Image, region: list[int], height: int = PANEL) -> Image:
    x, y, width, box_height = region
    side = round(max(width, box_height) * 1.15)
    centre_x, centre_y = x + width // 2, y + box_height // 2
    x0, y0 = max(0, centre_x - side // 2), max(0, centre_y - side // 2)
    crop = image[y0 : y0 + side, x0 : x0 + side]
    return cv2.resize(crop, (height, height), interpolation=cv2.INTER_AREA if side > height else cv2.INTER_CUBIC)


def _panel(image: Image, height: int = PANEL) -> Image:
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    if width > 2 * height:  # a wide group photo: letterboxed into two panels' width
        width = 2 * height
        image = cv2.resize(image, (width, round(image.shape[0] * width / image.shape[1])), interpolation=cv2.INTER_AREA)
        pad = height - image.shape[0]
        return cv2.copyMakeBorder(image, pad // 2, pad - pad // 2, 0, 0, cv2.BORDER_CONSTANT, value=(40, 40, 40))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _label(panel: Image, lines: list[str]) -> Image:
    labelled = panel.copy()
    cv2.rectangle(labelled, (0, 0), (labelled.shape[1], 14 * len(lines) + 4), (0, 0, 0), -1)
    for number, text in enumerate(lines):
        cv2.putText(labelled, text, (4, 13 + 14 * number), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                    cv2.LINE_AA)  # fmt: skip
    return labelled


def _row(
    case: Case, target: Image, template: Image, result: Image, report: dict, old: Image | None, old_report: dict | None
) -> Image:
    face = report["swaps"][0]
    panels = [
        _label(_panel(target), [case.name[:44]]),
        _label(_panel(template), ["template"]),
        _label(_close_up(result, face["region"]), ["result (close-up)"]),
    ]
    if old is not None and old_report is not None:
        flagged = sorted({w["code"] for w in old_report["warnings"]} & {"COLOUR_MISMATCH", "LIGHTING_MISMATCH"})
        lines = ["old colour method", *(code.lower() for code in flagged)] if flagged else ["old colour method"]
        panels.append(_label(_close_up(old, face["region"]), lines))
    else:
        panels.append(_label(_panel(result), ["result"]))
    strip = cv2.hconcat(panels)
    warnings = _codes(report)
    footer = np.zeros((18, strip.shape[1], 3), np.uint8)
    cv2.putText(footer, f"warnings: {warnings}"[:150], (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (200, 255, 200), 1,
                cv2.LINE_AA)  # fmt: skip
    return cv2.vconcat([strip, footer])


def _sheet(rows: list[Image]) -> bytes:
    """The rows in two columns, case order top to bottom then left to right."""
    width = max(row.shape[1] for row in rows)
    padded = [
        cv2.copyMakeBorder(r, 0, 4, 0, width - r.shape[1] + 8, cv2.BORDER_CONSTANT, value=(0, 0, 0)) for r in rows
    ]
    half = -(-len(padded) // 2)
    columns = [padded[:half], padded[half:]]
    height = max(sum(row.shape[0] for row in column) for column in columns)
    stacked = []
    for column in columns:
        image = cv2.vconcat(column) if column else np.zeros((height, width + 8, 3), np.uint8)
        stacked.append(cv2.copyMakeBorder(image, 0, height - image.shape[0], 0, 0, cv2.BORDER_CONSTANT, value=0))
    sheet = cv2.hconcat(stacked)
    for quality in (85, 78, 70, 60):
        data = cv2.imencode(".jpg", sheet, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()
        if len(data) <= SHEET_MAX_BYTES:
            break
    return data


def _ensure_samples() -> None:
    if not all((SAMPLES / name).is_file() for name in SAMPLE_NAMES):
        subprocess.run(
            [sys.executable, str(REPO_ROOT / "scripts" / "fetch_samples.py"), "--dest", str(SAMPLES)], check=True
        )


def main() -> int:
    from faceengine import FaceSwapError, SwapOptions, swap

    _ensure_samples()
    identity = _identity()
    originals = {name: _load(name) for name in SAMPLE_NAMES}
    reference = {name: identity.descriptors(image) for name, image in originals.items()} if identity else {}
    lines = [
        "# Offline engine quality benchmark",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}, "
        f"OpenCV {cv2.__version__}. Default options (similarity warp, seamless blend, relighting). Targets and "
        "templates are the sample photos or generated variants of them (`bench/quality_variants.py`).",
        "",
        "Columns: identity = dlib descriptor distance of the result's face to the template person / to the target "
        "person (pass: < 0.6 to the template and farther from the target); colour dE = new face's mean colour vs "
        "the original face (delta-E); neck / forehead = the new skin's difference to them beyond the original "
        "photo's own (delta-E; - = not skin or not in view); L/R and T/B = lightness change of one half of the face "
        "against the other; patch = worst cell-to-cell colour change (delta-ab); seam = seam score. "
        "Warnings with [face index]. 'old colour method' = the same swap with one mean/spread colour match "
        "instead of relighting (what the engine did before).",
        "",
        "| case | identity (to template / to target) | colour dE | neck / forehead | L/R / T/B | patch | seam "
        "| warnings | old colour method: figures | old: warnings | ms |",
        "| --- | --- | ---: | --- | --- | ---: | ---: | --- | --- | --- | ---: |",
    ]
    rows, passes, checked = [], 0, 0
    for case in CASES:
        target_image = case.make_target(originals[case.target])
        template_image = case.make_template(originals[case.template])
        options = SwapOptions(all_faces=case.all_faces)
        try:
            result = swap(_png(target_image), _png(template_image), options)
        except FaceSwapError as error:
            lines.append(f"| {case.name} | refused: {error.code} | | | | | | | | | |")
            continue
        report, face = result.report, result.report["swaps"][0]
        result_image = _decode(result.image)
        identity_cell = "n/a"
        if identity is not None:
            upright = case.back(result_image) if case.back else result_image
            box = _face_box(report) if case.make_target is _group else None  # dlib's detector misses these
            vector = identity.descriptors(upright, box)
            if vector.size:
                to_template = float(np.linalg.norm(vector - reference[case.template]))
                to_target = float(np.linalg.norm(vector - reference[case.target]))
                ok = to_template < IDENTITY_THRESHOLD and to_target > to_template
                passes += ok
                checked += 1
                identity_cell = f"{to_template:.2f} / {to_target:.2f} {'pass' if ok else 'FAIL'}"
            else:
                identity_cell = "no face found by dlib"
        old_cells, old_image, old_report = " | ", None, None
        if case.compare_old_colour:
            old = swap(_png(target_image), _png(template_image), SwapOptions(relight=False))
            old_image, old_report = _decode(old.image), old.report
            old_cells = f"{_compact(old.report['swaps'][0])} | {_codes(old.report)}"
        total = report["timings_ms"]["total_ms"]
        lines.append(
            f"| {case.name} | {identity_cell} | {_figures(face)} | {_codes(report)} | {old_cells} | {total:.0f} |"
        )
        rows.append(_row(case, target_image, template_image, result_image, report, old_image, old_report))
    if identity is not None:
        lines += ["", f"Identity check: {passes} of {checked} results pass."]
    SHEET.parent.mkdir(parents=True, exist_ok=True)
    SHEET.write_bytes(_sheet(rows))
    lines += ["", f"Contact sheet: `{SHEET.relative_to(REPO_ROOT)}`."]
    publish(RESULTS, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
