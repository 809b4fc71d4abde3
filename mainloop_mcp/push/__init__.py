"""Web Push: the hub's VAPID keys, the devices that asked for notifications, and what they are told."""
