"""Check that the users' .gitlab-ci.yml is valid YAML with the jobs we promise.

GitLab's own linter needs a GitLab server; this checks what can be checked
offline: the file parses, the stages exist, every job names a known stage and
has a script, and the publish job runs only on tags.
"""
import sys

import yaml

RESERVED = {"stages", "variables", "default", "include", "workflow", "image",
            "services", "cache", "before_script", "after_script"}


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    errors = []
    stages = doc.get("stages", [])
    for want in ("lint", "test", "doc", "publish"):
        if want not in stages:
            errors.append(f"stage {want!r} missing")
    jobs = {k: v for k, v in doc.items() if k not in RESERVED and not k.startswith(".")}
    for name, job in jobs.items():
        if not isinstance(job, dict):
            errors.append(f"job {name!r} is not a mapping")
            continue
        if job.get("stage") not in stages:
            errors.append(f"job {name!r} has unknown stage {job.get('stage')!r}")
        if not job.get("script"):
            errors.append(f"job {name!r} has no script")
    publish = [j for j in jobs.values() if isinstance(j, dict) and j.get("stage") == "publish"]
    if not publish:
        errors.append("no publish job")
    for job in publish:
        rules = yaml.safe_dump(job.get("rules", job.get("only", "")))
        if "CI_COMMIT_TAG" not in rules and "tags" not in rules:
            errors.append("publish job does not run only on tags")
    for e in errors:
        print(f"{path}: {e}", file=sys.stderr)
    if not errors:
        print(f"{path}: ok ({len(jobs)} jobs, stages {stages})")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
