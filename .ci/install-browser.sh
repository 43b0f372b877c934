#!/usr/bin/env bash
# What tests/test_browser.py needs besides .venv: Debian's Chromium and chromedriver (apt), and axe-core,
# MathJax and onnxruntime-web (the book's drawing pad runs it; `make book` copies it into the site) from
# package-lock.json (npm ci). Installs only what is missing; exits non-zero when anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi

# A runner that brings its own Chrome names it in CHROME_BIN and CHROMEDRIVER (see ci.yml).
chrome="${CHROME_BIN:-/usr/bin/chromium}"
driver="${CHROMEDRIVER:-/usr/bin/chromedriver}"
packages=()
[ -x "$chrome" ] || packages+=(chromium)
[ -x "$driver" ] || packages+=(chromium-driver)
command -v npm >/dev/null || packages+=(npm)
if [ ${#packages[@]} -gt 0 ]; then
    echo "install-browser: apt-get install ${packages[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

if [ ! -f node_modules/axe-core/axe.min.js ] || [ ! -d node_modules/mathjax/es5 ] ||
    [ ! -f node_modules/onnxruntime-web/dist/ort.wasm.min.mjs ]; then
    echo "install-browser: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
fi

"$chrome" --version 2>/dev/null  # Debian's wrapper prints a harmless shell warning
"$driver" --version
echo "install-browser: axe-core $(node -p 'require("./node_modules/axe-core/package.json").version')," \
    "mathjax $(node -p 'require("./node_modules/mathjax/package.json").version')," \
    "onnxruntime-web $(node -p 'require("./node_modules/onnxruntime-web/package.json").version')"
