"""A paho-mqtt client for this server's broker, as the config and the environment say.

Shared by the MQTT link (:mod:`leg_sim.server.mqtt_link`) and a worker's link to its engine
(:mod:`leg_sim.server.cluster`): the broker from ``mqtt.broker`` (``mqtts://`` with TLS,
checked against ``mqtt.tls_ca_file`` or the system's CAs), user and password from
``LEG_MQTT_USERNAME`` and ``LEG_MQTT_PASSWORD`` (never from the config file), and a
reconnect delay that doubles from 1 s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import paho.mqtt.client as paho

from leg_sim.config import broker_address

ENV_USERNAME, ENV_PASSWORD = "LEG_MQTT_USERNAME", "LEG_MQTT_PASSWORD"
#: First reconnect delay after the broker went away; it doubles up to the caller's maximum. [s]
RECONNECT_MIN_S = 1


def new_client(settings: Any, environ: Mapping[str, str], client_id: str, reconnect_max_s: int) -> paho.Client:
    """A client (not connected yet) with `client_id`, the credentials of `environ` and TLS as the
    broker URL asks; it reconnects by itself, :data:`RECONNECT_MIN_S` to `reconnect_max_s` apart."""
    _, _, tls = broker_address(settings["mqtt.broker"])
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    user = environ.get(ENV_USERNAME)
    if user:
        client.username_pw_set(user, environ.get(ENV_PASSWORD))
    if tls:
        client.tls_set(ca_certs=settings["mqtt.tls_ca_file"])
    client.reconnect_delay_set(RECONNECT_MIN_S, reconnect_max_s)
    return client
