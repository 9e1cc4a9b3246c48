#!/usr/bin/env bash
# crfm-helm, pinned, in its own cached virtual environment: the reference the NeurIPS 2023 suites are generated
# with and checked against (scripts/helm/generate.py, docs/suites.md). Prints the environment's python on its
# last stdout line.
#   crfm-helm 0.2.4 with --no-deps, plus only the pure-Python packages its modules import on the paths the
#   generator uses (scenario readers, adapters, perturbations, exact-match metrics). Everything else HELM imports
#   at module level (torch, transformers, datasets, ...) is a placeholder that fails when called
#   (scripts/helm/absent.py), so no torch is installed. HELM's own runner (scripts/helm/run.py, `helm-run` with the
#   neurips/local HTTP client) also needs requests and what it imports (urllib3, idna, charset_normalizer, certifi),
#   pyhocon (credentials.conf; pyparsing), sqlitedict (its request cache) and zstandard (helm.common.general).
# Cached under ${XDG_CACHE_HOME:-~/.cache}/challenge/helm/<pin digest>; idempotent: a second run only checks it.
set -euo pipefail
say() { printf '[helm] %s\n' "$*" >&2; }

root="$(cd "$(dirname "$0")/.." && pwd)"
# Exact versions: the generated suites must not change with a dependency's release.
pins=(
  crfm-helm==0.2.4
  attrs==26.1.0
  cattrs==26.2.1
  dacite==1.9.2
  filelock==4.3.2
  importlib_resources==7.1.0
  numpy==2.4.6
  PyYAML==6.0.4
  retrying==1.4.2
  six==1.17.0
  tqdm==4.70.1
  typing_extensions==4.16.0
  requests==2.32.3
  urllib3==2.2.3
  idna==3.10
  charset_normalizer==3.4.0
  certifi==2024.8.30
  pyhocon==0.3.61
  pyparsing==3.2.0
  sqlitedict==2.1.0
  zstandard==0.23.0
)
digest="$(printf '%s\n' "${pins[@]}" | sha256sum | cut -c1-12)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/challenge/helm/crfm-helm-0.2.4-$digest"
check() { "$venv/bin/python" -c 'import sys; sys.path.insert(0, sys.argv[1]); import absent; absent.install(); import helm.benchmark.run_specs, helm.benchmark.metrics.basic_metrics' "$root/scripts/helm" >/dev/null 2>&1 && "$venv/bin/python" -c 'import requests, pyhocon, sqlitedict, zstandard' >/dev/null 2>&1; }

if [[ -f "$venv/.installed" ]] && check; then
  echo "$venv/bin/python"
  exit 0
fi
say "installing ${pins[0]} (--no-deps, ${#pins[@]} packages, no torch) into $venv"
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "${pins[@]}" >&2
if ! check; then
  say "crfm-helm does not import in $venv; the import error:"
  "$venv/bin/python" -c 'import sys; sys.path.insert(0, sys.argv[1]); import absent; absent.install(); import helm.benchmark.run_specs' "$root/scripts/helm" >&2 || true
  exit 1
fi
touch "$venv/.installed"
echo "$venv/bin/python"
