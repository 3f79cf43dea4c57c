# Shell helpers shared by the .ci scripts (sourced; the caller defines log).

# as_root COMMAND...: run a command as root, directly or through passwordless
# sudo, non-interactively.
as_root() {
    if [ "$(id -u)" = 0 ]; then
        env DEBIAN_FRONTEND=noninteractive "$@" </dev/null
    elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo -n env DEBIAN_FRONTEND=noninteractive "$@" </dev/null
    else
        log "need root (or passwordless sudo) for: $*"
        return 1
    fi
}
