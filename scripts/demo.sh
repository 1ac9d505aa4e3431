#!/usr/bin/env bash
# The main job on built-in sample data: native RapidAI4EO files -> static STAC catalog with
# sidecar indexes -> offline validation -> the corpus tutorial's queries in milliseconds ->
# an async crawl of the same catalog over HTTP into a cache and a fresh index.
set -euo pipefail
BIN=${BIN:-.venv/bin}
DEMO=${DEMO:-.demo}
CATALOG=$DEMO/catalogs/rapidai4eo
PORT=${PORT:-8765}
BERLIN=13.05,52.35,13.72,52.69
PF=rapidai4eo_v1_source_pf
S2=rapidai4eo_v1_source_s2

step() { printf '\n== %s\n' "$*"; }

step "Sample input in the corpus' native formats"
"$BIN/stacforge" sample rapidai4eo "$DEMO/rapidai4eo" --locations "${LOCATIONS:-200}"

step "Build the static catalog (and its sidecar indexes, in the same pass)"
"$BIN/stacforge" build rapidai4eo "$DEMO/rapidai4eo" "$CATALOG" --overwrite

step "Validate it offline: core STAC 1.1.0, label / projection extensions, links"
"$BIN/stacforge" validate "$CATALOG"

step "The tutorial's queries, answered from the sidecars"
echo "Planet Fusion items around Berlin: $("$BIN/stacforge" search "$CATALOG" --bbox "$BERLIN" --collections "$PF" --format count)"
echo "PF + S2 asset hrefs there: $("$BIN/stacforge" search "$CATALOG" --bbox "$BERLIN" --collections "$PF,$S2" --format hrefs | wc -l) (304 per location)"
echo "... data assets of 2018: $("$BIN/stacforge" search "$CATALOG" --bbox "$BERLIN" --collections "$PF,$S2" --asset-role data --asset-datetime 2018 --format hrefs | wc -l) (85 per location)"
echo "Locations over 80% peat bog: $("$BIN/stacforge" search "$CATALOG" --label 'clc_412>0.8' --collections rapidai4eo_v1_labels --format count)"
echo "Entirely forest (CLC 311+312+313 = 1): $("$BIN/stacforge" search "$CATALOG" --label-any 'clc_311,clc_312,clc_313>=1.0' --collections rapidai4eo_v1_labels --format count)"
echo "First three hrefs of the Berlin 2018 data list, ready for a download tool:"
"$BIN/stacforge" search "$CATALOG" --bbox "$BERLIN" --collections "$PF,$S2" --asset-role data --asset-datetime 2018 --format hrefs | head -n 3

step "Crawl the same catalog over HTTP (walking it, not its mirrors) into a cache and an index"
"$BIN/stacforge" serve "$CATALOG" --port "$PORT" 2>/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
"$BIN/python" - "$PORT" <<'PY'
import sys, time, urllib.request
for _ in range(100):  # wait at most ~10 s for the server to answer
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/catalog.json", timeout=1).close()
        break
    except OSError:
        time.sleep(0.1)
PY
url="http://127.0.0.1:$PORT/catalog.json"
rm -rf "$DEMO/crawl-cache"
"$BIN/stacforge" crawl "$url" --cache "$DEMO/crawl-cache" --index "$DEMO/crawled-index" --overwrite --no-use-mirrors
echo "Warm re-crawl (revalidates with ETags; only 304s come back):"
"$BIN/stacforge" crawl "$url" --cache "$DEMO/crawl-cache" --index "$DEMO/crawled-index" --overwrite --no-use-mirrors
echo "Same Berlin query on the crawled index: $("$BIN/stacforge" search "$DEMO/crawled-index" --bbox "$BERLIN" --collections "$PF" --format count)"
