#!/usr/bin/env bash
# Put the kata's own files back as they were in the commit the assignment was created from, so that
# a learner's edits to the suites or the checker do not count: tests/, checker/ and pyproject.toml
# are restored, and at the top of the clone only the kata's own files remain among those that could
# be imported or change how Python, pip or pytest start: a learner's sitecustomize.py,
# usercustomize.py, pytest.py, setup.py, a module or package that shadows a dependency (numpy.py,
# json.py, yaml/), a *.pth, conftest.py, pytest.ini, .pytest.ini, tox.ini or setup.cfg is removed,
# and such a file of the kata's is restored. It is meant for the fresh checkout of a CI job: the
# files it removes are the learner's, still in their repository.
#
# The starting commit is the repository's first one: a repository made from a template repository
# starts with one commit holding the template's files (make the template itself one commit too: see
# docs/teachers.md, "Set up the assignment"). KATA_START_COMMIT, when set and not empty, names
# another commit.
# Used by .github/workflows/kata.yml and .github/workflows/classroom.yml.
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

# Could this entry at the top of the clone be imported, or change how Python, pip or pytest start?
# A module or extension (*.py, *.pyc, *.so, *.pyd), a path file (*.pth), a package (a folder with
# __init__.py), a bytecode cache, or a configuration file pytest or setuptools reads.
python_can_load() {
    local name="$1"
    case "$name" in
        *.py | *.pyc | *.pyo | *.pyd | *.so | *.pth | __pycache__ | conftest.py | pytest.ini | .pytest.ini \
            | tox.ini | setup.cfg | pyproject.toml | setup.py)
            return 0 ;;
    esac
    [ -d "$name" ] && [ ! -L "$name" ] && { [ -e "$name/__init__.py" ] || [ -L "$name/__init__.py" ]; } && return 0
    [ -L "$name" ] && [ -d "$name" ] && return 0  # a link to a folder: it could be a package
    return 1
}

removed=()
shopt -s dotglob nullglob
for entry in *; do
    [ "$entry" = .git ] && continue
    python_can_load "$entry" || continue
    if git cat-file -e "$start:$entry" 2>/dev/null; then
        kind="$(git cat-file -t "$start:$entry")"
        if [ "$kind" = blob ]; then  # the kata's own file: as it was
            rm -rf -- "$entry"
            git checkout "$start" -- "$entry"
        fi
        continue  # the kata's own folders (checker/ above; exercises/, the learner's code, stays)
    fi
    rm -rf -- "$entry"
    removed+=("$entry")
done
echo "Restored tests/, checker/ and pyproject.toml from the starting commit $(git rev-parse --short "$start")."
if [ "${#removed[@]}" -gt 0 ]; then
    printf 'Removed from the top of the clone (not the kata'"'"'s, and Python could load them):'
    printf ' %q' "${removed[@]}"
    printf '\n'
fi
