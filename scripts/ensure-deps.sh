#!/bin/sh
# Make sure the build dependencies are present: liburcu (memb flavour),
# found through pkg-config, and prove for the tests.  Installs them with
# apt-get when run as root on Debian or Ubuntu; otherwise says what to
# install and fails.
set -e

missing=""
pkg-config --exists liburcu-memb 2>/dev/null || missing="$missing liburcu-dev"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v prove >/dev/null 2>&1 || missing="$missing perl"

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "ensure-deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -qq $missing >/dev/null
	pkg-config --exists liburcu-memb && exit 0
	echo "ensure-deps: liburcu-memb still not found by pkg-config" >&2
	exit 1
fi

echo "ensure-deps: missing:$missing" >&2
echo "ensure-deps: install them (Debian: apt-get install$missing), or run make as root" >&2
exit 1
