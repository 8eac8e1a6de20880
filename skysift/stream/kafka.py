"""Alerts from Kafka: poll a batch, store, classify, publish, then commit (at-least-once).

:class:`AlertConsumer` reads Avro alert messages from Kafka topics with confluent-kafka, in a
consumer group, so that several processes share the partitions: one Avro container file per
message, as ZTF publishes them, or Confluent-framed messages (a zero byte, a 4-byte schema id,
the packet), as Rubin publishes them, whose schemas come from a schema registry
(``schema_registry``, cached) or, offline, from the ``lsst-alert-packet`` package
(:mod:`skysift.stream.registry`). The packet layout is an
:class:`~skysift.io.packets.AlertMapping`; Rubin packets can be filtered on their reliability,
and a night replayed from a time or an offset (:mod:`skysift.stream.rubin`). Each poll of up to
``batch_size`` messages is handled by :meth:`AlertConsumer.process` (a plain function, also
called directly by tests):

1. every message is read and validated on its own, within the service's
   :class:`~skysift.stream.limits.Limits`, before anything of the batch is stored; a bad one is
   recorded in the rejected table (with its topic, partition and offset) and skipped, never
   retried forever; a packet filtered out (a solar-system source, low reliability, no positive
   detection) is counted and skipped;
2. the detections of all good messages are stored in one transaction (committed: durable),
   then classified together: new objects' context (galactic transform, nearest galaxy) is
   computed in one vectorised call for the whole poll; then their upper limits are stored, as
   ``POST /alerts`` stores them;
3. with an output topic, one classification per message is published (Avro, with the model
   version; Confluent-framed with a registered schema when a registry is given, else an Avro
   container file) and flushed;
4. only then are the offsets committed. A crash anywhere before that redelivers the batch,
   whose detections are then found already stored and counted as duplicates.

Connection settings are librdkafka's (``bootstrap.servers``, ``security.protocol``,
``sasl.mechanism``, ``sasl.username``, ``ssl.ca.location``, ...), given as ``options``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from skysift.errors import InputError, SkysiftError
from skysift.stream.avro import (MAPPINGS, AlertBatch, AlertMapping, alert_batch, check_limits, encode_framed,
                                 encode_records, read_message)
from skysift.stream.limits import Rejected
from skysift.stream.registry import SchemaSource, lsst_schema_versions
from skysift.stream.rubin import Replay, classification_schema, parse_time
from skysift.stream.storage import StorageUnavailable

log = logging.getLogger("skysift.stream.kafka")

#: Avro schema of the classifications published on the output topic.
CLASSIFICATION_SCHEMA = {
    "type": "record", "name": "classification", "namespace": "skysift",
    "doc": "Class probabilities of an object after the detections of one alert",
    "fields": [
        {"name": "objectId", "type": "string"},
        {"name": "candid", "type": ["null", "long"], "default": None,
         "doc": "id of the alert's triggering detection (ZTF candid, Rubin diaSourceId)"},
        {"name": "classified", "type": "boolean"},
        {"name": "n_obs", "type": "int", "doc": "observations the probabilities are based on"},
        {"name": "top_class", "type": ["null", "string"], "default": None},
        {"name": "top_prob", "type": ["null", "double"], "default": None},
        {"name": "class_path", "type": ["null", "string"], "default": None,
         "doc": "a tree model's most probable level-1 class, then its most probable subtype ('SN/Ia')"},
        {"name": "novelty", "type": ["null", "double"], "default": None,
         "doc": "how unlike the model's training objects the object is (0..1, higher = more novel)"},
        {"name": "probabilities", "type": {"type": "map", "values": "double"}},
        {"name": "model_version", "type": ["null", "string"], "default": None,
         "doc": "model file name and the first 12 hex digits of its SHA-256"},
        {"name": "classified_at", "type": "double", "doc": "Unix time (s)"},
        {"name": "source_topic", "type": "string"},
        {"name": "source_partition", "type": "int"},
        {"name": "source_offset", "type": "long"},
    ],
}


#: Consumer fetch defaults (see :meth:`KafkaConfig.consumer_settings`): bytes, and milliseconds.
FETCH_MIN_BYTES = 1_000_000
FETCH_WAIT_MAX_MS = 50


@dataclass
class KafkaConfig:
    """Where to read alerts and what to do with them.

    bootstrap_servers: ``host:port[,host:port...]`` of the brokers.
    topics: topics to subscribe to (regular expressions start with ``^``).
    group_id: consumer group; processes with the same group share the partitions.
    output_topic: topic for the classifications (None: publish nothing).
    novelty_topic: topic that also gets the classifications of objects whose novelty score is at least
        ``novelty_min`` (0..1; models with a novelty score; None: no such topic).
    mapping: alert layout, ``"ztf"`` or ``"rubin"`` (:data:`skysift.stream.avro.MAPPINGS`).
    batch_size: messages per poll (each poll is stored and committed as one batch).
    poll_timeout_s: how long one poll waits to fill its batch (s): short, so that a batch goes
        on as soon as messages stop arriving, rather than waiting to be full.
    auto_offset_reset: where a new group starts: ``"earliest"`` or ``"latest"``.
    options: further librdkafka settings (SASL/TLS, timeouts), for consumer and producer.
    schema_registry: URL of a schema registry for Confluent-framed messages (and for the output
        topic's schema); None: Rubin schemas from ``lsst-alert-packet``, container-file output.
    schema_cache: folder of the registry's on-disk schema cache (None: the default).
    min_reliability: skip Rubin alerts whose diaSource reliability is below this (0-1).
    from_time, from_offset: replay from a time (Unix seconds) or an offset (see
        :class:`~skysift.stream.rubin.Replay`).
    """

    bootstrap_servers: str
    topics: list[str]
    group_id: str = "skysift"
    output_topic: str | None = None
    novelty_topic: str | None = None
    novelty_min: float = 0.6
    mapping: str = "ztf"
    batch_size: int = 1000
    poll_timeout_s: float = 0.05
    auto_offset_reset: str = "earliest"
    options: dict[str, str] = field(default_factory=dict)
    schema_registry: str | None = None
    schema_cache: str | None = None
    min_reliability: float | None = None
    from_time: float | None = None
    from_offset: int | None = None

    def __post_init__(self) -> None:
        if not self.topics:
            raise InputError("give at least one Kafka topic to read")
        if self.mapping not in MAPPINGS:
            raise InputError(f"unknown alert format '{self.mapping}' (known: {', '.join(MAPPINGS)})")
        if self.batch_size < 1:
            raise InputError(f"batch size must be at least 1, got {self.batch_size}")
        if self.auto_offset_reset not in ("earliest", "latest"):
            raise InputError(f"auto offset reset must be 'earliest' or 'latest', got '{self.auto_offset_reset}'")
        if not 0 <= self.novelty_min <= 1:
            raise InputError(f"--novelty-min must be between 0 and 1, got {self.novelty_min}")
        if self.min_reliability is not None and not 0 <= self.min_reliability <= 1:
            raise InputError(f"--min-reliability must be between 0 and 1, got {self.min_reliability}")
        if self.mapping == "rubin" and not self.schema_registry and not lsst_schema_versions():
            raise InputError("--format rubin without --schema-registry reads the schemas of the lsst-alert-packet "
                             'package: pip install "skysift[rubin]" (or give --schema-registry URL)')
        Replay(self.from_time, self.from_offset)  # checks the replay options

    def consumer_settings(self) -> dict[str, Any]:
        """librdkafka consumer settings. Fetches wait for up to 1 MB or 50 ms (librdkafka's
        defaults, 1 byte or 500 ms, make a busy stream arrive in many small fetches that cost the
        broker and the consumer more than the alerts do); ``options`` override any of these."""
        return {"bootstrap.servers": self.bootstrap_servers, "group.id": self.group_id,
                "enable.auto.commit": False, "enable.auto.offset.store": False,
                "auto.offset.reset": self.auto_offset_reset, "fetch.min.bytes": FETCH_MIN_BYTES,
                "fetch.wait.max.ms": FETCH_WAIT_MAX_MS, **self.options}

    def producer_settings(self) -> dict[str, Any]:
        keep = {k: v for k, v in self.options.items() if not k.startswith(("group.", "auto.", "enable.auto",
                                                                              "session.", "max.poll", "fetch."))}
        return {"bootstrap.servers": self.bootstrap_servers, "enable.idempotence": True, "acks": "all",
                "linger.ms": 5, **keep}


@dataclass
class BatchResult:
    """What one poll's batch did."""

    messages: int = 0
    rejected: int = 0
    filtered: int = 0
    detections: int = 0
    stored: int = 0
    upper_limits: int = 0
    published: int = 0
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset per (topic, partition)


class AlertConsumer:
    """Kafka alerts into a :class:`~skysift.stream.service.StreamService` (see the module notes).

    consumer, producer: confluent-kafka clients to use (default: made from ``config``).
    """

    def __init__(self, service: Any, config: KafkaConfig, consumer: Any = None, producer: Any = None) -> None:
        self.service = service
        self.config = config
        self.mapping: AlertMapping = MAPPINGS[config.mapping]
        self._fatal: str | None = None
        self._consumer = consumer
        self._producer = producer
        self.totals = BatchResult()
        self.started = time.time()
        self.replay = Replay(config.from_time, config.from_offset)
        framed = config.mapping == "rubin" or config.schema_registry
        self.schemas = SchemaSource(config.schema_registry, config.schema_cache) if framed else None
        self._out_schema: tuple[str | None, dict, int | None] | None = None  # (model tag, schema, id)

    # -------------------------------------------------------------- clients
    def _error_cb(self, err: Any) -> None:
        from confluent_kafka import KafkaError

        code = err.code()
        if err.fatal() or code in (KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED,
                                   KafkaError._SSL, KafkaError.TOPIC_AUTHORIZATION_FAILED,
                                   KafkaError.GROUP_AUTHORIZATION_FAILED):
            self._fatal = err.str()
        else:
            log.warning("Kafka: %s", err.str())

    def _clients(self) -> tuple[Any, Any]:
        try:
            from confluent_kafka import Consumer, KafkaException, Producer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise InputError('reading alerts from Kafka needs confluent-kafka: pip install "skysift[kafka]"') from exc
        try:
            if self._consumer is None:
                self._consumer = Consumer({**self.config.consumer_settings(), "error_cb": self._error_cb})
                if self.replay.active:
                    self._consumer.subscribe(list(self.config.topics), on_assign=self.replay.on_assign)
                else:
                    self._consumer.subscribe(list(self.config.topics))
            if self._producer is None and (self.config.output_topic or self.config.novelty_topic):
                self._producer = Producer({**self.config.producer_settings(), "error_cb": self._error_cb})
        except (KafkaException, ValueError, TypeError) as exc:
            raise InputError(f"bad Kafka settings: {exc}") from None
        return self._consumer, self._producer

    # -------------------------------------------------------------- one batch
    def _process_retrying(self, messages: Sequence[Any], stop: threading.Event | None) -> BatchResult:
        """:meth:`process`, run again on the same messages (nothing committed in between) while the
        database is unavailable, after waits of 0.5 s doubling to 30 s; an empty result (nothing to
        commit) when ``stop`` is set meanwhile. What was stored before the fault is found stored."""
        wait = 0.5
        while True:
            try:
                return self.process(messages)
            except StorageUnavailable as exc:
                log.warning("Kafka: the database is unavailable (%s); the batch is tried again in %.1f s",
                            exc.reason, wait)
            if stop is not None:
                if stop.wait(wait):
                    return BatchResult()
            else:
                time.sleep(wait)
            wait = min(30.0, wait * 2)

    def process(self, messages: Sequence[Any]) -> BatchResult:
        """Store, classify and publish one batch of Kafka messages; return what was done and the
        offsets to commit. Storage errors propagate (nothing is committed then)."""

        res = BatchResult()
        decoded: list[tuple[Any, AlertBatch]] = []
        service = self.service
        for msg in messages:
            if msg.error() is not None:
                continue
            res.messages += 1
            key = (msg.topic(), msg.partition())
            res.offsets[key] = max(res.offsets.get(key, -1), msg.offset() + 1)
            if not self.replay.keep(msg):
                res.filtered += 1  # before --from-time
                continue
            try:
                batch = self._decode(msg)
            except Rejected as exc:
                res.rejected += self._reject(msg, exc)
                continue
            if batch.detections:
                decoded.append((msg, batch))
            else:
                res.filtered += 1
                log.debug("Kafka message %s[%d]@%d skipped: %s", msg.topic(), msg.partition(), msg.offset(),
                          "; ".join(batch.skipped))
        # validation: the whole batch in one call; message by message only when something is wrong
        try:
            self._validate([d for _, b in decoded for d in b.detections])
            good = decoded
        except Rejected:
            good = []
            for item in decoded:
                try:
                    self._validate(item[1].detections)
                    good.append(item)
                except Rejected as exc:
                    res.rejected += self._reject(item[0], exc)
        all_dets = [d for _, b in good for d in b.detections]
        summary_objects: dict[str, dict] = {}
        limit = service.limits.max_detections
        for start in range(0, len(all_dets), limit):
            summary = service.ingest(all_dets[start : start + limit], source="kafka")
            res.stored += summary["stored"]
            summary_objects.update({o["object_id"]: o for o in summary["objects"]})
        res.detections = len(all_dets)
        upper = [u for _, b in good for u in b.upper_limits]
        if upper:  # stored as POST /alerts stores them (after the detections)
            res.upper_limits = service.storage.add_upper_limits(upper, source="kafka")
        if self._producer is not None and (self.config.output_topic or self.config.novelty_topic) and good:
            res.published = self._publish(good, summary_objects)
        return res

    def _decode(self, msg: Any) -> AlertBatch:
        """The detections and upper limits of one Kafka message, read and checked (Rejected
        otherwise); no detections and a reason in ``skipped`` for a packet filtered out."""
        limits = self.service.limits
        value = msg.value()
        if not value:
            raise Rejected(422, "empty Kafka message")
        packets = read_message(value, self.mapping, limits, self.schemas)
        batch = alert_batch(packets, self.mapping, limits, self.config.min_reliability)
        check_limits(batch)
        if not batch.detections and not batch.skipped:
            raise Rejected(422, "the alert holds no detections")
        return batch

    def _validate(self, dets: list) -> None:
        from skysift.stream.schemas import validate_detections

        validate_detections(dets)
        reason = self.service.refusal(dets)
        if reason:
            raise Rejected(422, reason)

    def _reject(self, msg: Any, exc: Rejected) -> int:
        self.service.storage.record_rejected(exc.reason, msg.value(),
                                             source=f"kafka {msg.topic()}[{msg.partition()}]@{msg.offset()}")
        log.warning("Kafka message %s[%d]@%d refused: %s", msg.topic(), msg.partition(), msg.offset(), exc.reason)
        return 1

    def _publish(self, good: list, objects: dict[str, dict]) -> int:
        now = time.time()
        tag = self.service.model_tag
        records = []
        for msg, batch in good:
            rows = next(p for p in reversed(batch.packets) if p.detections)
            o = objects.get(rows.object_id) or {}
            records.append({
                "objectId": rows.object_id, "candid": rows.candidate_id,
                "classified": bool(o.get("classified")), "n_obs": int(o.get("n_obs") or 0),
                "top_class": o.get("top_class"), "top_prob": o.get("top_prob"),
                "class_path": _class_path(o.get("probabilities")), "novelty": o.get("novelty"),
                "probabilities": o.get("probabilities") or {}, "model_version": tag, "classified_at": now,
                "source_topic": msg.topic(), "source_partition": msg.partition(), "source_offset": msg.offset(),
            })
        schema, schema_id = self._output_schema(tag)
        for rec in records:
            value = encode_records([rec], schema) if schema_id is None else encode_framed(rec, schema, schema_id)
            key = rec["objectId"].encode("utf-8")
            if self.config.output_topic:
                self._producer.produce(self.config.output_topic, key=key, value=value)
            if self.config.novelty_topic and (rec.get("novelty") or 0.0) >= self.config.novelty_min:
                self._producer.produce(self.config.novelty_topic, key=key, value=value)
            self._producer.poll(0)
        left = self._producer.flush(30)
        if left:
            raise SkysiftError(f"could not publish {left} classifications to "
                               f"'{self.config.output_topic or self.config.novelty_topic}' "
                               "within 30 s (the batch will be read again)")
        return len(records)

    def _output_schema(self, tag: str | None) -> tuple[dict, int | None]:
        """The output topic's schema for the model ``tag`` and its registered id (None: no registry,
        container files); registered once per model under ``<output topic>-value``."""
        if self._out_schema is None or self._out_schema[0] != tag:
            schema = classification_schema(CLASSIFICATION_SCHEMA, tag)
            sid = None
            if self.schemas is not None and self.schemas.url:
                sid = self.schemas.register(f"{self.config.output_topic or self.config.novelty_topic}-value", schema)
            self._out_schema = (tag, schema, sid)
        return self._out_schema[1], self._out_schema[2]

    def _commit(self, offsets: dict[tuple[str, int], int]) -> None:
        """Commit the batch's offsets. A commit refused because the group is rebalancing is only
        logged: the partitions' new owner reads the batch again and finds it stored."""
        from confluent_kafka import KafkaError, KafkaException, TopicPartition

        if not offsets:
            return
        try:
            self._consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                                  asynchronous=False)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            code = err.code() if hasattr(err, "code") else None
            if code in (KafkaError.REBALANCE_IN_PROGRESS, KafkaError.ILLEGAL_GENERATION,
                        KafkaError.UNKNOWN_MEMBER_ID, KafkaError._NO_OFFSET, KafkaError._STATE):
                log.warning("Kafka: offsets not committed (%s); the batch, already stored, will be read again",
                            err.str())
                return
            raise SkysiftError(f"Kafka: could not commit offsets: {exc}") from None

    # -------------------------------------------------------------- the loop
    def run(self, max_messages: int | None = None, idle_timeout_s: float | None = None,
            stop: threading.Event | None = None, progress: Any = None) -> BatchResult:
        """Poll, process and commit until ``stop`` is set, ``max_messages`` were handled, or no
        message came for ``idle_timeout_s`` seconds; return the totals."""
        from confluent_kafka import KafkaError, KafkaException

        consumer, _ = self._clients()
        tot = self.totals
        last_message = time.monotonic()
        try:
            while not (stop is not None and stop.is_set()):
                if self._fatal:
                    raise SkysiftError(f"Kafka: {self._fatal}")
                n = self.config.batch_size
                if max_messages is not None:
                    n = min(n, max_messages - tot.messages)
                    if n <= 0:
                        break
                try:
                    msgs = consumer.consume(num_messages=n, timeout=self.config.poll_timeout_s)
                except KafkaException as exc:
                    raise SkysiftError(f"Kafka: {exc}") from None
                for m in msgs:
                    err = m.error()
                    if err is not None and err.code() != KafkaError._PARTITION_EOF:
                        if err.fatal():
                            raise SkysiftError(f"Kafka: {err.str()}")
                        log.warning("Kafka: %s", err.str())
                if not any(m.error() is None for m in msgs):
                    if idle_timeout_s is not None and time.monotonic() - last_message > idle_timeout_s:
                        break
                    continue
                last_message = time.monotonic()
                res = self._process_retrying(msgs, stop)  # the database's faults: wait, then the same batch
                self._commit(res.offsets)
                for f in ("messages", "rejected", "filtered", "detections", "stored", "upper_limits", "published"):
                    setattr(tot, f, getattr(tot, f) + getattr(res, f))
                if progress is not None:
                    progress(tot)
        finally:
            self.close()
        return tot

    def close(self) -> None:
        """Leave the group (its partitions go to the other members) and close the clients."""
        if self._producer is not None:
            self._producer.flush(10)
        if self._consumer is not None:
            try:
                self._consumer.close()
            except RuntimeError:  # already closed
                pass
            self._consumer = None


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    """librdkafka settings from ``key=value`` strings (``-X`` options, as kcat takes them)."""
    out: dict[str, str] = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key.strip():
            raise InputError(f"Kafka option '{p}' is not key=value (e.g. -X security.protocol=SASL_SSL)")
        out[key.strip()] = value.strip()
    return out


