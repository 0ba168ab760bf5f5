"""A writer that kills itself with SIGKILL at a given point: `python -m repositories.store.tests.crash_writer
CONNINFO POINT` with POINT one of mid-copy, after-copy, mid-relations, mid-commit, changed."""

import os
import signal
import sys

from repositories.store import RepositoryStore
from repositories.store.writer import SessionWriter

from .helpers import user, users


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def objects_then_die(count: int, die_after: int):
    for n, obj in enumerate(users(count, start=1000)):
        if n == die_after:
            die()  # the COPY of this put_full is half sent
        yield obj


def main(conninfo: str, point: str) -> None:
    with RepositoryStore(conninfo) as store, store.session("contoso", f"crash-{point}", "full") as w:
        print(w.restore_point_id, flush=True)
        if point == "changed":  # new versions of the committed users are staged when the writer dies
            w.put_full("user", [user(n, jobTitle="Restorer") for n in range(20)])
            die()
        if point == "mid-copy":
            w.put_full("user", users(3000, start=1000))  # a first call completes (committed staging rows)
            w.put_full("group", objects_then_die(20000, 15000))
        w.put_full("user", users(3000, start=1000))
        w.put_relations_full("group_member", [("g-1", f"u-{n}", "user") for n in range(500)], None)
        if point == "after-copy":
            die()
        if point == "mid-relations":
            pairs = ((("g-2", f"u-{n}", "user") if n < 4000 else die()) for n in range(5000))
            w.put_relations_full("group_member", pairs, ["g-2"])
        if point == "mid-commit":
            SessionWriter._commit_sync_state = lambda self: die()
        w.set_sync_state("delta:user", "should-not-exist")
        w.commit()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
