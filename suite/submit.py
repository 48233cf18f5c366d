"""``suite submit``: verify a signed result and place it under ``submissions/`` for a pull request.

A submission lives at ``submissions/<benchmark>/<estimator>/seed<seed>[-sample<n>]-<config8>.json``
(:mod:`suite.submission_layout`), where ``config8`` is the first 8 hex digits of the sha256 of the
estimator's canonical config: the same run always gets the same name, and two configs of one
estimator never collide. Names come from the file, so they are checked (a registered benchmark, a
plain estimator name) and the target must resolve inside ``submissions/``: a hostile name cannot
write elsewhere.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from suite.errors import SuiteError, UsageError, VerificationError
from suite.keys import SIGNERS_FILE, Signer, load_signers, public_key_line, too_close, valid_principal
from suite.results import parse_json_bytes, validate_result
from suite.submission_layout import submission_path
from suite.verdict import Report
from suite.verify import Verifier
from suite.weights import check_file, file_name, signed_weights, weights_dir


@dataclass
class Submission:
    """What ``submit`` did: the verification report, where the file went, and what is left to do."""

    report: Report
    target: Path
    copied: bool
    new_signer_line: str | None = None
    steps: list[str] = field(default_factory=list)


def submit(path: Path, root: Path, data_dir: Path | None, cache_dir: Path | None = None,
           own_signer: Signer | None = None, principal: str | None = None, overwrite: bool = False) -> Submission:
    """Verify ``path`` (every check; the signature may be by ``own_signer``, a key not yet trusted,
    whose line is then added to ``allowed_signers`` under ``principal``) and copy it into ``root``.

    Raises:
        VerificationError: a check failed (the first failure's message), or the target holds another file.
        UsageError: an untrusted key without ``principal``, or a bad principal.
    """
    signers_path = root / SIGNERS_FILE
    data = Path(path).read_bytes()  # read once: what is verified is what is copied
    verifier = Verifier(signers_path, data_dir, cache_dir, extra_signers=[own_signer] if own_signer else [])
    report = verifier.verify(path, data=data)
    failed = next((c for c in report.checks if c.status == "fail"), None)
    if failed is not None or not report.ok:
        check = failed or next(c for c in report.checks if c.name == "signature")
        raise VerificationError(f"{path}: {check.name}: {check.message}")
    new_line = None
    if own_signer is not None and report.signer == own_signer.principal and verifier.signed_by_extra:
        if principal is None:
            raise UsageError(f"{path} is signed by {own_signer.key_id}, not yet a trusted signer: pass --add-signer "
                             "<your name or GitHub handle> to propose your public key")
        if not valid_principal(principal):
            shown = principal[:40].encode("ascii", "backslashreplace").decode()
            raise UsageError(f"--add-signer {shown}: a principal is ASCII only: a letter or digit, then letters, "
                             "digits and ._@+- (at most 128); pick your GitHub handle")
        _refuse_existing_principal(principal, signers_path)
        new_line = f"{principal} {public_key_line(own_signer.public_key)}"
    result = validate_result(parse_json_bytes(data, path)["result"], path)
    target = submission_path(result, root)
    copied = True
    if target.exists():
        if target.read_bytes() == data:
            copied = False
        elif not overwrite:
            raise VerificationError(f"{target} holds another result for this run; pass --overwrite to replace it")
    if copied:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    weights = _place_weights(Path(path), target, result, replace=copied)
    if new_line is not None:
        if signers_path.is_symlink():
            raise VerificationError(f"{signers_path} is a symbolic link; it must be a regular file")
        existing = signers_path.read_text(encoding="utf-8") if signers_path.exists() else ""
        if new_line not in existing.splitlines():
            with open(signers_path, "a", encoding="utf-8") as handle:
                handle.write(("" if not existing or existing.endswith("\n") else "\n") + new_line + "\n")
    if new_line is not None:
        # CI fails a pull request that changes allowed_signers together with results: the key lands
        # first, alone, reviewed by a maintainer; the results follow once it is on main
        slug = re.sub(r"[^a-z0-9_.-]", "-", principal.lower())
        steps = [
            ("(your key is new: it goes first into a pull request of its own that changes only "
             f"{signers_path}, for a maintainer to review; CI fails a pull request that adds a signer and results)"),
            f"git switch -c signer/{slug}",
            f"git add {signers_path}",
            f'git commit -m "Add {principal} to the trusted signers"',
            "git push -u origin HEAD",
            "gh pr create --fill   (or open a pull request on GitHub)",
            (f"(once it is merged, update your main branch and run `suite submit {path}` again: {target} is in "
             "place and the second run opens the submission's pull request)"),
        ]
        return Submission(report=report, target=target, copied=copied, new_signer_line=new_line, steps=steps)
    branch = f"submit/{result.benchmark.name}-{result.estimator.name}-{target.stem}"
    steps = [
        f"git switch -c {branch}",
        f"git add {target}" + (f" {weights}" if weights is not None else ""),
        f'git commit -m "Submit {result.estimator.name} on {result.benchmark.name} (seed {result.seed})"',
        "git push -u origin HEAD",
        "gh pr create --fill   (or open a pull request on GitHub)",
    ]
    return Submission(report=report, target=target, copied=copied, new_signer_line=new_line, steps=steps)


def _place_weights(path: Path, target: Path, result, replace: bool) -> Path | None:
    """Copy the trained weights beside ``path`` that the result signs to beside ``target`` (each
    file's content checked against its signed sha256 as it is copied); returns their directory, or
    None when there are none (the scores stay self-reported). A replaced result's old weights go."""
    source, dest = weights_dir(path), weights_dir(target)
    if source.resolve() == dest.resolve():
        return dest if dest.is_dir() else None
    if replace:
        shutil.rmtree(dest, ignore_errors=True)
    signed = signed_weights(result.provenance, result.estimator.name)
    if not signed or not source.is_dir():
        return None
    partial = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for key, sha256 in signed.items():
        name = file_name(key, result.estimator.name)
        (partial / name).write_bytes(check_file(source / name, sha256))
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
    return dest


def _refuse_existing_principal(principal: str, signers_path: Path) -> None:
    """A proposed key may only name a new principal (compared case-insensitively, as GitHub handles are),
    and one no reader can take for a listed one (:func:`suite.keys.too_close`).

    Adding a key under a principal that allowed_signers already lists would let a newcomer sign as
    that person or as the project; a key change for an existing principal is a maintainer's own pull
    request, reviewed on its own.

    Raises:
        UsageError: ``principal`` is already listed, or too close to a listed one.
        KeyFileError: ``allowed_signers`` exists but cannot be read (names the line).
    """
    if not signers_path.exists() and not signers_path.is_symlink():
        return
    listed = {s.principal.casefold(): s.principal for s in load_signers(signers_path)}
    if principal.casefold() in listed:
        raise UsageError(f"--add-signer {principal}: {signers_path} already lists the principal "
                         f"{listed[principal.casefold()]}; pick your own name (a key change for an existing principal "
                         "must be a maintainer's separate pull request)")
    close = sorted(name for name in listed.values() if too_close(principal, name))
    if close:
        raise UsageError(f"--add-signer {principal}: too close to the principal {close[0]} that {signers_path} lists "
                         "(one edit apart, or alike once look-alike characters are folded): pick a name no reader can "
                         "take for it")


def open_pull_request(submission: Submission, repo: Path) -> str:
    """Run the submission's git steps in ``repo`` and ``gh pr create``; returns gh's output (the PR URL).

    Raises:
        SuiteError: gh is not installed, or a step failed (names it, with its stderr's last line).
    """
    if shutil.which("gh") is None:
        raise SuiteError("`gh` (GitHub CLI) is not installed; run the printed steps yourself")
    commands = [step.split("   (")[0] for step in submission.steps if not step.startswith("(")]
    output = ""
    for command in commands:
        argv = _split(command)
        done = subprocess.run(argv, cwd=repo, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise SuiteError(f"`{command}` failed: {last[:200]}")
        output = done.stdout.strip()
    return output


def _split(command: str) -> list[str]:
    return shlex.split(command)
