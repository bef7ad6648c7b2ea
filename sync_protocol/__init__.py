"""How store nodes and the cloud reconcile: streams, envelopes and merge rules (pure core) and transports.

The core (every module but ``mqtt_link``) imports only ``models``, pydantic and the standard library, does no
I/O and reads no clock: time comes in as arguments. ``docs/sync-protocol.md`` describes the protocol.

- ``hlc``: hybrid logical clocks;  ``envelope``: the wire messages;  ``encoding``: bytes in and out;
- ``topics``: topic names and the broker ACL;  ``sequence``: seqs, acks, gaps;  ``rules``: the merge rules;
- ``record_checks``: what a store device may say;  ``broker_config``: the Mosquitto configuration;
- ``errors``: every exception raised here;  ``mqtt_link``: the MQTT transport (the one module doing I/O).

Callers import from the module that holds a thing (``from sync_protocol.envelope import Batch``): nothing is
re-exported here, so there is one name for each.
"""
