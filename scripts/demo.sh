#!/usr/bin/env bash
# A walk through Candor's API with curl, against a running `candor serve` with the demo
# models (start one with scripts/serve-demo.sh). Each step prints the request, then the
# answer. Exits non-zero as soon as a call that should succeed fails, or an error example
# does not answer 400.
#
#   scripts/demo.sh                                  # http://127.0.0.1:8080
#   CANDOR_URL=http://127.0.0.1:9000 scripts/demo.sh
set -euo pipefail

BASE="${CANDOR_URL:-http://127.0.0.1:8080}"
BASE="${BASE%/}"
MODEL=iris_mlp

if command -v python3 >/dev/null 2>&1; then
    # --no-ensure-ascii: summaries such as ∂f/∂x print as themselves, not \u2202f/\u2202x.
    pretty() { PYTHONIOENCODING=utf-8 python3 -m json.tool --no-ensure-ascii; }
else
    pretty() { cat; echo; }
fi

if [ -t 1 ]; then
    step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
    step() { printf '\n==> %s\n' "$*"; }
fi
note() { printf '    %s\n' "$*"; }

# GET a path; fails on any non-2xx answer.
get() {
    note "curl $BASE$1"
    curl -fsS "$BASE$1" | pretty
}

# POST a JSON body to a path; fails on any non-2xx answer. Extra curl arguments follow.
# The command is echoed (without the -D/-o bookkeeping) on stderr, so that stdout is only
# the answer, piped to `pretty`.
post() {
    local path="$1" body="$2" shown="" skip=0 argument
    shift 2
    for argument in "$@"; do
        if [ "$skip" = 1 ]; then skip=0; continue; fi
        case "$argument" in
            -D | -o) skip=1 ;;
            -*) shown+=" $argument" ;;
            *) shown+=" '$argument'" ;;
        esac
    done
    note "curl -X POST $BASE$path$shown -H 'Content-Type: application/json' -d '$body'" >&2
    curl -fsS -X POST "$BASE$path" -H 'Content-Type: application/json' -d "$body" "$@"
}

# POST a JSON body that must be refused with `expected` status; prints the problem document.
post_expecting() {
    local expected="$1" path="$2" body="$3" status
    note "curl -X POST $BASE$path -H 'Content-Type: application/json' -d '$body'"
    status=$(curl -sS -o "$scratch/body" -w '%{http_code}' -X POST "$BASE$path" \
        -H 'Content-Type: application/json' -d "$body")
    note "HTTP $status"
    pretty < "$scratch/body"
    if [ "$status" != "$expected" ]; then
        echo "demo: expected HTTP $expected, got $status" >&2
        exit 1
    fi
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

if ! curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null; then
    echo "demo: no Candor server answers at $BASE; start one with scripts/serve-demo.sh (or set CANDOR_URL)" >&2
    exit 1
fi

step "Liveness: the process answers"
get /healthz

step "Readiness: models loaded, workers accepting work (503 otherwise)"
get /readyz

step "The explanation methods, with their parameters, defaults and limits"
get /v1/methods

step "The loaded models (and any model file that was refused)"
get /v1/models

step "One model in full: inputs, outputs, layers, feature and class names, methods"
get "/v1/models/$MODEL"

step "Predict two flowers (a setosa and a virginica); inputs are raw centimetres"
post "/v1/models/$MODEL/predict" \
    '{"inputs": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}' | pretty

step "Explain with saliency: |d logit / d feature| for each flower's predicted class"
post "/v1/models/$MODEL/explain" \
    '{"method": "saliency", "inputs": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}' | pretty

step "Explain with input_x_gradient: x * gradient, of the 'probabilities' output, class 'virginica'"
post "/v1/models/$MODEL/explain" \
    '{"method": "input_x_gradient", "inputs": [[6.7, 3.0, 5.2, 2.3]], "output": "probabilities", "target": "virginica"}' | pretty

# A versicolor flower given by feature name, explained against the training mean
# (models/iris_mlp.yaml, training_statistics.mean) rather than the all-zero flower.
IG_REQUEST='{"method": "integrated_gradients",
  "inputs": [{"sepal length (cm)": 5.9, "sepal width (cm)": 3.0, "petal length (cm)": 4.2, "petal width (cm)": 1.5}],
  "target": "versicolor",
  "params": {"baselines": [5.86, 3.05, 3.76, 1.21], "n_steps": 64, "integration": "gausslegendre"}}'

step "Explain with integrated_gradients: named features, a class-name target, a mean baseline"
note "convergence_delta = sum(attributions) - (f(x) - f(baseline)): the quadrature error"
post "/v1/models/$MODEL/explain" "$IG_REQUEST" -D "$scratch/headers" | pretty
grep -i '^x-cache:' "$scratch/headers" | sed 's/^/    /'

step "How far to trust it: the same explanation with its deletion and insertion curves"
note "deletion: area under the output as the top-ranked features go to the baseline (low is faithful);"
note "insertion: as they are revealed on it (high is faithful); completeness: sum(attributions) - (f(x) - f(x'))"
post "/v1/models/$MODEL/explain" '{"method": "integrated_gradients", "inputs": [[6.7, 3.0, 5.2, 2.3]],
  "evaluate": ["deletion", "insertion", "completeness"],
  "evaluate_params": {"deletion": {"n_steps": 4}, "insertion": {"n_steps": 4}}}' | pretty

