#!/usr/bin/env bash
# Fetch the vendored front-end assets from the npm registry (never a CDN) and
# copy the files Koppel serves into place. Change a version below, run this
# script, check the pages (the browser tests), and update README.md here.
#   core/static/vendor/update.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tests_vendor="$here/../../../tests/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# package@version  file-in-package  destination
ASSETS=(
  "@utrecht/component-library-css@9.0.4 dist/index.css $here/utrecht-component-library.css"
  "@utrecht/component-library-css@9.0.4 dist/html.css $here/utrecht-html.css"
  "@utrecht/component-library-css@9.0.4 LICENSE.md $here/utrecht-component-library.LICENSE.md"
  "@nl-design-system-unstable/voorbeeld-design-tokens@7.4.1 dist/theme.css $here/voorbeeld-theme.css"
  "@nl-design-system-unstable/voorbeeld-design-tokens@7.4.1 LICENSE.md $here/voorbeeld-theme.LICENSE.md"
  "htmx.org@4.0.1 dist/htmx.min.js $here/htmx.min.js"
  "htmx.org@4.0.1 LICENSE $here/htmx.LICENSE"
  "axe-core@4.14.1 axe.min.js $tests_vendor/axe.min.js"
  "axe-core@4.14.1 LICENSE $tests_vendor/axe.LICENSE"
)

for asset in "${ASSETS[@]}"; do
  read -r spec file destination <<<"$asset"
  dir="$work/$(echo "$spec" | tr '/@' '__')"
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"
    tarball=$(cd "$work" && npm pack --silent "$spec")
    tar xzf "$work/$tarball" -C "$dir"
  fi
  mkdir -p "$(dirname "$destination")"
  cp "$dir/package/$file" "$destination"
  echo "$spec $file -> $(basename "$destination")"
done
