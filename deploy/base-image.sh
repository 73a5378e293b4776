#!/bin/sh
# Build the base image `debian:bookworm-slim` locally, from Debian's packages, for machines that
# reach Debian's archive and PyPI but no container registry (rotor's CI and development
# machines). Anywhere Docker Hub is reachable, `docker pull debian:bookworm-slim` does the same.
#
#   deploy/base-image.sh [TAG]          (default debian:bookworm-slim; kept if it exists)
#
# debootstrap makes a minimal bookworm root file system; the host's extra CA certificates
# (/usr/local/share/ca-certificates, e.g. a TLS-inspecting proxy's) are added so apt and pip
# work inside builds exactly as on the host; `docker import` turns it into an image.
set -eu

tag="${1:-debian:bookworm-slim}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "base image $tag: present"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is not installed" >&2; exit 1; }

work="$(mktemp -d /tmp/rotor-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
echo "base image $tag: debootstrap bookworm from $mirror (a few minutes, once)"
debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES
# Like the official slim image: no manuals, docs or translations in layers built on top.
cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
SLIM
printf 'APT::Install-Recommends "false";\n' >"$root/etc/apt/apt.conf.d/90slim"
for crt in /usr/local/share/ca-certificates/*.crt; do
    [ -e "$crt" ] && cp "$crt" "$root/usr/local/share/ca-certificates/"
done
chroot "$root" update-ca-certificates >/dev/null
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
    "$root"/usr/share/man "$root"/usr/share/info "$root"/usr/share/locale
find "$root/usr/share/doc" -type f ! -name copyright -delete

tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message "debootstrap bookworm (minbase) from $mirror" - "$tag" >/dev/null
echo "base image $tag: built ($(docker image inspect --format '{{.Size}}' "$tag") bytes)"
