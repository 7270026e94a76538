"""Whole-process extraction speed against trafilatura, on the AEB and the Indonesian corpora.

    python benchmarks/bench_extract.py --peer-python /tmp/trafvenv/bin/python [--pairs 5]

Runs `newsarchive extract --batch` and the trafilatura peer of ../shared/bench
(peers/trafilatura_cmd.py, under a Python that has trafilatura) over the same pages, in
alternating pairs (newsarchive first in even pairs, the peer first in odd ones), so machine load
hits both alike. Each run is a whole command: start-up, imports, reading files and JSON I/O count,
as in ../shared/bench/score_body.py. Reports per corpus the median docs/s of each and the median of
the per-pair ratios, by wall time and by CPU time (user + system of the child, steadier on a
shared, loaded machine), plus newsarchive's body F1 on AEB (score_body.py's own metric).

Compare ratios, not absolute speeds: the machine is shared.

--bytecode-cache runs both commands as installed software runs: with compiled bytecode. The
peer's site-packages ship compiled (pip compiles on install), while this checkout is an editable
install, so under PYTHONDONTWRITEBYTECODE=1 (as in the development shell) `newsarchive` compiles
its own source on every start. The option gives both commands one bytecode cache in a temporary
folder (PYTHONPYCACHEPREFIX, filled by an untimed warm-up run of each) and leaves the checkout
untouched.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def aeb_items(corpus: Path, scratch: Path) -> tuple[list[dict], dict[str, str]]:
    """AEB requests (pages inflated to plain files, as score_body.py hands them) and the truth."""
    truth_file = json.loads((corpus / "ground-truth.json").read_text("utf8"))
    items, truth = [], {}
    for item_id, entry in truth_file.items():
        source = corpus / "html" / f"{item_id}.html.gz"
        page = scratch / f"{item_id}.html"
        with gzip.open(source, "rt", encoding="utf8") as f:
            page.write_text(f.read(), encoding="utf8")
        items.append({"id": item_id, "url": entry.get("url"), "path": str(page)})
        truth[item_id] = entry.get("articleBody", "")
    return items, truth


def id_items(corpus: Path) -> list[dict]:
    items = []
    for line in (corpus / "truth.jsonl").read_text("utf8").splitlines():
        if line.strip():
            row = json.loads(line)
            path = corpus / row["file"]
            items.append({"id": row["file"], "url": row.get("url"), "path": str(path.resolve())})
    return items


def run(
    command: str, payload: bytes, env: dict[str, str] | None = None
) -> tuple[float, float, bytes]:
    """(wall seconds, child CPU seconds, stdout) of one whole run of `command`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        command, shell=True, input=payload, stdout=subprocess.PIPE, check=False, env=env
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode == 127:
        raise SystemExit(f"{command!r}: command not found (activate the virtual environment)")
    if proc.returncode not in (0, 1):  # 1: some page failed, still a full run
        raise SystemExit(f"{command!r} exited with {proc.returncode}")
    return wall, cpu, proc.stdout


