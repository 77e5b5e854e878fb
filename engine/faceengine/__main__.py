"""Command line: python -m faceengine TARGET TEMPLATE -o OUT [--face-index N] [--report report.json]."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import FaceSwapError
from .models import ModelsUnavailableError
from .options import BLENDS, WARPS, SwapOptions


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m faceengine", description="Swap a face offline (CPU only).")
    parser.add_argument("target", type=Path, help="photo whose face is replaced (JPEG or PNG)")
    parser.add_argument("template", type=Path, help="photo that gives the face")
    parser.add_argument("-o", "--output", type=Path, required=True, help="result file (same format as the target)")
    parser.add_argument(
        "--face-index",
        type=int,
        help="target face to replace, left to right from 0 (default: the most frontal large face)",
    )
    parser.add_argument(
        "--template-face-index", type=int, help="template face to use (default: the most frontal large face)"
    )
    parser.add_argument("--all-faces", action="store_true", help="replace every face of the target")
    parser.add_argument("--warp", choices=WARPS, default="similarity")
    parser.add_argument("--blend", choices=BLENDS, default="seamless")
    parser.add_argument("--no-colour-transfer", action="store_true", help="keep the template face's own colours")
    parser.add_argument(
        "--no-relight", action="store_true", help="one mean/spread colour match instead of the target's light"
    )
    parser.add_argument("--jpeg-quality", type=int, help="JPEG result quality (default: the target's own tables)")
    parser.add_argument("--report", type=Path, help="write the quality report (JSON) here; '-' for stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .engine import swap  # after argument parsing, so --help stays fast

    try:
        options = SwapOptions(
            warp=args.warp,
            blend=args.blend,
            face_index=args.face_index,
            template_face_index=args.template_face_index,
            all_faces=args.all_faces,
            colour_transfer=not args.no_colour_transfer,
            relight=not args.no_relight,
            jpeg_quality=args.jpeg_quality,
        )
        result = swap(args.target.read_bytes(), args.template.read_bytes(), options)
    except FaceSwapError as error:
        print(json.dumps({"error": error.to_dict()}), file=sys.stderr)
        return 2
    except (ValueError, OSError, ModelsUnavailableError) as error:
        print(f"faceengine: {error}", file=sys.stderr)
        return 1
    args.output.write_bytes(result.image)
    report = json.dumps(result.report, indent=2)
    if args.report and str(args.report) == "-":
        print(report)
    elif args.report:
        args.report.write_text(report + "\n")
    warnings = result.report["warnings"]
    total = result.report["timings_ms"]["total_ms"]
    print(f"wrote {args.output} ({result.content_type}, {len(result.image)} bytes) in {total:.0f} ms", file=sys.stderr)
    for warning in warnings:
        print(f"warning: {warning['code']}: {warning['message']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
