#!/bin/bash
# Tuning benchmarks for BENCHMARKS.md (issue 6). Sequential; logs in /work/scratch/tb.
set -u
A=/work/target-fast/release/amdb
D=/work/scratch/tb/data
cd /work/scratch/tb
W=pgbench:scale=50,clients=8,seconds=6
echo "start $(date -u +%FT%TZ)" > times.log
$A --data $D tune postgres --knobs extended --allow-restart --optimizer bo --budget 20 --finalists 2 --pairs 5 --workload $W --report bo > bo.out 2> bo.err; echo "bo rc=$? $(date -u +%FT%TZ)" >> times.log
$A --data $D tune postgres --knobs extended --allow-restart --optimizer ddpg --budget 20 --finalists 2 --pairs 5 --no-ablation --workload $W --report ddpg > ddpg.out 2> ddpg.err; echo "ddpg rc=$? $(date -u +%FT%TZ)" >> times.log
$A --data $D tune compare --allow-restart --pairs 5 --workload $W --report compare > compare.out 2> compare.err; echo "compare rc=$? $(date -u +%FT%TZ)" >> times.log
$A --data $D tune postgres --knobs seed --allow-unsafe --optimizer bo --budget 10 --finalists 1 --pairs 4 --no-ablation --workload $W --report unsafe > unsafe.out 2> unsafe.err; echo "unsafe rc=$? $(date -u +%FT%TZ)" >> times.log
