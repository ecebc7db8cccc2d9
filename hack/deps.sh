#!/usr/bin/env bash
# Installs what shift's build and tests need. Idempotent: a second run on a
# ready machine only checks. Run as root on CI; as a user it installs what it can.
set -euo pipefail
cd "$(dirname "$0")/.."

GO_VERSION=1.26.8
export PATH="$PATH:/usr/local/go/bin:$HOME/.local/go/bin"

say() { printf 'deps: %s\n' "$*"; }

# Debian packages: the real components the tests talk to.
pkgs=(ca-certificates curl unzip git make openssh-server openssh-client sudo iproute2 util-linux procps tmux
  qemu-utils qemu-system-x86 ovmf fdisk e2fsprogs dosfstools ntfs-3g xfsprogs
  chromium debootstrap extlinux mtools rsync postgresql mariadb-server
  grub-common grub-efi-amd64-bin cpio xz-utils zstd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "missing Debian packages (run as root, or install them): ${missing[*]}"
  fi
fi

# Non-root test users for the sudo tests.
if [ "$(id -u)" = 0 ] && [ -x fixtures/sshd/testusers.sh ]; then
  fixtures/sshd/testusers.sh
fi

# Go: from the distribution's tarball location if present, else the Go
# toolchain module from the module proxy (no other download source needed).
if ! command -v go >/dev/null 2>&1; then
  say "installing Go $GO_VERSION from the Go module proxy"
  proxy=${GOPROXY:-https://proxy.golang.org}; proxy=${proxy%%,*}
  tmp=$(mktemp -d)
  curl -fsSL -o "$tmp/go.zip" "$proxy/golang.org/toolchain/@v/v0.0.1-go$GO_VERSION.linux-amd64.zip"
  unzip -q "$tmp/go.zip" -d "$tmp/x"
  dest=/usr/local/go; [ "$(id -u)" = 0 ] || dest=$HOME/.local/go
  mkdir -p "$(dirname "$dest")"; rm -rf "$dest"
  mv "$tmp/x/golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-amd64" "$dest"
  chmod +x "$dest"/bin/* "$dest"/pkg/tool/*/* 2>/dev/null || true
  rm -rf "$tmp"
fi

# Azurite (Azure storage emulator) for the Azure target's tests, from npm,
# into a cache outside the repo. Keep in step with fixtures/azurite.Version.
AZURITE_VERSION=3.37.0
azdir="$HOME/.cache/shift/azurite"
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    say "apt-get install nodejs npm"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  else
    say "npm is missing: install nodejs and npm for the Azure tests"
  fi
fi
if command -v npm >/dev/null 2>&1 && ! grep -qs "\"version\": \"$AZURITE_VERSION\"" "$azdir/node_modules/azurite/package.json"; then
  say "npm install azurite@$AZURITE_VERSION into $azdir"
  mkdir -p "$azdir"
  npm install --prefix "$azdir" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >/dev/null
fi

go mod download
say "ready ($(go version | cut -d' ' -f3), $(/usr/sbin/sshd -V 2>&1 | head -n1 || echo 'no sshd'))"
