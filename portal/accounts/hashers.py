"""How passwords are stored: Argon2id at the parameters OWASP's Password Storage Cheat Sheet gives first
(19 MiB of memory, 2 passes, 1 lane).

Django's own default, PBKDF2 at 1,000,000 iterations, costs about 230 ms of a core a sign-in here: at the
Tuesday peak (ten sign-ins a second on two cores) the hashing alone asked for more than the machine has,
and every page queued behind it (docs/benchmarks.md, the load test). Argon2id is memory-hard, so it
resists GPU and ASIC guessing better than PBKDF2 does at any iteration count, and at these parameters it
costs about 35 ms. Django's Argon2 defaults (100 MiB, 8 lanes) would cost more than PBKDF2 does here.
Passwords stored with PBKDF2 still check, and are stored again with Argon2id at the next sign-in
(Django re-hashes when the first hasher is not the one that stored the password, or its parameters
changed).
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
