"""`make bench`: the kit's speed and size beside their floors and goals, measured in one run.

The bench names no lab: it times the labs it finds (`load_labs()`). Its subject is the first lab,
in the course's order, that builds on no other and whose solutions type at an interactive
container's prompt (the robot's pseudo-terminal, which `workshop watch` follows too); else the
first that builds on no other. The robot solves it in a scratch state folder, and then every
step's `workshop check` is timed; a step whose check imports testinfra (it looked inside a
running container) is a testinfra step, any other a docker-py step.

Every command runs ROUNDS times, interleaved (A B C A B C ...) so a noisy machine slows them
alike; the median of each is compared as a ratio against its floor. Then: each lab's own figures
(labs/<id>/tests/bench.py, where a lab has one), `workshop watch` (scripts/bench_watch.py), the
classroom server under load (scripts/bench_classroom.py) and the size of a learner's install.

Creates containers and images, and removes exactly those: the robot types through the suite's
docker shim (tests/kit/trace.py), which labels what it makes and logs the tags it applies; a
lab's bench labels its containers and logs its builds. A learner's containers and images made
meanwhile stay. BENCH_SKIP_LABS, _WATCH, _CLASSROOM or _INSTALL=1 leaves a part out.
"""

from __future__ import annotations

import compileall
import importlib.util
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
PY = sys.executable
HELP_GOAL_MS = 40  # `workshop --help` over `python -c pass`
CHECK_GOAL = 1.3  # a check on a docker-py step over `import docker; ping`
INFRA_GOAL = 2.0  # a check on a testinfra step over the same floor


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        argv,
        env=env,
        cwd=KIT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - start


def measure(commands: dict[str, list[str]], env: dict[str, str]) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():  # one warm-up each: disk caches, .pyc files
        timed(argv, env)
    for _ in range(ROUNDS):
        for name, argv in commands.items():
            samples[name].append(timed(argv, env))
    return {name: statistics.median(values) for name, values in samples.items()}


def subject(labs):
    """The lab the bench times (see the module), or None when there is none to time."""
    free = [lab for lab in labs if not lab.builds_on]  # a fresh learner solves it from nothing
    for lab in free:
        if any(command.interactive for step in lab.steps for command in step.solution):
            return lab
    return free[0] if free else None


def prepare(home: str, lab) -> None:
    """Solve `lab` up to its last step in the scratch state folder `home`, and compile the kit's
    modules as a learner's first command does (where PYTHONDONTWRITEBYTECODE is set, nothing
    would, and every timed run would compile the kit again)."""
    import compileall

    compileall.compile_dir(KIT / "workshop", quiet=1)
    compileall.compile_dir(KIT / "labs", quiet=1)  # each lab's checks.py and helpers
    os.environ["WORKSHOP_HOME"] = home
    from workshop.checks import prober
    from workshop.course import Course
    from workshop.labs import find_lab
    from workshop.solve import solve

    course = Course()
    lab = find_lab(course.labs, lab.id)
    course.start(lab)
    for step in lab.steps:
        solve(step, io.StringIO(), prober(lab), cwd=lab.root)


def looks_inside(argv: list[str], env: dict[str, str]) -> bool:
    """Run a step's check once: whether it imported testinfra (it looked inside a running
    container). It must say done: the robot solved the lab, and a bench of a check that fails
    early would time less than a learner waits for."""
    done = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]],
        env=env,
        cwd=KIT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        said = done.stdout.strip().splitlines()[-1:] or ["(nothing)"]
        raise RuntimeError(
            f"`{' '.join(argv[2:])}` exited {done.returncode} after the robot solved the lab "
            f"(it said: {said[0]}); fix the lab's solution or check before timing it"
        )
    return any(line.rsplit("|", 1)[-1].strip() == "testinfra" for line in done.stderr.splitlines())


def load_lab_bench(lab):
    """The lab's own bench module (labs/<id>/tests/bench.py), or None."""
    path = lab.folder / "tests" / "bench.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"{lab.package}_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    sys.path.insert(0, str(KIT))
    # the steady state a learner's machine reaches after its first command: the kit's modules
    # compiled (bytecode is current even where PYTHONDONTWRITEBYTECODE stops Python writing it)
    for folder in ("workshop", "labs"):
        compileall.compile_dir(KIT / folder, quiet=1)
    from tests.kit.trace import Trace
    from workshop.engine import client
    from workshop.errors import LabFileError
    from workshop.labs import load_labs

    try:
        labs = load_labs()
    except LabFileError as exc:
        print(f"No lab to time ({exc}); the classroom and the install are still measured.")
        labs = []
    engine = client()  # the kit's own discovery: the engine the learner's docker uses
    trace = Trace()  # this run's mark: what it makes, it removes, and nothing else
    try:
        run(engine, trace, labs)
    finally:
        trace.close()
    return 0


