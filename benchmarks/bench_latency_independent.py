"""Predicted latency judged the way a user meets it: calibrate once, measure later, in another process.

Three steps, each its own process (run them minutes, hours or days apart):

    python benchmarks/bench_latency_independent.py calibrate --threads 2 --out DIR
    python benchmarks/bench_latency_independent.py measure --profile DIR/profile_t2.json --batches 1 8 --out DIR
    python benchmarks/bench_latency_independent.py score DIR/measured_*.json
    python benchmarks/bench_latency_independent.py in-rounds --threads 2 --out DIR
    python benchmarks/bench_latency_independent.py cross --profiles DIR/profile_*.json -- DIR/measured_*.json

``in-rounds`` is the other view, for telling the model's bias from the machine's drift: one process calibrates
and times every model of the suite in the calibration's own rounds (after each round, one untimed call and one
timed call of each model), so the drift hits the profile and the models alike; it writes a file ``score`` reads.

``calibrate`` runs ``costmodel.calibrate``, whose profile keeps the time of its *reference* (four synthetic
networks timed in its rounds: the calibration's generator at another seed; no evaluated model). ``measure`` builds
every model of the suite (the zoo, ``architectures.FAMILIES`` written from their papers, Hugging Face transformers
from configs), times each with ``costmodel.measure`` (per-node times in the first) in passes over the suite (4
by default) in alternating orders, each model bracketed by ``costmodel.recheck`` (the reference re-timed), and
predicts it with the profile. Recheck's scale, the reference's time now over its time at calibration, is the
machine's drift, shown per model; ``score`` gives Kendall's tau, median |error| and the share within +-15%, raw
(the profile as calibrated) and rechecked (each prediction times the scale, as ``--recheck`` gives it; files
made by earlier versions timed the bench's own copy of the reference instead), and each op family's predicted
time against its measured share (per-node times scaled to the whole run).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from architectures import FAMILIES, transformers_models
from bench_latency import SUITE, scores

import costmodel
from costmodel.device import host
from costmodel.device.families import family
from costmodel.device.predict import GraphTime
from costmodel.graph.inputs import example_tensors, normalize_inputs
from costmodel.zoo import MODELS


def time_scale(profile: costmodel.DeviceProfile) -> float:
    """The machine's speed now against the calibration's: ``costmodel.recheck``'s scale (its reference networks
    re-timed, a short budget)."""
    return costmodel.recheck(profile, budget_s=0.3).time_scale


#: The torchvision classifiers of the issue that started this benchmark (issue 18), where torchvision imports (it
#: does not on the CPU build of torch this project pins; it does where a GPU machine is lent).
TORCHVISION = (
    "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "mobilenet_v2",
    "mobilenet_v3_small", "mobilenet_v3_large", "mnasnet0_5", "mnasnet1_0", "squeezenet1_0", "squeezenet1_1",
    "resnet18", "resnet50", "resnext50_32x4d", "googlenet", "densenet121", "efficientnet_b0", "regnet_x_400mf",
    "regnet_y_400mf", "alexnet", "convnext_tiny", "vgg11", "vit_b_16", "swin_t",
)  # fmt: skip


def torchvision_models() -> dict[str, Callable[[], nn.Module]]:
    """``tv_<name>`` -> its builder (random weights), or nothing where torchvision does not import."""
    try:
        import torchvision
    except Exception:  # not installed, or built for another torch
        return {}
    builders: dict[str, Callable[[], nn.Module]] = {}
    for name in TORCHVISION:
        kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
        builders[f"tv_{name}"] = lambda n=name, k=kwargs: torchvision.models.get_model(n, weights=None, **k)
    return builders


def suite(batch: int, with_torchvision: bool = False) -> dict[str, tuple[Callable[[], nn.Module], object]]:
    """name -> (builder, input) at ``batch``: the zoo, the paper families and the transformers; with
    ``with_torchvision``, torchvision's classifiers too where it imports."""
    models: dict[str, tuple[Callable[[], nn.Module], object]] = {}
    if with_torchvision:
        for name, build in torchvision_models().items():
            models[name] = (build, (batch, 3, 224, 224))
    for name, zoo, side in SUITE:
        models[name] = (MODELS[zoo], (batch, 3, side, side))
    for name, (build, side) in FAMILIES.items():
        models[name] = (build, (batch, 3, side, side))
    for name, (build, shape) in transformers_models().items():
        shape = (batch, *shape[1:])
        models[name] = (build, costmodel.TensorSpec(shape, torch.int64) if len(shape) == 2 else shape)
    return models


