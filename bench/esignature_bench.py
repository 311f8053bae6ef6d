"""E-signature benchmark: render + sign + verify + archive of a one-page conclusion, and the
verification of a 5 MB PDF, beside the baseline (gostcrypto's own curve arithmetic and a
render that sets its fonts and stylesheet up every time, as before) and beside
``openssl cms -verify`` (Debian's GOST engine) on the same files, in one run.

    .venv/bin/python bench/esignature_bench.py [--rounds 20] [--baseline-rounds 3]

Targets (issue 15): 5 MB verification ≤ 1 s; render + sign + archive p95 ≤ 0.5 s.
Wall time and CPU time of this process are both printed: on a shared machine the wall
time includes waits for a CPU, the CPU time does not.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace as NS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gostcrypto.gostsignature import gost_34_10_2012 as gost3410  # noqa: E402

from plugins.esignature import archive, devsigner, gost  # noqa: E402
from plugins.esignature.certs import Certificate, RevocationList  # noqa: E402
from plugins.esignature.verify import TrustContext, verify_detached  # noqa: E402

ENGINE = "openssl_conf = openssl_init\n[openssl_init]\nengines = e\n[e]\ngost = g\n[g]\nengine_id = gost\ndefault_algorithms = ALL\n"
SNILS = "12345678964"


def p95(values):
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def timed(function, rounds):
    walls, cpus = [], []
    for _ in range(rounds):
        w, c = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return walls, cpus


def row(name, walls, cpus=None, target=""):
    cpu = f"  cpu p50 {statistics.median(cpus) * 1000:7.1f}" if cpus else " " * 20
    print(f"{name:44} p50 {statistics.median(walls) * 1000:7.1f}  p95 {p95(walls) * 1000:7.1f} ms{cpu}  {target}")


@contextlib.contextmanager
def stock_gostcrypto():
    """The baseline: gostcrypto's own GOST34102012 object, made anew for each operation."""
    engine = gost._engine
    gost._engine = lambda params, bits: gost3410.new(gost._mode(bits), params)
    try:
        yield
    finally:
        gost._engine = engine


