#!/usr/bin/env python3
"""npusim's command-level DRAM model side by side with DRAMsim3 and Ramulator 2.1 on identical request streams.

For each case (a DRAM preset and a traffic pattern) it
  1. runs `npusim dram-bench NPU.yaml --pattern P ... --json --dump-stream FILE`: npusim's figures, the resolved
     DRAM config ("dram") and the exact request stream;
  2. writes a DRAMsim3 .ini and a Ramulator 2.1 config aligned to that config (timings in command-clock cycles,
     ceil(ns / tCK - 1e-9); organisation, queue sizes, page policy, refresh mode, FR-FCFS, the same address
     mapping). The Ramulator YAML comes from a Python config fed to Ramulator's own exporter
     (`python3 -m ramulator export`), which expands its timing-constraint tables;
  3. builds the two drivers (dramsim3_driver.cc, ramulator2_driver.cc) if needed and replays the stream on both;
  4. prints bandwidth and average read latency of each, their differences to npusim, the unloaded read latency
     (one read at a time) per preset, and what could not be aligned (--json: all of it as one JSON object).

Stdlib only. Environment: DRAMSIM3_DIR, RAMULATOR2_DIR (their source trees, built), NPUSIM (default
./build/sim/npusim), CXX (default g++). See README.md beside this file.
"""
import argparse
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import time
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PRESETS = ["lpddr4x-4266", "lpddr5-6400", "ddr5-4800", "hbm2e", "hbm3"]
# name -> (dram-bench --pattern, --read-ratio)
PATTERNS = {"sequential": ("sequential", 1.0), "random": ("random", 1.0), "mixed": ("random", 0.67)}

# Ramulator 2.1's standard for each preset family: (DRAM class, org preset, timing preset, controller, prefetch,
# rank-like level, ticks per command clock). The presets are only starting points: every organisation field and
# timing that npusim has is overridden.
RAMULATOR_STANDARDS = {
    "lpddr5": ("LPDDR5", "LPDDR5_16Gb_x16", "LPDDR5_6400", "LPDDR5", 16, "rank", 1),
    "ddr5": ("DDR5", "DDR5_16Gb_x8", "DDR5_4800AN", "GenericDDR", 16, "rank", 1),
    "hbm2": ("HBM2", "HBM2_8Gb", "HBM2_2400Mbps", "HBM12", 4, "pseudochannel", 1),
    "hbm3": ("HBM3", "HBM3_4Gb", "HBM3_6400Mbps", "HBM34", 8, "pseudochannel", 2),
}


def family(preset):
    p = preset.lower()
    for prefix, fam in (("lpddr4", "lpddr4"), ("lpddr5", "lpddr5"), ("ddr5", "ddr5"), ("hbm3", "hbm3"),
                        ("hbm2", "hbm2")):
        if p.startswith(prefix):
            return fam
    return None


class Aligned:
    """Command-clock view of npusim's resolved "dram" config, shared by both config writers."""

    def __init__(self, d):
        self.d = d
        self.t = d["timing"]
        self.tck = float(d["tCK_ns"])
        self.burst_bytes = d.get("burst_bytes") or d["bus_width_bits"] // 8 * d["burst_length"]
        if d.get("transfers_per_clock"):
            self.burst_cycles = d["burst_length"] // d["transfers_per_clock"]
        else:
            self.burst_cycles = max(1, round(d["burst_length"] * 1000.0 / d["data_rate_mtps"] / self.tck))
        self.bursts_per_row = d["row_bytes"] // self.burst_bytes
        self.banks = d["bank_groups"] * d["banks_per_group"]
        self.notes = []  # what each simulator cannot match, in words

    def ns(self, name):
        return float(self.t.get(name, 0) or 0)

    def cyc(self, name_or_ns):
        ns = self.ns(name_or_ns) if isinstance(name_or_ns, str) else float(name_or_ns)
        return 0 if ns <= 0 else math.ceil(ns / self.tck - 1e-9)

    def org_arg(self):
        d = self.d
        return ",".join(str(v) for v in (d["channels"], d["ranks"], d["bank_groups"], d["banks_per_group"],
                                         d["rows"], self.bursts_per_row, self.burst_bytes))

    def note(self, who, text):
        self.notes.append(f"{who}: {text}")


# ---------------------------------------------------------------------------------------------------- DRAMsim3


