"""The hub's VAPID key pair and the devices subscribed to Web Push, kept as files in one folder
(settings.push_dir): `vapid.pem` (created on first use) and `devices.json`.

A device is one browser's push subscription (its push service endpoint and encryption keys) plus what
it wants to hear about. Its id is derived from the endpoint, so subscribing again updates it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid02
from pydantic import BaseModel, Field, HttpUrl

from mainloop_mcp.errors import InvalidInput


class SubscriptionKeys(BaseModel):
    p256dh: str = Field(min_length=1, max_length=200)
    auth: str = Field(min_length=1, max_length=100)


class Subscription(BaseModel):
    """What the browser's PushSubscription.toJSON() gives."""

    endpoint: HttpUrl
    keys: SubscriptionKeys


class DeviceSettings(BaseModel):
    replies: bool = Field(default=True, description="A chat reply or an agent's message lands in a thread")
    runs: bool = Field(default=True, description="An agent run finishes or fails")
    follow: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default=[], max_length=500, description="Threads whose every new message (not the person's own) is pushed"
    )


class Device(BaseModel):
    id: str
    subscription: Subscription
    settings: DeviceSettings


def device_id(subscription: Subscription) -> str:
    return "dev_" + hashlib.sha256(str(subscription.endpoint).encode()).hexdigest()[:20]


def load_vapid(folder: Path) -> Vapid02:
    """The hub's VAPID key pair, created (readable by this user only) on first use."""
    path = folder / "vapid.pem"
    if path.exists():
        return Vapid02.from_file(str(path))
    folder.mkdir(parents=True, exist_ok=True)
    vapid = Vapid02()
    vapid.generate_keys()
    _write_private(path, vapid.private_pem())
    return vapid


def application_server_key(vapid: Vapid02) -> str:
    """The public key as browsers take it in pushManager.subscribe (base64url, uncompressed point)."""
    raw = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class DeviceBook:
    """devices.json: every subscribed device, read and written whole (a handful of phones and laptops)."""

    def __init__(self, folder: Path) -> None:
        self._path = folder / "devices.json"

    def all(self) -> list[Device]:
        if not self._path.exists():
            return []
        return [Device.model_validate(d) for d in json.loads(self._path.read_text())]

    def save(self, subscription: Subscription, settings: DeviceSettings) -> Device:
        device = Device(id=device_id(subscription), subscription=subscription, settings=settings)
        self._write([*(d for d in self.all() if d.id != device.id), device])
        return device

    def update(self, id_: str, settings: DeviceSettings) -> Device:
        devices = self.all()
        for i, device in enumerate(devices):
            if device.id == id_:
                devices[i] = device.model_copy(update={"settings": settings})
                self._write(devices)
                return devices[i]
        raise InvalidInput(f"no device {id_!r} is subscribed; subscribe again")

    def remove(self, id_: str) -> bool:
        devices = self.all()
        kept = [d for d in devices if d.id != id_]
        if len(kept) != len(devices):
            self._write(kept)
        return len(kept) != len(devices)

    def _write(self, devices: list[Device]) -> None:
        text = json.dumps([d.model_dump(mode="json") for d in devices], indent=1)
        _write_private(self._path, text.encode())


def _write_private(path: Path, data: bytes) -> None:
    """Replaces `path` atomically with a file only this user can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
