#!/usr/bin/env bash
# Installs what `make run` and `make test` need, idempotently, and says what
# it is doing. As root on Debian/Ubuntu it installs missing system packages
# with apt-get; elsewhere it stops with a message naming what to install.
# Go tools go into ./bin with `go install`.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_CLI_VERSION=v1.5.1
BIN="$PWD/bin"
mkdir -p "$BIN"

say() { echo "bootstrap: $*"; }

have_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_updated=""
apt_install() {
	if ! have_apt; then
		say "missing: $* — install it (Debian/Ubuntu: sudo apt-get install -y $*) and run make again"
		exit 1
	fi
	if [ -z "$apt_updated" ]; then
		say "apt-get update"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		apt_updated=1
	fi
	say "apt-get install -y $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Go is the one thing we cannot install for you: everything else is built with it.
if ! command -v go >/dev/null 2>&1; then
	say "Go 1.24 or newer is required: https://go.dev/doc/install"
	exit 1
fi

# PostgreSQL server binaries (initdb, pg_ctl) for the private clusters that
# `portiere dev` and the tests run. Not needed when DB_HOST points elsewhere,
# but the tests always need them.
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
	say "PostgreSQL server binaries: present"
else
	apt_install postgresql
	# The Debian package starts its own cluster on 5432; we do not use it.
	if command -v pg_ctlcluster >/dev/null 2>&1; then
		for c in $(pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}'); do
			pg_ctlcluster ${c%/*} ${c#*/} stop >/dev/null 2>&1 || true
		done
	fi
fi
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
	say "creating system user postgres (PostgreSQL refuses to run as root)"
	useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

# Redis server: the tests check the shared cache against a real one.
if command -v redis-server >/dev/null 2>&1; then
	say "Redis server: present"
else
	apt_install redis-server
	# The package may start a system instance on 6379; the tests start their own.
	if command -v systemctl >/dev/null 2>&1; then systemctl stop redis-server >/dev/null 2>&1 || true; fi
fi

# Temporal CLI: the development server `portiere dev` and the tests start.
if [ -x "$BIN/temporal" ]; then
	say "Temporal CLI: present ($BIN/temporal)"
else
	say "installing Temporal CLI $TEMPORAL_CLI_VERSION into $BIN (go install; a few minutes the first time)"
	GOBIN="$BIN" GOFLAGS=-buildvcs=false go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
fi

# FAISS (static library and headers) and OpenBLAS: search/faiss links them
# through cgo, so even `go build ./...` needs them.
if dpkg -s libfaiss-dev libopenblas-dev >/dev/null 2>&1; then
	say "FAISS and OpenBLAS development packages: present"
else
	apt_install libfaiss-dev libopenblas-dev
fi

# ONNX Runtime shared library for the SapBERT embedder (search/embed.ONNX),
# which loads it at run time from ./lib. Microsoft's build ships inside the npm
# package onnxruntime-node; we take only the one library file from it.
ORT_VERSION=1.24.1
ORT_LIB="$PWD/lib/libonnxruntime.so.1"
if [ -f "$ORT_LIB" ]; then
	say "ONNX Runtime library: present ($ORT_LIB)"
else
	case "$(uname -m)" in
	x86_64 | amd64) ort_arch=x64 ;;
	aarch64 | arm64) ort_arch=arm64 ;;
	*) ort_arch="" ;;
	esac
	if [ "$(uname -s)" != Linux ] || [ -z "$ort_arch" ]; then
		say "no ONNX Runtime build for $(uname -s)/$(uname -m) here; set ONNXRUNTIME_LIB to use EMBEDDING_MODEL=onnx"
	else
		command -v npm >/dev/null 2>&1 || apt_install npm
		say "fetching ONNX Runtime $ORT_VERSION (npm pack onnxruntime-node@$ORT_VERSION) into $ORT_LIB"
		ort_tmp="$(mktemp -d)"
		(cd "$ort_tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
		tar -xzf "$ort_tmp/onnxruntime-node-$ORT_VERSION.tgz" -C "$ort_tmp" \
			"package/bin/napi-v6/linux/$ort_arch/libonnxruntime.so.1"
		mkdir -p "$(dirname "$ORT_LIB")"
		# Move into place last so an interrupted run leaves no half-written library.
		cp "$ort_tmp/package/bin/napi-v6/linux/$ort_arch/libonnxruntime.so.1" "$ORT_LIB.tmp"
		mv "$ORT_LIB.tmp" "$ORT_LIB"
		rm -rf "$ort_tmp"
	fi
fi

# --- deployment checks -------------------------------------------------------
# nginx: deploy/check runs `nginx -t` on deploy/nginx (make test). Only the
# binary is needed; the package's own site stays disabled, never started here.
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
	say "nginx: present"
else
	apt_install nginx
	if command -v systemctl >/dev/null 2>&1; then systemctl stop nginx >/dev/null 2>&1 || true; fi
fi
# -----------------------------------------------------------------------------

say "ready"