def load_scorer(bench: Path):
    spec = importlib.util.spec_from_file_location("score_body", bench / "score_body.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def body_f1(scorer, truth: dict[str, str], output: bytes) -> float:
    preds: dict[str, str | None] = {}
    for line in output.decode("utf8", "replace").splitlines():
        if line.strip():
            rec = json.loads(line)
            preds[str(rec["id"])] = rec.get("body")
    metrics, _, _ = scorer.evaluate(truth, {k: preds.get(k) for k in truth}, 200, 0)
    return metrics["f1"]


def compare(
    name: str, items: list[dict], ours: str, peer: str, pairs: int, env: dict[str, str] | None
) -> tuple[dict, bytes]:
    payload = "".join(json.dumps(item) + "\n" for item in items).encode("utf8")
    n = len(items)
    rows = []
    first_output = b""
    for i in range(pairs):
        order = [("ours", ours), ("peer", peer)] if i % 2 == 0 else [("peer", peer), ("ours", ours)]
        result = {}
        for label, command in order:
            wall, cpu, out = run(command, payload, env)
            result[label] = (wall, cpu)
            if label == "ours" and not first_output:
                first_output = out
        rows.append(result)
        print(
            f"  {name} pair {i + 1}: newsarchive {n / result['ours'][0]:.1f} docs/s, "
            f"trafilatura {n / result['peer'][0]:.1f} docs/s, "
            f"ratio {result['peer'][0] / result['ours'][0]:.2f} (wall) "
            f"{result['peer'][1] / result['ours'][1]:.2f} (cpu)",
            flush=True,
        )
    summary = {
        "corpus": name,
        "docs": n,
        "pairs": pairs,
        "newsarchive_docs_s": statistics.median(n / r["ours"][0] for r in rows),
        "trafilatura_docs_s": statistics.median(n / r["peer"][0] for r in rows),
        "ratio_wall": statistics.median(r["peer"][0] / r["ours"][0] for r in rows),
        "ratio_cpu": statistics.median(r["peer"][1] / r["ours"][1] for r in rows),
    }
    return summary, first_output


def bytecode_env(scratch: Path, commands: list[str], items: list[dict]) -> dict[str, str]:
    """An environment whose bytecode cache holds what each command imports: one untimed run of
    each over a few pages (modules imported on first use get compiled too)."""
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(scratch / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    warm_up = "".join(json.dumps(item) + "\n" for item in items[:10]).encode("utf8")
    for command in commands:
        run(command, warm_up, env)
    return env


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--peer-python",
        default=os.environ.get("TRAFILATURA_PYTHON", "/tmp/trafvenv/bin/python"),
        help="a Python with trafilatura and lxml_html_clean installed ($TRAFILATURA_PYTHON)",
    )
    ap.add_argument("--pairs", type=int, default=5, help="alternating runs of each command")
    ap.add_argument("--shared", type=Path, default=SHARED, help="the ../shared folder")
    ap.add_argument("--cmd", default="newsarchive extract --batch", help="our command")
    ap.add_argument("--json-out", type=Path, help="write the summary here")
    ap.add_argument(
        "--bytecode-cache",
        action="store_true",
        help="run both commands with compiled bytecode, as installed (see above)",
    )
    args = ap.parse_args()

    bench, corpora = args.shared / "bench", args.shared / "corpus"
    if not (bench / "score_body.py").is_file() or not corpora.is_dir():
        raise SystemExit(
            f"--shared {args.shared}: no bench/ and corpus/ there (give the ../shared folder)"
        )
    if not Path(args.peer_python).is_file():
        raise SystemExit(f"--peer-python {args.peer_python}: no such Python (one with trafilatura)")
    peer = f"{shlex.quote(args.peer_python)} {shlex.quote(str(bench / 'peers' / 'trafilatura_cmd.py'))}"
    scorer = load_scorer(bench)
    with tempfile.TemporaryDirectory(prefix="bench_extract_") as tmp:
        aeb, truth = aeb_items(corpora / "aeb", Path(tmp))
        env = bytecode_env(Path(tmp), [args.cmd, peer], aeb) if args.bytecode_cache else None
        summaries = []
        for name, items in (("aeb", aeb), ("id", id_items(corpora / "id"))):
            summary, output = compare(name, items, args.cmd, peer, args.pairs, env)
            if name == "aeb":
                summary["newsarchive_body_f1"] = body_f1(scorer, truth, output)
            summaries.append(summary)
    print()
    for s in summaries:
        f1 = (
            f", newsarchive body F1 {s['newsarchive_body_f1']:.3f}"
            if "newsarchive_body_f1" in s
            else ""
        )
        print(
            f"{s['corpus']:>4} ({s['docs']} docs, {s['pairs']} pairs): newsarchive "
            f"{s['newsarchive_docs_s']:.1f} docs/s, trafilatura {s['trafilatura_docs_s']:.1f} "
            f"docs/s; median ratio {s['ratio_wall']:.2f}x wall, {s['ratio_cpu']:.2f}x cpu{f1}"
        )
    if args.json_out:
        args.json_out.write_text(json.dumps(summaries, indent=2) + "\n", encoding="utf8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
