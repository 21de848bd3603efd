# Shared by the benchmark scripts, which source it once ROOT (the checkout)
# and the functions `say` and `die` are defined.

# build_release [CARGO ARGS...]: `cargo build --release ARGS` in ROOT; sets
# TARGET (the absolute target directory, `CARGO_TARGET_DIR` honoured) and BIN
# (the slipstream binary in it).
build_release() {
    say "== cargo build --release${*:+ $*} (in $ROOT)"
    (cd "$ROOT" && cargo build --release "$@") || die "cargo build --release${*:+ $*} failed"
    TARGET="${CARGO_TARGET_DIR:-target}"
    [[ $TARGET == /* ]] || TARGET="$ROOT/$TARGET"
    BIN="$TARGET/release/slipstream"
    [[ -x $BIN ]] || die "no binary at $BIN after the build"
}

# median NUMBERS...: the middle one (the upper of the two middle ones for an
# even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# positive NAME VALUE: dies unless VALUE is a positive integer.
positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, not '$2'"; }

# enter_workdir: makes a temporary directory WORK, removed at exit, and
# changes into it.
enter_workdir() {
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
    cd "$WORK" || die "cannot enter $WORK"
}
