using Confluent.Kafka;
using KafkaClient.SchemaRegistry.Json;
using KafkaClient.SchemaRegistry.Serdes;

namespace KafkaClient.Tests.SchemaRegistry;

public class JsonSerdeUnitTests
{
    [Fact]
    public void Defaults_are_confluents()
    {
        var config = JsonSchemaSerdeConfig.Default;
        Assert.True(config.AutoRegisterSchemas);
        Assert.False(config.UseLatestVersion);
        Assert.True(config.LatestCompatibilityStrict);
        Assert.False(config.NormalizeSchemas);
        Assert.Null(config.UseSchemaId);
        Assert.Equal(Confluent.SchemaRegistry.SubjectNameStrategy.Topic, config.SubjectNameStrategy);
        Assert.True(config.ValidateOnSerialize);
        Assert.True(config.ValidateOnDeserialize); // as Confluent's .NET and Python deserializers
    }

    [Theory]
    [InlineData("auto.register.schema", "true", "auto.register.schema")]
    [InlineData("validate.on.serialize", "yes", "validate.on.serialize")]
    [InlineData("use.schema.id", "-4", "use.schema.id")]
    [InlineData("subject.name.strategy", "by-topic", "subject.name.strategy")]
    public void Bad_entries_fail_naming_the_key(string key, string value, string named)
    {
        var ex = Assert.Throws<ArgumentException>(() => new JsonSchemaSerdeConfig(new Dictionary<string, string> { [key] = value }));
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Latest_version_and_auto_registration_exclude_each_other()
    {
        var ex = Assert.Throws<ArgumentException>(() => new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["use.latest.version"] = "true" }));
        Assert.Contains("auto.register.schemas", ex.Message, StringComparison.Ordinal);
        Assert.True(new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["use.latest.version"] = "true", ["auto.register.schemas"] = "false" }).UseLatestVersion);
    }

    [Theory]
    [InlineData("topic", MessageComponentType.Value, "orders-value")]
    [InlineData("topic", MessageComponentType.Key, "orders-key")]
    [InlineData("record", MessageComponentType.Value, "com.example.Order")]
    [InlineData("io.confluent.kafka.serializers.subject.TopicRecordNameStrategy", MessageComponentType.Value, "orders-com.example.Order")]
    public void Subjects_are_named_as_confluent_names_them(string strategy, MessageComponentType component, string subject)
    {
        var config = new JsonSchemaSerdeConfig(new Dictionary<string, string> { ["subject.name.strategy"] = strategy });
        Assert.Equal(subject, config.Subject(new SerializationContext(component, "orders"), "com.example.Order"));
    }

    [Fact]
    public void Frames_are_magic_byte_big_endian_id_and_payload()
    {
        var framed = ConfluentWireFormat.Frame(0x01020304, "{}"u8);
        Assert.Equal(new byte[] { 0, 1, 2, 3, 4, (byte)'{', (byte)'}' }, framed);
        Assert.Equal(0x01020304, ConfluentWireFormat.ReadSchemaId(framed));
    }

    [Fact]
    public void Bad_frames_are_refused_with_the_reason()
    {
        Assert.Contains("magic byte 7", Assert.Throws<InvalidDataException>(() => ConfluentWireFormat.ReadSchemaId([7, 0, 0, 0, 1])).Message, StringComparison.Ordinal);
        Assert.Contains("got 3", Assert.Throws<InvalidDataException>(() => ConfluentWireFormat.ReadSchemaId([0, 0, 0])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Generated_schemas_follow_system_text_json_naming_and_stay_open()
    {
        var serializer = new JsonSchemaSerializer<Order>(new Confluent.SchemaRegistry.CachedSchemaRegistryClient(new Confluent.SchemaRegistry.SchemaRegistryConfig { Url = "http://127.0.0.1:1" }));
        var schema = System.Text.Json.Nodes.JsonNode.Parse(serializer.Schema)!;
        Assert.NotNull(schema["properties"]!["orderId"]);
        Assert.NotNull(schema["properties"]!["amount"]);
        Assert.NotEqual("false", schema["additionalProperties"]?.ToJsonString());
    }

    [Fact]
    public void An_invalid_schema_text_is_a_caller_mistake()
    {
        var registry = new Confluent.SchemaRegistry.CachedSchemaRegistryClient(new Confluent.SchemaRegistry.SchemaRegistryConfig { Url = "http://127.0.0.1:1" });
        Assert.Throws<ArgumentException>(() => new JsonSchemaSerializer<Order>(registry, "{\"type\": 5"));
    }

    public sealed record Order(string OrderId, decimal Amount);
}
