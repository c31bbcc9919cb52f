#!/usr/bin/env bash
# Put the kata's own files back as they were in the commit the assignment was created from, so that
# a learner's edits to the suites or the checker do not count: tests/, checker/ and pyproject.toml
# are restored, and pytest settings a learner could have added at the top are removed.
#
# The starting commit is the repository's first one: a repository made from a template repository
# starts with one commit holding the template's files (make the template itself one commit too: see
# docs/teachers.md, "Set up the assignment"). KATA_START_COMMIT, when set and not empty, names
# another commit.
# Used by .github/workflows/kata.yml and by the first test of .github/classroom/autograding.json.
set -euo pipefail

if [ "$(git rev-parse --is-shallow-repository)" = true ]; then
    git fetch --quiet --unshallow
fi
start="${KATA_START_COMMIT:-$(git rev-list --max-parents=0 HEAD | tail -n 1)}"
if ! git cat-file -e "$start:checker/stages.toml" 2>/dev/null || ! git cat-file -e "$start:tests" 2>/dev/null; then
    echo "Error: the starting commit $start has no checker/stages.toml or tests/: it is not the kata's" \
         "starting point. Make the template one commit (see docs/teachers.md, Set up the assignment)," \
         "or set KATA_START_COMMIT to the commit the assignment was created from." >&2
    exit 1
fi

rm -rf tests checker
git checkout "$start" -- tests checker pyproject.toml
for file in conftest.py pytest.ini tox.ini setup.cfg; do
    if ! git cat-file -e "$start:$file" 2>/dev/null; then
        rm -f "$file"
    fi
done
echo "Restored tests/, checker/ and pyproject.toml from the starting commit $(git rev-parse --short "$start")."
