#!/usr/bin/env bash
# Bootstrap sizes (issue 9, "small"): builds every function and the floors
# (infra/bench-floors: hello-world Lambdas linking exactly the SDKs a function
# links) for Lambda (arm64, release) in one run, and prints each function's
# bootstrap beside its floor. Target: 8 MB (8,000,000 bytes), or, where the SDKs a function
# needs cannot fit, 1.15 times its floor. Prints figures; asserts nothing.
#
#   make bench-size        (needs cargo-lambda and zig: infra/bench-requirements.txt)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/.tools/venv/bin:$PATH"

functions=()
for manifest in functions/*/Cargo.toml; do
    functions+=("$(basename "$(dirname "$manifest")")")
done
packages=()
for f in "${functions[@]}"; do packages+=(-p "$f"); done
cargo lambda build --release --arm64 "${packages[@]}" -p leadflow-bench-floors >&2

target="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
lambda="$target/lambda"
size() { stat -c %s "$lambda/$1/bootstrap"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1000000 }'; }

limit=8000000
hello=$(size hello)
printf '%-13s %-21s %8s %8s %7s  %s\n' function SDKs "size MB" "floor MB" ratio target
printf '%-13s %-21s %8s %8s %7s  %s\n' "(hello)" "-" "$(mb "$hello")" "-" "-" "the lambda_runtime alone"
for f in "${functions[@]}"; do
    # The SDK features of leadflow-aws the function enables, in a fixed order.
    line="$(grep -E '^leadflow-aws *=' "functions/$f/Cargo.toml")"
    sdks=()
    for sdk in dynamodb sqs ses; do
        [[ "$line" == *"\"$sdk\""* ]] && sdks+=("$sdk")
    done
    floor_bin="hello"
    [[ ${#sdks[@]} -gt 0 ]] && floor_bin="hello-$(IFS=-; echo "${sdks[*]}")"
    # Secrets Manager (the link keys) has no floor of its own: the ratio
    # counts it against the floor of the other SDKs.
    [[ "$line" == *'"secrets"'* ]] && sdks+=("secrets")
    # Nor has S3 (the exports function's files).
    [[ "$line" == *'"s3"'* ]] && sdks+=("s3")
    own=$(size "$f")
    floor=$(size "$floor_bin")
    ratio=$(awk -v a="$own" -v b="$floor" 'BEGIN { printf "%.2f", a / b }')
    if ((own <= limit)); then
        met="met (<= 8 MB)"
    elif awk -v r="$ratio" 'BEGIN { exit !(r <= 1.15) }'; then
        met="met (<= 1.15x floor)"
    else
        met="NOT met"
    fi
    printf '%-13s %-21s %8s %8s %7s  %s\n' "$f" "$(IFS=+; echo "${sdks[*]}")" \
        "$(mb "$own")" "$(mb "$floor")" "${ratio}x" "$met"
done