step "Error bars: a sampled kernel_shap (breast_cancer_mlp, 30 features in 10 groups, 200 of 1,022 coalitions)"
note "attributions_stderr: each value's standard error from the drawn coalitions; value +/- 1.96 x stderr is a 95% interval"
post "/v1/models/breast_cancer_mlp/explain" '{"method": "kernel_shap", "target": "benign",
  "inputs": [[17.99, 10.38, 122.8, 1001, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871, 1.095, 0.9053, 8.589, 153.4, 0.006399,
              0.04904, 0.05373, 0.01587, 0.03003, 0.006193, 25.38, 17.33, 184.6, 2019, 0.1622, 0.6656, 0.7119, 0.2654, 0.4601, 0.1189]],
  "params": {"n_samples": 200, "feature_mask": [0,0,0,1,1,1,2,2,2,3,3,3,4,4,4,5,5,5,6,6,6,7,7,7,8,8,8,9,9,9]}}' | pretty

step "What would change the decision: dice on credit_mlp (synthetic data) for a refused applicant"
note "three counterfactuals that the model approves, never changing age or sex (immutable in the sidecar)"
post "/v1/models/credit_mlp/explain" '{"method": "dice",
  "inputs": [{"age": 45, "income": 40.1, "debt to income": 0.18, "years employed": 7,
              "open credit lines": 5, "late payments": 3, "home ownership": 0, "sex": 0}],
  "params": {"desired_class": "approved", "total_cfs": 3}}' | pretty

# POSTs an analysis, then polls its job until it finishes, printing its progress; prints the
# finished document with long arrays shortened.
analyse() {
    local path="$1" body="$2" location state progress
    post "$path" "$body" -D "$scratch/headers" -o "$scratch/job"
    location=$(grep -i '^location:' "$scratch/headers" | tr -d '\r' | awk '{print $2}')
    note "202 Accepted, Location: $location; polling it (curl $BASE$location)"
    while :; do
        curl -fsS "$BASE$location" -o "$scratch/job"
        state=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' < "$scratch/job")
        progress=$(python3 -c 'import json,sys; p=json.load(sys.stdin)["progress"]; print(p["done"], "/", p["total"], p["unit"])' < "$scratch/job")
        note "$state: $progress"
        case "$state" in succeeded) break ;; failed | cancelled) pretty < "$scratch/job"; exit 1 ;; esac
        sleep 0.5
    done
    python3 -c '
import json, sys
def short(value):
    if isinstance(value, list):
        return [short(item) for item in value[:4]] + (["... %d more" % (len(value) - 4)] if len(value) > 4 else [])
    if isinstance(value, dict):
        return {key: short(item) for key, item in value.items()}
    return value
print(json.dumps(short(json.load(sys.stdin)["result"]), indent=2))' < "$scratch/job"
}

step "Which words made this review negative: layer_integrated_gradients on review_sentiment, per token"
note "a text instance, tokenized by the model's tokenizer.json; attributions at the word embeddings"
post "/v1/models/review_sentiment/explain" '{"method": "layer_integrated_gradients",
  "inputs": [{"text": "The headphones are great but the battery is terrible"}]}' |
    python3 -c '
import json, sys
explanation = json.load(sys.stdin)["explanations"][0]
print("    predicted %s" % explanation["target_name"])
for token, value in zip(explanation["tokens"], explanation["attributions"]):
    print("    %-12s %+.3f" % (token["token"], value))'

step "How the model behaves overall: partial dependence of breast_cancer_mlp on two features, as a job"
note "over the model's background rows (\"data\": \"model\"); the grid as scikit-learn builds it"
analyse "/v1/models/breast_cancer_mlp/analyses" '{"analysis": "partial_dependence", "data": "model",
  "params": {"features": ["worst radius", "mean concave points"], "grid_resolution": 20}}'

step "A readable stand-in: a depth-3 surrogate tree distilled from breast_cancer_mlp, with its fidelity"
note "fidelity: agreement with the model on held-out rows; rules: the tree's leaves"
analyse "/v1/models/breast_cancer_mlp/analyses" '{"analysis": "surrogate", "data": "model", "params": {"max_depth": 3}}'

step "Judge attributions made elsewhere: POST .../evaluate with the attributions themselves"
post "/v1/models/$MODEL/evaluate" '{"inputs": [[6.7, 3.0, 5.2, 2.3]], "attributions": [[0.4, 0.1, 2.5, 1.8]],
  "metrics": ["deletion", "sparseness", "complexity"]}' | pretty

step "The cache: the same request with Cache-Control: no-cache is computed afresh (miss) ..."
post "/v1/models/$MODEL/explain" "$IG_REQUEST" -H 'Cache-Control: no-cache' -D "$scratch/headers" -o /dev/null
first=$(grep -i '^x-cache:' "$scratch/headers" | tr -d '\r' | awk '{print $2}')
note "X-Cache: $first"

step "... and asked again without it, it comes from the cache (hit)"
post "/v1/models/$MODEL/explain" "$IG_REQUEST" -D "$scratch/headers" -o /dev/null
second=$(grep -i '^x-cache:' "$scratch/headers" | tr -d '\r' | awk '{print $2}')
note "X-Cache: $second"
if [ "$second" != "hit" ]; then
    note "(not a hit: is the cache disabled, cache.max_bytes: 0?)"
fi

step "Error: an instance of the wrong shape (3 features instead of 4) is a 400 problem document"
post_expecting 400 "/v1/models/$MODEL/predict" '{"inputs": [[5.1, 3.5, 1.4]]}'

step "Error: an unknown method is a 400 that lists the available ones"
post_expecting 400 "/v1/models/$MODEL/explain" '{"method": "no_such_method", "inputs": [[5.1, 3.5, 1.4, 0.2]]}'

step "Metrics (Prometheus text format), a few lines"
note "curl $BASE/metrics"
metrics=$(curl -fsS "$BASE/metrics")
grep -E '^candor_(models_loaded|cache_hits_total|cache_misses_total)' <<<"$metrics" | sed 's/^/    /' || true

printf '\nDone: every call answered as expected.\n'