def family_seconds(report: costmodel.Report, profile: costmodel.DeviceProfile, node_times: dict[str, float],
                   whole: float) -> tuple[dict[str, float], dict[str, float]]:  # fmt: skip
    """Per op family: predicted seconds, and measured seconds (each node's time scaled so the nodes sum to the
    whole run, split among its ops as the prediction splits it). Module-call overhead is family
    ``(overhead)``."""
    prices = GraphTime(profile)
    predicted: dict[str, float] = collections.Counter()
    measured: dict[str, float] = collections.Counter()
    node_sum = sum(node_times.values()) or 1.0
    for node in report.nodes:
        ops = [(str(family(op)), prices.op_seconds(op)) for op in node.ops]
        share = sum(seconds for _, seconds in ops) or 1.0
        taken = node_times.get(node.name, 0.0) * whole / node_sum
        for kind, seconds in ops:
            predicted[kind] += seconds
            measured[kind] += taken * seconds / share
        if not ops:
            measured["(no op)"] += taken
        predicted["(overhead)"] += node.extras.get("predicted_ms", 0.0) / 1e3 - sum(s for _, s in ops)
    return dict(predicted), dict(measured)


def do_calibrate(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    profile = costmodel.calibrate(budget_s=args.budget, threads=args.threads, progress=False)
    spent = time.perf_counter() - began
    path = out / f"profile_t{args.threads}.json"
    profile.save(path)
    reference = profile.reference_s or 0.0  # timed in the calibration's rounds
    meta = {"calibrated_s": spent, "budget_s": args.budget, "threads": args.threads,  # the reference is in the profile
            "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}  # fmt: skip
    path.with_suffix(".reference.json").write_text(json.dumps(meta, indent=2))
    print(f"calibrated in {spent:.1f} s (budget {args.budget:g} s); reference {reference * 1e3:.2f} ms; {path}")


def _measure_pass(names: Iterable[str], built: dict, profile: costmodel.DeviceProfile, threads: int,
                  budget: float, rows: dict) -> None:  # fmt: skip
    for name in names:
        model, shape = built[name]
        before = time_scale(profile)
        first = name not in rows
        timed = costmodel.measure(model, shape, budget_s=budget, threads=threads, progress=False, per_node=first)
        after = time_scale(profile)
        row = rows.setdefault(name, {"measured_s": [], "time_scale": [], "problems": []})
        row["measured_s"].append(timed.total.median)
        row["time_scale"].append((before + after) / 2)
        row["problems"] += list(timed.problems)
        row.setdefault("page_faults", []).append(timed.page_faults)
        if "node_times" not in row:
            row["node_times"] = dict(timed.node_times)
            row["whole_for_nodes"] = timed.total.median


def _scored(rows: dict, reports: dict, profile: costmodel.DeviceProfile, meta: dict) -> dict:
    """The rows measured so far with their predictions, drift and per-family split, as ``score`` reads them."""
    scored = {}
    for name, row in rows.items():
        rep = reports[name]
        done = {key: value for key, value in row.items() if key not in ("node_times", "whole_for_nodes")}
        done["measured_ms"] = statistics.median(row["measured_s"]) * 1e3
        done["drift"] = statistics.median(row["time_scale"])  # recheck()'s scale, as a user with --recheck gets it
        done["predicted_ms"] = rep.predicted_ms
        predicted, measured = family_seconds(rep, profile, row["node_times"], row["whole_for_nodes"])
        done["family_predicted_s"], done["family_measured_s"] = predicted, measured
        scored[name] = done
    return scored


def do_measure(args: argparse.Namespace) -> None:
    warnings.filterwarnings("ignore")
    profile = costmodel.DeviceProfile.load(args.profile)
    meta = json.loads(Path(args.profile).with_suffix(".reference.json").read_text())
    threads = profile.threads
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"profile": args.profile, "reference_s": profile.reference_s, "calibration": meta, "threads": threads,
               "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "batches": {}}  # fmt: skip
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M")
    path = out / f"measured_{stamp}_t{threads}.json"
    with host.threads(threads):
        for batch in args.batches:
            models = suite(batch, args.torchvision)
            if args.only:
                models = {k: v for k, v in models.items() if any(part in k for part in args.only)}
            built, reports = {}, {}
            for name, (build, shape) in models.items():
                try:  # a model this torch or costmodel cannot run is named and left out, never the whole run
                    model = build().eval()
                    reports[name] = costmodel.report(model, shape, profile=profile)
                    built[name] = (model, shape)
                except Exception as error:
                    print(f"b{batch} {name}: left out: {type(error).__name__}: {error}".splitlines()[0], flush=True)
            rows: dict[str, dict] = {}
            order = list(built)
            for index in range(args.passes):
                _measure_pass(order if index % 2 == 0 else order[::-1], built, profile, threads, args.budget,
                              rows)  # fmt: skip
                results["batches"][str(batch)] = _scored(rows, reports, profile, meta)
                path.write_text(json.dumps(results, indent=1))  # after every pass: a run cut short keeps its passes
            for name, row in results["batches"][str(batch)].items():
                print(f"b{batch} t{threads} {name:24} measured {row['measured_ms']:8.2f} ms  predicted "
                      f"{row['predicted_ms']:8.2f}  {row['predicted_ms'] / row['measured_ms'] - 1:+5.0%}  drift "
                      f"x{row['drift']:.2f}", flush=True)  # fmt: skip
    print(path)


def do_in_rounds(args: argparse.Namespace) -> None:
    warnings.filterwarnings("ignore")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    models = suite(1, args.torchvision)
    built = {name: (build().eval(), shape) for name, (build, shape) in models.items()}
    examples = {}
    for name, (model, shape) in built.items():
        specs = normalize_inputs(shape, model)
        examples[name] = example_tensors(specs, torch.device("cpu"), model=model)
    samples: dict[str, list[float]] = {name: [] for name in built}

    def visit() -> None:
        with torch.no_grad():
            for name, (model, _) in built.items():
                model(*examples[name])
                begin = time.perf_counter()
                model(*examples[name])
                samples[name].append(time.perf_counter() - begin)

    began = time.perf_counter()
    profile = costmodel.calibrate(budget_s=args.budget, threads=args.threads, progress=False, between_rounds=visit)
    spent = time.perf_counter() - began
    rows = {}
    for name, (model, shape) in built.items():
        rep = costmodel.report(model, shape, profile=profile)
        rows[name] = {"measured_ms": statistics.median(samples[name]) * 1e3, "predicted_ms": rep.predicted_ms,
                      "drift": 1.0, "family_predicted_s": {}, "family_measured_s": {}}  # fmt: skip
    at = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    results = {"profile": profile.to_dict(), "calibration": {"at": at, "calibrated_s": spent}, "threads": args.threads,
               "at": at + " (in the calibration's rounds)", "batches": {"1": rows}}  # fmt: skip
    path = out / f"in_rounds_{datetime.datetime.now(datetime.UTC).strftime('%Y%m%dT%H%M')}_t{args.threads}.json"
    path.write_text(json.dumps(results, indent=1))
    print(f"calibrated with the models in its rounds in {spent:.0f} s; {path}")


def _score_passes(rows: dict, names: list[str], predicted: list[float]) -> None:
    """Each pass scored alone (what one ``measure()`` call per model meets); the measurement's ceiling, its first
    half of passes scored as a prediction of the rest (no predictor is judged more finely than the measurement
    repeats); and its repeatability: the share of (model, pass) times within +-15% of that model's median."""
    passes = min((len(rows[n].get("measured_s", [])) for n in names), default=0)
    if passes < 2:
        return
    alone = [scores([rows[n]["measured_s"][k] * 1e3 for n in names], predicted) for k in range(passes)]
    print(f"each pass alone ({passes}): within +-15% " + " ".join(f"{w:.0%}" for _, _, w in alone)
          + "; Kendall tau " + " ".join(f"{t:.3f}" for t, _, _ in alone))  # fmt: skip
    half = passes // 2  # the measurement against itself: the first half of the passes against the rest
    first = [statistics.median(rows[n]["measured_s"][:half]) * 1e3 for n in names]
    rest = [statistics.median(rows[n]["measured_s"][half:]) * 1e3 for n in names]
    tau, error, within = scores(rest, first)
    halves = "pass 1 against pass 2" if passes == 2 else f"passes 1-{half} against {half + 1}-{passes} (medians)"
    print(f"ceiling: {halves}: Kendall tau {tau:.3f}  median |error| {error:.1%}  within +-15% {within:.0%}")
    own = [t / statistics.median(rows[n]["measured_s"]) for n in names for t in rows[n]["measured_s"]]
    print(f"repeatability: {sum(abs(r - 1) <= 0.15 for r in own) / len(own):.0%} of single passes within +-15% "
          f"of their model's median over the passes (range x{min(own):.2f}-x{max(own):.2f})")  # fmt: skip


def _predicted_again(rows: dict, batch: int, profile: costmodel.DeviceProfile, measuring: float) -> dict:
    """The rows with each model predicted by ``profile`` instead: its predicted time and per-family split, and the
    drift the brackets measured taken to it (their reference time over ``profile``'s; ``measuring`` is the
    reference time of the profile the models were measured with)."""
    models, again = suite(batch), {}
    prices = GraphTime(profile)
    for name, row in rows.items():
        build, shape = models[name]
        rep = costmodel.report(build().eval(), shape, profile=profile)
        split: dict[str, float] = collections.Counter()
        for node in rep.nodes:
            for op in node.ops:
                split[str(family(op))] += prices.op_seconds(op)
        split["(overhead)"] = rep.predicted_ms / 1e3 - sum(split.values())
        drift = row["drift"] * measuring / profile.reference_s
        again[name] = {**row, "predicted_ms": rep.predicted_ms, "drift": drift, "family_predicted_s": dict(split)}
    return again


def do_score(args: argparse.Namespace) -> None:
    profile = costmodel.DeviceProfile.load(args.profile) if args.profile else None
    for file in args.files:
        data = json.loads(Path(file).read_text())
        calibrated_at = data["calibration"]["at"]
        if profile is not None:
            measuring = data.get("reference_s") or costmodel.DeviceProfile.load(data["profile"]).reference_s
            calibrated_at = f"{profile.created} (predicted again by {args.profile})"
            data["batches"] = {batch: _predicted_again(rows, int(batch), profile, measuring)
                               for batch, rows in data["batches"].items()}  # fmt: skip
        for batch, rows in data["batches"].items():
            names = list(rows)
            measured = [rows[n]["measured_ms"] for n in names]
            predicted = [rows[n]["predicted_ms"] for n in names]
            adjusted = [rows[n]["predicted_ms"] * rows[n]["drift"] for n in names]
            drifts = sorted(rows[n]["drift"] for n in names)
            print(f"\n## {Path(file).name}: batch {batch}, {data['threads']} threads, {len(names)} models; "
                  f"calibrated {calibrated_at}, measured {data['at']}")  # fmt: skip
            print(f"drift (reference now / at calibration): median x{statistics.median(drifts):.2f}, "
                  f"range x{drifts[0]:.2f}-x{drifts[-1]:.2f}")  # fmt: skip
            if args.rows:
                for n, m, p, a in zip(names, measured, predicted, adjusted, strict=True):
                    print(f"  {n:24} measured {m:8.2f}  predicted {p:8.2f} {p / m - 1:+5.0%}  rechecked "
                          f"{a / m - 1:+5.0%}  x{rows[n]['drift']:.2f}")  # fmt: skip
            for label, values in (("raw", predicted), ("rechecked", adjusted)):
                tau, error, within = scores(measured, values)
                print(f"{label:13} Kendall tau {tau:.3f}  median |error| {error:.1%}  within +-15% {within:.0%}")
            _score_passes(rows, names, predicted)
            by_family_p, by_family_m = collections.Counter(), collections.Counter()
            for n in names:
                by_family_p.update(rows[n]["family_predicted_s"])
                by_family_m.update(rows[n]["family_measured_s"])
            if not by_family_m:
                continue
            print("family           predicted ms  measured ms   error")
            for kind in sorted(set(by_family_p) | set(by_family_m), key=lambda k: -by_family_m[k]):
                p, m = by_family_p[kind] * 1e3, by_family_m[kind] * 1e3
                print(f"  {kind:15} {p:11.2f} {m:12.2f} {(p / m - 1) if m else 0:+7.0%}")


def do_cross(args: argparse.Namespace) -> None:
    """Every measured file predicted by every profile: Kendall tau and share within +-15%, raw and rechecked (what
    ``score --profile`` gives for each pair), to tell a calibration's phase from the model."""
    profiles = [(Path(path).stem, costmodel.DeviceProfile.load(path)) for path in args.profiles]
    print("file / profile: raw tau / within +-15%, rechecked tau / within +-15%")
    for file in args.files:
        data = json.loads(Path(file).read_text())
        measuring = data.get("reference_s") or costmodel.DeviceProfile.load(data["profile"]).reference_s
        for batch, rows in data["batches"].items():
            names = list(rows)
            measured = [rows[n]["measured_ms"] for n in names]
            cells = []
            for stem, profile in profiles:
                again = _predicted_again(rows, int(batch), profile, measuring)
                raw = scores(measured, [again[n]["predicted_ms"] for n in names])
                rechecked = scores(measured, [again[n]["predicted_ms"] * again[n]["drift"] for n in names])
                cells.append(f"{stem}: {raw[0]:.3f}/{raw[2]:.0%} {rechecked[0]:.3f}/{rechecked[2]:.0%}")
            print(f"{Path(file).stem} (batch {batch}): " + "; ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    cal = steps.add_parser("calibrate")
    cal.add_argument("--threads", type=int, default=2)
    cal.add_argument("--budget", type=float, default=90.0)
    cal.add_argument("--out", default="benchmarks/results/independent")
    mea = steps.add_parser("measure")
    mea.add_argument("--profile", required=True)
    mea.add_argument("--batches", type=int, nargs="+", default=[1])
    mea.add_argument("--passes", type=int, default=4)
    mea.add_argument("--budget", type=float, default=0.6, help="seconds per measure() pass (x2 with per-node)")
    mea.add_argument("--only", nargs="*", help="models whose name holds one of these")
    mea.add_argument("--out", default="benchmarks/results/independent")
    mea.add_argument("--torchvision", action="store_true", help="torchvision's classifiers too, where it imports")
    rounds = steps.add_parser("in-rounds")
    rounds.add_argument("--threads", type=int, default=2)
    rounds.add_argument("--budget", type=float, default=90.0)
    rounds.add_argument("--out", default="benchmarks/results/independent")
    rounds.add_argument("--torchvision", action="store_true", help="torchvision's classifiers too, where it imports")
    sco = steps.add_parser("score")
    sco.add_argument("files", nargs="+")
    sco.add_argument("--rows", action="store_true")
    sco.add_argument("--profile", help="predict the measured models with this profile instead (calibrated at "
                     "another time); the drift is taken to its reference")  # fmt: skip
    cross = steps.add_parser("cross")
    cross.add_argument("--profiles", nargs="+", required=True)
    cross.add_argument("files", nargs="+")
    args = parser.parse_args()
    steps_by_name = {"calibrate": do_calibrate, "measure": do_measure, "in-rounds": do_in_rounds, "score": do_score,
                     "cross": do_cross}  # fmt: skip
    steps_by_name[args.step](args)


if __name__ == "__main__":
    main()
