"""``portal demo`` served in a subprocess for the end-to-end tests, as a person starts it.

Its own SQLite database, e-mail to the test's SMTP sink, no Stripe or Plaid keys
(so it starts the local Stripe and Plaid itself). The fixture waits until it
serves and reads what it printed: the sign-ins and the local Stripe's URL.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest

START_TIMEOUT = 90  # seconds: the demo loads a year of history before it serves


@dataclasses.dataclass
class Demo:
    url: str
    sign_ins: dict[str, str]  # e-mail -> password, as printed
    stripe_url: str  # the local Stripe it started, as printed
    output: str
    env: dict[str, str] = dataclasses.field(default_factory=dict)  # the demo's settings
    cwd: Path | None = None

    def command(self, *args: str, clock: str | None = None) -> subprocess.CompletedProcess:
        """Run ``portal ARGS`` on the demo's database and local Stripe, as its operator
        would (``clock``: the day ``PORTAL_CLOCK`` says it is)."""
        # As the README says to run a command on the demo's local Stripe.
        env = {**self.env, "PORTAL_STRIPE_API_BASE": self.stripe_url,
               "PORTAL_STRIPE_SECRET_KEY": "sk_test_demo"}
        if clock:
            env["PORTAL_CLOCK"] = clock
        return subprocess.run([*portal_command(), *args], cwd=self.cwd, env=env,
                              capture_output=True, text=True, timeout=120)

    def payment_intents(self) -> list[dict]:
        """Every PaymentIntent at the demo's local Stripe (it takes any test secret key)."""
        request = urllib.request.Request(f"{self.stripe_url}/v1/payment_intents?limit=100",
                                          headers={"Authorization": "Bearer sk_test_e2e"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)["data"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def portal_command() -> list[str]:
    """The ``portal`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("portal")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from portal.cli import main; main()"]


@pytest.fixture
def demo(tmp_path, smtp_sink):
    """``portal demo --port N`` in a subprocess, serving; stopped after the test."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PYTHONUNBUFFERED="1",
               PORTAL_DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}",
               PORTAL_INSTANCE_PATH=str(tmp_path / "instance"),
               PORTAL_SECRET_KEY="demo-e2e-secret",
               PORTAL_SMTP_URL=smtp_sink.url)
    out, err = tmp_path / "demo.out", tmp_path / "demo.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen([*portal_command(), "demo", "--port", str(port)],
                                   cwd=tmp_path, env=env, stdout=stdout, stderr=stderr,
                                   stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def failed(why: str):
        pytest.fail(f"portal demo {why}.\nstdout:\n{out.read_text()}\n"
                    f"stderr (last lines):\n{err.read_text()[-3000:]}", pytrace=False)

    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "serving on" not in out.read_text():
            if process.poll() is not None:
                failed(f"exited with {process.returncode} before serving")
            if time.monotonic() > deadline:
                failed(f"did not serve within {START_TIMEOUT} s")
            time.sleep(0.2)
        while True:
            try:
                with urllib.request.urlopen(f"{url}/login", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    failed("printed 'serving on' but did not answer")
                time.sleep(0.2)
        output = out.read_text()
        sign_ins = dict(line.split()[2:4] for line in output.splitlines()
                        if line.startswith("sign in: "))
        assert "ledger check OK" in output
        stripe = re.search(r"^stripe: local stand-in \(localstripe\) at (http://127\.0\.0\.1:\d+)",
                           output, re.M)
        assert stripe, output
        yield Demo(url=url, sign_ins=sign_ins, stripe_url=stripe[1], output=output, env=env,
                   cwd=tmp_path)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def cents(text: str) -> int:
    """``$1,234.56`` (or ``Pay $1,234.56``) as minor units."""
    match = re.search(r"\$([\d,]+\.\d\d)", text)
    assert match, f"no dollar amount in {text!r}"
    return int(Decimal(match[1].replace(",", "")) * 100)


def money(minor: int) -> str:
    return f"${Decimal(minor).scaleb(-2):,.2f}"
