#!/usr/bin/env python3
"""Mints bearer tokens for the auth benchmark (bench/run_auth_bench.sh).

  mint_token.py hs256 SECRET_FILE TENANT          -> prints an HS256 token
  mint_token.py es256 KEY_DIR TENANT              -> writes KEY_DIR/jwks.json
                                                     and prints an ES256 token

Claims: orgId = TENANT, sub "bench", every scope, valid for an hour. HS256
uses only the standard library; ES256 needs python3-cryptography.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_input(header: dict, tenant: str) -> bytes:
    claims = {"orgId": tenant, "sub": "bench",
              "scope": "events:append events:read read-models:read admin",
              "exp": int(time.time()) + 3600}
    return (b64url(json.dumps(header).encode()) + "." +
            b64url(json.dumps(claims).encode())).encode()


def hs256(secret_file: str, tenant: str) -> str:
    secret = open(secret_file, "rb").read()
    if secret.endswith(b"\n"):
        secret = secret[:-1]  # as cairnd reads it
    msg = signing_input({"alg": "HS256", "typ": "JWT"}, tenant)
    return msg.decode() + "." + b64url(
        hmac.new(secret, msg, hashlib.sha256).digest())


def es256(key_dir: str, tenant: str) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import \
        decode_dss_signature
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwks = {"keys": [{"kty": "EC", "crv": "P-256", "kid": "bench",
                      "alg": "ES256",
                      "x": b64url(numbers.x.to_bytes(32, "big")),
                      "y": b64url(numbers.y.to_bytes(32, "big"))}]}
    with open(os.path.join(key_dir, "jwks.json"), "w") as f:
        json.dump(jwks, f)
    msg = signing_input({"alg": "ES256", "typ": "JWT", "kid": "bench"}, tenant)
    r, s = decode_dss_signature(key.sign(msg, ec.ECDSA(hashes.SHA256())))
    return msg.decode() + "." + b64url(r.to_bytes(32, "big") +
                                       s.to_bytes(32, "big"))


if __name__ == "__main__":
    kind, path, tenant = sys.argv[1:4]
    print(hs256(path, tenant) if kind == "hs256" else es256(path, tenant))
