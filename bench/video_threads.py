"""Thread budgets of `vsrife video`: the filter alone, the encoder alone, both, interleaved (A/B/A/B).

    python bench/video_threads.py [--frames 40] [--rounds 3] [--preset medium]

Source: bigbuckbunny 1280x720 (the sample), model 4.0, 2x, the first ``--frames`` source frames. Per round, in
order: F = ``vspipe -p`` over the script `vsrife script` prints (frame work only, torch on every core); E1 =
ffmpeg x264 alone from a pre-rendered y4m of the same output (1 thread); P(t,x) = the whole
``vsrife video`` command (probe, script, vspipe | ffmpeg, audio mux) with ``--threads t --encoder-threads x``;
B2x = the bare ``vspipe | ffmpeg`` pipe with x264's own thread count (B20) or one thread (B21).
Prints each run's wall time and, per configuration, the median, output fps and (F + E1) / P: the share of the rate
the two would reach if their CPU times simply added up.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / ".cache" / "samples" / "bigbuckbunny.mp4"
PY = sys.executable
VSPIPE = str(Path(PY).parent / "vspipe")


def _time(cmd: str) -> float:
    t = time.monotonic()
    subprocess.run(cmd, shell=True, check=True, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=20, help="source frames (output: twice as many)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--preset", default="medium")
    a = ap.parse_args()
    wd = Path(tempfile.mkdtemp(prefix="vsrife-bench-"))
    job = wd / "job.vpy"
    job.write_text(subprocess.run([PY, "-m", "vsrife", "script", str(SAMPLE), "--end", str(a.frames)],
                                  check=True, capture_output=True, text=True, cwd=REPO).stdout)
    y4m = wd / "out.y4m"
    subprocess.run(f"'{VSPIPE}' -c y4m '{job}' '{y4m}'", shell=True, check=True, capture_output=True)
    out_frames = 2 * a.frames
    enc = f"ffmpeg -v error -y -f yuv4mpegpipe -i '{y4m}' -c:v libx264 -crf 18 -preset {a.preset}"
    pipe = f"ffmpeg -v error -y -f yuv4mpegpipe -i - -c:v libx264 -crf 18 -preset {a.preset} '{wd / 'b.mp4'}'"
    vid = (f"'{PY}' -m vsrife video '{SAMPLE}' --end {a.frames} --preset {a.preset} -q --overwrite "
           f"-o '{wd / 'p.mp4'}'")
    configs = {
        "F  filter alone (vspipe -p, torch 2)": f"'{VSPIPE}' -a threads=2 -p '{job}' --",
        "E1 x264 alone, 1 thread": f"{enc} -threads 1 '{wd / 'e.mp4'}'",
        "B20 vspipe | x264 (torch 2, x264's own threads)": f"'{VSPIPE}' -a threads=2 -c y4m '{job}' - | {pipe}",
        "B21 vspipe | x264 -threads 1 (torch 2)": f"'{VSPIPE}' -a threads=2 -c y4m '{job}' - | {pipe} -threads 1",
        "P21 vsrife video (default: --threads 2 --encoder-threads 1)": f"{vid} --threads 2 --encoder-threads 1",
    }
    times: dict[str, list[float]] = {k: [] for k in configs}
    for r in range(a.rounds):
        for name, cmd in configs.items():
            times[name].append(_time(cmd))
            print(f"round {r + 1}: {name}: {times[name][-1]:.2f} s", flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    f, e1 = med["F  filter alone (vspipe -p, torch 2)"], med["E1 x264 alone, 1 thread"]
    print(f"\n{out_frames} output frames (720p, 4.0, 2x, x264 crf 18 preset {a.preset}); medians of {a.rounds}")
    for name, v in times.items():
        share = f"  (F+E1)/this = {(f + e1) / med[name]:.1%}" if name[0] in "BP" else ""
        print(f"{name}: {med[name]:.2f} s [{', '.join(f'{x:.1f}' for x in v)}] = {out_frames / med[name]:.2f} "
              f"output fps{share}")


if __name__ == "__main__":
    main()
