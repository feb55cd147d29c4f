#!/bin/bash
# SPDX-License-Identifier: MIT
#
# TAP: the model against the running kernel.  `hugewalk diff` runs every
# example, and a few random scenarios, on both and must find no
# difference; `hugewalk run --backend=kernel` passes the examples the
# kernel runs whole; the pool is given back after a run, after SIGTERM
# and (by the next run) after SIGKILL; the mremap that would hang the
# kernel is refused, not run; `hugewalk probe` runs clean, and finds a
# WARNING written to the kernel log while it runs.
#
# The kernel backend needs root, a 2 MiB hugetlb pool and memory to grow
# it: where it cannot run, the whole file is skipped with the reason.
#
# Environment: HW_LIVE_BIN, a hugewalk built without sanitizers (default
# build/real/hugewalk: the drivers are clones of it, and a sanitizer's
# shadow memory would sit at the scenarios' addresses); HW_EXAMPLES.

cd "$(dirname "$0")/.." || exit 1
BIN=${HW_LIVE_BIN:-build/real/hugewalk}
HW_EXAMPLES=${HW_EXAMPLES:-$(echo examples/*.hw)}
NR=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
LIMIT=60	# seconds any one command may take

. tests/lib.sh

# diff_agrees FILE WHAT [REGEX]: 'hugewalk diff FILE' says AGREE, and the
# rest of its verdict line matches REGEX.
diff_agrees() {
	hw diff "$1"
	if [ "$rc" -eq 0 ] && grep -q "^AGREE ${3:-}" "$tmp/out"; then
		ok "$2: $(grep '^AGREE ' "$tmp/out")"
	else
		not_ok "$2 (exit $rc)"
		diag_file "$tmp/out"
	fi
}

# kernel_passes FILE WHAT: 'hugewalk run --backend=kernel FILE' passes.
kernel_passes() {
	hw run -q --backend=kernel "$1"
	if [ "$rc" -eq 0 ] && grep -qF "PASS $1 " "$tmp/out"; then
		ok "run --backend=kernel of $2"
	else
		not_ok "run --backend=kernel of $2 (exit $rc)"
		diag_file "$tmp/out"
		diag_file "$tmp/err"
	fi
}

# Processes named hw:* (the drivers): how many now.
drivers() {
	local c k=0

	for c in /proc/[0-9]*/comm; do
		read -r name <"$c" 2>/dev/null || continue
		case $name in hw:*) k=$((k + 1)) ;; esac
	done
	echo $k
}

# No more drivers than $drivers0: a killed driver's zombie may linger a
# moment before its parent (or init) reaps it, so wait up to 5 s.
drivers_gone() {
	local i

	for i in $(seq 50); do
		[ "$(drivers)" -le "$drivers0" ] && return 0
		sleep 0.1
	done
	return 1
}

if [ ! -x "$BIN" ]; then
	echo "1..0 # SKIP no hugewalk binary at $BIN"
	exit 0
fi

# ---- can the kernel backend run here? ----------------------------------

hw diff -q examples/share.hw
if [ "$rc" -eq 3 ]; then
	reason=$(grep -m1 '^NOT RUN' "$tmp/out" | sed -e 's/^NOT RUN[^:]*: //')
	echo "1..0 # SKIP the kernel backend cannot run here: ${reason:-see 'hugewalk diff'}"
	exit 0
fi
nr0=$(cat "$NR")
drivers0=$(drivers)

# ---- every example: no difference --------------------------------------

hw diff -q $HW_EXAMPLES
cp "$tmp/out" "$tmp/diff"
for ex in $HW_EXAMPLES; do
	line=$(grep -m1 -E "^(AGREE|PARTIAL|DIFFER|NOT RUN) $ex( |:)" "$tmp/diff")
	case $line in
	AGREE*)
		ok "diff $ex: $line"
		;;
	PARTIAL*)
		why=$(grep -A1 -F "$line" "$tmp/diff" | tail -n 1 |
		      sed -e 's/^ *//')
		ok "diff $ex: compared in part ($why)"
		;;
	*)
		not_ok "diff $ex: ${line:-no verdict} (exit $rc)"
		hw diff "$ex"
		diag_file "$tmp/out"
		;;
	esac
