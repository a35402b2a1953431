using Confluent.Kafka;
using Confluent.SchemaRegistry;
using KafkaClient.SchemaRegistry.Protobuf;
using KafkaClient.SchemaRegistry.Serdes;
using PbUser = KafkaClient.Tests.Protos.User;
using KafkaClient.Tests.Protos.Catalog;
using KafkaClient.Tests.Protos.Common;
using KafkaClient.Tests.Protos.Indexes;

namespace KafkaClient.IntegrationTests.SchemaRegistry;

/// <summary>The Protobuf serdes end to end: producer and consumer on the embedded cluster, schemas in the embedded registry.</summary>
[Collection(KafkaCollection.Name)]
public class ProtobufSerdesTests(KafkaFixture kafka)
{
    private async Task<string> TopicAsync(string prefix)
    {
        var topic = KafkaFixture.Unique(prefix);
        await kafka.CreateTopicAsync(topic, 1);
        return topic;
    }

    [Fact]
    public async Task Users_round_trip_through_the_cluster_and_the_registry()
    {
        var topic = await TopicAsync("pb-users");
        using var registry = kafka.RegistryClient();
        PbUser[] users = [new() { Name = "alice", FavoriteNumber = 7, FavoriteColor = "blue", TwitterHandle = "@alice" }, new() { Name = "bob", FavoriteNumber = 42 }];
        await using (var producer = new SerializingProducerBuilder<string, PbUser>(kafka.Producer())
            .SetValueSerializer(new ProtobufSerializer<PbUser>(registry))
            .Build())
        {
            foreach (var user in users)
            {
                await producer.ProduceAsync(topic, user.Name, user);
            }
        }

        await using var consumer = new DeserializingConsumerBuilder<string, PbUser>(kafka.Consumer(KafkaFixture.Unique("pb-users")))
            .SetValueDeserializer(new ProtobufDeserializer<PbUser>(registry))
            .Build();
        consumer.Subscribe(topic);
        var read = await Records.PollManyAsync(consumer, 2);
        Assert.Equal(users, read.Select(r => r.Message.Value));
        Assert.Equal(["alice", "bob"], read.Select(r => r.Message.Key));
        Assert.Equal([1], await registry.GetSubjectVersionsAsync($"{topic}-value"));
    }

    [Fact]
    public async Task Imports_are_registered_once_each_before_the_files_that_import_them()
    {
        var topic = await TopicAsync("pb-products");
        using var registry = kafka.RegistryClient();
        var before = await registry.GetAllSubjectsAsync();
        await using (var producer = new SerializingProducerBuilder<string, Product>(kafka.Producer())
            .SetValueSerializer(new ProtobufSerializer<Product>(registry))
            .Build())
        {
            for (var i = 0; i < 3; i++)
            {
                await producer.ProduceAsync(topic, $"p{i}", new Product { Sku = $"p{i}", Category = new Category { Name = "tools" }, Price = new Money { Currency = "EUR", Units = i } });
            }
        }

        var product = await registry.GetLatestSchemaAsync($"{topic}-value");
        Assert.Equal(["catalog/category.proto", "common/money.proto"], product.References.Select(r => r.Name));
        var category = await registry.GetLatestSchemaAsync("catalog/category.proto");
        Assert.Equal(["common/money.proto"], category.References.Select(r => r.Subject));
        var money = await registry.GetLatestSchemaAsync("common/money.proto");

        // Dependencies first: ids grow in the order schemas were first registered (money may predate this test).
        Assert.True(money.Id < category.Id && category.Id < product.Id, $"money {money.Id}, category {category.Id}, product {product.Id}");
        Assert.Equal([1], await registry.GetSubjectVersionsAsync("catalog/category.proto"));
        Assert.DoesNotContain(await registry.GetAllSubjectsAsync(), s => s.StartsWith("google/", StringComparison.Ordinal) && !before.Contains(s));

        await using var consumer = new DeserializingConsumerBuilder<string, Product>(kafka.Consumer(KafkaFixture.Unique("pb-products")))
            .SetValueDeserializer(new ProtobufDeserializer<Product>(registry))
            .Build();
        consumer.Subscribe(topic);
        var read = await Records.PollManyAsync(consumer, 3);
        Assert.Equal([0L, 1L, 2L], read.Select(r => r.Message.Value.Price.Units));
        Assert.Equal("tools", read[2].Message.Value.Category.Name);
    }

