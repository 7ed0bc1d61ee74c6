"""Hostile config.json: two thousand deterministic mutations of a valid config. mote must answer
each with a clean exit (0 if the mutant is still a valid config, else 1 and a message), never a
panic, a signal, or a hang, and leave nothing behind."""
import os
import random

from conftest import cgroup_dirs


def mutants(text, n, seed=1234):
    r = random.Random(seed)
    alphabet = b'{}[]",:\\0123456789-+.eEtrufalsn \n\t\x00\xff\xc3u'
    for _ in range(n):
        b = bytearray(text)
        for _ in range(r.randint(1, 4)):
            op = r.randrange(5)
            i = r.randrange(len(b))
            if op == 0:
                del b[i:i + r.randint(1, 8)]
            elif op == 1:
                b[i:i] = bytes(r.choice(alphabet) for _ in range(r.randint(1, 4)))
            elif op == 2:
                b[i] = r.choice(alphabet)
            elif op == 3:
                j = r.randrange(len(b))
                b[i:i] = b[j:j + r.randint(1, 40)]
            else:
                b = b[:i]
        yield bytes(b)


def test_mutated_configs_never_panic(native):
    b = native.bundle(["true"])
    cfg = os.path.join(b, "config.json")
    text = open(cfg, "rb").read()
    seen = {0: 0, 1: 0}
    for i, m in enumerate(mutants(text, 2000)):
        with open(cfg, "wb") as f:
            f.write(m)
        cid = f"mote-fuzz-{i}"
        p = native("run", "--bundle", b, cid, timeout=10)
        assert p.returncode in (0, 1), (p.returncode, p.stderr, m[:200])
        assert "panic" not in p.stderr
        if p.returncode == 1:
            assert p.stderr.startswith("mote: "), p.stderr
        seen[p.returncode] += 1
        assert not os.path.exists(os.path.join(native.root, cid))
    assert cgroup_dirs("mote-fuzz-0") == []
    assert seen[1] > 500  # most mutants are invalid: the test really exercises the error paths
