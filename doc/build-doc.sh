#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# Build the documentation with every warning an error.
#   build-doc.sh guides SPHINX_BUILD SOURCE_DIR OUT_DIR DOCTREE_DIR
#   build-doc.sh api DOXYGEN DOXYFILE OUT_DIR
# With OUT_DIR "-", builds into a temporary directory that is removed afterwards: the
# form the docs tests use, so a test run leaves nothing behind.
set -eu

die() { echo "build-doc: $*" >&2; exit 1; }

[ $# -ge 4 ] || die "usage: $0 guides|api TOOL SOURCE OUT [DOCTREES]"
what=$1 tool=$2 src=$3 out=$4
shift 4

tmp=""
cleanup() { [ -z "$tmp" ] || rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
if [ "$out" = "-" ]; then
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/shmlink-doc.XXXXXX")
	out=$tmp/out
fi

case $what in
guides)
	doctrees=${1:-$out/.doctrees}
	[ -z "$tmp" ] || doctrees=$tmp/doctrees
	# -W: warnings are errors; --keep-going: report all of them first;
	# -n: nitpicky, every cross-reference must resolve.
	"$tool" -W --keep-going -n -q -b html -d "$doctrees" "$src" "$out"
	;;
api)
	mkdir -p "$out"
	log=$out/doxygen.log
	# The configured Doxyfile, with the output directory of this build.
	rc=0
	{
		cat "$src"
		echo "OUTPUT_DIRECTORY = $out"
	} | "$tool" - >/dev/null 2>"$log" || rc=$?
	if [ $rc -ne 0 ] || [ -s "$log" ]; then
		cat "$log" >&2
		die "doxygen failed (exit $rc) or warned: see above"
	fi
	rm -f "$log"
	[ -f "$out/html/index.html" ] || die "doxygen made no $out/html/index.html"
	;;
*)
	die "unknown part '$what'"
	;;
esac