    [Fact]
    public async Task Nested_and_second_messages_of_a_file_are_written_and_read_by_their_paths()
    {
        var topic = await TopicAsync("pb-nested");
        using var registry = kafka.RegistryClient();
        var config = new ProtobufSerdeConfig(new Dictionary<string, string> { ["subject.name.strategy"] = "topic_record" });
        await using (var nested = new SerializingProducerBuilder<string, First.Types.Inner1>(kafka.Producer()).SetValueSerializer(new ProtobufSerializer<First.Types.Inner1>(registry, config)).Build())
        await using (var second = new SerializingProducerBuilder<string, Second>(kafka.Producer()).SetValueSerializer(new ProtobufSerializer<Second>(registry, config)).Build())
        {
            await nested.ProduceAsync(topic, "nested", new First.Types.Inner1 { X = 11 });
            await second.ProduceAsync(topic, "second", new Second { S = "two" });
        }

        // One topic, two types: each reader takes its own and is told, typed, about the other.
        await using var consumer = new DeserializingConsumerBuilder<string, Second>(kafka.Consumer(KafkaFixture.Unique("pb-nested")))
            .SetValueDeserializer(new ProtobufDeserializer<Second>(registry))
            .Build();
        consumer.Subscribe(topic);
        var ex = await Assert.ThrowsAnyAsync<DeserializationException>(async () => await consumer.PollAsync(TimeSpan.FromSeconds(30)));
        var mismatch = Assert.IsType<ProtobufSerdeException>(ex.InnerException);
        Assert.Equal(ProtobufSerdeFailure.ReaderMismatch, mismatch.Failure);
        Assert.Contains("kafkaclient.tests.indexes.First.Inner1", mismatch.Message, StringComparison.Ordinal);
        Assert.Equal("two", (await consumer.PollAsync(TimeSpan.FromSeconds(30)))!.Message.Value.S);
        Assert.Contains($"{topic}-kafkaclient.tests.indexes.First.Inner1", await registry.GetAllSubjectsAsync());
    }

    [Fact]
    public async Task Unknown_ids_and_corrupt_frames_are_skipped_typed_and_the_consumer_goes_on()
    {
        var topic = await TopicAsync("pb-poison");
        using var registry = kafka.RegistryClient();
        var good = await new ProtobufSerializer<Second>(registry).SerializeAsync(new Second { S = "good" }, new SerializationContext(MessageComponentType.Value, topic));
        var id = good[1..5];
        byte[][] poison =
        [
            [0, 0x7F, 0, 0, 1, 0, 0x0A, 1, (byte)'x'], // unknown schema id
            [1, .. id, 2, 2], // magic byte
            [0, .. id, 0x80], // truncated index varint
            [0, .. id, 2, 40], // path [20]: not in the file
            [0, .. id, 2, 2, 0x0A, 9, (byte)'s'], // truncated message
        ];
        await using (var raw = new SerializingProducerBuilder<string, byte[]>(kafka.Producer()).Build())
        {
            foreach (var frame in poison)
            {
                await raw.ProduceAsync(topic, "poison", frame);
            }

            await raw.ProduceAsync(topic, "good", good);
        }

        var skipped = new List<ProtobufSerdeFailure>();
        await using var consumer = new DeserializingConsumerBuilder<string, Second>(kafka.Consumer(KafkaFixture.Unique("pb-poison")))
            .SetValueDeserializer(new ProtobufDeserializer<Second>(registry))
            .SetPoisonRecordPolicy(PoisonRecordPolicy.Skip(ex =>
            {
                Assert.Equal(poison[skipped.Count], ex.RawValue);
                skipped.Add(((ProtobufSerdeException)ex.InnerException!).Failure);
            }))
            .Build();
        consumer.Subscribe(topic);
        var record = await consumer.PollAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("good", record!.Message.Value.S);
        Assert.Equal(
            [ProtobufSerdeFailure.UnknownSchema, ProtobufSerdeFailure.InvalidFrame, ProtobufSerdeFailure.InvalidFrame, ProtobufSerdeFailure.InvalidFrame, ProtobufSerdeFailure.MalformedPayload],
            skipped);
    }