def run(engine, trace, labs) -> None:
    lab = subject(labs)
    if lab is not None:
        checks(engine, trace, lab)
    sys.path.insert(0, str(KIT / "scripts"))
    if os.environ.get("BENCH_SKIP_LABS") != "1":
        for each in labs:
            module = load_lab_bench(each)
            if module is not None:
                with trace.no_trace(engine):
                    module.bench(engine, trace)
    if lab is not None and os.environ.get("BENCH_SKIP_WATCH") != "1":
        import bench_watch

        with trace.no_trace(engine), trace.on_path():
            bench_watch.watch(PY, lab)
    if os.environ.get("BENCH_SKIP_CLASSROOM") != "1":  # needs no engine: loopback only
        import bench_classroom

        bench_classroom.main()
    if os.environ.get("BENCH_SKIP_INSTALL") != "1":
        install_size()


def checks(engine, trace, lab) -> None:
    """`workshop --help`, each step's check and `workshop status`, beside their floors."""
    workshop = [PY, "-m", "workshop"]
    steps = {f"workshop check {lab.id}/{step.id}": step for step in lab.steps}
    argv = {name: [*workshop, "check", f"{step.lab_id}/{step.id}"] for name, step in steps.items()}
    with tempfile.TemporaryDirectory() as home, trace.no_trace(engine):
        with trace.on_path():  # the robot types its solutions through the shim
            prepare(home, lab)
        env = {**os.environ, "WORKSHOP_HOME": home}  # the real docker on PATH, as a learner's
        inside = {name: looks_inside(argv[name], env) for name in steps}
        results = measure(
            {
                "python -c pass": [PY, "-c", "pass"],
                "workshop --help": [*workshop, "--help"],
                "floor: import docker; ping": [PY, "-c", "import docker; docker.from_env().ping()"],
                **argv,
                "workshop status": [*workshop, "status"],
            },
            env,
        )
    floor = results["floor: import docker; ping"]
    print(f"Lab {lab.id}, solved by the robot; median of {ROUNDS} interleaved runs each")
    for name, seconds in results.items():
        kind = ""
        if name in steps:
            kind = f"{'testinfra' if inside[name] else 'docker-py'} {seconds / floor:5.2f}x"
        print(f"  {name:<48} {seconds * 1000:7.0f} ms  {kind}")
    help_over = (results["workshop --help"] - results["python -c pass"]) * 1000
    print()
    print(
        f"  workshop --help over python -c pass: {help_over:+.0f} ms   (goal: <= {HELP_GOAL_MS} "
        f"ms) {'ok' if help_over <= HELP_GOAL_MS else 'MISSED'}"
    )
    for looked, label, goal in ((False, "docker-py", CHECK_GOAL), (True, "testinfra", INFRA_GOAL)):
        timed_steps = [name for name in steps if inside[name] == looked]
        if not timed_steps:
            print(f"  no step of {lab.id} has a {label} check: nothing to compare")
            continue
        worst = max(timed_steps, key=results.__getitem__)
        ratio = results[worst] / floor
        print(
            f"  slowest check on a {label} step / floor: {ratio:.2f}x ({steps[worst].id}; "
            f"{len(timed_steps)} such steps)   (goal: <= {goal}x) "
            f"{'ok' if ratio <= goal else 'MISSED'}"
        )


def install_size() -> None:
    """A learner's install as tests/kit/test_install.py makes it: `pip install .` of a fresh
    clone (with the uncommitted work laid over), no extras, into a new venv; its size on disk.
    pip's own cache is used, so only the kit's wheel is built."""
    from tests.kit.test_install import LEARNER_MB, _clone, _size_mb

    with tempfile.TemporaryDirectory(prefix="workshop-bench-install-") as scratch:
        root = Path(scratch)
        clone = _clone(root / "clone")
        venv = root / "venv"
        subprocess.run([PY, "-m", "venv", str(venv)], check=True, stdin=subprocess.DEVNULL)
        start = time.perf_counter()
        done = subprocess.run(
            [
                str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                "--disable-pip-version-check", "-c", str(clone / "constraints.txt"), str(clone),
            ],
            check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pip install of the clone failed:\n{done.stderr[-2000:]}")
        seconds = time.perf_counter() - start
        size = _size_mb(venv)
    print()
    print("A learner's install (`pip install .` of a fresh clone, no extras, into a new venv)")
    print(
        f"  venv on disk: {size:6.1f} MB   (goal: <= {LEARNER_MB} MB) "
        f"{'ok' if size <= LEARNER_MB else 'MISSED'}; installed in {seconds:.0f} s with pip's cache"
    )


if __name__ == "__main__":
    sys.exit(main())
