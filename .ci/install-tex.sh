#!/usr/bin/env bash
# What `make pdf` needs: XeLaTeX, latexmk, xindy (Sphinx's index with XeLaTeX), the FreeFont faces that
# Sphinx's LaTeX output sets for XeLaTeX, and poppler's pdftoppm and pdfimages (tests/test_pdf.py), all
# from Debian's packages (450 MB installed on a Debian 12 machine that had none of it). Installs only
# when something is missing.
set -euo pipefail

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
if command -v xelatex >/dev/null && command -v latexmk >/dev/null && command -v xindy >/dev/null &&
    command -v pdftoppm >/dev/null && [ -n "$(fc-list FreeSerif)" ]; then
    exit 0
fi
echo "install-tex: apt-get install XeLaTeX, latexmk, xindy, FreeFont, poppler-utils"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    texlive-xetex texlive-latex-extra texlive-fonts-recommended texlive-plain-generic \
    latexmk xindy fonts-freefont-otf poppler-utils >/dev/null