done

# ---- what the kernel runs whole passes its own expectations -------------

for ex in $(sed -n -e 's/^AGREE \([^ ]*\) .*/\1/p' "$tmp/diff"); do
	kernel_passes "$ex" "$ex"
done

# ---- userfaultfd MISSING mode, in the foreground -------------------------

# The monitor's ops on the kernel: UFFDIO_COPY into a page nobody
# faulted yet, the shared table that shows it to B without a fault,
# EEXIST, UFFDIO_WAKE, a nonblocking read, unregister and close.  (An
# access that sleeps in a userfault: the next section.)  Whether B's read of the copied page faults
# depends on the kernel: where MISSING registration unshares (quirk
# uffd-missing-no-share, probed by diff), A's copy lands in a table of
# A's own; so the file leaves B's fault count to the diff.
cat >"$tmp/uffd.hw" <<'EOS'
pool 520
memfd f
ftruncate f 1G
spawn A
spawn B
A mmap 0x40000000 1G rw shared f 0
B mmap 0x40000000 1G rw shared f 0
A write 0x40000000 tag=0x11 => faults=1
B read 0x40000000 => faults=1 tag=0x11
A uffd_register 0x40000000 1G missing
A uffd_read nonblock => EAGAIN
A uffd_copy 0x40200000 tag=0x22 => faults=0
B read 0x40200000 => tag=0x22
A read 0x40200000 => tag=0x22 faults=0
A uffd_copy 0x40200000 tag=1 => EEXIST
A uffd_copy 0x40400000 tag=0x33 dontwake
A uffd_wake 0x40400000 2M
A uffd_unregister 0x40000000 1G
A read 0x40600000 => tag=0 faults=1
A uffd_close
A uffd_close => EBADF
A uffd_read nonblock => EBADF
check
EOS
diff_agrees "$tmp/uffd.hw" "diff of userfaultfd MISSING ops"
kernel_passes "$tmp/uffd.hw" "userfaultfd MISSING ops"

# ---- userfaultfd MISSING mode, an access asleep in the background ---------

# A's accesses sleep in userfaults on a worker thread of A's driver while
# its main thread reads each event and resolves it (UFFDIO_COPY, with and
# without wake, then unregister).  Each access's result, tag and faults
# are compared at its wait; the monitor ops' fault counts and the
# counters while it sleeps are timing-dependent and skipped.
cat >"$tmp/uffd-bg.hw" <<'EOS'
pool 4
memfd f
ftruncate f 1G
spawn A
A mmap 0x40000000 1G rw shared,noreserve f 0
A write 0x40000000 tag=0x11 => faults=1
A uffd_register 0x40000000 1G missing
A read 0x40200000 & => tag=0x22 faults=1
A uffd_read => addr=0x40200000 write=0
A uffd_copy 0x40200000 tag=0x22
wait A
A write 0x40400000 tag=0x33 & => faults=1
A uffd_read => addr=0x40400000 write=1
A uffd_copy 0x40400000 tag=0x44 dontwake
A uffd_wake 0x40400000 2M
wait A
A read 0x40400000 => tag=0x33 faults=0
A read 0x40600000 & => tag=0 faults=1
A uffd_read => addr=0x40600000 write=0
A uffd_unregister 0x40000000 1G
wait A
A uffd_close
expect A rss=4
EOS
diff_agrees "$tmp/uffd-bg.hw" "diff of a userfault asleep in the background" \
	".*timing-dependent"
kernel_passes "$tmp/uffd-bg.hw" "a userfault asleep in the background"

