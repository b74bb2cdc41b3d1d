# Shared set-up for scripts/demo, scripts/test and .ci/run. Source it; do not run it.
# Everything a fresh machine needs is installed from here, so no step is done by hand.

VENV="${SYMBL_VENV:-.venv}"
PYTHON_FOR_VENV="${SYMBL_PYTHON:-python3}"
# Debian packages the tests use: PortAudio for sounddevice, ALSA and PulseAudio for the
# virtual microphones the capture tests record from.
SYSTEM_PACKAGES=(libportaudio2 libasound2-plugins alsa-utils pulseaudio pulseaudio-utils tmux)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

missing_system_packages() {
  local package
  for package in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || printf '%s\n' "$package"
  done
}

install_system_packages() {
  command -v dpkg-query >/dev/null 2>&1 || { say "not a Debian system: skipping system packages"; return 0; }
  local missing
  missing=$(missing_system_packages)
  [ -n "$missing" ] || return 0
  if [ "$(id -u)" != 0 ]; then
    say "missing system packages (audio tests will be skipped): $(echo $missing)"
    say "install them with: sudo apt-get install $(echo $missing)"
    return 0
  fi
  say "installing system packages: $(echo $missing)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Create the virtual environment (with an up-to-date pip) unless it exists.
ensure_venv() {
  [ -x "$VENV/bin/python" ] && return 0
  say "creating the virtual environment $VENV"
  "$PYTHON_FOR_VENV" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
}

# A hash of what install_package installs: the extras, and the wheel named by SYMBL_WHEEL or
# else this checkout's pyproject.toml and package files (their names and contents).
package_fingerprint() {
  "$VENV/bin/python" - "$1" "${SYMBL_WHEEL:-}" <<'PYTHON'
import hashlib, pathlib, sys

extras, wheel = sys.argv[1:]
files = [pathlib.Path(wheel)] if wheel else [pathlib.Path("pyproject.toml")] + sorted(
    path for path in pathlib.Path("symbl").rglob("*")
    if path.is_file() and "__pycache__" not in path.parts
)
digest = hashlib.sha256(f"extras={extras}\n".encode())
for path in files:
    digest.update(f"{path}\n".encode() + hashlib.sha256(path.read_bytes()).digest())
print(digest.hexdigest())
PYTHON
}

# Install the package itself (not an editable link, so tests see what users get): the wheel
# named by SYMBL_WHEEL when set (CI), otherwise one built from this checkout. Only when what
# was installed last (a stamp in the venv records its fingerprint) differs: a rerun with
# nothing changed calls no pip and needs no network. Delete $VENV/.symbl-installed-* to force it.
install_package() {
  local extras="$1" stamp="$VENV/.symbl-installed-$1" fingerprint
  fingerprint=$(package_fingerprint "$extras")
  if [ -x "$VENV/bin/symbl" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$fingerprint" ]; then
    say "symbl[$extras] is up to date in $VENV"
    return 0
  fi
  if [ -n "${SYMBL_WHEEL:-}" ]; then
    say "installing $SYMBL_WHEEL[$extras]"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SYMBL_WHEEL[$extras]"
  else
    say "installing this checkout with [$extras]"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check ".[$extras]"
  fi
  echo "$fingerprint" >"$stamp"
}