def dramsim3_ini(a, refresh_choice):
    """The .ini text; DRAMsim3 clocks at npusim's command clock."""
    d, c = a.d, a.cyc
    fam = family(d["preset"])
    hbm = fam in ("hbm2", "hbm3")
    if d.get("starvation_cap"):
        a.note("both", f"no starvation cap (npusim serves a burst first once {d['starvation_cap']} younger ones "
                       "passed it)")
    if d.get("refresh") == "per_bank" and d.get("refresh_pull_in"):
        a.note("both", f"no speculative refresh (npusim issues a REFpb up to {d['refresh_pull_in']} intervals "
                       "early to a bank no queued burst wants; --npusim-set dram.refresh_pull_in=0 turns it off)")
    # DRAMsim3 times a burst as BL/2 clocks and sizes it as bus_width/8 x BL bytes: pick BL and a virtual bus
    # width that give npusim's burst duration at the command clock and its burst bytes (LPDDR5, whose CK runs at
    # a quarter of WCK, and HBM3 become BL4 on a 64-bit bus; the others keep their own BL and width).
    bl = 2 * a.burst_cycles
    width = a.burst_bytes * 8 // bl
    if bl != d["burst_length"]:
        a.note("DRAMsim3", f"BL{d['burst_length']} x {d['bus_width_bits']} bits is modelled as BL{bl} x {width} "
                           f"bits (same bytes, same {a.burst_cycles}-cycle burst: DRAMsim3 assumes 2 beats per clock)")
    columns = a.bursts_per_row * bl // (2 if hbm else 1)  # DRAMsim3 doubles an HBM's columns itself
    if hbm:
        protocol = "HBM2"  # HBM and HBM2 behave alike in DRAMsim3 (tRCDRD/WR, dual command issue)
    elif fam in ("lpddr4", "lpddr5") or a.ns("tPPD") > 0:
        protocol = "LPDDR4"  # the only non-GDDR protocol DRAMsim3 applies tPPD to; nothing else differs
    else:
        protocol = "DDR4"
    if a.ns("tPPD") > 0 and hbm:
        a.note("DRAMsim3", f"no tPPD for HBM (npusim {c('tPPD')} cycles)")
    if protocol == "LPDDR4" and fam != "lpddr4":
        a.note("DRAMsim3", f"{d['preset']} runs as DRAMsim3 protocol LPDDR4 (its DDR4 rules plus tPPD)")
    if fam == "hbm3":
        a.note("DRAMsim3", "no HBM3 protocol: HBM2 rules with HBM3 timings (row commands on whole cycles)")
    if a.ns("tCCD_L_WR") > 0 and c("tCCD_L_WR") != c("tCCD_L"):
        a.note("DRAMsim3", f"no write tCCD_L: uses tCCD_L {c('tCCD_L')} cycles for writes too "
                           f"(npusim tCCD_L_WR {c('tCCD_L_WR')})")
    rcd_wr = c("tRCD_WR") or c("tRCD")
    if not hbm and rcd_wr != c("tRCD"):
        a.note("DRAMsim3", f"one tRCD for reads and writes outside HBM/GDDR (npusim tRCD_WR {rcd_wr})")
    if c("tRC") != c("tRAS") + c("tRP"):
        a.note("DRAMsim3", f"tRC is always tRAS + tRP = {c('tRAS') + c('tRP')} cycles (npusim {c('tRC')})")
    # Read-to-write: DRAMsim3 spaces WR after RD by RL + burst - WL + tRTRS; fold npusim's tRTW in.
    rtrs = c("tRTRS")
    if a.ns("tRTW") > 0:
        rtrs = max(rtrs, c("tRTW") - (c("tCL") + a.burst_cycles - c("tWL")))
        a.note("DRAMsim3", f"no tRTW: folded into tRTRS = {rtrs} cycles (read-to-write only; 1 rank)")
    if a.ns("tRREFD") > 0 and d["refresh"] == "per_bank" and refresh_choice == "per_bank":
        a.note("DRAMsim3", f"no tRREFD (npusim {c('tRREFD')} cycles)")
    refresh = d["refresh"]
    trefi, trefib, trfc = c("tREFI"), max(1, c("tREFI") // a.banks), c("tRFC")
    if refresh == "none":
        policy, trefi = "RANK_LEVEL_SIMULTANEOUS", 1 << 30
    elif refresh == "per_bank" and refresh_choice == "per_bank":
        policy = "BANK_LEVEL_STAGGERED"
        # DRAMsim3's REFb: the refreshed bank gets no tRFCb, the other banks of the rank wait tRFC before an ACT
        # and tREFI before their own REFb. tRFC = tRFCpb and tREFI = tREFIb come closest; refreshes still fall
        # behind and stall the bank at the head of its refresh queue.
        trfc, trefi = c("tRFCpb"), trefib
        a.note("DRAMsim3", "per-bank refresh (BANK_LEVEL_STAGGERED) blocks ACTs to the OTHER banks for tRFC and "
                           "not the refreshed one; run with tRFC = tRFCpb, tREFI = tREFI/banks")
    else:
        policy = "RANK_LEVEL_SIMULTANEOUS"
        if refresh == "per_bank":
            a.note("DRAMsim3", f"per-bank refresh replaced by all-bank (tREFI {trefi}, tRFC {trfc} cycles): its "
                               "per-bank mode is broken (--dramsim3-refresh per_bank to try it)")
    if d.get("refresh_postpone", 0):
        a.note("DRAMsim3", "refreshes exactly when due (no postponing)")
    if d["command_buses"] == "row_column" and not hbm:
        a.note("DRAMsim3", "dual command issue only for HBM: one command per cycle here")
    if d["read_queue_bursts"] != d["write_queue_bursts"]:
        a.note("DRAMsim3", f"read and write queues share trans_queue_size = {d['read_queue_bursts']}")
    a.note("DRAMsim3", "writes drain when the write buffer is full, or holds > 8 writes and no command is queued, "
                       "and then drain all it holds (no watermarks)")
    a.note("DRAMsim3", f"per-bank command queues of {d['read_queue_bursts']} behind a {d['read_queue_bursts']}-entry "
                       "transaction queue; FR-FCFS per bank queue, banks round-robin, a row may close after 4 hits")
    page = d["page_policy"]
    page_size = columns * (2 if hbm else 1) * width // 8
    megs_per_rank = page_size * (d["rows"] // 1024) // 1024 * a.banks
    lines = [
        f"; written by scripts/dram_compare/compare.py from npusim's resolved {d['preset']} config",
        "[dram_structure]",
        f"protocol = {protocol}",
        f"bankgroups = {d['bank_groups']}",
        f"banks_per_group = {d['banks_per_group']}",
        "bankgroup_enable = true",
        f"rows = {d['rows']}",
        f"columns = {columns}",
        f"device_width = {width}",
        f"BL = {bl}",
        f"hbm_dual_cmd = {'true' if d['command_buses'] == 'row_column' else 'false'}",
        "",
        "[timing]",
        f"tCK = {a.tck:.6f}",
        "AL = 0",
        f"CL = {c('tCL')}",
        f"CWL = {c('tWL')}",
        f"tRCD = {c('tRCD')}",
        f"tRCDRD = {c('tRCD')}",
        f"tRCDWR = {rcd_wr}",
        f"tRP = {c('tRP')}",
        f"tRAS = {c('tRAS')}",
        f"tRFC = {trfc}",
        f"tRFCb = {c('tRFCpb') or trfc}",
        f"tREFI = {trefi}",
        f"tREFIb = {trefib}",
        f"tRRD_S = {c('tRRD_S')}",
        f"tRRD_L = {c('tRRD_L')}",
        f"tFAW = {c('tFAW')}",
        f"tWTR_S = {c('tWTR_S')}",
        f"tWTR_L = {c('tWTR_L')}",
        f"tRTP = {c('tRTP')}",
        f"tWR = {c('tWR')}",
        f"tCCD_S = {c('tCCD_S')}",
        f"tCCD_L = {c('tCCD_L')}",
        f"tRTRS = {rtrs}",
        f"tPPD = {c('tPPD')}",
        "",
        "[system]",
        f"channel_size = {megs_per_rank * d['ranks']}",
        f"channels = {d['channels']}",
        f"bus_width = {width}",
        f"address_mapping = {d['address_mapping']}",
        "queue_structure = PER_BANK",
        f"row_buf_policy = {'CLOSE_PAGE' if page == 'closed' else 'OPEN_PAGE'}",
        f"cmd_queue_size = {d['read_queue_bursts']}",
        f"trans_queue_size = {d['read_queue_bursts']}",
        f"refresh_policy = {policy}",
        "unified_queue = false",
        "",
        "[other]",
        "epoch_period = 2000000000",
        "output_level = 1",
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------- Ramulator 2


def ramulator_script(a, scheduler):
    """A Ramulator Python config (for `python3 -m ramulator export`) and the tick length in ns; None if the
    preset's standard is not in Ramulator 2.1."""
    d, c = a.d, a.cyc
    fam = family(d["preset"])
    if fam not in RAMULATOR_STANDARDS:
        return None, None
    cls, org_preset, timing_preset, ctrl, prefetch, rank_level, ticks_per_ck = RAMULATOR_STANDARDS[fam]
    org = {rank_level: d["ranks"], "bankgroup": d["bank_groups"], "bank": d["banks_per_group"], "row": d["rows"],
           "column": a.bursts_per_row * prefetch, "channel_width": d["bus_width_bits"]}
    if fam == "hbm3":
        org["sid"] = 1
    nbl = a.burst_cycles
    rcd_wr = c("tRCD_WR") or c("tRCD")
    rtw_bus = c("tCL") + nbl + c("tRTRS") - c("tWL")  # npusim's read-to-write spacing without tRTW
    refi_pb = max(1, c("tREFI") // a.banks)
    t = {"rate": d["data_rate_mtps"], "tCK_ps": round(a.tck * 1000), "nCL": c("tCL"), "nCWL": c("tWL"),
         "nRP": c("tRP"), "nRAS": c("tRAS"), "nRC": c("tRC"), "nWR": c("tWR"), "nCCDS": c("tCCD_S"),
         "nCCDL": c("tCCD_L"), "nRRDS": c("tRRD_S"), "nRRDL": c("tRRD_L"), "nWTRS": c("tWTR_S"),
         "nWTRL": c("tWTR_L"), "nFAW": c("tFAW"), "nRFC": c("tRFC"), "nREFI": c("tREFI")}
    rfcpb = c("tRFCpb") or c("tRFC")
    if fam in ("hbm2", "hbm3"):
        t.update(nBL=nbl, nRCDRD=c("tRCD"), nRCDWR=rcd_wr, nRFCpb=rfcpb, nRREFD=c("tRREFD") or c("tRRD_S"),
                 nREFIpb=refi_pb)
        if fam == "hbm2":
            t["nRTPL"] = c("tRTP")
            a.note("Ramulator2", "HBM2 read-to-write is nCL + nBL + 2 - nCWL (2-cycle bubble fixed; npusim "
                                 f"tRTRS {c('tRTRS')}); ACT takes 2 row-bus cycles and its timings count from "
                                 "its first (+1 cycle on ACT-to-CAS)")
        else:
            t.update(nRTP=c("tRTP"), nRTW=c("tRTW") or rtw_bus, nPPD=c("tPPD"), nRFMab=c("tRFC"), nRFMpb=rfcpb)
            a.note("Ramulator2", "HBM3 ticks at half the command clock (row commands on both edges, ACT takes "
                                 "1.5 cycles)")
        if d["refresh"] == "per_bank":
            a.note("Ramulator2", f"a REFpb keeps other banks' ACTs nRREFD = {t['nRREFD']} cycles away (npusim: "
                                 f"tRRD_S, {c('tRRD_S')})" + ("; no REFpb-to-REFpb spacing in HBM2"
                                                              if fam == "hbm2" else ""))
    elif fam == "lpddr5":
        t.update(nBL_min=nbl, nBL_max=c("tCCD_L"), nRCD=c("tRCD"), nRPab=c("tRP"), nRTP=c("tRTP"), nPPD=c("tPPD"),
                 nCCDS_WR=c("tCCD_S"), nCCDL_WR=c("tCCD_L_WR") or c("tCCD_L"), nRFCpb=rfcpb, nREFIpb=refi_pb,
                 nPBR2PBR=c("tRREFD") or rfcpb, nPBR2ACT=c("tRRD_S"))
        a.note("Ramulator2", "LPDDR5 activates with two commands (ACT1, ACT2, nAAD apart) and its read-to-write "
                             "is nCL + nBL + 2 - nCWL; WCK kept running (wck_sync_mode always_on: no CAS-sync "
                             "commands)")
    elif fam == "ddr5":
        t.update(nBL=nbl, nRCD=c("tRCD"), nRTP=c("tRTP"), nPPD=c("tPPD"), nCCDS_WR=c("tCCD_S"),
                 nCCDL_WR=c("tCCD_L_WR") or c("tCCD_L"))
        a.note("Ramulator2", "DDR5 ACT, RD and WR take 2 command-bus cycles; read-to-write is "
                             f"nCL + nBL + 4 - nCWL (npusim tRTRS {c('tRTRS')})")
    if rcd_wr != c("tRCD") and fam not in ("hbm2", "hbm3"):
        a.note("Ramulator2", f"one tRCD for reads and writes (npusim tRCD_WR {rcd_wr})")
    refresh = d["refresh"]
    if refresh == "none":
        refresh_mgr = "NoRefresh()"
    elif refresh == "per_bank" and fam == "ddr5":
        refresh_mgr = "AllBank()"
        a.note("Ramulator2", "DDR5 has no per-bank refresh here: all-bank")
    elif refresh == "per_bank":
        refresh_mgr = "HBM34PerBankRefresh()" if fam == "hbm3" else "PerBank()"
    else:
        refresh_mgr = "AllBank()"
    if d.get("refresh_postpone", 0):
        a.note("Ramulator2", "refreshes exactly when due (no postponing)")
    row_policy = "ClosedCAP(cap=1)" if d["page_policy"] == "closed" else "Open()"
    extra_ctrl = ", wck_sync_mode='always_on'" if fam == "lpddr5" else ""
    if d["command_buses"] == "shared" and fam in ("hbm2", "hbm3"):
        a.note("Ramulator2", "HBM always issues one row and one column command per cycle")
    if d["command_buses"] == "row_column" and fam not in ("hbm2", "hbm3"):
        a.note("Ramulator2", "one command per cycle outside HBM")
    a.note("Ramulator2", "a write leaves the write buffer when its row is activated (or at its WR on a hit)")
    if d["page_policy"] == "closed":
        a.note("Ramulator2", "closed page is ClosedCAP(cap=1): precharge once a row had an access, so a queued "
                             "hit can still slip in before the PRE is legal (cap=0 deadlocks)")
    a.note("Ramulator2", f"FR-FCFS is {scheduler} (first ready, then oldest"
                         f"{'; never precharges a row with queued hits' if 'RowHit' in scheduler else ''}); "
                         "refresh requests wait in a priority queue that blocks new row commands until served")
    overrides = ", ".join(f"{k}={v!r}" for k, v in list(org.items()) + list(t.items()))
    script = f'''# written by scripts/dram_compare/compare.py from npusim's resolved {d["preset"]} config
import ramulator
dram = ramulator.dram.{cls}(org_preset={org_preset!r}, timing_preset={timing_preset!r}, {overrides})
ctrl = ramulator.controller.{ctrl}(
    dram=dram,
    scheduler=ramulator.scheduler.{scheduler}(),
    refresh_manager=ramulator.refresh_manager.{refresh_mgr},
    row_policy=ramulator.row_policy.{row_policy},
    addr_mapper=ramulator.addr_mapper.RoBaRaCoCh(),
    read_buffer_size={d["read_queue_bursts"]}, write_buffer_size={d["write_queue_bursts"]},
    wr_high_watermark={d["write_high_watermark"]}, wr_low_watermark={d["write_low_watermark"]}{extra_ctrl})
mem = ramulator.memory_system.GenericDRAM(
    clock_ratio=1, controllers=[ctrl] * {d["channels"]},
    channel_mapper=ramulator.channel_mapper.CacheLineInterleave(interleave_bits=0))
sim = ramulator.Simulation(ramulator.frontend.External(clock_ratio=1), mem)
'''
    return script, a.tck / ticks_per_ck


# ------------------------------------------------------------------------------------------------------ running


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p.stdout


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON line in:\n" + text[-2000:])


def build_drivers(work, ds3_dir, r2_dir, cxx):
    """Compiles the drivers into WORK/bin when their sources are newer than the binaries."""
    out = {}
    bindir = os.path.join(work, "bin")
    os.makedirs(bindir, exist_ok=True)
    header = os.path.join(HERE, "stream_replay.h")
    specs = [("dramsim3", ds3_dir, "dramsim3_driver.cc", "c++17", "dramsim3", "src"),
             ("ramulator2", r2_dir, "ramulator2_driver.cc", "c++20", "ramulator", "src")]
    for name, root, src, std, lib, inc in specs:
        if not root:
            continue
        exe = os.path.join(bindir, f"{name}_driver")
        srcs = [os.path.join(HERE, src), header]
        libfile = os.path.join(root, f"lib{lib}.so")
        if not os.path.exists(libfile):
            raise RuntimeError(f"{libfile} not found: build {name} first (README.md)")
        if not os.path.exists(exe) or os.path.getmtime(exe) < max(os.path.getmtime(f) for f in srcs + [libfile]):
            run([cxx, f"-std={std}", "-O2", "-isystem", os.path.join(root, inc), srcs[0], "-L" + root, "-l" + lib,
                 "-Wl,-rpath," + os.path.abspath(root), "-o", exe])
        out[name] = exe
    return out


def npusim_bench(args, preset, pattern, read_ratio, nbytes, request_bytes, outstanding, stream_path):
    cmd = [args.npusim, "dram-bench", args.npu_config, "--pattern", pattern, "--bytes", str(nbytes),
           "--read-ratio", str(read_ratio), "--outstanding", str(outstanding), "--seed", str(args.seed),
           "--set", f"dram.preset={preset}", "--set", f"dram.channels={args.channels}"]
    if request_bytes:
        cmd += ["--request-bytes", str(request_bytes)]
    if args.window:
        cmd += ["--window", args.window]
    for s in args.npusim_set:
        cmd += ["--set", s]
    cmd += ["--json"]
    if stream_path:
        cmd += ["--dump-stream", stream_path]
    out = json.loads(run(cmd))
    if "dram" not in out:
        raise RuntimeError("npusim dram-bench --json has no 'dram' object yet (see README.md: the interface)")
    return out


def config_files(work, a, args):
    """Writes (once per distinct config) the DRAMsim3 .ini and the Ramulator YAML; returns their paths."""
    key = hashlib.sha1(json.dumps([a.d, args.dramsim3_refresh, args.ramulator_scheduler],
                                  sort_keys=True).encode()).hexdigest()[:10]
    base = os.path.join(work, "configs", f"{a.d['preset']}-{key}")
    os.makedirs(os.path.dirname(base), exist_ok=True)
    ini = base + ".ini"
    with open(ini, "w") as f:
        f.write(dramsim3_ini(a, args.dramsim3_refresh))
    script, r2_tick = ramulator_script(a, args.ramulator_scheduler)
    yaml = None
    if script and args.ramulator2_dir:
        yaml = base + ".yaml"
        with open(base + "_ramulator.py", "w") as f:
            f.write(script)
        env = dict(os.environ, PYTHONPATH=os.path.join(args.ramulator2_dir, "python"))
        run([sys.executable, "-m", "ramulator", "export", base + "_ramulator.py", "-o", yaml], env=env)
    return ini, yaml, r2_tick


def run_driver(exe, cfg, stream, a, tick_ns, dst_map, stats):
    cmd = [exe, "--config", cfg, "--stream", stream, "--tick-ns", repr(tick_ns), "--org", a.org_arg(),
           "--src-map", a.d["address_mapping"], "--stats-out", stats]
    if dst_map:
        cmd += ["--dst-map", dst_map]
    start = time.monotonic()
    out = last_json(run(cmd))
    out["wall_s"] = time.monotonic() - start  # the whole process: reading the stream and simulating it
    return out


def dramsim3_stats(path):
    """Command counts and row hits from DRAMsim3's dramsim3.json, summed over channels."""
    try:
        data = json.load(open(os.path.join(path, "dramsim3.json")))
    except (OSError, ValueError):
        return {}
    keys = ["num_act_cmds", "num_read_cmds", "num_write_cmds", "num_read_row_hits", "num_write_row_hits",
            "num_ref_cmds", "num_refb_cmds", "num_pre_cmds"]
    return {k: sum(int(ch.get(k, 0)) for ch in data.values()) for k in keys}


def ramulator_stats(path):
    """Row hits, misses, conflicts and refreshes from Ramulator's statistics (YAML), summed over channels."""
    try:
        text = open(path).read()
    except OSError:
        return {}
    out = {}
    for key in ("row_hits", "row_misses", "row_conflicts", "num_maintenance_reqs_served"):
        out[key] = sum(int(v) for v in re.findall(rf"^\s+{key}:\s*(\d+)\s*$", text, re.M))
    return out


def one_case(args, drivers, work, preset, name, pattern, ratio, nbytes, req_bytes, outstanding):
    tag = f"{preset}-{name}"
    stream = os.path.join(work, "streams", tag + ".txt")
    os.makedirs(os.path.dirname(stream), exist_ok=True)
    npu = npusim_bench(args, preset, pattern, ratio, nbytes, req_bytes, outstanding, stream)
    # npusim's speed from a second run without the stream dump, timed as a whole process like the drivers.
    start = time.monotonic()
    npusim_bench(args, preset, pattern, ratio, nbytes, req_bytes, outstanding, None)
    npu["process_wall_s"] = time.monotonic() - start
    a = Aligned(npu["dram"])
    ini, yaml, r2_tick = config_files(work, a, args)
    row = {"case": tag, "preset": preset, "pattern": name, "read_ratio": ratio, "bytes": nbytes,
           "request_bytes": req_bytes or npu.get("request_bytes"), "outstanding": outstanding,
           "peak_gbps": npu.get("peak_gbps"),
           "npusim": {k: npu.get(k) for k in ("achieved_gbps", "read_latency_avg_ns", "simulated_ps", "requests",
                                               "row_hits", "row_misses", "row_conflicts", "activates",
                                               "refreshes", "process_wall_s")},
           "configs": {"dramsim3": ini, "ramulator2": yaml}, "notes": a.notes}
    if "dramsim3" in drivers:
        stats = os.path.join(work, "stats", tag + "-dramsim3")
        os.makedirs(stats, exist_ok=True)
        res = run_driver(drivers["dramsim3"], ini, stream, a, a.tck, None, stats)
        res.update(dramsim3_stats(stats))
        row["dramsim3"] = res
    if "ramulator2" in drivers and yaml:
        stats = os.path.join(work, "stats", tag + "-ramulator2.yaml")
        os.makedirs(os.path.dirname(stats), exist_ok=True)
        res = run_driver(drivers["ramulator2"], yaml, stream, a, r2_tick, "robabgracoch", stats)
        res.update(ramulator_stats(stats))
        row["ramulator2"] = res
    return row, a


def fmt(v, spec="7.2f"):
    return f"{v:{spec}}" if isinstance(v, (int, float)) else f"{'-':>{int(spec.split('.')[0])}}"


def pct(other, ref):
    if isinstance(other, (int, float)) and isinstance(ref, (int, float)) and ref:
        return f"{100.0 * (other - ref) / ref:+6.1f}%"
    return f"{'-':>7}"


def print_table(rows, unloaded, channels):
    get = lambda r, sim, k: (r.get(sim) or {}).get(k) if sim != "npusim" else r["npusim"].get(k)
    print(f"Bandwidth (GB/s) and average read latency (ns), {channels} channel{'s' if channels > 1 else ''}, "
          "each simulator on npusim's request stream")
    head = (f"{'case':<26}{'peak':>7} {'npusim':>7} {'DRAMsim3':>8} {'Ram2':>7} {'dDS3':>7} {'dRam2':>7}   "
            f"{'lat npu':>7} {'lat DS3':>7} {'lat R2':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        n, d, m = (get(r, s, "achieved_gbps" if s == "npusim" else "gbps") for s in ("npusim", "dramsim3",
                                                                                     "ramulator2"))
        ln, ld, lm = (get(r, s, "read_latency_avg_ns") for s in ("npusim", "dramsim3", "ramulator2"))
        print(f"{r['case']:<26}{fmt(r['peak_gbps'])} {fmt(n)} {fmt(d, '8.2f')} {fmt(m)} {pct(d, n)} {pct(m, n)}   "
              f"{fmt(ln, '7.1f')} {fmt(ld, '7.1f')} {fmt(lm, '7.1f')}")
    print("\nSimulator speed: wall seconds per case, whole processes (the drivers read the stream file; npusim "
          "generates it)")
    print(f"{'case':<26}{'npusim':>8} {'DRAMsim3':>9} {'Ram2':>8} {'DS3/npu':>8} {'R2/npu':>8}")
    for r in rows:
        n, d, m = (get(r, s, "process_wall_s" if s == "npusim" else "wall_s") for s in ("npusim", "dramsim3",
                                                                                        "ramulator2"))
        ratio = lambda o: f"{o / n:7.1f}x" if isinstance(o, (int, float)) and n else f"{'-':>8}"
        print(f"{r['case']:<26}{fmt(n, '8.3f')} {fmt(d, '9.3f')} {fmt(m, '8.3f')} {ratio(d)} {ratio(m)}")
    if unloaded:
        print("\nUnloaded read latency (ns): random reads, one at a time")
        print(f"{'preset':<26}{'npusim':>7} {'DRAMsim3':>8} {'Ram2':>7} {'dDS3':>7} {'dRam2':>7}")
        for r in unloaded:
            ln, ld, lm = (get(r, s, "read_latency_avg_ns") for s in ("npusim", "dramsim3", "ramulator2"))
            print(f"{r['preset']:<26}{fmt(ln, '7.1f')} {fmt(ld, '8.1f')} {fmt(lm, '7.1f')} {pct(ld, ln)} "
                  f"{pct(lm, ln)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default=",".join(DEFAULT_PRESETS), help="comma-separated npusim DRAM presets")
    ap.add_argument("--patterns", default="sequential,random,mixed",
                    help="comma-separated: sequential, random, mixed (random, read ratio 0.67)")
    ap.add_argument("--bytes", type=int, default=4 << 20, help="bytes per case (default 4 MiB)")
    ap.add_argument("--request-bytes", type=int, default=0, help="bytes per request (default: one burst)")
    ap.add_argument("--outstanding", type=int, default=32, help="requests in flight (default 32)")
    ap.add_argument("--channels", type=int, default=1, help="dram.channels (default 1)")
    ap.add_argument("--unloaded-reads", type=int, default=1000,
                    help="reads for the unloaded-latency case (one at a time); 0: skip it")
    ap.add_argument("--window", choices=["inorder", "any"], default=None,
                    help="dram-bench --window (default: dram-bench's, inorder)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--npu-config", default=os.path.join("configs", "npu", "edge-lpddr5.yaml"),
                    help="NPU config whose dram section dram-bench starts from (its preset is replaced)")
    ap.add_argument("--npusim-set", action="append", default=None, metavar="KEY=VALUE",
                    help="extra --set for npusim (default: dram.refresh_postpone=0, since neither other "
                         "simulator postpones refreshes; give 'none' for no extra --set)")
    ap.add_argument("--dramsim3-refresh", choices=["all_bank", "per_bank"], default="all_bank",
                    help="how a per_bank preset refreshes in DRAMsim3 (default all_bank: DRAMsim3's per-bank "
                         "refresh mistimes, see README.md)")
    ap.add_argument("--ramulator-scheduler", default="FRFCFSRowHit", choices=["FRFCFS", "FRFCFSRowHit"])
    ap.add_argument("--work-dir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "dram_compare"))
    ap.add_argument("--npusim", default=os.environ.get("NPUSIM", os.path.join("build", "sim", "npusim")))
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args()
    if args.npusim_set is None:
        args.npusim_set = ["dram.refresh_postpone=0"]
    args.npusim_set = [s for s in args.npusim_set if s != "none"]
    args.dramsim3_dir = os.environ.get("DRAMSIM3_DIR")
    args.ramulator2_dir = os.environ.get("RAMULATOR2_DIR")
    if not args.dramsim3_dir and not args.ramulator2_dir:
        sys.exit("compare.py: set DRAMSIM3_DIR and/or RAMULATOR2_DIR to the built simulators (README.md)")
    if not shutil.which(args.npusim) and not os.path.exists(args.npusim):
        sys.exit(f"compare.py: npusim not found at {args.npusim} (set NPUSIM)")
    drivers = build_drivers(args.work_dir, args.dramsim3_dir, args.ramulator2_dir, os.environ.get("CXX", "g++"))
    presets = [p for p in args.presets.split(",") if p]
    patterns = [p for p in args.patterns.split(",") if p]
    for p in patterns:
        if p not in PATTERNS:
            sys.exit(f"compare.py: unknown pattern {p!r} (known: {', '.join(PATTERNS)})")
    rows, unloaded, notes = [], [], {}
    for preset in presets:
        # A short probe tells the preset's burst, the default request size.
        probe = npusim_bench(args, preset, "sequential", 1.0, 65536, 0, 1, None)
        burst = Aligned(probe["dram"]).burst_bytes
        req_bytes = args.request_bytes or burst
        for name in patterns:
            pattern, ratio = PATTERNS[name]
            row, a = one_case(args, drivers, args.work_dir, preset, name, pattern, ratio, args.bytes, req_bytes,
                              args.outstanding)
            rows.append(row)
            notes[preset] = a.notes
            if not args.json:
                print(f"  done {row['case']}", file=sys.stderr, flush=True)
        if args.unloaded_reads > 0:
            row, a = one_case(args, drivers, args.work_dir, preset, "unloaded", "random", 1.0,
                              args.unloaded_reads * burst, burst, 1)
            unloaded.append(row)
            notes.setdefault(preset, a.notes)
    if args.json:
        print(json.dumps({"args": {k: v for k, v in vars(args).items()}, "cases": rows, "unloaded": unloaded,
                          "notes": notes}, indent=2))
        return
    print_table(rows, unloaded, args.channels)
    print("\nWhat is not aligned (per preset):")
    for preset, lines in notes.items():
        print(f"  {preset}:")
        for line in lines:
            print(f"    - {line}")


if __name__ == "__main__":
    main()