    [Fact]
    public async Task An_incompatible_evolution_is_refused_with_subject_level_and_reason()
    {
        var topic = await TopicAsync("pb-evolve");
        using var registry = kafka.RegistryClient();

        // Someone registered the user with favorite_number as a string; ours has int64: BACKWARD refuses it.
        _ = await registry.RegisterSchemaAsync($"{topic}-value", new Schema(
            """
            syntax = "proto3";
            package kafkaclient.tests;
            message User { string name = 1; string favorite_number = 2; string favorite_color = 3; string twitter_handle = 4; }
            """,
            SchemaType.Protobuf));
        await using var producer = new SerializingProducerBuilder<string, PbUser>(kafka.Producer())
            .SetValueSerializer(new ProtobufSerializer<PbUser>(registry))
            .Build();
        var ex = await Assert.ThrowsAsync<ValueSerializationException>(() => producer.ProduceAsync(topic, "k", new PbUser { Name = "n" }));
        var refused = Assert.IsType<ProtobufSerdeException>(ex.InnerException);
        Assert.Equal(ProtobufSerdeFailure.RegistryRefused, refused.Failure);
        Assert.False(refused.IsRetriable);
        Assert.Equal($"{topic}-value", refused.Subject);
        var registryError = Assert.IsType<SchemaRegistryException>(refused.InnerException);
        Assert.Equal(409, registryError.ErrorCode);
        Assert.Contains($"subject \"{topic}-value\"", registryError.Message, StringComparison.Ordinal);
        Assert.Contains("FIELD_SCALAR_KIND_CHANGED", registryError.Message, StringComparison.Ordinal);
        Assert.Contains("compatibility: 'BACKWARD'", registryError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_untyped_decoder_reads_a_topic_that_carries_two_message_types()
    {
        var topic = await TopicAsync("pb-untyped");
        using var registry = kafka.RegistryClient();
        var config = new ProtobufSerdeConfig(new Dictionary<string, string> { ["subject.name.strategy"] = "topic_record" });
        await using (var users = new SerializingProducerBuilder<string, PbUser>(kafka.Producer()).SetValueSerializer(new ProtobufSerializer<PbUser>(registry, config)).Build())
        await using (var products = new SerializingProducerBuilder<string, Product>(kafka.Producer()).SetValueSerializer(new ProtobufSerializer<Product>(registry, config)).Build())
        {
            await users.ProduceAsync(topic, "u", new PbUser { Name = "ada", FavoriteNumber = 1 });
            await products.ProduceAsync(topic, "p", new Product { Sku = "s-1", Price = new Money { Currency = "EUR", Units = 5 } });
        }

        await using var consumer = new DeserializingConsumerBuilder<string, System.Text.Json.Nodes.JsonNode>(kafka.Consumer(KafkaFixture.Unique("pb-untyped")))
            .SetValueDeserializer(new ProtobufJsonDeserializer(registry, config))
            .Build();
        consumer.Subscribe(topic);
        var read = await Records.PollManyAsync(consumer, 2);
        Assert.Equal(["type.googleapis.com/kafkaclient.tests.User", "type.googleapis.com/kafkaclient.tests.catalog.Product"], read.Select(r => r.Message.Value["@type"]!.GetValue<string>()));
        Assert.Equal("ada", read[0].Message.Value["name"]!.GetValue<string>());
        Assert.Equal("5", read[1].Message.Value["price"]!["units"]!.GetValue<string>());
    }
}
