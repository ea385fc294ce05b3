"""Randomized convergence of QRESYNC clients (sync_model.Device): N devices
on one INBOX do random flag changes, expunges, moves, appends and reads
while others are offline (resyncing later from SELECT (QRESYNC ...) alone)
or idling (absorbing pushes); after every round each device's cache must
equal the server's state. Fixed seeds; short here, long as a soak:

    python3 tests/e2e/test_imap_convergence.py --rounds 300 --devices 8 --seed 7

(the soak starts its own server through loftserver.LoftServer)."""

import argparse
import os
import random
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from imap_util import PASSWORD, USER, imap_server  # noqa: E402
from imap_util import cmd  # noqa: E402
from sync_model import Device, server_state  # noqa: E402


def converge(srv, seed, devices, rounds, actions=8, log=None):
    rng = random.Random(seed)
    devs = [Device(srv, "d%d" % i, random.Random(seed * 1000 + i)) for i in range(devices)]
    for d in devs:
        d.online()
    cmd(devs[0].c, "c", "CREATE Archive")      # there already for a later seed
    total = 0
    for rnd in range(rounds):
        # who is where this round: some offline, some idling, some active
        for d in devs:
            roll = rng.random()
            want = "off" if roll < 0.3 else "idle" if roll < 0.55 else "on"
            if want == "off" and d.c is not None:
                d.offline()
            elif want != "off" and d.c is None:
                d.online()
            if want == "idle" and not d.idling:
                d.idle_start()
            if want == "on" and d.idling:
                d.idle_stop()
        active = [d for d in devs if d.c is not None and not d.idling]
        if not active:
            active = [devs[rng.randrange(devices)]]
            if active[0].c is None:
                active[0].online()
            elif active[0].idling:
                active[0].idle_stop()
        for _ in range(actions):
            active[rng.randrange(len(active))].random_action()
        # end of round: everyone catches up and must agree with the server
        truth = server_state(srv)
        for d in devs:
            if d.c is None:
                d.online()
            elif d.idling:
                d.idle_stop()
            else:
                d.settle()
            assert d.cache == truth, (seed, rnd, d.name, sorted(set(d.cache.items()) ^
                                                                set(truth.items())))
        total = sum(d.ops for d in devs)
        if log:
            log("round %d: %d messages, %d operations so far" % (rnd, len(truth), total))
    for d in devs:
        d.offline()
    return total


def test_convergence_short(make_loft):
    srv = imap_server(make_loft, config_extra={"limits": {"max_connections_per_ip": 100}})
    ops = 0
    for seed in (1, 2, 3, 4):
        ops += converge(srv, seed, devices=5, rounds=20)
    assert ops > 1000


def test_convergence_past_tombstone_retention(make_loft):
    """Tombstones are pruned almost at once: devices that were offline
    resync from their known UIDs and still converge."""
    srv = imap_server(make_loft, config_extra={
        "limits": {"max_connections_per_ip": 100},
        "storage": {"tombstone_max_count": 2}})
    assert converge(srv, 11, devices=4, rounds=25) > 300


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--devices", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--seeds", type=int, default=1, help="seeds seed..seed+N-1")
    args = ap.parse_args()
    from loftserver import LoftServer
    with tempfile.TemporaryDirectory() as tmp:
        with LoftServer(tmp, listeners=["imap"], users={USER: PASSWORD},
                        config_extra={"limits": {"max_connections_per_ip": 1000},
                                      "storage": {"initial_mailboxes": ""}}) as srv:
            total = 0
            for seed in range(args.seed, args.seed + args.seeds):
                total += converge(srv, seed, args.devices, args.rounds, log=print)
            print("converged: %d operations" % total)


if __name__ == "__main__":
    main()