def conclusion_context():
    return dict(
        c=NS(number="ТМК-000001", type=NS(name="Дистанционная консультация"), profile=NS(name="терапии"),
             representative=None, patient=NS(full_name="Семёнов Алексей Петрович", birth_date=date(1980, 1, 1))),
        organisation=NS(name="СПб ГБУЗ «Городская поликлиника № 17»", address="Санкт-Петербург", oid="1.2.643.5.1.13.13.12.2.78.1"),
        doctor=NS(full_name="Петров Пётр Петрович", position="врач-терапевт"),
        items=[("Диагноз: код по МКБ-10", "J06.9"), ("Диагноз", "Острая инфекция верхних дыхательных путей"),
               ("Заключение", "Состояние удовлетворительное."), ("Рекомендации", "Обильное питьё.")],
        version=1, issued_on="02.12.2026", consulted_on="02.12.2026", created_iso="2026-12-02T10:00:00+00:00",
        certificate={"serial": "01", "owner": "Петров Пётр Петрович", "not_before": "01.12.2026", "not_after": "01.12.2027"},
        test=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--baseline-rounds", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    from flask import render_template
    from flask_babel import force_locale
    from weasyprint import HTML

    from core.app import create_app
    from plugins.esignature import pdf

    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "bench"}, environment="testing")
    ca_key, ca_der = devsigner.make_ca()
    key, cert = devsigner.make_doctor_certificate(ca_key, ca_der, last_name="Петров", first_names="Пётр Петрович", snils=SNILS)
    crl = devsigner.make_crl(ca_key, ca_der)
    trust = TrustContext(roots=[Certificate(ca_der)], crls=[RevocationList(crl)])
    print(f"Streebog through OpenSSL's GOST provider: {gost.fast_hash_available()}; load average {os.getloadavg()[0]:.1f}")

    with app.test_request_context(), force_locale("ru"):
        html = pdf.render_html(conclusion_context())
        fonts = (pdf.font_path("DejaVuSans.ttf"), pdf.font_path("DejaVuSans-Bold.ttf"))
        css = render_template("esignature/conclusion_pdf.css", font_regular=fonts[0].as_uri(), font_bold=fonts[1].as_uri(),
                              page_label="Страница", of_label="из")
        inline = html.replace("</head>", f"<style>{css}</style></head>")

        def render_baseline():
            return HTML(string=inline, base_url=str(fonts[0].parent)).write_pdf(pdf_variant="pdf/a-2b")

        document = pdf.render_pdf(html)  # warm-up (pango, fonts)
        render_baseline()
        state = {}

        def flow():
            state["pdf"] = pdf.render_pdf(html)
            state["sig"] = devsigner.sign_detached(state["pdf"], key, cert)
            verdict = verify_detached(state["pdf"], state["sig"], trust, expected_snils=SNILS)
            assert verdict.valid, verdict.message
            archive.build(document_name="conclusion.pdf", document=state["pdf"], signature=state["sig"], verdict=verdict, crl=crl)

        def flow_baseline():
            document = render_baseline()
            with stock_gostcrypto():
                signature = devsigner.sign_detached(document, key, cert)
                verdict = verify_detached(document, signature, trust, expected_snils=SNILS)
            archive.build(document_name="conclusion.pdf", document=document, signature=signature, verdict=verdict, crl=crl)

        render = timed(lambda: pdf.render_pdf(html), args.rounds)
        render_base = timed(render_baseline, max(args.baseline_rounds, 5))
        whole = timed(flow, args.rounds)
        whole_base = timed(flow_baseline, args.baseline_rounds)
        document, signature = state["pdf"], state["sig"]
        verify_small = timed(lambda: verify_detached(document, signature, trust), args.rounds)
        with stock_gostcrypto():
            verify_small_base = timed(lambda: verify_detached(document, signature, trust), args.baseline_rounds)

    big = os.urandom(5 * 1024 * 1024)
    big_sig = devsigner.sign_detached(big, key, cert)
    big_rounds = max(5, args.rounds // 2)
    verify_big = timed(lambda: verify_detached(big, big_sig, trust), big_rounds)
    with stock_gostcrypto():
        verify_big_base = timed(lambda: verify_detached(big, big_sig, trust), args.baseline_rounds)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "e.cnf").write_text(ENGINE)
        for name, data in {"small.pdf": document, "small.sig": signature, "big.bin": big, "big.sig": big_sig, "ca.der": ca_der}.items():
            (folder / name).write_bytes(data)
        env = {**os.environ, "OPENSSL_CONF": str(folder / "e.cnf")}
        subprocess.run(["openssl", "x509", "-inform", "DER", "-in", "ca.der", "-out", "ca.pem"], cwd=folder, env=env, check=True)

        def openssl(content, sig):
            subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", content,
                            "-CAfile", "ca.pem", "-purpose", "any", "-out", "/dev/null"], cwd=folder, env=env, check=True,
                           capture_output=True)

        openssl_small = timed(lambda: openssl("small.pdf", "small.sig"), big_rounds)
        openssl_big = timed(lambda: openssl("big.bin", "big.sig"), big_rounds)

    print(f"one-page conclusion: {len(document)} bytes; {args.rounds} rounds, baseline {args.baseline_rounds}")
    print("                                              wall (ms)                   cpu (ms)")
    row("render (shared stylesheet and fonts)", *render)
    row("render, baseline (set up every time)", *render_base)
    row("render+sign+verify+archive", *whole, target="target p95 <= 500 ms")
    row("render+sign+verify+archive, baseline", *whole_base)
    row("verify one page", *verify_small)
    row("verify one page, baseline (stock gostcrypto)", *verify_small_base)
    row("verify one page, openssl cms -verify", openssl_small[0], target="process start included")
    row("verify 5 MB", *verify_big, target="target <= 1000 ms")
    row("verify 5 MB, baseline (stock gostcrypto)", *verify_big_base)
    row("verify 5 MB, openssl cms -verify", openssl_big[0], target="process start included")
    if os.environ.get("BENCH_PURE"):
        t = time.perf_counter()
        gost.streebog(big, 256, pure=True)
        print(f"pure-Python Streebog of 5 MB: {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
