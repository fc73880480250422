"""Staff pass the second factor in the tests as they do in life: with an authenticator app.

``authenticator_for`` gives a staff member a confirmed TOTP device (as the set-up page would
after they scanned its key) and ``authenticator_code`` computes the code their app would show
(RFC 6238, with django-otp's own ``totp``). ``verify_session`` marks a test client's session
verified by that device exactly as ``django_otp.login`` does after a right code, for the many
tests that sign in with ``force_login`` instead of the forms (the forms have tests of their
own in ``tests/accounts/test_second_factor.py``).
"""

from __future__ import annotations

import time

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ontrack.accounts.models import User


def authenticator_for(user: User) -> TOTPDevice:
    """The staff member's authenticator app (set up now if they have none)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app")


def authenticator_code(device: TOTPDevice) -> str:
    """The code the app shows now, or the next one if now's was already used: django-otp
    accepts each time step once, and one step either side of the server's clock."""
    device.refresh_from_db()
    now_step = int((time.time() - device.t0) // device.step)
    step = max(now_step, device.last_t + 1)
    if step > now_step + 1:  # two codes used within one step already: wait for the next
        time.sleep(device.t0 + (step - 1) * device.step - time.time() + 0.05)
    app = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    app.time = device.t0 + step * device.step + 1
    return f"{app.token():0{device.digits}d}"


def verify_session(client: Client, user: User) -> None:
    """Mark ``client``'s signed-in session verified by the user's authenticator app."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = authenticator_for(user).persistent_id
    session.save()
