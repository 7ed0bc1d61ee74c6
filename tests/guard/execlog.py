"""Records the name of every program a Python process of the test run starts, one per line, in the
file $MOTE_EXEC_LOG (tests/test_setup.py checks that `./x setup` installs each one's package).

tests/conftest.py installs it in pytest's own process and puts this folder on PYTHONPATH, so that
sitecustomize.py installs it in every Python process the tests start (qemu/vm.py, the bench)."""
import os
import sys


BUILTINS = {"cd", "set", "echo", "test", "[", "true", "false", "read", "trap", "wait", "kill", "export",
            "ulimit", "umask", "printf", "for", "if", "while", "case"}


def _names(argv):
    if isinstance(argv, (str, bytes, os.PathLike)):
        argv = [argv]
    argv = [os.fsdecode(a) for a in argv]
    if not argv:
        return []
    out = [argv[0]]
    # `sh -c "prog ..."`: the program the shell starts is the one that has to be installed.
    if os.path.basename(argv[0]) in ("sh", "bash") and len(argv) > 2 and argv[1] == "-c":
        words = argv[2].split()
        # `exec prog`, `VAR=x prog`: the program is the next word.
        while words and (words[0] in ("exec", "command", "env") or "=" in words[0]):
            words = words[1:]
        # A builtin or an expansion ("$@") starts nothing that has to be installed.
        if words and words[0] not in BUILTINS and words[0][:1] not in "$\"'({[!&;|<>":
            out.append(words[0])
    return out


def install():
    path = os.environ.get("MOTE_EXEC_LOG")
    if not path:
        return

    def hook(event, args):
        if event == "subprocess.Popen":
            exe, argv = args[0], args[1]
            names = _names(argv) + ([os.fsdecode(exe)] if exe else [])
        elif event in ("os.exec", "os.posix_spawn"):
            names = [os.fsdecode(args[0])]
        else:
            return
        with open(path, "a") as f:
            f.write("".join(n + "\n" for n in names if n and "\n" not in n))

    sys.addaudithook(hook)
