#!/usr/bin/env python3
# Turns the bench programs' Google Benchmark JSON files into the `RATE name value unit` and
# `RATIO name value` lines ./dev bench prints. Usage: report.py FILE.json...
import json
import re
import sys

# Benchmarks that predate the `rate` counter (bench_common.hpp) get stable names here.
LEGACY = {
    "BM_StoreWalOff": "receiver_store_wal_off",
    "BM_StoreWalNoSync": "receiver_store_wal_nosync",
    "BM_StoreWalFsync": "receiver_store_wal_fsync",
    "BM_CopyChanged": "snapshot_baseline_copy_1k",
    "BM_MappedDelta/columns": "snapshot_map_with_state_delta_columns",
    "BM_MappedDelta/frame": "snapshot_map_with_state_delta_frame",
    "BM_KeyedDelta/columns": "snapshot_update_state_delta_columns",
    "BM_KeyedDelta/frame": "snapshot_update_state_delta_frame",
}

# name: (numerator, denominator), each a RATE name; the ratio divides their values as they are
# (for ms/batch costs, > 1 means the numerator costs more).
RATIOS = {
    # rill on 2 threads, 1 s batches, over the single-thread absl loop / the 2-thread TBB pipeline.
    "wordcount_vs_handwritten": ("wordcount_rill_2t_1s", "wordcount_absl_loop"),
    "wordcount_vs_tbb": ("wordcount_rill_2t_1s", "wordcount_tbb_2t"),
    "wordcount_100ms_vs_handwritten": ("wordcount_rill_2t_100ms", "wordcount_absl_loop"),
    "wordcount_100ms_vs_tbb": ("wordcount_rill_2t_100ms", "wordcount_tbb_2t"),
    "wordcount_2t_vs_1t": ("wordcount_rill_2t_1s", "wordcount_rill_1t_1s"),
    "wordcount_100ms_vs_1s": ("wordcount_rill_2t_100ms", "wordcount_rill_2t_1s"),
    "wordcount_local_executor_vs_handwritten": ("wordcount_rill_local_100ms", "wordcount_absl_loop"),
    "wordcount_runtime_vs_local_executor_1t": ("wordcount_rill_1t_100ms", "wordcount_rill_local_100ms"),
    "wordcount_unordered_vs_absl": ("wordcount_unordered_loop", "wordcount_absl_loop"),
    # A reliable receiver feeding word count: the WAL (fsync, checkpoint dir) on over off.
    "wal_on_vs_off": ("wordcount_rill_2t_100ms_wal_on", "wordcount_rill_2t_100ms_wal_off"),
    # Peak RSS of rill's 2-thread, 1 s word count over the absl loop's, each in its own process
    # (both hold the 200 MB text and the reference counts).
    "wordcount_rss_vs_handwritten": ("wordcount_rill_2t_1s_peak_rss", "wordcount_absl_loop_peak_rss"),
    "codec_pair_vs_memcpy": ("codec_pair_roundtrip", "codec_pair_memcpy"),
    "codec_struct_vs_memcpy": ("codec_struct_roundtrip", "codec_struct_memcpy"),
    "window_inverse_vs_handwritten": ("window_rill_inverse", "window_hand_loop"),
    "window_no_inverse_vs_handwritten": ("window_rill_no_inverse", "window_hand_loop"),
    "window_inverse_vs_no_inverse": ("window_rill_inverse", "window_rill_no_inverse"),
    # Per-batch cost at a 300-batch window over a 5-batch one: 1.0 is flat.
    "inverse_window_flatness": ("window_inverse_len300", "window_inverse_len5"),
    "inverse_window_flatness_p50": ("window_inverse_len300_p50", "window_inverse_len5_p50"),
    "no_inverse_window_growth": ("window_no_inverse_len300", "window_no_inverse_len5"),
    "receiver_wal_nosync_vs_off": ("receiver_store_wal_nosync", "receiver_store_wal_off"),
    "receiver_wal_fsync_vs_off": ("receiver_store_wal_fsync", "receiver_store_wal_off"),
    # Entries/s of a delta snapshot of 1k changed keys (encoded to a frame) over copying them.
    "snapshot_delta_vs_copy": ("snapshot_update_state_delta_frame", "snapshot_baseline_copy_1k"),
    # Recovery time at 1M keys over 1k: how it grows with state.
    "recovery_1m_vs_1k": ("recovery_1m_ms", "recovery_1k_ms"),
    # Shuffle buckets fetched between two nodes through the middleman over raw TCP, same bytes.
    "shuffle_vs_tcp": ("shuffle_rill", "shuffle_raw_tcp"),
}

TIME_TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def unit_of(counter, label):
    """A secondary figure's unit: its name's suffix says it, else the benchmark's label."""
    for suffix, unit in (("_ms", "ms"), ("_intervals", "batch intervals"), ("_per_s", "records/s"),
                         ("utilization", "of the batch interval")):
        if counter.endswith(suffix):
            return unit
    return label


def figures(paths):
    out = {}
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        # Other work on the machine skews every figure: say how busy it was (stderr, not a figure).
        ctx = data.get("context", {})
        load = " ".join(f"{x:.1f}" for x in ctx.get("load_avg", []))
        print(f"report: {path.split('/')[-1]}: load average {load} on {ctx.get('num_cpus')} CPUs at start",
              file=sys.stderr)
        for b in data.get("benchmarks", []):
            if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                continue
            # Google Benchmark appends settings to names: "x/iterations:1/manual_time".
            name = re.sub(r"/(min_time|iterations|repeats|manual_time|real_time)[^/]*", "", b["name"])
            # A benchmark alone in its process (wordcount_rss_*.json): only its peak RSS.
            if path.split("/")[-1].startswith("wordcount_rss_"):
                if "peak_rss_mb" in b:
                    out[name + "_peak_rss"] = (b["peak_rss_mb"], "MB")
                continue
            if "rate" in b:
                out[name] = (b["rate"], b.get("label", ""))
                # More figures of one run (wordcount_steps' parts, a median): rate_<x>, same unit.
                for key, value in b.items():
                    if key.startswith("rate_"):
                        out[name + "_" + key[5:]] = (value, unit_of(key, b.get("label", "")))
            elif name in LEGACY:
                if "items_per_second" in b:
                    out[LEGACY[name]] = (b["items_per_second"] / 1e6, "Mitems/s")
                else:
                    out[LEGACY[name]] = (b["real_time"] * TIME_TO_MS[b["time_unit"]], "ms/op")
    return out


def main():
    figs = figures(sys.argv[1:])
    for name, (value, unit) in figs.items():
        print(f"RATE {re.sub(r'[^A-Za-z0-9_]', '_', name)} {value:.4g} {unit}")
    missing = []
    for name, (num, den) in RATIOS.items():
        if num in figs and den in figs and figs[den][0] > 0:
            print(f"RATIO {name} {figs[num][0] / figs[den][0]:.3g}")
        else:
            missing.append(name)
    if missing:
        print("report: no figures for " + ", ".join(missing), file=sys.stderr)


if __name__ == "__main__":
    main()
