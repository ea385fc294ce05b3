"""pytest fixtures for the end-to-end suite (see loftserver.py for the API).

  loft        a LoftServer with the default listeners (imap, imaps, pop3,
              pop3s, lmtp, smtp), started for the test and stopped after it
  make_loft   factory: make_loft(listeners=..., config_extra=..., users=...)
              -> started LoftServer; each gets its own sub-directory and is
              stopped at teardown
  tls_ca      path of the session's self-signed certificate (its own CA)

At teardown every server is stopped with SIGTERM; the test errors if the
server crashed, did not exit 0, or a sanitizer reported in its log. When a
test fails, the tail of each server's log is printed with the failure.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loftserver import LoftServer, session_tls  # noqa: E402


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="session")
def tls_ca():
    return session_tls()[0]


@pytest.fixture
def make_loft(request, tmp_path):
    servers = []

    def factory(**kw):
        d = tmp_path / ("loft%d" % len(servers))
        d.mkdir()
        srv = LoftServer(d, start=False, **kw)
        servers.append(srv)
        srv.start()
        return srv

    yield factory

    failed = getattr(request.node, "rep_call", None)
    errors = []
    for srv in servers:
        if failed is not None and failed.failed:
            print("\n[%s]\n%s" % (srv.dir, srv.log_tail(80)))
        try:
            srv.close()
        except Exception as e:  # report every server, not just the first
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture
def loft(make_loft):
    return make_loft()
