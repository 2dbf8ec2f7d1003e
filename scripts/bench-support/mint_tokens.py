"""Mints SimpleJWT-shaped access tokens for the benchmark, one per user.

    python3 mint_tokens.py SECRET PREFIX COUNT > tokens.txt     # users PREFIX-000000…
    python3 mint_tokens.py SECRET --users FILE > tokens.txt     # one user per line of FILE

Each line is an access token (HS256, the development secret) for one user,
whose claims depend on the username only, so minting again for the same user
gives claims the service already holds. Tokens live an hour. Standard library
only: the load generator measures the service, not the signing.
"""

import base64
import hashlib
import hmac
import json
import sys
import time
import uuid


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(secret: bytes, username: str, now: int) -> str:
    header = b64(b'{"alg":"HS256","typ":"JWT"}')
    payload = b64(
        json.dumps(
            {
                "token_type": "access",
                "exp": now + 3600,
                "iat": now,
                "jti": uuid.uuid4().hex,
                "user_id": 1,
                "user_uuid": username,
                "user_email": f"{username}@example.com",
                "user_is_staff": False,
                "user_is_superuser": False,
                "user_first_name": "Bench",
                "user_last_name": username,
            },
            separators=(",", ":"),
        ).encode()
    )
    signing_input = f"{header}.{payload}".encode()
    signature = b64(hmac.new(secret, signing_input, hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


def main() -> None:
    secret = sys.argv[1].encode()
    if sys.argv[2] == "--users":
        with open(sys.argv[3]) as names:
            usernames = [line.strip() for line in names if line.strip()]
    else:
        prefix, count = sys.argv[2], int(sys.argv[3])
        usernames = [f"{prefix}-{i:06d}" for i in range(count)]
    now = int(time.time())
    out = sys.stdout
    for username in usernames:
        out.write(token(secret, username, now))
        out.write("\n")


if __name__ == "__main__":
    main()
