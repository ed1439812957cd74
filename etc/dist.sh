#!/usr/bin/env bash
# Builds reddalert's release from this source tree:
#
#   dist/reddalert-<version>-x86_64-linux.tar.gz   the bundle: a static reddalert
#       (x86_64-unknown-linux-musl), the twelve stock rules as .wasm, the example config
#       with those rules pinned by sha256, the crontab line, the systemd units, the Prometheus
#       alerting rules and Grafana dashboard, the docs, the license, install.sh, SHA256SUMS
#   dist/reddalert-<version>-x86_64-linux.oci.tar  with --image: the container image
#       (etc/container/Containerfile, FROM scratch) as an OCI archive, built by buildah
#       (Debian's package) with no daemon and nothing downloaded
#   dist/SHA256SUMS                                 of the two
#
# Usage: bash etc/dist.sh [--image] [--binary PATH] [--rules DIR]
#   --binary PATH  package this reddalert instead of building the static release (CI and the
#                  tests package the build they already have: a musl release build of the
#                  host takes longer than CI can spend); a binary that is not static runs
#                  only where its libc is, so it is said, and the image's cannot run at all
#   --rules DIR    package DIR/rule_<name>.wasm instead of building the stock rules
# Needs: rustup, musl-gcc (apt-get install musl-tools), strip (binutils), and for --image
# buildah and ca-certificates. DIST_DIR (default dist) is where the results go;
# CARGO_TARGET_DIR (default target/dist) is the release builds' own target directory, so they
# never touch the debug one.
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: bash etc/dist.sh [--image] [--binary PATH] [--rules DIR]"
fail() { echo "error: $*" >&2; exit 2; }
image=false
binary=
rules_from=
while [ $# -gt 0 ]; do
    case "$1" in
        --image) image=true ;;
        --binary) [ $# -gt 1 ] || fail "--binary needs a path ($usage)"; binary=$(realpath "$2"); shift ;;
        --rules) [ $# -gt 1 ] || fail "--rules needs a directory ($usage)"; rules_from=$(realpath "$2"); shift ;;
        -h | --help) sed -n '2,28p' "$0"; exit 0 ;;
        *) fail "unknown argument $1 ($usage)" ;;
    esac
    shift
done

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)
[ -n "$version" ] || fail "no version in [workspace.package] of Cargo.toml"
name="reddalert-$version-x86_64-linux"
out=$(mkdir -p "${DIST_DIR:-dist}" && cd "${DIST_DIR:-dist}" && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/dist}
target=x86_64-unknown-linux-musl
rules=(secgroups elbs iam ami newtag missingtag route53unknown route53changed sso_unprotected
    security_headers non_chef s3acl)

# What --version names: the commit, marked when tracked files differ from it.
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    commit="$commit-dirty"
fi
export REDDALERT_COMMIT=$commit
# Timestamps in the archives: the commit's, so a rebuild of one commit gives the same files.
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)

command -v strip >/dev/null || fail "strip not found: apt-get install binutils"
started=$SECONDS
if [ -z "$binary" ]; then
    command -v musl-gcc >/dev/null ||
        fail "musl-gcc not found: apt-get install musl-tools (ring's C code is compiled with it)"
    rustup target add "$target" >/dev/null 2>&1 || fail "rustup target add $target failed"
    # musl targets link statically (crt-static is their default): one file, no libc needed.
    cargo build --release --locked --target "$target" -p reddalert
    binary="$CARGO_TARGET_DIR/$target/release/reddalert"
fi
[ -x "$binary" ] || fail "$binary is not an executable"
if [ -z "$rules_from" ]; then
    rustup target add wasm32-wasip2 >/dev/null 2>&1 || fail "rustup target add wasm32-wasip2 failed"
    cargo build --release --locked --target wasm32-wasip2 $(printf -- '-p rule-%s ' "${rules[@]}")
    rules_from="$CARGO_TARGET_DIR/wasm32-wasip2/release"
fi
echo "built in $((SECONDS - started)) s" >&2

stage="$CARGO_TARGET_DIR/stage/$name"
rm -rf "$CARGO_TARGET_DIR/stage"
mkdir -p "$stage"/{bin,rules,etc/systemd,etc/monitoring,docs}
# Debug information is for the build machine; the symbols stay, for backtraces.
strip --strip-debug -o "$stage/bin/reddalert" "$binary"
chmod 755 "$stage/bin/reddalert"
for rule in "${rules[@]}"; do
    [ -f "$rules_from/rule_$rule.wasm" ] || fail "no $rules_from/rule_$rule.wasm"
    install -m 644 "$rules_from/rule_$rule.wasm" "$stage/rules/"
