#!/usr/bin/env python3
"""The tool sharded over c10d ranks on loopback (torchrun's variables, set by hand).

  results   `restore --output-dir` and `bench` with 1 rank and with 2 ranks give the
            same per-image restorations and the same reduced metrics (float tolerance:
            a rank solves its images in other batches, and float32 convolutions round
            differently for other batch sizes);
  failure   a rank killed mid-run makes the other end with an error naming the failed
            collective, well within the timeout, and no output is left;
  no show   a rank whose partner never starts gives up after the join timeout.

usage: distributed_test.py MAPINVERSE_EXECUTABLE WORK_DIR"""

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import zlib

tool, work = sys.argv[1:3]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAILED:", message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_environment(rank, world_size, port, timeout):
    return dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                WORLD_SIZE=str(world_size), RANK=str(rank), MAPINVERSE_DIST_TIMEOUT=str(timeout))


def start_ranks(arguments, world_size, timeout=60):
    port = free_port()
    return [subprocess.Popen([tool, "--threads", "1", *arguments],
                             env=rank_environment(rank, world_size, port, timeout),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for rank in range(world_size)]


def run_ranks(arguments, world_size):
    processes = start_ranks(arguments, world_size)
    results = [p.communicate(timeout=600) for p in processes]
    for rank, (p, (out, err)) in enumerate(zip(processes, results)):
        check(p.returncode == 0, f"rank {rank} of {world_size} exited {p.returncode}: {err[-2000:]}")


def run_single(arguments):
    p = subprocess.run([tool, "--threads", "1", *arguments], capture_output=True, text=True,
                       timeout=600)
    check(p.returncode == 0, f"single process exited {p.returncode}: {p.stderr[-2000:]}")


def read_grey_png(path):
    """The pixels of an 8-bit greyscale, non-interlaced PNG as a list of rows."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    position, compressed, width, height = 8, b"", 0, 0
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour == 0, f"{path}: not 8-bit grey"
        elif kind == b"IDAT":
            compressed += body
        position += 12 + length
    raw, rows, previous = zlib.decompress(compressed), [], [0] * width
    for y in range(height):
        kind, line = raw[y * (width + 1)], list(raw[y * (width + 1) + 1:(y + 1) * (width + 1)])
        for x in range(width):
            left = line[x - 1] if x > 0 else 0
            up, corner = previous[x], previous[x - 1] if x > 0 else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[x] = (line[x] + predictor) & 255
        rows.append(line)
        previous = line
    return rows


# --- restore --output-dir: 7 test images, 1 rank (batches of 2) vs 2 ranks (batches of 3).
restore = ["restore", "--fmnist-range", "0:7", "--mask", "half", "--sigma-y", "0.05",
           "--solver", "pgdm", "--steps", "8", "--seed", "3", "--quiet"]
run_single(restore + ["--batch", "2", "--output-dir", f"{work}/restore1"])
run_ranks(restore + ["--batch", "3", "--output-dir", f"{work}/restore2"], 2)
one = json.load(open(f"{work}/restore1/report.json"))
two = json.load(open(f"{work}/restore2/report.json"))
check(two["ranks"] == 2 and one["ranks"] == 1, "reports name their number of ranks")
check(len(one["per_image"]) == len(two["per_image"]) == 7, "7 images in each report")
for a, b in zip(one["per_image"], two["per_image"]):
    check(a["name"] == b["name"], f"image order: {a['name']} vs {b['name']}")
    check(abs(a["psnr_db"] - b["psnr_db"]) < 1e-4, f"{a['name']}: PSNR {a['psnr_db']} vs {b['psnr_db']}")
    check(abs(a["ssim"] - b["ssim"]) < 1e-5, f"{a['name']}: SSIM {a['ssim']} vs {b['ssim']}")
    pixels_a = read_grey_png(f"{work}/restore1/{a['file']}")
    pixels_b = read_grey_png(f"{work}/restore2/{b['file']}")
    largest = max(abs(p - q) for ra, rb in zip(pixels_a, pixels_b) for p, q in zip(ra, rb))
    check(largest <= 1, f"{a['name']}: restored pixels differ by {largest} levels (allowed: 1)")
check(abs(one["psnr_db"] - two["psnr_db"]) < 1e-4, "mean PSNR equal")
check(not os.path.exists(f"{work}/restore2.partial"), "no staging folder left")

# --- bench: Table 1 on 5 images and two masks, 1 rank vs 2 ranks.
bench = ["bench", "--tables", "1", "--images", "5", "--time-steps", "2", "--iterations", "1",
         "--pgdm-steps", "4", "--masks", "box50", "half", "--quiet"]
run_single(bench + ["--out", f"{work}/bench1"])
run_ranks(bench + ["--out", f"{work}/bench2"], 2)
one = json.load(open(f"{work}/bench1/results.json"))
two = json.load(open(f"{work}/bench2/results.json"))
check(two["ranks"] == 2, "bench results name 2 ranks")
# zip() stops at the shorter list: the lengths are compared first, so that a rank's
# missing table, row or mask fails instead of going unread.
check(len(one["tables"]) == len(two["tables"]) >= 1,
      f"bench tables: {len(one['tables'])} vs {len(two['tables'])}")
for table_a, table_b in zip(one["tables"], two["tables"]):
    check(len(table_a["rows"]) == len(table_b["rows"]) >= 1,
          f"bench rows: {len(table_a['rows'])} vs {len(table_b['rows'])}")
    for row_a, row_b in zip(table_a["rows"], table_b["rows"]):
        check(row_a["method"] == row_b["method"], f"bench row {row_a['method']} vs {row_b['method']}")
        check(sorted(row_a["masks"]) == sorted(row_b["masks"]) == ["box50", "half"],
              f"bench masks: {sorted(row_a['masks'])} vs {sorted(row_b['masks'])}")
        for mask, a in row_a["masks"].items():
            b = row_b["masks"][mask]
            for key in ["psnr_db", "ssim", "frechet_distance", "nfe_per_image"]:
                scale = max(1.0, abs(a[key]))
                check(abs(a[key] - b[key]) <= 1e-5 * scale,
                      f"bench {row_a['method']} {mask} {key}: {a[key]} vs {b[key]}")
check(os.path.exists(f"{work}/bench2/figure_noiseless.png"), "rank 0 drew the figure")

# --- a rank killed mid-run: the other must stop with an error, not hang.
timeout = 60
slow = ["restore", "--fmnist-range", "0:6", "--mask", "box50", "--solver", "map-ga",
        "--time-steps", "20", "--iterations", "10", "--batch", "1", "--quiet",
        "--output-dir", f"{work}/killed"]
# Rank 0 notices the loss at its next collective, after its own shard (images 0-2): on a
# loaded machine that shard can take longer than the timeout, so the bound adds its time
# measured alone.
shard_started = time.time()
run_single(slow[:2] + ["0:3"] + slow[3:-1] + [f"{work}/killed-shard"])
shard_seconds = time.time() - shard_started
processes = start_ranks(slow, 2, timeout)
survivor, victim = processes
started = time.time()
while time.time() - started < 120:
    line = victim.stderr.readline()
    if "rank 1 of 2" in line or not line:
        break
time.sleep(2.0)  # both are solving now
victim.kill()
killed_at = time.time()
try:
    _, error = survivor.communicate(timeout=timeout + shard_seconds + 120)
except subprocess.TimeoutExpired:
    survivor.kill()
    error = "(hung)"
waited = time.time() - killed_at
victim.communicate()
check(survivor.returncode not in (0, None), f"rank 0 exit code after its partner died: {survivor.returncode}")
check("another rank has failed" in error, f"rank 0's message names the failure: {error[-1000:]}")
check(waited < timeout + shard_seconds,
      f"rank 0 stopped {waited:.1f} s after the kill (timeout {timeout} s, its shard alone "
      f"{shard_seconds:.1f} s)")
check(not os.path.exists(f"{work}/killed") and not os.path.exists(f"{work}/killed.partial"),
      "a failed run leaves no output folder")
print(f"killed rank 1; rank 0 ended {waited:.1f} s later with: {error.strip().splitlines()[-1]}")

# --- a rank whose partner never starts: gives up after the join timeout.
port = free_port()
started = time.time()
alone = subprocess.run([tool, "--threads", "1", *restore, "--output-dir", f"{work}/alone"],
                       env=rank_environment(0, 2, port, 5), capture_output=True, text=True,
                       timeout=300)
waited = time.time() - started
check(alone.returncode != 0, "rank 0 without its partner fails")
check("could not join" in alone.stderr, f"message names the join: {alone.stderr[-1000:]}")
check(waited < 5 + 60, f"gave up after {waited:.1f} s (join timeout 5 s)")
check(not os.path.exists(f"{work}/alone"), "no output folder without a group")
print(f"rank 0 alone gave up after {waited:.1f} s: {alone.stderr.strip().splitlines()[-1]}")

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all distributed checks passed")