# Nobody resolves it: the wait gives up after the time limit, every
# userfaultfd is closed, which wakes the fault, and the run stops there
# with the reason; no driver is left behind and the pool is given back.
printf '%s\n' 'pool 4' 'memfd f' 'ftruncate f 1G' 'spawn A' \
	'A mmap 0x40000000 1G rw shared,noreserve f 0' \
	'A uffd_register 0x40000000 1G missing' \
	'A read 0x40200000 &' 'wait A' 'A read 0x40000000' >"$tmp/stuck.hw"
hw run -q --backend=kernel --timeout 0.5 "$tmp/stuck.hw"
if [ "$rc" -eq 1 ] && grep -q "still running 500 ms after 'wait' at line 8" "$tmp/err" &&
   grep -q "stopped at line 8" "$tmp/out" && drivers_gone &&
   [ "$(cat "$NR")" = "$nr0" ]; then
	ok "a background userfault nobody resolves: given up after the time limit"
else
	not_ok "a background userfault nobody resolves (exit $rc, drivers $(drivers), nr_hugepages $(cat "$NR"))"
	diag_file "$tmp/out"
	diag_file "$tmp/err"
fi

# One userfaultfd, both modes: write-protect registration unshares and
# keeps A from sharing; unregistering ends it; MISSING registration over
# a write-protected range trades WP for MISSING (whether that unshares or
# lets A share depends on the kernel's quirks, which diff probes).
cat >"$tmp/modes.hw" <<'EOS'
pool 520
memfd f
ftruncate f 1G
spawn A
spawn B
A mmap 0x40000000 1G rw shared f 0
B mmap 0x80000000 1G rw shared f 0
B write 0x80000000 tag=0x10
A read 0x40000000 => tag=0x10
A uffd_wp 0x40000000 1G
A read 0x40000000 => tag=0x10
B write 0x80200000 tag=0x11
A read 0x40200000 => tag=0x11
A uffd_unregister 0x40000000 1G
A madvise 0x40000000 1G dontneed
A read 0x40000000 => tag=0x10
B write 0x80400000 tag=0x12
A read 0x40400000 => tag=0x12
A uffd_wp 0x40000000 1G
A uffd_register 0x40000000 1G missing
A madvise 0x40000000 1G dontneed
A read 0x40000000 => tag=0x10
B write 0x80600000 tag=0x13
A read 0x40600000 => tag=0x13
A uffd_unregister 0x40000000 1G
A uffd_close
A uffd_unregister 0x40000000 1G => EBADF
EOS
diff_agrees "$tmp/modes.hw" "diff of both userfaultfd modes on one descriptor"

# ---- random scenarios ---------------------------------------------------

hw diff --random 20 --seed 1
if [ "$rc" -eq 0 ] && grep -q "^20 random scenarios (seed 1): .* 0 differ" "$tmp/out"; then
	ok "diff --random 20: $(tail -n 1 "$tmp/out")"
else
	not_ok "diff --random 20 (exit $rc)"
	diag_file "$tmp/out"
fi

# ---- the mremap that would hang the kernel is not run --------------------

printf '%s\n' 'pool 4' 'memfd f' 'ftruncate f 1G' 'spawn A' \
	'A mmap 0x40000000 1G rw shared,noreserve f 0' \
	'A write 0x40000000 tag=1' \
	'A mremap 0x40000000 1G 1G 0x80000000' >"$tmp/hang.hw"
hw run -q --backend=kernel "$tmp/hang.hw"
if [ "$rc" -eq 1 ] && grep -q "would hang the running kernel" "$tmp/err" &&
   grep -q "stopped at line 7" "$tmp/out"; then
	ok "an mremap that would hang the kernel is refused"
else
	not_ok "an mremap that would hang the kernel is refused (exit $rc)"
	diag_file "$tmp/out"
	diag_file "$tmp/err"
fi

