# Shared set-up for scripts/demo, scripts/test and .ci/run. Source it; do not run it.
# Everything a fresh machine needs is installed from here, so no step is done by hand.

VENV="${SYMBL_VENV:-.venv}"
PYTHON_FOR_VENV="${SYMBL_PYTHON:-python3}"
# Debian packages the tests use: PortAudio for sounddevice, ALSA and PulseAudio for the
# virtual microphones the capture tests record from.
SYSTEM_PACKAGES=(libportaudio2 libasound2-plugins alsa-utils pulseaudio pulseaudio-utils)

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

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment $VENV"
    "$PYTHON_FOR_VENV" -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
}

# Install the package itself (not an editable link, so tests see what users get): the wheel
# named by SYMBL_WHEEL when set (CI), otherwise one built from this checkout.
install_package() {
  local extras="$1"
  if [ -n "${SYMBL_WHEEL:-}" ]; then
    say "installing $SYMBL_WHEEL[$extras]"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SYMBL_WHEEL[$extras]"
  else
    say "installing this checkout with [$extras]"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check ".[$extras]"
  fi
}
