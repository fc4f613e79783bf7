# Sourced by scripts/serve and scripts/test: make sure .venv exists with the package installed.
# Installs only when pyproject.toml changed since the last install; pip's output goes to
# .venv/install.log and is shown only if the install fails.
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.bidserver-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing bidserver and its dependencies into .venv (first run only)..." >&2
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e '.[test]'; } \
      >.venv/install.log 2>&1; then
    cat .venv/install.log >&2
    exit 1
  fi
  touch "$stamp"
fi
