#!/usr/bin/env python3
"""A stand-in for `npusim dram-bench ... --json --dump-stream FILE`, for trying compare.py without npusim.

It understands the flags compare.py passes, takes the resolved DRAM config from dram_configs.json beside it
(the preset named by --set dram.preset=..., else by the NPU config's dram.preset; --set dram.KEY=VALUE overrides a
top-level field), writes a request stream in dram-bench's dump format (sequential or uniformly random
request-aligned addresses, reads with probability --read-ratio, '# window N inorder' unless --window any) and
prints dram-bench's JSON with every npusim figure null: it simulates nothing. dram_configs.json holds what
`npusim dram-bench configs/npu/edge-lpddr5.yaml --set dram.preset=P --json` printed as "dram" (hence 4 channels).

    NPUSIM=scripts/dram_compare/samples/fake_npusim.py python3 scripts/dram_compare/compare.py
"""
import json
import os
import random
import re
import sys


def main(argv):
    if len(argv) < 2 or argv[0] != "dram-bench":
        sys.exit("fake_npusim: only 'dram-bench NPU.yaml --pattern P ...' is imitated")
    npu_yaml, args = argv[1], argv[2:]
    flags, sets = {}, []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--json":
            flags["json"] = True
            i += 1
            continue
        if a == "--set":
            sets.append(args[i + 1])
        else:
            flags[a.lstrip("-")] = args[i + 1]
        i += 2
    configs = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "dram_configs.json")))
    preset = None
    m = re.search(r"^dram:\s*\n(?:[ \t]+.*\n)*?[ \t]+preset:\s*(\S+)", open(npu_yaml).read(), re.M)
    if m:
        preset = m.group(1)
    overrides = {}
    for s in sets:
        key, value = s.split("=", 1)
        if key == "dram.preset":
            preset = value
        elif key.startswith("dram.") and "." not in key[5:]:
            overrides[key[5:]] = value
    if preset not in configs:
        sys.exit(f"fake_npusim: no sample config for preset {preset!r} (have {', '.join(configs)})")
    dram = dict(configs[preset])
    for k, v in overrides.items():
        if k in dram:
            dram[k] = type(dram[k])(v) if not isinstance(dram[k], bool) else v == "true"
    burst = dram["bus_width_bits"] // 8 * dram["burst_length"]
    pattern = flags["pattern"]
    total = int(flags.get("bytes", 268435456))
    req_bytes = int(flags.get("request-bytes", 4096))
    outstanding = int(flags.get("outstanding", 32))
    ratio = float(flags.get("read-ratio", 1))
    rng = random.Random(int(flags.get("seed", 1)))
    capacity = (dram["channels"] * dram["ranks"] * dram["bank_groups"] * dram["banks_per_group"] * dram["rows"]
                * dram["row_bytes"])
    n = total // req_bytes
    if "dump-stream" in flags:
        with open(flags["dump-stream"], "w") as out:
            out.write(f"# fake_npusim stream: {pattern}, {n} requests of {req_bytes} bytes\n")
            out.write(f"# window {outstanding} {flags.get('window', 'inorder')}\n# burst_bytes {burst}\n")
            for k in range(n):
                if pattern == "random":
                    addr = rng.randrange(capacity // req_bytes) * req_bytes
                else:
                    addr = k * req_bytes % capacity
                op = "R" if rng.random() < ratio else "W"
                out.write(f"{op} {addr} {req_bytes}\n")
    peak = dram["channels"] * dram["bus_width_bits"] / 8 * dram["data_rate_mtps"] * 1e6 / 1e9
    result = {"config": npu_yaml, "pattern": pattern, "bytes": total, "request_bytes": req_bytes,
              "outstanding": outstanding, "window": flags.get("window", "inorder"), "read_ratio": ratio, "model": "command", "preset": preset,
              "channels": dram["channels"], "peak_gbps": peak, "achieved_gbps": None, "efficiency": None,
              "requests": n, "simulated_ps": None, "read_latency_avg_ns": None, "row_hits": None,
              "row_misses": None, "row_conflicts": None, "activates": None, "refreshes": None, "dram": dram,
              "fake": True}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
