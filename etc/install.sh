#!/bin/sh
# Installs this reddalert release bundle, after checking it against its SHA256SUMS:
#   /usr/local/bin/reddalert                   the static binary
#   /usr/local/lib/reddalert/rules/*.wasm      the twelve stock rules
#   /etc/reddalert/reddalert.toml              the config, pinning those rules (an existing
#                                              one is kept; this one goes beside it as .new)
#   /etc/systemd/system/reddalert.{service,timer}, reddalert-crawl.{service,timer}
#   /usr/local/share/reddalert/                the crontab lines, the monitoring rules, the
#                                              crawl's IAM policy
#   /usr/local/share/doc/reddalert/            README, docs, license
#
#   sudo ./install.sh                   install
#   DESTDIR=/some/root ./install.sh     install under another root (packaging, tests)
#
# Then edit /etc/reddalert/reddalert.toml (edda, outputs) and start the timer:
#   systemctl enable --now reddalert.timer
# and, for an account without EDDA (edda = "store:..."), the crawl's:
#   systemctl enable --now reddalert-crawl.timer
set -eu
cd "$(dirname "$0")"
sha256sum --quiet --strict -c SHA256SUMS
root=${DESTDIR:-}

install -D -m 755 bin/reddalert "$root/usr/local/bin/reddalert"
install -d "$root/usr/local/lib/reddalert/rules"
install -m 644 rules/*.wasm "$root/usr/local/lib/reddalert/rules/"
config="$root/etc/reddalert/reddalert.toml"
if [ -e "$config" ]; then
    install -m 644 etc/reddalert.toml "$config.new"
    echo "kept $config; this release's config is $config.new: copy its [pin] table," \
        "or the upgraded rules are refused (their hashes changed)" >&2
else
    install -D -m 644 etc/reddalert.toml "$config"
fi
install -d "$root/etc/systemd/system"
install -m 644 etc/systemd/*.service etc/systemd/*.timer "$root/etc/systemd/system/"
install -d "$root/usr/local/share/reddalert/monitoring"
install -m 644 etc/reddalert.crontab etc/iam-policy.json "$root/usr/local/share/reddalert/"
install -m 644 etc/monitoring/* "$root/usr/local/share/reddalert/monitoring/"
install -d "$root/usr/local/share/doc/reddalert/docs"
install -m 644 README.md LICENSE "$root/usr/local/share/doc/reddalert/"
install -m 644 docs/*.md "$root/usr/local/share/doc/reddalert/docs/"
echo "installed $(head -n 1 VERSION) under ${root:-/}"
