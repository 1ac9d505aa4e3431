#!/usr/bin/env bash
# The main job on built-in sample data: every dataset's native files -> static STAC catalog
# with indexes -> offline validation; then the RapidAI4EO tutorial's queries in milliseconds
# and an async crawl of that catalog over HTTP into a cache and a fresh index.
set -euo pipefail
BIN=${BIN:-.venv/bin}
DEMO=${DEMO:-.demo}
CATALOG=$DEMO/catalogs/rapidai4eo
PORT=${PORT:-8765}
BERLIN=13.05,52.35,13.72,52.69
PF=rapidai4eo_v1_source_pf
S2=rapidai4eo_v1_source_s2

step() { printf '\n== %s\n' "$*"; }

for dataset in $("$BIN/python" -c 'from stacforge import datasets; print(*datasets.NAMES)'); do
  step "$dataset: sample input in its native formats, the catalog and its indexes, validated"
  if [ "$dataset" = rapidai4eo ]; then
    "$BIN/stacforge" sample "$dataset" "$DEMO/source/$dataset" --count "${LOCATIONS:-200}"
  else
    "$BIN/stacforge" sample "$dataset" "$DEMO/source/$dataset"
  fi
  "$BIN/stacforge" build "$dataset" "$DEMO/source/$dataset" "$DEMO/catalogs/$dataset" --overwrite
  "$BIN/stacforge" validate "$DEMO/catalogs/$dataset"
done

step "Label searches on the other datasets, from their indexes"
echo "HLS chips with at least 30% corn pixels: $("$BIN/stacforge" search "$DEMO/catalogs/hls-crop" --label 'corn>=30%' --collections hls_crop_labels --format count)"
echo "... with at least 5,000 corn pixels: $("$BIN/stacforge" search "$DEMO/catalogs/hls-crop" --label 'corn>=5000' --collections hls_crop_labels --format count)"
echo "BreizhCrops wheat parcels: $("$BIN/stacforge" search "$DEMO/catalogs/breizhcrops" --label 'wheat>=1' --format count)"
echo "Cloud samples with at least one snow observation: $("$BIN/stacforge" search "$DEMO/catalogs/s2-cloud" --label 'snow>=1' --format count)"

step "RapidAI4EO: the tutorial's queries, answered from the indexes"
echo "Planet Fusion items around Berlin: $("$BIN/stacforge" search "$CATALOG" --bbox "$BERLIN" --collections "$PF" --format count)"
echo "PF + S2 asset hrefs there: $("$BIN/stacforge" search "$CATALOG" --bbox "$BERLIN" --collections "$PF,$S2" --format hrefs | wc -l) (304 per location)"
echo "... data assets of 2018: $("$BIN/stacforge" search "$CATALOG" --bbox "$BERLIN" --collections "$PF,$S2" --asset-role data --asset-datetime 2018 --format hrefs | wc -l) (85 per location)"
echo "Locations over 80% peat bog: $("$BIN/stacforge" search "$CATALOG" --label 'clc_412>0.8' --collections rapidai4eo_v1_labels --format count)"
echo "Entirely forest (CLC 311+312+313 = 1): $("$BIN/stacforge" search "$CATALOG" --label-any 'clc_311,clc_312,clc_313>=1.0' --collections rapidai4eo_v1_labels --format count)"
echo "First three hrefs of the Berlin 2018 data list, ready for a download tool:"
"$BIN/stacforge" search "$CATALOG" --bbox "$BERLIN" --collections "$PF,$S2" --asset-role data --asset-datetime 2018 --format hrefs | head -n 3

step "RapidAI4EO: crawl the catalog over HTTP (walking it, not its mirrors) into a cache and an index"
rm -f "$DEMO/serving" && mkfifo "$DEMO/serving"
"$BIN/stacforge" serve "$CATALOG" --port "$PORT" 2>"$DEMO/serving" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$DEMO/serving"' EXIT
exec 3<"$DEMO/serving"  # held open: the server's later lines never meet a closed pipe
read -r listening <&3   # its first line comes once it listens
echo "$listening"
url="http://127.0.0.1:$PORT/catalog.json"
rm -rf "$DEMO/crawl-cache"
"$BIN/stacforge" crawl "$url" --cache "$DEMO/crawl-cache" --index "$DEMO/crawled-index" --overwrite --no-use-mirrors
echo "Warm re-crawl (revalidates with ETags; only 304s come back):"
"$BIN/stacforge" crawl "$url" --cache "$DEMO/crawl-cache" --index "$DEMO/crawled-index" --overwrite --no-use-mirrors
echo "Same Berlin query on the crawled index: $("$BIN/stacforge" search "$DEMO/crawled-index" --bbox "$BERLIN" --collections "$PF" --format count)"
