"""Python loads this at start-up when tests/guard is on PYTHONPATH (tests/conftest.py puts it there
for the processes the tests start): it records the programs they run (execlog.py), then runs the
system's own sitecustomize, which this file shadows."""
import os
import sys

import execlog

execlog.install()
_system = os.path.join(os.path.dirname(os.__file__), "sitecustomize.py")
if os.path.exists(_system):
    exec(compile(open(_system).read(), _system, "exec"))
