'use strict';
/*
 * Confluent's JavaScript serdes (@confluentinc/schemaregistry, with @bufbuild/protobuf 2) as a peer for
 * cross-language wire tests, with kafkajs (pure JavaScript) as the Kafka client.
 *
 * Message types come from a descriptor set that protoc wrote (protoc --include_imports --descriptor_set_out),
 * as a JavaScript user without generated code would load them.
 *
 * usage: node protobuf_peer.js produce BOOTSTRAP REGISTRY_URL TOPIC DESCRIPTOR_SET MESSAGE COUNT
 *        node protobuf_peer.js consume BOOTSTRAP REGISTRY_URL TOPIC COUNT GROUP
 *        node protobuf_peer.js registry REGISTRY_URL SUBJECT_PREFIX DESCRIPTOR_SET
 * MESSAGE is "order" (kafkaclient.tests.orders.Order, path [0]) or "line" (Order.Line, path [0, 0]).
 * produce prints one JSON line per record with the serialized value in hex; consume one JSON line per record
 * with the message as Protobuf JSON (proto field names); registry one JSON object with what the registry client answered.
 */
const fs = require('fs');
const { Kafka, Partitioners, logLevel } = require('kafkajs');
const { SchemaRegistryClient, ProtobufSerializer, ProtobufDeserializer, SerdeType } = require('@confluentinc/schemaregistry');
const { create, createFileRegistry, fromBinary, toBinary, toJson } = require('@bufbuild/protobuf');
const { FileDescriptorSetSchema, FileDescriptorProtoSchema } = require('@bufbuild/protobuf/wkt');

const ORDER = 'kafkaclient.tests.orders.Order';
const LINE = 'kafkaclient.tests.orders.Order.Line';

function loadTypes(descriptorSet) {
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, fs.readFileSync(descriptorSet)));
}

function registryClient(url) {
  return new SchemaRegistryClient({ baseURLs: [url], maxRetries: 1 });
}

// kafkajs logs to stderr only (the tests read stdout); the mock cluster's short LeaveGroup answer is logged as an error.
function kafka(bootstrap) {
  return new Kafka({
    clientId: 'js-protobuf-peer',
    brokers: bootstrap.split(','),
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log }) => process.stderr.write(`kafkajs ${level}: ${log.message}\n`),
    retry: { retries: 5 },
  });
}

function build(desc, i) {
  if (desc.typeName === ORDER) {
    return create(desc, {
      id: `js-${i}`,
      placedAt: { seconds: BigInt(1_750_000_000 + i) },
      total: { currency: 'CHF', units: BigInt(100 * (i + 1)) },
      lines: [{ sku: `js-sku-${i}`, quantity: i + 1 }, { sku: 'js-extra', quantity: 7 }],
    });
  }
  return create(desc, { sku: `js-line-${i}`, quantity: i + 1 });
}

async function produce(bootstrap, registryUrl, topic, descriptorSet, name, count) {
  const types = loadTypes(descriptorSet);
  const desc = types.getMessage(name === 'order' ? ORDER : LINE);
  const serializer = new ProtobufSerializer(registryClient(registryUrl), SerdeType.VALUE, { autoRegisterSchemas: true });
  serializer.registry.add(desc);
  const producer = kafka(bootstrap).producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < count; i++) {
      const value = await serializer.serialize(topic, build(desc, i));
      await producer.send({ topic, acks: -1, messages: [{ key: `js-${i}`, value }] });
      console.log(JSON.stringify({ key: `js-${i}`, hex: value.toString('hex') }));
    }
  } finally {
    await producer.disconnect();
  }
}

async function consume(bootstrap, registryUrl, topic, count, group) {
  const deserializer = new ProtobufDeserializer(registryClient(registryUrl), SerdeType.VALUE, {});
  const consumer = kafka(bootstrap).consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  await consumer.connect();
  let seen = 0;
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen} of ${count} messages`)), 60_000);
      consumer.run({
        eachMessage: async ({ message }) => {
          if (seen >= count) {
            return;
          }
          try {
            const msg = await deserializer.deserialize(topic, message.value);
            // The deserializer built the message's type from the writer's schema (format=serialized), not from our files.
            // Proto field names: @bufbuild/protobuf takes a field's JSON name from json_name as is, and the descriptors that
            // .NET, Python and Java serializers register (and Confluent's registry serves) set it only where the .proto does.
            const desc = deserializer.fileRegistry.getMessage(msg.$typeName);
            const value = toJson(desc, msg, { useProtoFieldName: true });
            console.log(JSON.stringify({ key: message.key.toString(), type: msg.$typeName, value }));
          } catch (err) {
            clearTimeout(timer);
            reject(err);
            return;
          }
          if (++seen === count) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

function fileOf(schema) {
  const file = fromBinary(FileDescriptorProtoSchema, Buffer.from(schema, 'base64'));
  return { name: file.name, package: file.package, dependency: file.dependency, messages: file.messageType.map(m => m.name) };
}

async function registry(registryUrl, prefix, descriptorSet) {
  const types = loadTypes(descriptorSet);
  const serialized = path => Buffer.from(toBinary(FileDescriptorProtoSchema, types.getFile(path).proto)).toString('base64');
  const client = registryClient(registryUrl);
  const moneySubject = `${prefix}-money`;
  const orderSubject = `${prefix}-order`;
  const money = { schemaType: 'PROTOBUF', schema: serialized('common/money.proto'), references: [] };
  const moneyId = await client.register(moneySubject, money);
  const moneyVersion = await client.getVersion(moneySubject, money);
  const order = {
    schemaType: 'PROTOBUF',
    schema: serialized('orders/order.proto'),
    references: [{ name: 'common/money.proto', subject: moneySubject, version: moneyVersion }],
  };
  const orderId = await client.register(orderSubject, order);

  // A second client, without the first one's caches: every answer below comes from the registry.
  const fresh = registryClient(registryUrl);
  const lookedUp = await fresh.getId(orderSubject, order);
  const orderVersion = await fresh.getVersion(orderSubject, order);
  const latest = await fresh.getLatestSchemaMetadata(orderSubject, 'serialized');
  const byId = await fresh.getBySubjectAndId(orderSubject, orderId, 'serialized');
  const reference = await fresh.getSchemaMetadata(moneySubject, moneyVersion, true, 'serialized');
  const subjects = await fresh.getAllSubjects();
  console.log(JSON.stringify({
    moneyId, moneyVersion, orderId, lookedUp, orderVersion,
    registered: { money: money.schema, order: order.schema },
    latest: { id: latest.id, version: latest.version, subject: latest.subject, references: latest.references, sameSchema: latest.schema === order.schema, file: fileOf(latest.schema) },
    byId: { references: byId.references, sameSchema: byId.schema === order.schema, file: fileOf(byId.schema) },
    reference: { id: reference.id, sameSchema: reference.schema === money.schema, schema: reference.schema, file: fileOf(reference.schema) },
    subjects: subjects.filter(s => s.startsWith(prefix)),
  }));
}

async function main(args) {
  switch (args[0]) {
    case 'produce': return produce(args[1], args[2], args[3], args[4], args[5], Number(args[6]));
    case 'consume': return consume(args[1], args[2], args[3], Number(args[4]), args[5]);
    case 'registry': return registry(args[1], args[2], args[3]);
    default: throw new Error(`unknown command ${args[0]}`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  err => { process.stderr.write(`${err && err.stack ? err.stack : err}\n`); process.exit(1); });
