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
