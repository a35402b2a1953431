"""Confluent's own Python client as a peer for cross-language wire tests (JSON Schema serdes).

usage: json_peer.py produce BOOTSTRAP REGISTRY_URL TOPIC SCHEMA_FILE COUNT
       json_peer.py consume BOOTSTRAP TOPIC SCHEMA_FILE COUNT GROUP
"""
import json
import sys

from confluent_kafka import DeserializingConsumer, SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import StringDeserializer, StringSerializer


def produce(bootstrap, registry_url, topic, schema_file, count):
    with open(schema_file) as f:
        schema_str = f.read()
    registry = SchemaRegistryClient({"url": registry_url})
    producer = SerializingProducer({
        "bootstrap.servers": bootstrap,
        "key.serializer": StringSerializer("utf_8"),
        "value.serializer": JSONSerializer(schema_str, registry, lambda user, ctx: user),
    })
    errors = []
    for i in range(count):
        user = {"name": "py-%d" % i, "favorite_number": i + 1, "favorite_color": "green", "twitter_handle": None}
        producer.produce(topic=topic, key=user["name"], value=user,
                         on_delivery=lambda err, msg: errors.append(err) if err else None)
        producer.poll(0)
    remaining = producer.flush(30)
    if errors or remaining:
        sys.exit("delivery failed: %s, %d left" % (errors, remaining))


def consume(bootstrap, topic, schema_file, count, group):
    with open(schema_file) as f:
        schema_str = f.read()
    consumer = DeserializingConsumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "key.deserializer": StringDeserializer("utf_8"),
        "value.deserializer": JSONDeserializer(schema_str, lambda data, ctx: data),
    })
    consumer.subscribe([topic])
    seen = 0
    polls = 0
    while seen < count and polls < 300:
        polls += 1
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            sys.exit("consume failed: %s" % msg.error())
        print(json.dumps({"key": msg.key(), "value": msg.value()}), flush=True)
        seen += 1
    consumer.close()
    if seen < count:
        sys.exit("only %d of %d messages" % (seen, count))


if __name__ == "__main__":
    if sys.argv[1] == "produce":
        produce(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    else:
        consume(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
