"""GOST R 34.11-2012 (Streebog) hashing and GOST R 34.10-2012 verification.

The curve arithmetic is ``gostcrypto``'s. What this module adds is what a CMS or X.509
structure needs around it:

- the map from parameter-set OIDs (TC26's and the CryptoPro ones a certificate may still
  carry) to curves, kept here because gostcrypto's own OID table lacks the CryptoPro
  names;
- the byte orders: a SubjectPublicKeyInfo holds X‖Y little-endian, a signature value is
  s‖r big-endian, and the digest is read as a little-endian number (RFC 4491, RFC 7091);
- a fast Streebog: OpenSSL's GOST provider through ``hashlib`` (about 16 ms per MB),
  loaded into this process only, with gostcrypto's pure-Python hash (about 11 s per MB)
  as the fallback;
- a faster use of gostcrypto's curve arithmetic (``_Curve``). Profiled, its scalar
  multiplication spent its time in affine point additions, each with a modular inverse
  by a recursive extended Euclid in Python (about 150 calls) and four numbers turned into
  byte arrays to compare them: 0.3 s per 256-bit verification, about 1 s per 512-bit
  one, and a conclusion's check makes three (signed attributes, certificate, CRL). The
  subclass keeps gostcrypto's signing and verification steps and multiplies a point in
  Jacobian coordinates (one inverse at the end, the built-in ``pow(x, -1, p)``); one
  object per curve is kept, since gostcrypto's constructor checks the curve with powers
  of p every time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import threading

from gostcrypto import gosthash
from gostcrypto.gostsignature import gost_34_10_2012 as gost3410

_CURVES = gost3410.CURVES_R_1323565_1_024_2019

# The test curves of GOST R 34.10-2012, appendix A (examples 1 and 2). They are never
# accepted in a certificate; they let the standard's own examples be checked.
TEST_CURVE_256 = dict(
    p=0x8000000000000000000000000000000000000000000000000000000000000431,
    a=0x7,
    b=0x5FBFF498AA938CE739B8E022FBAFEF40563F6E6A3472FC2A514C0CE9DAE23B7E,
    m=0x8000000000000000000000000000000150FE8A1892976154C59CFC193ACCF5B3,
    q=0x8000000000000000000000000000000150FE8A1892976154C59CFC193ACCF5B3,
    x=0x2,
    y=0x08E2A8A0E65147D4BD6316030E16D19C85C97F0A9CA267122B96ABBCEA7E8FC8,
)
TEST_CURVE_512 = dict(
    p=int(
        "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15D"
        "F1D852741AF4704A0458047E80E4546D35B8336FAC224DD81664BBF528BE6373",
        16,
    ),
    a=0x7,
    b=int(
        "1CFF0806A31116DA29D8CFA54E57EB748BC5F377E49400FDD788B649ECA1AC43"
        "61834013B2AD7322480A89CA58E0CF74BC9E540C2ADD6897FAD0A3084F302ADC",
        16,
    ),
    m=int(
        "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15D"
        "A82F2D7ECB1DBAC719905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DF",
        16,
    ),
    q=int(
        "4531ACD1FE0023C7550D267B6B2FEE80922B14B2FFB90F04D4EB7C09B5D2D15D"
        "A82F2D7ECB1DBAC719905C5EECC423F1D86E25EDBE23C595D644AAF187E6E6DF",
        16,
    ),
    x=int(
        "24D19CC64572EE30F396BF6EBBFD7A6C5213B3B3D7057CC825F91093A68CD762"
        "FD60611262CD838DC6B60AA7EEE804E28BC849977FAC33B4B530F1B120248A9A",
        16,
    ),
    y=int(
        "2BB312A43BD2CE6E0D020613C857ACDDCFBF061E91E5F2C3F32447C259F39B2C"
        "83AB156D77F1496BF7EB3351E1EE4E43DC1A18B91B24640B6DBB92CB1ADD371E",
        16,
    ),
)

# Parameter-set OID -> (key size in bits, gostcrypto curve name).
PARAMSETS: dict[str, tuple[int, str]] = {
    # TC26 (R 1323565.1.024-2019)
    "1.2.643.7.1.2.1.1.1": (256, "id-tc26-gost-3410-2012-256-paramSetA"),
    "1.2.643.7.1.2.1.1.2": (256, "id-tc26-gost-3410-2012-256-paramSetB"),
    "1.2.643.7.1.2.1.1.3": (256, "id-tc26-gost-3410-2012-256-paramSetC"),
    "1.2.643.7.1.2.1.1.4": (256, "id-tc26-gost-3410-2012-256-paramSetD"),
    "1.2.643.7.1.2.1.2.1": (512, "id-tc26-gost-3410-12-512-paramSetA"),
    "1.2.643.7.1.2.1.2.2": (512, "id-tc26-gost-3410-12-512-paramSetB"),
    "1.2.643.7.1.2.1.2.3": (512, "id-tc26-gost-3410-2012-512-paramSetC"),
    # CryptoPro names of the same curves (RFC 4357), still common in certificates.
    "1.2.643.2.2.35.1": (256, "id-tc26-gost-3410-2012-256-paramSetB"),  # CryptoPro-A
    "1.2.643.2.2.35.2": (256, "id-tc26-gost-3410-2012-256-paramSetC"),  # CryptoPro-B
    "1.2.643.2.2.35.3": (256, "id-tc26-gost-3410-2012-256-paramSetD"),  # CryptoPro-C
    "1.2.643.2.2.36.0": (256, "id-tc26-gost-3410-2012-256-paramSetB"),  # CryptoPro-XchA
    "1.2.643.2.2.36.1": (256, "id-tc26-gost-3410-2012-256-paramSetD"),  # CryptoPro-XchB
}

# Public key algorithms of GOST R 34.10-2012 and the size of their keys.
KEY_ALGORITHMS = {"1.2.643.7.1.1.1.1": 256, "1.2.643.7.1.1.1.2": 512}
# Signature algorithms (signature with hash) -> hash size.
SIGNATURE_ALGORITHMS = {"1.2.643.7.1.1.3.2": 256, "1.2.643.7.1.1.3.3": 512}
# Digest algorithms -> hash size.
DIGEST_ALGORITHMS = {"1.2.643.7.1.1.2.2": 256, "1.2.643.7.1.1.2.3": 512}
DIGEST_OID = {bits: oid for oid, bits in DIGEST_ALGORITHMS.items()}
SIGNATURE_OID = {bits: oid for oid, bits in SIGNATURE_ALGORITHMS.items()}
KEY_OID = {bits: oid for oid, bits in KEY_ALGORITHMS.items()}


class UnsupportedParameters(ValueError):
    """A key on a curve this module does not know."""


def curve(paramset_oid: str) -> tuple[int, dict]:
    try:
        bits, name = PARAMSETS[paramset_oid]
    except KeyError:
        raise UnsupportedParameters(paramset_oid) from None
    return bits, _CURVES[name]


# --------------------------------------------------------------------------- Streebog

_provider_lock = threading.Lock()
_provider_state: bool | None = None


def _load_openssl_provider() -> bool:
    """Make OpenSSL's GOST digests reachable through ``hashlib`` in this process.

    A deployment that sets ``OPENSSL_CONF`` to a file activating ``gostprov`` has them
    already. Otherwise the provider of Debian's ``libengine-gost-openssl`` is loaded
    with ``OSSL_PROVIDER_load`` into this process's default library context only:
    no environment variable, so child processes (the openssl command line, workers
    started by others) are not touched. The default provider is loaded alongside,
    because loading any provider explicitly stops OpenSSL from loading it by itself.
    """
    try:
        hashlib.new("md_gost12_256")
        return True
    except ValueError:
        pass
    path = ctypes.util.find_library("crypto")
    if not path:
        return False
    try:
        libcrypto = ctypes.CDLL(path)
        load = libcrypto.OSSL_PROVIDER_load
    except (OSError, AttributeError):
        return False
    load.restype = ctypes.c_void_p
    load.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    if not load(None, b"default") or not load(None, b"gostprov"):
        return False
    try:
        return hashlib.new("md_gost12_256", b"").hexdigest() == (
            "3f539a213e97c802cc229d474c6aa32a825a360b2a933a949fd925208d9ce1bb"
        )
    except ValueError:
        return False


def fast_hash_available() -> bool:
    global _provider_state
    if _provider_state is None:
        with _provider_lock:
            if _provider_state is None:
                _provider_state = _load_openssl_provider()
    return _provider_state


def streebog(data: bytes, bits: int = 256, *, pure: bool = False) -> bytes:
    """GOST R 34.11-2012 digest of ``data`` (bytes as the standard's test vectors print)."""
    if bits not in (256, 512):
        raise ValueError(bits)
    if not pure and fast_hash_available():
        return hashlib.new(f"md_gost12_{bits}", data).digest()
    return bytes(gosthash.new(f"streebog{bits}", data=data).digest())


# --------------------------------------------------------------------------- GOST R 34.10-2012


def _mode(bits: int) -> int:
    return gost3410.MODE_256 if bits == 256 else gost3410.MODE_512


class _Curve(gost3410.GOST34102012):
    """gostcrypto's GOST R 34.10-2012 with its point arithmetic made cheap (see above);
    the signing and verification steps themselves stay gostcrypto's. The point at
    infinity, which gostcrypto's affine pairs cannot hold, comes out as (0, 0): no point
    of these curves, so a verification reaching it fails."""

    @staticmethod
    def _invert(value: int, n_mod: int) -> int:
        try:
            return pow(value, -1, n_mod)
        except ValueError:  # not invertible (zero): gostcrypto's Euclid gave 0 too
            return 0

    def _add(self, x_1: int, x_2: int, y_1: int, y_2: int) -> tuple[int, int]:
        p = self._p
        if x_1 == x_2:
            if (y_1 + y_2) % p == 0:
                return 0, 0
            grad = (3 * x_1 * x_1 + self._a) * pow(2 * y_1, -1, p) % p
        else:
            grad = (y_2 - y_1) * pow((x_2 - x_1) % p, -1, p) % p
        x_3 = (grad * grad - x_1 - x_2) % p
        return x_3, (grad * (x_1 - x_3) - y_1) % p

    def _mul_point(self, mul_value: int, x_op: int = -1, y_op: int = -1) -> tuple[int, int]:
        """``mul_value`` times the point (x_op, y_op), the base point by default."""
        if x_op > 0 and y_op > 0:
            x_2, y_2 = x_op, y_op
        else:
            x_2, y_2 = self._x, self._y
        p, a = self._p, self._a
        x, y, z = 0, 1, 0  # Jacobian (X/Z², Y/Z³); Z = 0 is the point at infinity
        for bit in bin(mul_value)[2:]:
            if z:  # doubling
                yy = y * y % p
                zz = z * z % p
                s = 4 * x * yy % p
                m = (3 * x * x + a * zz * zz) % p
                x_3 = (m * m - 2 * s) % p
                y, z = (m * (s - x_3) - 8 * yy * yy) % p, 2 * y * z % p
                x = x_3
            if bit == "1":  # adding the affine point
                if not z:
                    x, y, z = x_2, y_2, 1
                    continue
                zz = z * z % p
                h = (x_2 * zz - x) % p
                r = (y_2 * z * zz - y) % p
                if h == 0:
                    if r:
                        x, y, z = 0, 1, 0
                        continue
                    # the same point: double it
                    yy = y * y % p
                    s = 4 * x * yy % p
                    m = (3 * x * x + a * zz * zz) % p
                    x_3 = (m * m - 2 * s) % p
                    y, z = (m * (s - x_3) - 8 * yy * yy) % p, 2 * y * z % p
                    x = x_3
                    continue
                hh = h * h % p
                hhh = h * hh % p
                v = x * hh % p
                x_3 = (r * r - hhh - 2 * v) % p
                y, z = (r * (v - x_3) - y * hhh) % p, z * h % p
                x = x_3
        if not z:
            return 0, 0
        z_inv = pow(z, -1, p)
        z_inv2 = z_inv * z_inv % p
        return x * z_inv2 % p, y * z_inv2 * z_inv % p


_curve_objects: dict[tuple[int, tuple], _Curve] = {}
_curve_lock = threading.Lock()


def _engine(curve_params: dict, bits: int) -> _Curve:
    key = (bits, tuple(sorted(curve_params.items())))
    engine = _curve_objects.get(key)
    if engine is None:
        with _curve_lock:
            engine = _curve_objects.get(key)
            if engine is None:
                engine = _curve_objects[key] = _Curve(_mode(bits), curve_params)
    return engine


def verify_digest(curve_params: dict, bits: int, public_xy: bytes, e: bytes, r_s: bytes) -> bool:
    """The standard's verification: ``public_xy`` = X‖Y, ``e`` the digest as a big-endian
    number, ``r_s`` = r‖s, all big-endian, as the standard prints its examples."""
    size = bits // 8
    if len(public_xy) != 2 * size or len(r_s) != 2 * size or len(e) != size:
        return False
    try:
        return bool(_engine(curve_params, bits).verify(bytearray(public_xy), bytearray(e), bytearray(r_s)))
    except gost3410.GOSTSignatureError:
        return False


def sign_digest(curve_params: dict, bits: int, private_key: bytes, e: bytes) -> bytes:
    """r‖s over ``e`` (big-endian), for the development signer."""
    return bytes(_engine(curve_params, bits).sign(bytearray(private_key), bytearray(e)))


def public_key(curve_params: dict, bits: int, private_key: bytes) -> bytes:
    return bytes(_engine(curve_params, bits).public_key_generate(bytearray(private_key)))


def key_from_spki_octets(octets: bytes) -> bytes:
    """SubjectPublicKeyInfo's little-endian X‖Y -> big-endian X‖Y."""
    half = len(octets) // 2
    return octets[:half][::-1] + octets[half:][::-1]


def spki_octets_from_key(public_xy: bytes) -> bytes:
    half = len(public_xy) // 2
    return public_xy[:half][::-1] + public_xy[half:][::-1]


def verify_data_signature(
    paramset_oid: str, spki_octets: bytes, digest: bytes, signature_value: bytes
) -> bool:
    """Verify a CMS or X.509 signature value (s‖r) over ``digest`` (Streebog output bytes)
    with a key as a certificate carries it."""
    bits, params = curve(paramset_oid)
    size = bits // 8
    if len(signature_value) != 2 * size:
        return False
    r_s = signature_value[size:] + signature_value[:size]
    return verify_digest(params, bits, key_from_spki_octets(spki_octets), digest[::-1], r_s)


def sign_data_digest(paramset_oid: str, private_key: bytes, digest: bytes) -> bytes:
    """Signature value (s‖r) as CMS and X.509 carry it, over a Streebog digest."""
    bits, params = curve(paramset_oid)
    size = bits // 8
    r_s = sign_digest(params, bits, private_key, digest[::-1])
    return r_s[size:] + r_s[:size]
