# Shell functions the dev/ scripts share: sourced, never run. Kept small and testable (tests/unit/test_dev_lib.py).

# Where dev/setup puts uv when the machine has none; every dev/ script looks there first.
export PATH="$HOME/.local/bin:$PATH"

# Runs an apt-get command, waiting (up to DESKGATE_APT_WAIT seconds, default 600) while another package
# manager holds the dpkg or apt lists lock, instead of failing with exit 100 at the first attempt.
apt_waiting() {
  local deadline=$((SECONDS + ${DESKGATE_APT_WAIT:-600})) output status said=""
  while true; do
    status=0
    output=$("$@" 2>&1) || status=$?
    if [ "$status" = 0 ]; then
      [ -n "$output" ] && printf '%s\n' "$output"
      return 0
    fi
    if grep -qiE "could not get lock|unable to acquire the dpkg frontend lock|unable to lock directory" <<<"$output" \
      && [ "$SECONDS" -lt "$deadline" ]; then
      [ -z "$said" ] && echo "setup: another package manager is running; waiting for it to finish" >&2 && said=1
      sleep "${DESKGATE_APT_POLL:-5}"
      continue
    fi
    printf '%s\n' "$output" >&2
    return "$status"
  done
}

# Installs uv into its own virtual environment and links it into ~/.local/bin. A virtual environment works
# where `pip install` into the system Python is refused (Debian 12 and later: PEP 668, externally managed).
install_uv() {
  local version=$1 venv="${XDG_DATA_HOME:-$HOME/.local/share}/deskgate/uv"
  python3 -m venv --clear "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "uv==$version"
  mkdir -p "$HOME/.local/bin"
  ln -sf "$venv/bin/uv" "$HOME/.local/bin/uv"
}