done
"$stage/bin/reddalert" --version >"$stage/VERSION"
if ! grep -q "target     $target" "$stage/VERSION"; then
    echo "warning: $binary is not the static $target release: this bundle runs only where" \
        "its libc is, and the image's binary cannot run in the image (it has no libc)" >&2
fi

# The config the bundle installs: the example, with the install's paths, cron's store-until,
# and a pin for every stock rule, so a module that is not this release's is refused.
pins=$(cd "$stage/rules" && for f in rule_*.wasm; do
    r=${f#rule_}
    printf '%s = "%s"\n' "${r%.wasm}" "$(sha256sum "$f" | cut -d' ' -f1)"
done)
edit() { # the example's line $1 becomes $2 (which may span lines); the line must be there once
    [ "$(grep -cxF -- "$1" "$config")" = 1 ] || fail "etc/reddalert.example.toml has no line: $1"
    FROM="$1" TO="$2" awk '$0 == ENVIRON["FROM"] { print ENVIRON["TO"]; next } { print }' \
        "$config" >"$config.tmp" && mv "$config.tmp" "$config"
}
config="$stage/etc/reddalert.toml"
cp etc/reddalert.example.toml "$config"
edit 'rules_dir = "rules"' 'rules_dir = "/usr/local/lib/reddalert/rules"'
edit '# cache_dir = "/var/cache/reddalert"' 'cache_dir = "/var/cache/reddalert"'
edit 'store-until = false' 'store-until = true'
edit '# [pin]' "[pin]  # the stock rules of reddalert $version
$pins"
edit '# secgroups = "0f3c…64 hex digits…"' ''

cp etc/crontab.example "$stage/etc/reddalert.crontab"
cp etc/systemd/reddalert.service etc/systemd/reddalert.timer \
    etc/systemd/reddalert-crawl.service etc/systemd/reddalert-crawl.timer "$stage/etc/systemd/"
cp etc/monitoring/* "$stage/etc/monitoring/"
cp etc/iam-policy.json "$stage/etc/"
cp README.md LICENSE "$stage/"
cp docs/*.md "$stage/docs/"
cp etc/install.sh "$stage/install.sh"
chmod 755 "$stage/install.sh"
(cd "$stage" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort |
    xargs sha256sum >SHA256SUMS)

tarball="$out/$name.tar.gz"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
    -C "$CARGO_TARGET_DIR/stage" -cf - "$name" | gzip -n -9 >"$tarball.tmp"
mv "$tarball.tmp" "$tarball"
echo "$tarball: $(du -h "$tarball" | cut -f1)" >&2
artefacts=("$name.tar.gz")

if $image; then
    command -v buildah >/dev/null || fail "buildah not found: apt-get install buildah"
    certs=/etc/ssl/certs/ca-certificates.crt
    [ -f "$certs" ] || fail "$certs not found: apt-get install ca-certificates"
    context="$CARGO_TARGET_DIR/image-context"
    rm -rf "$context"
    mkdir -p "$context"/skeleton/{etc/ssl/certs,usr/local/bin,usr/local/lib/reddalert,var/lib,var/cache,var/log} "$context/empty"
    cp etc/container/passwd etc/container/group "$context/skeleton/etc/"
    cp "$certs" "$context/skeleton/etc/ssl/certs/ca-certificates.crt"
    cp -a "$stage" "$context/bundle"
    # A store of its own: nothing global changes and nothing is pulled (FROM scratch).
    store="$CARGO_TARGET_DIR/buildah"
    bah() { buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs "$@"; }
    tag="localhost/reddalert:$version"
    bah build --quiet --timestamp "$epoch" --build-arg "VERSION=$version" \
        --build-arg "REVISION=$commit" -f etc/container/Containerfile -t "$tag" "$context" >/dev/null
    archive="$out/$name.oci.tar"
    rm -f "$archive"
    bah push --quiet "$tag" "oci-archive:$archive:reddalert:$version"
    bah rmi --all --force >/dev/null
    echo "$archive: $(du -h "$archive" | cut -f1)" >&2
    artefacts+=("$name.oci.tar")
fi

(cd "$out" && sha256sum "${artefacts[@]}" >SHA256SUMS)
echo "done in $((SECONDS - started)) s" >&2
