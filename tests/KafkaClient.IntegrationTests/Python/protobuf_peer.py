"""Confluent's own Python client (1.7) as a peer for cross-language wire tests (Protobuf serdes).

Its ProtobufSerializer writes message indexes in the pre-1.8.2 encoding (plain unsigned varints).

usage: protobuf_peer.py produce BOOTSTRAP REGISTRY_URL TOPIC GENERATED_DIR MESSAGE COUNT
       protobuf_peer.py consume BOOTSTRAP TOPIC GENERATED_DIR MESSAGE COUNT GROUP
MESSAGE is "order" (kafkaclient.tests.orders.Order, path [0]) or "line" (Order.Line, path [0, 0]).
GENERATED_DIR holds the modules protoc --python_out wrote for tests/Protos.
"""
import sys

from confluent_kafka import DeserializingConsumer, SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import StringDeserializer, StringSerializer
from google.protobuf import json_format


def message_type(generated_dir, name):
    sys.path.insert(0, generated_dir)
    from orders import order_pb2
    return order_pb2.Order if name == "order" else order_pb2.Order.Line


def build(cls, i):
    if cls.DESCRIPTOR.name == "Order":
        order = cls(id="py-%d" % i)
        order.placed_at.seconds = 1700000000 + i
        order.total.currency = "EUR"
        order.total.units = 10 * (i + 1)
        line = order.lines.add()
        line.sku = "sku-%d" % i
        line.quantity = i + 1
        return order
    return cls(sku="py-line-%d" % i, quantity=i + 1)


def produce(bootstrap, registry_url, topic, generated_dir, name, count):
    cls = message_type(generated_dir, name)
    registry = SchemaRegistryClient({"url": registry_url})
    producer = SerializingProducer({
        "bootstrap.servers": bootstrap,
        "key.serializer": StringSerializer("utf_8"),
        "value.serializer": ProtobufSerializer(cls, registry),
    })
    errors = []
    for i in range(count):
        producer.produce(topic=topic, key="py-%d" % i, value=build(cls, i),
                         on_delivery=lambda err, msg: errors.append(err) if err else None)
        producer.poll(0)
    remaining = producer.flush(30)
    if errors or remaining:
        sys.exit("delivery failed: %s, %d left" % (errors, remaining))


def consume(bootstrap, topic, generated_dir, name, count, group):
    cls = message_type(generated_dir, name)
    consumer = DeserializingConsumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "key.deserializer": StringDeserializer("utf_8"),
        "value.deserializer": ProtobufDeserializer(cls),
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
        value = json_format.MessageToJson(msg.value(), preserving_proto_field_name=True, indent=None)
        print('{"key": "%s", "value": %s}' % (msg.key(), value), flush=True)
        seen += 1
    consumer.close()
    if seen < count:
        sys.exit("only %d of %d messages" % (seen, count))


if __name__ == "__main__":
    if sys.argv[1] == "produce":
        produce(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7]))
    else:
        consume(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), sys.argv[7])