# ---------------------------------------------------------------------------- CLI


def add_arguments(parser: Any) -> None:
    """``skysift consume``'s options."""
    parser.add_argument("--bootstrap-servers", "-b", required=True, help="Kafka brokers, host:port[,host:port]")
    parser.add_argument("--topic", "-t", action="append", required=True, dest="topics",
                        help="topic to read (repeat for several; '^regex' for a pattern)")
    parser.add_argument("--group", default="skysift", help="consumer group id (processes of one group share partitions)")
    parser.add_argument("--model", help="saved skysift model (default: the one the database was classified with)")
    parser.add_argument("--db", default=None, help="SQLite file or postgresql:// URL (default: skysift.sqlite)")
    parser.add_argument("--output-topic", help="publish each alert's classification (Avro) to this topic")
    parser.add_argument("--novelty-topic", help="also publish the classifications of objects whose novelty score is "
                        "at least --novelty-min to this topic")
    parser.add_argument("--novelty-min", type=float, default=0.6, help="novelty score for --novelty-topic (0..1)")
    parser.add_argument("--format", default="ztf", choices=sorted(MAPPINGS), help="alert packet layout")
    parser.add_argument("--batch-size", type=int, default=1000, help="messages per poll, stored and committed together")
    parser.add_argument("--from", dest="auto_offset_reset", default="earliest", choices=["earliest", "latest"],
                        help="where a new consumer group starts reading")
    parser.add_argument("-X", dest="options", action="append", default=[], metavar="KEY=VALUE",
                        help="librdkafka setting, e.g. -X security.protocol=SASL_SSL -X sasl.mechanism=SCRAM-SHA-512 "
                             "-X sasl.username=U -X sasl.password=P -X ssl.ca.location=ca.pem")
    parser.add_argument("--schema-registry", metavar="URL", help="schema registry of Confluent-framed messages "
                        "(and of the output topic's schema); without it, --format rubin reads the schemas of the "
                        "lsst-alert-packet package")
    parser.add_argument("--schema-cache", metavar="DIR", help="on-disk cache of registry schemas "
                        "(default ~/.cache/skysift/schemas)")
    parser.add_argument("--min-reliability", type=float, default=None, metavar="R",
                        help="skip Rubin alerts whose diaSource reliability is below R (0-1; null counts as below)")
    replay = parser.add_mutually_exclusive_group()
    replay.add_argument("--from-time", metavar="TIME", help="replay from this time on each partition's first "
                        "assignment: ISO 8601 (2026-02-24T00:00:00Z), Unix seconds or mjd:<days>")
    replay.add_argument("--from-offset", type=int, metavar="N", help="replay from offset N of every partition")
    parser.add_argument("--max-messages", type=int, default=None, help="stop after this many messages")
    parser.add_argument("--idle-timeout", type=float, default=None, help="stop after this many seconds without messages")
    parser.add_argument("--log-level", default="warning", help="logging level (default: warning)")


