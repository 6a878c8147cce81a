"""`manage.py demo_code EMAIL`: the current six-digit code of a demo login. Refuses outside the demo."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import clock


class Command(BaseCommand):
    help = "Print a demo login's current six-digit security code (demo only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO:
            raise CommandError("demo_code works only in the demo (PORTAL_ENV=demo).")
        device = TOTPDevice.objects.filter(user__email__iexact=options["email"], confirmed=True).first()
        if device is None or not options["email"].lower().endswith("@demo.example.org"):
            raise CommandError(f"{options['email']} is not a demo login with a security code.")
        code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
        self.stdout.write(f"{code:0{device.digits}d}")
        self.stderr.write(f"(valid until the next {device.step}-second step; now {clock.now():%H:%M:%S})")
