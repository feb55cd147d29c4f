# SPDX-License-Identifier: MIT
#
# What the TAP shell tests share, sourced after they cd to the top of the
# tree and set BIN (the hugewalk binary) and LIMIT (seconds any one run
# may take): a scratch directory $tmp, removed at exit; the counters n
# and failed with ok and not_ok; diag_file; and hw, which runs $BIN.

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}

# Show a file to the TAP reader as diagnostics.
diag_file() {
	sed -e 's/^/#   /' "$1" | head -n 40
}

# hw ARGS...: run $BIN with a time limit; status in $rc, output in
# $tmp/out and $tmp/err.
hw() {
	timeout "$LIMIT" "$BIN" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
