#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# The installed dpdk-pmdinfo.py must list net_shmlink with every devarg the driver
# parses, read from the PMD info record generated at build time.
set -eu
so=$1
src=$2
out=$(dpdk-pmdinfo.py "$so")
echo "$out"
echo "$out" | /usr/bin/python3 -c '
import json, re, sys
info = json.load(sys.stdin)
names = [d["name"] for d in info]
assert names == ["net_shmlink"], "drivers listed: %s" % names
params = info[0].get("params", "")
# every key in the driver key list must be documented in the record
src = open(sys.argv[1]).read()
keys = re.findall(r"#define ARG_\w+\s+\"(\w+)\"", src)
assert len(keys) >= 12, "found only %s" % keys
missing = [k for k in keys if not re.search(r"(^| )%s=" % k, params)]
assert not missing, "params lack %s: %s" % (missing, params)
print("net_shmlink lists %d parameters" % len(keys))
' "$src/drivers/net/shmlink/shmlink_ethdev.c"
