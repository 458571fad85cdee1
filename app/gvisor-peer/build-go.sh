#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The shmlink authors
#
# Build a Go program offline, in GOPATH mode, against the gVisor sources
# of Debian's golang-gvisor-gvisor-dev (and the golang-*-dev packages it needs).
# Usage: build-go.sh GO GOTREE GOCODE GOCACHE PKG OUTPUT
#   GO      the go command
#   GOTREE  our GOPATH tree (holds src/shmlink/...)
#   GOCODE  the Debian Go source tree, /usr/share/gocode
#   GOCACHE the build cache, inside the meson build directory
#   PKG     the import path to build, e.g. shmlink/cmd/shmlink-gvisor-peer
#   OUTPUT  the executable to write
set -eu
if [ $# -ne 6 ]; then
	echo "usage: $0 GO GOTREE GOCODE GOCACHE PKG OUTPUT" >&2
	exit 2
fi
go=$1 gotree=$2 gocode=$3 gocache=$4 pkg=$5 output=$6
mkdir -p "$gocache"
# GOPATH mode: no module download can happen, every import must resolve from
# the two trees. GOFLAGS is cleared so that a user's -mod=... cannot interfere.
exec env GO111MODULE=off GOPROXY=off GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0 \
	GOPATH="$gotree:$gocode" GOCACHE="$gocache" HOME="$gocache" \
	"$go" build -o "$output" "$pkg"
