"""Print `132 frames @ 25 fps -> 264 frames @ 50 fps, N s` for the demo (uses ffprobe)."""

import json
import subprocess
import sys
import time
from fractions import Fraction


def probe(path: str) -> tuple[int, Fraction, bool]:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                          "stream=codec_type,nb_read_frames,r_frame_rate", "-of", "json", path],
                         check=True, capture_output=True, text=True).stdout
    streams = json.loads(out)["streams"]
    v = next(s for s in streams if s["codec_type"] == "video")
    return int(v["nb_read_frames"]), Fraction(v["r_frame_rate"]), any(s["codec_type"] == "audio" for s in streams)


def main() -> None:
    src, dst, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    n0, r0, _ = probe(src)
    n1, r1, audio = probe(dst)
    secs = time.time() - start
    fmt = lambda r: f"{float(r):g}"  # noqa: E731
    print(f"{n0} frames @ {fmt(r0)} fps -> {n1} frames @ {fmt(r1)} fps, {secs:.0f} s"
          f" ({n1 / secs:.2f} output fps{', audio kept' if audio else ''}) -> {dst}")


if __name__ == "__main__":
    main()
