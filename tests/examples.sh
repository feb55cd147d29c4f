#!/bin/bash
# SPDX-License-Identifier: MIT
#
# TAP: every example scenario passes under `hugewalk run -q`, and the
# command rejects bad input the way it promises: errors in a scenario name
# FILE:LINE:COL and exit non-zero, failed expectations name FILE:LINE and
# exit 1, usage errors exit 2.  Nothing may crash or hang.
#
# Environment: HW_BIN, the hugewalk binary (default build/test/hugewalk);
# HW_EXAMPLES, the example files, space-separated (default examples/*.hw).

cd "$(dirname "$0")/.." || exit 1
HW_BIN=${HW_BIN:-build/test/hugewalk}
BIN=$HW_BIN
HW_EXAMPLES=${HW_EXAMPLES:-$(echo examples/*.hw)}
LIMIT=120	# seconds any one run may take

. tests/lib.sh

# expect_error NAME FILE-CONTENT WANT-RC WANT-STDERR-PART
expect_error() {
	local name=$1 file="$tmp/$1.hw"

	printf '%b' "$2" >"$file"
	hw run -q "$file"
	if [ "$rc" -eq "$3" ] && grep -qF -- "$file$4" "$tmp/err"; then
		ok "error: $name"
	else
		not_ok "error: $name (exit $rc, want $3 and '$file$4')"
		diag_file "$tmp/err"
	fi
}

# expect_usage NAME WANT-RC WANT-STDERR-PART ARGS...
expect_usage() {
	local name=$1 want=$2 part=$3

	shift 3
	hw "$@"
	if [ "$rc" -eq "$want" ] && grep -qF -- "$part" "$tmp/err"; then
		ok "usage: $name"
	else
		not_ok "usage: $name (exit $rc, want $want and '$part')"
		diag_file "$tmp/err"
	fi
}

if [ ! -x "$HW_BIN" ]; then
	echo "1..0 # SKIP no hugewalk binary at $HW_BIN"
	exit 0
fi

# ---- every example passes ----------------------------------------------

for ex in $HW_EXAMPLES; do
	hw run -q "$ex"
	if [ "$rc" -eq 0 ] && grep -q "^PASS $ex " "$tmp/out"; then
		ok "$ex"
	else
		not_ok "$ex (exit $rc)"
		diag_file "$tmp/out"
		diag_file "$tmp/err"
	fi
done

# ---- errors in scenario files: FILE:LINE:COL ---------------------------

expect_error bad-size \
	'spawn A\nmemfd f\nA mmap 0x40000000 foo rw shared f 0\n' 1 \
	":3:19: expected a size (like 2M or 0x200000), got 'foo'"
expect_error undeclared-process \
	'# B was never spawned\nB read 0x40000000\n' 1 \
	":2:1: unknown process 'B'"
expect_error undeclared-file \
	'spawn A\nA mmap 0x40000000 2M rw shared g\n' 1 \
	":2:32: unknown file 'g'"
expect_error after-exit \
	'spawn A\nA exit\nexpect A faults=0\n' 1 \
	":3:8: process 'A' is gone: it exited at line 2"
expect_error address-limit \
	'spawn A\nA read 0x800000000000\n' 1 \
	":2:8: address 0x800000000000 is not below 2^47"
expect_error missing-tag \
	'spawn A\nA write 0x40000000 2\n' 1 \
	":2:22: expected tag=T"
expect_error bad-expectation \
	'spawn A\nA read 0 => EFOO\n' 1 \
	":2:13: expected an expectation"
expect_error binary \
	'pool 1\nspawn A\x00\x01\x02\n' 1 \
	":2:8: unexpected NUL byte"
expect_error unknown-policy \
	'pool 1\npolicy v2.4\n' 1 \
	":2:8: unknown policy 'v2.4'"
expect_error never-waited \
	'spawn A\nA read 0x40000000 &\n' 1 \
	":2:19: the background op 'A read 0x40000000 &' is never waited for"
expect_error unknown-site \
	'violations record\nexpect violations frob=1\n' 1 \
	":2:19: unknown call site 'frob'"

# A fault nobody resolves: bounded by --timeout, FILE:LINE, exit 1.
printf '%s\n' 'pool 512' 'memfd f' 'ftruncate f 1G' 'spawn A' \
	'A mmap 0x40000000 1G rw shared f 0' \
	'A uffd_register 0x40000000 1G missing' \
	'A read 0x40000000 &' 'A uffd_read => addr=0x40000000' 'wait A' \
	>"$tmp/stuck.hw"
start=$(date +%s)
hw run -q --timeout 0.2 "$tmp/stuck.hw"
if [ "$rc" -eq 1 ] && [ $(($(date +%s) - start)) -lt 10 ] &&
   grep -qF "$tmp/stuck.hw:7: 'A read 0x40000000 &' still running 200 ms after 'wait' at line 9" "$tmp/err" &&
   grep -q "^FAIL $tmp/stuck.hw (.*stopped at line 9" "$tmp/out"; then
	ok "a wait for a fault nobody resolves times out"
else
	not_ok "a wait for a fault nobody resolves times out (exit $rc)"
	diag_file "$tmp/out"
	diag_file "$tmp/err"
fi

# A failed expectation: FILE:LINE, the run goes on, FAIL, exit 1.
printf 'pool 1\nexpect meminfo total=2\nexpect meminfo free=1\n' \
	>"$tmp/wrong.hw"
hw run "$tmp/wrong.hw"
if [ "$rc" -eq 1 ] &&
   grep -qF "$tmp/wrong.hw:2: expectation failed: total=2, got 1" "$tmp/err" &&
   grep -q "expect meminfo free=1 *-> ok" "$tmp/out" &&
   grep -q "^FAIL $tmp/wrong.hw (1 op, 2 expectations, 1 failed)" "$tmp/out" &&
   grep -q "^0 passed, 1 failed$" "$tmp/out"; then
	ok "a failed expectation is reported and the run goes on"
else
	not_ok "a failed expectation is reported and the run goes on (exit $rc)"
	diag_file "$tmp/out"
	diag_file "$tmp/err"
fi

# A failing op without '=>': an error.
printf 'spawn A\nA munmap 0x40000001 2M\n' >"$tmp/fails.hw"
hw run -q "$tmp/fails.hw"
if [ "$rc" -eq 1 ] && grep -qF "$tmp/fails.hw:2: A munmap failed with EINVAL" "$tmp/err"; then
	ok "an unexpected errno fails the scenario"
else
	not_ok "an unexpected errno fails the scenario (exit $rc)"
	diag_file "$tmp/err"
fi

# Several files: each counted, the summary line last.
printf 'pool 1\nexpect meminfo total=1\n' >"$tmp/good.hw"
hw run -q "$tmp/good.hw" "$tmp/wrong.hw" "$tmp/good.hw"
if [ "$rc" -eq 1 ] && [ "$(grep -c '^PASS ' "$tmp/out")" -eq 2 ] &&
   tail -n 1 "$tmp/out" | grep -qx "2 passed, 1 failed"; then
	ok "several files: N passed, M failed"
else
	not_ok "several files: N passed, M failed (exit $rc)"
	diag_file "$tmp/out"
fi

hw run -q /nonexistent.hw
if [ "$rc" -eq 1 ] && grep -qF "/nonexistent.hw: No such file" "$tmp/err"; then
	ok "a missing file"
else
	not_ok "a missing file (exit $rc)"
	diag_file "$tmp/err"
fi

hw run -q /dev/zero
if [ "$rc" -eq 1 ]; then
	ok "an endless file is refused"
else
	not_ok "an endless file is refused (exit $rc)"
fi

# ---- the command line --------------------------------------------------

expect_usage "no command" 2 "Usage: hugewalk"
expect_usage "unknown command" 2 "unknown command 'frob'" frob
expect_usage "unknown option" 2 "unknown option '--bogus'" run --bogus x.hw
# --quirk turns a kernel behaviour on in the model: the owner's store
# that takes its page back from a mapping of its own faults twice.
hw run --quirk cow-steal-refault examples/private-fork-cow-self.hw
if [ "$rc" -eq 0 ] && grep -q "quirk cow-steal-refault)" "$tmp/out" &&
   grep -q "A write 0x40000000 tag=0x22 .*-> ok, 2 faults" "$tmp/out"; then
	ok "run --quirk cow-steal-refault"
else
	not_ok "run --quirk cow-steal-refault (exit $rc)"
	diag_file "$tmp/out"
fi
expect_usage "unknown quirk" 2 "unknown quirk 'frob'; known: uffd-missing-no-share cow-steal-refault" \
	run --quirk frob examples/share.hw
expect_usage "unknown global option" 2 "unknown option '--bogus'" --bogus
expect_usage "no file" 2 "no scenario file given" run
expect_usage "missing option argument" 2 "needs an argument" run --policy
expect_usage "unknown policy" 2 "unknown policy 'nope'" run --policy nope x.hw
expect_usage "bad timeout" 2 "--timeout wants seconds" run --timeout 0 x.hw

hw --help
if [ "$rc" -eq 0 ] && grep -q "run \[OPTION\]... FILE" "$tmp/out" &&
   grep -q -- "--policy NAME" "$tmp/out" && grep -q "Examples:" "$tmp/out" &&
   grep -q "uffd_read" "$tmp/out" && grep -q -- "--timeout" "$tmp/out"; then
	ok "--help documents run and its options"
else
	not_ok "--help documents run and its options (exit $rc)"
fi

hw --version
if [ "$rc" -eq 0 ] && grep -q "^hugewalk [0-9]" "$tmp/out"; then
	ok "--version"
else
	not_ok "--version (exit $rc)"
fi

hw policies
if [ "$rc" -eq 0 ] && grep -q "^v6.3 " "$tmp/out"; then
	ok "policies lists v6.3"
else
	not_ok "policies lists v6.3 (exit $rc)"
	diag_file "$tmp/out"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
