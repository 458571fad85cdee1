#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# Build (or vet) Go packages offline, in GOPATH mode, against the gVisor sources
# of Debian's golang-gvisor-gvisor-dev (and the golang-*-dev packages it needs).
# Usage: build-go.sh build GO GOTREE GOCODE GOCACHE PKG OUTPUT
#        build-go.sh vet GO GOTREE GOCODE GOCACHE PKG...
#        build-go.sh fuzz GO GOTREE GOCODE GOCACHE PKG SECONDS TARGET...
#   GO      the go command
#   GOTREE  our GOPATH tree (holds src/shmlink/... or src/shmlinkinterop/...)
#   GOCODE  the Debian Go source tree, /usr/share/gocode
#   GOCACHE the build cache, inside the meson build directory
#   PKG     an import path, e.g. shmlink/cmd/shmlink-gvisor-peer
#   OUTPUT  the executable to write
#
# Debian ships two gVisor APIs: 2022-12 (Debian 12: tcpip.Address is a string,
# packets use pkg/bufferv2) and 2024-07 (Debian 13 and later: tcpip.Address is
# a struct made by AddrFrom4/AddrFrom16, pkg/buffer, *stack.PacketBuffer). Our
# packages keep what differs in compat_gv2022.go and compat_gv2024.go, chosen
# by the gvisor2024 build tag, which this script sets from the sources found.
set -eu
usage() {
	echo "usage: $0 build GO GOTREE GOCODE GOCACHE PKG OUTPUT" >&2
	echo "       $0 vet GO GOTREE GOCODE GOCACHE PKG..." >&2
	echo "       $0 fuzz GO GOTREE GOCODE GOCACHE PKG SECONDS TARGET..." >&2
	exit 2
}
[ $# -ge 6 ] || usage
verb=$1 go=$2 gotree=$3 gocode=$4 gocache=$5
shift 5
case "$verb" in
build) [ $# -eq 2 ] || usage ;;
vet) ;;
fuzz) [ $# -ge 3 ] || usage ;;
*) usage ;;
esac

# Which gVisor: a feature check on the sources, not a version number (Debian's
# package version says nothing about the API of a snapshot).
gv=$gocode/src/gvisor.dev/gvisor/pkg
if [ -d "$gv/buffer" ] && grep -qs '^func AddrFrom4(' "$gv/tcpip/tcpip.go"; then
	tags=gvisor2024
elif [ -d "$gv/bufferv2" ]; then
	tags=
else
	echo "$0: the gVisor sources in $gv have neither pkg/bufferv2 (gVisor" \
		"2022-12) nor pkg/buffer and tcpip.AddrFrom4 (2024-07): unsupported" >&2
	exit 1
fi

mkdir -p "$gocache"
# GOPATH mode: no module download can happen, every import must resolve from
# the two trees. GOFLAGS is cleared so that a user's -mod=... cannot interfere.
run_go() {
	env GO111MODULE=off GOPROXY=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0 \
		GOPATH="$gotree:$gocode" GOCACHE="$gocache" HOME="$gocache" "$go" "$@"
}
if [ "$verb" = fuzz ]; then
	# Go's native fuzzing, one target per run (go test -fuzz takes one), each for
	# SECONDS; the corpus it grows stays in GOCACHE, a failing input is written to
	# the package's testdata/fuzz (the reproducer, as go test says).
	pkg=$1 secs=$2
	shift 2
	for target in "$@"; do
		echo "== $target, ${secs} s"
		run_go test -tags "$tags" -run '^$' -fuzz "^$target\$" -fuzztime "${secs}s" "$pkg"
	done
	exit 0
fi
case "$verb" in
build) set -- build -tags "$tags" -o "$2" "$1" ;;
vet) set -- vet -tags "$tags" "$@" ;;
esac
run_go "$@"