# The same move into a 1 GiB whose PUD keeps a table (a page of the big
# mapping is present there, and what is left of it stays in that 1 GiB
# after the destination is unmapped) cannot hang: it is made, and the
# model agrees with what the kernel did.
printf '%s\n' 'pool 20' 'memfd f' 'ftruncate f 1G' 'spawn A' \
	'A mmap 0x140000000 1G rw shared,noreserve f 0' \
	'A mmap 0x40000000 12M rw shared f 0' \
	'A write 0x40000000 tag=1' \
	'A read 0x140800000' \
	'A mremap 0x40000000 12M 12M 0x140000000' \
	'A read 0x140000000 => tag=1' >"$tmp/nohang.hw"
diff_agrees "$tmp/nohang.hw" \
	"an mremap into a 1 GiB that keeps its table is made" \
	".*(10 ops compared"

# ---- the live race probe ---------------------------------------------------

hw probe --time 0.3
if [ "$rc" -eq 0 ] && grep -q "^CLEAN: 0 probes found something" "$tmp/out" &&
   [ "$(grep -c 'clean: data intact' "$tmp/out")" -eq 5 ]; then
	ok "probe: 5 probes, clean"
else
	not_ok "probe (exit $rc)"
	diag_file "$tmp/out"
fi

# A line in the kernel log during a probe is found and shown.
(sleep 0.2; echo "hugewalk-live.sh: WARNING: written to test the probe" \
	>/dev/kmsg) &
hw probe --only populate --time 0.6
wait
if [ "$rc" -eq 1 ] &&
   grep -q "kernel: hugewalk-live.sh: WARNING: written to test" "$tmp/out"; then
	ok "probe: a WARNING in the kernel log is found"
else
	not_ok "probe: a WARNING in the kernel log is found (exit $rc)"
	diag_file "$tmp/out"
fi

# ---- the pool is given back ---------------------------------------------

if [ "$(cat "$NR")" = "$nr0" ] && drivers_gone; then
	ok "nr_hugepages is back to $nr0, no driver left"
else
	not_ok "nr_hugepages $(cat "$NR"), was $nr0; drivers $(drivers), were $drivers0"
fi

# SIGTERM in the middle of a run: the handler kills the drivers and
# writes the pool back before the process dies of the signal.
"$BIN" diff -q --random 100000 --seed 3 --keep-going >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -TERM "$pid"
wait "$pid"
st=$?
sleep 0.2
if [ "$st" -eq 143 ] && [ "$(cat "$NR")" = "$nr0" ] &&
   drivers_gone; then
	ok "SIGTERM: pool back to $nr0, drivers gone"
else
	not_ok "SIGTERM: status $st, nr_hugepages $(cat "$NR") (was $nr0), drivers $(drivers) (were $drivers0)"
fi

# SIGKILL: nothing runs in the process; its drivers see their socket
# close and exit, and the next run restores the pool from the state file.
"$BIN" diff -q --random 100000 --seed 4 --keep-going >/dev/null 2>&1 &
pid=$!
sleep 1.5
kill -KILL "$pid"
wait "$pid" 2>/dev/null
sleep 0.5
hw diff -q examples/share.hw
if [ "$rc" -eq 0 ] && [ "$(cat "$NR")" = "$nr0" ] &&
   drivers_gone; then
	ok "SIGKILL: the next run gives the pool back ($(grep -c restored "$tmp/err") restore)"
else
	not_ok "SIGKILL: exit $rc, nr_hugepages $(cat "$NR") (was $nr0), drivers $(drivers) (were $drivers0)"
	diag_file "$tmp/err"
fi

# ---- and says why where it cannot run ------------------------------------

if command -v setpriv >/dev/null 2>&1; then
	timeout "$LIMIT" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$BIN" diff -q examples/share.hw >"$tmp/out" 2>&1
	rc=$?
	if [ "$rc" -eq 3 ] && grep -q "^NOT RUN: .*needs root" "$tmp/out"; then
		ok "not root: $(head -n 1 "$tmp/out")"
	else
		not_ok "not root: exit $rc"
		diag_file "$tmp/out"
	fi
else
	ok "# SKIP not root: no setpriv here"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