def run_cli(args: Any) -> BatchResult:
    """``skysift consume``: read until interrupted (SIGINT/SIGTERM finish the current batch)."""
    import signal
    import sys

    from skysift.stream.service import StreamService, limits_from_args
    from skysift.stream.storage import open_storage

    logging.basicConfig(level=str(args.log_level).upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = KafkaConfig(args.bootstrap_servers, list(args.topics), group_id=args.group,
                         output_topic=args.output_topic, novelty_topic=args.novelty_topic,
                         novelty_min=args.novelty_min, mapping=args.format, batch_size=args.batch_size,
                         auto_offset_reset=args.auto_offset_reset, options=parse_options(args.options),
                         schema_registry=args.schema_registry, schema_cache=args.schema_cache,
                         min_reliability=args.min_reliability,
                         from_time=None if args.from_time is None else parse_time(args.from_time),
                         from_offset=args.from_offset)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
    storage = open_storage(args.db)
    try:
        from skysift.stream.limits import Rejected as _Rejected

        try:
            service = StreamService(storage, args.model, limits=limits_from_args(args), freeze_heap=True)
        except _Rejected as exc:
            raise SkysiftError(exc.reason) from None
        stop = threading.Event()

        def _stop(signum, frame):  # noqa: ARG001
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _stop)
        t0 = time.monotonic()
        last = [t0]

        def _progress(tot: BatchResult) -> None:
            now = time.monotonic()
            if now - last[0] >= 10:
                last[0] = now
                print(f"consumed {tot.messages} messages ({tot.messages / (now - t0):.0f}/s), stored {tot.stored} "
                      f"detections, rejected {tot.rejected}, published {tot.published}", file=sys.stderr, flush=True)

        consumer = AlertConsumer(service, config)
        tot = consumer.run(max_messages=args.max_messages, idle_timeout_s=args.idle_timeout, stop=stop,
                           progress=_progress)
        dt = time.monotonic() - t0
        print(f"consumed {tot.messages} messages in {dt:.1f} s: stored {tot.stored} of {tot.detections} detections "
              f"and {tot.upper_limits} upper limits, rejected {tot.rejected} messages, skipped {tot.filtered}, "
              f"published {tot.published} classifications", file=sys.stderr)
        return tot
    finally:
        storage.close()


def _class_path(probs: dict | None) -> str | None:
    """The most probable path of a tree model's probabilities (None for a flat model's)."""
    from skysift.model.hierarchy import best_path, is_hierarchical

    if not probs or not is_hierarchical(probs):
        return None

    return best_path(list(probs), list(probs.values()))
