#!/usr/bin/env python3
"""PyTorch's own torchrun (torch.distributed.run), with the two faults of Debian's builds of it
mended, so that test_data_parallel.sh can launch HeadLab under the real elastic agent.

Everything else is torchrun as shipped: the agent, its rendezvous and store, the worker
environment (RANK, LOCAL_RANK, MASTER_ADDR, TORCHELASTIC_USE_AGENT_STORE, ...) and the
process supervision. The two mends, each applied only where the fault is present:

- Debian 13 (PyTorch 2.6) builds c10d without libuv, but its rendezvous asks TCPStore for the
  libuv backend ("use_libuv was requested but PyTorch was build without libuv support"): here
  the stores it makes use the classic backend, as HeadLab's own TCPStore does.
- Debian 12 (PyTorch 1.13) under Python 3.11: Std.from_str("0") returns None, because
  iterating an IntFlag no longer yields its zero member, and the launch fails with
  AttributeError in elastic/multiprocessing. Here it returns Std(0).

Usage: torchrun_debian.py [torchrun arguments] (use the underscore spellings, which both
releases accept: --nproc_per_node, --master_port, --no_python).
"""
import re
import sys

import torch.distributed as dist
import torch.distributed.elastic.rendezvous.c10d_rendezvous_backend as c10d_rendezvous
import torch.distributed.elastic.rendezvous.static_tcp_rendezvous as static_rendezvous
from torch.distributed.elastic.multiprocessing import api as multiprocessing_api

_tcp_store = dist.TCPStore
if "use_libuv" in (_tcp_store.__init__.__doc__ or ""):

    def classic_tcp_store(*args, **kwargs):
        kwargs.setdefault("use_libuv", False)
        return _tcp_store(*args, **kwargs)

    for module in (dist, static_rendezvous, c10d_rendezvous):
        module.TCPStore = classic_tcp_store

Std = multiprocessing_api.Std
if Std.from_str("0") is None:

    def from_str(text):
        if re.match(multiprocessing_api._VALUE_REGEX, text):
            return Std(int(text))
        if re.match(multiprocessing_api._MAPPING_REGEX, text):
            return {int(i): Std(int(v)) for i, v in (m.split(":") for m in text.split(","))}
        raise ValueError(f"{text} is not a redirect setting (0-3, or local_rank:0-3,...)")

    Std.from_str = staticmethod(from_str)

from torch.distributed.run import main  # noqa: E402  (after the mends)

sys.exit(main())
