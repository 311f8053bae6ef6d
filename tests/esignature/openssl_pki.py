"""A test PKI made by an independent GOST implementation: OpenSSL with Debian's GOST
engine (``libengine-gost-openssl``). Certificates, CRLs and detached CAdES-BES
signatures are made at test time in a temporary folder; nothing private is committed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from core.testing import in_ci

ENGINE_CONF = """openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
gost = gost_section
[gost_section]
engine_id = gost
default_algorithms = ALL
"""

CA_CONF = """[ca]
default_ca = test_ca
[test_ca]
dir = {dir}
database = {dir}/index.txt
serial = {dir}/serial
crlnumber = {dir}/crlnumber
new_certs_dir = {dir}/issued
certificate = {dir}/ca.pem
private_key = {dir}/ca.key
default_md = {md}
default_crl_days = 7
policy = any_policy
unique_subject = no
preserve = yes
copy_extensions = none
[any_policy]
commonName = supplied
surname = optional
givenName = optional
countryName = optional
organizationName = optional
SNILS = optional
[doctor_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[encipher_only_ext]
basicConstraints = CA:FALSE
keyUsage = critical, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

ALGORITHMS = {256: "gost2012_256", 512: "gost2012_512"}


def engine_env(folder: Path) -> dict:
    conf = folder / "engine.cnf"
    if not conf.exists():
        conf.write_text(ENGINE_CONF)
    return {**os.environ, "OPENSSL_CONF": str(conf)}


def engine_available() -> bool:
    return shutil.which("openssl") is not None and Path(
        "/usr/lib/x86_64-linux-gnu/engines-3/gost.so"
    ).exists() or bool(list(Path("/usr/lib").glob("*/engines-3/gost.so")))


def require_engine() -> None:
    if not engine_available():
        if in_ci():
            pytest.fail("OpenSSL GOST engine (libengine-gost-openssl) missing in CI")
        pytest.skip("OpenSSL GOST engine (libengine-gost-openssl) not installed")


class OpenSSLPKI:
    """A certification centre and the certificates it issues, in ``folder``."""

    def __init__(self, folder: Path, name: str = "Тестовый УЦ", bits: int = 256, paramset: str = "A") -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "issued").mkdir(exist_ok=True)
        (self.folder / "index.txt").write_text("")
        (self.folder / "serial").write_text("1000\n")
        (self.folder / "crlnumber").write_text("01\n")
        self.env = engine_env(self.folder)
        self.md = f"md_gost12_{bits}"
        (self.folder / "ca.cnf").write_text(CA_CONF.format(dir=self.folder, md=self.md))
        self._key(self.folder / "ca.key", bits, paramset)
        self._run(
            "req", "-new", "-x509", "-utf8", "-key", "ca.key", f"-{self.md}", "-days", "3650",
            "-subj", f"/CN={name}/O={name}/C=RU", "-out", "ca.pem",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )
        self.ca_pem = (self.folder / "ca.pem").read_bytes()

    def _run(self, *args: str, input: bytes | None = None) -> bytes:
        result = subprocess.run(
            ["openssl", *args], cwd=self.folder, env=self.env, input=input,
            capture_output=True, check=False, timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args)}: {result.stderr.decode(errors='replace')}")
        return result.stdout

    def _key(self, path: Path, bits: int, paramset: str) -> None:
        self._run("genpkey", "-algorithm", ALGORITHMS[bits], "-pkeyopt", f"paramset:{paramset}", "-out", str(path))

    def issue(
        self,
        name: str,
        *,
        snils: str | None = "12345678964",
        bits: int = 256,
        paramset: str = "A",
        start: str | None = None,
        end: str | None = None,
        extensions: str = "doctor_ext",
    ) -> dict:
        """A doctor's certificate; returns paths of its key and certificate (PEM)."""
        stem = f"{name}-{len(list(self.folder.glob('*.key')))}"
        key = self.folder / f"{stem}.key"
        self._key(key, bits, paramset)
        subject = f"/CN={name}/SN={name.split()[0]}/C=RU"
        if snils:
            subject += f"/1.2.643.100.3={snils}"
        self._run("req", "-new", "-utf8", "-key", key.name, f"-md_gost12_{bits}", "-subj", subject, "-out", f"{stem}.csr")
        dates = ["-startdate", start, "-enddate", end] if start and end else ["-days", "365"]
        self._run(
            "ca", "-batch", "-utf8", "-config", "ca.cnf", "-extensions", extensions, "-notext",
            "-in", f"{stem}.csr", "-out", f"{stem}.pem", *dates,
        )
        return {"key": key, "cert": self.folder / f"{stem}.pem", "bits": bits}

    def revoke(self, issued: dict) -> None:
        self._run("ca", "-config", "ca.cnf", "-revoke", str(issued["cert"]))

    def crl(self) -> bytes:
        """The CA's current CRL (DER)."""
        self._run("ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem")
        return self._run("crl", "-in", "crl.pem", "-outform", "DER")

    def sign(self, issued: dict, data: bytes) -> bytes:
        """A detached CAdES-BES signature (DER) of ``data``, as CryptoPro makes it."""
        source = self.folder / "to-sign.bin"
        source.write_bytes(data)
        return self._run(
            "cms", "-sign", "-cades", "-binary", "-md", f"md_gost12_{issued['bits']}",
            "-in", source.name, "-signer", str(issued["cert"]), "-inkey", str(issued["key"]),
            "-outform", "DER",
        )

    def verify_with_openssl(self, data: bytes, signature: bytes) -> bool:
        (self.folder / "v.bin").write_bytes(data)
        (self.folder / "v.sig").write_bytes(signature)
        result = subprocess.run(
            ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "v.sig", "-content", "v.bin",
             "-CAfile", "ca.pem", "-purpose", "any", "-out", "/dev/null"],
            cwd=self.folder, env=self.env, capture_output=True, check=False, timeout=120,
        )
        return result.returncode == 0
