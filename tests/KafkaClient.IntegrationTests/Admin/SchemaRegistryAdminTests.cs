using Confluent.SchemaRegistry;
using KafkaClient.IntegrationTests.SchemaRegistry;
using KafkaClient.SchemaRegistry.Admin;
using KafkaClient.SchemaRegistry.Compatibility;
using KafkaClient.Testing;

namespace KafkaClient.IntegrationTests.Admin;

/// <summary>Subject, version and compatibility administration, through the registry's REST API.</summary>
[Collection(KafkaCollection.Name)]
public class SchemaRegistryAdminTests(KafkaFixture kafka)
{
    // Closed content models: adding an optional property is backward compatible.
    private const string V1 = """{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}""";
    private const string V2 = """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name"],"additionalProperties":false}""";
    private const string V2Required = """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}""";

    // Open content models: removing a property is backward compatible, adding one is forward compatible.
    private const string V1Open = """{"type":"object","properties":{"name":{"type":"string"}}}""";
    private const string V2Open = """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}}}""";

    [Fact]
    public async Task Compatibility_is_set_per_subject_and_globally_and_tested_without_registering()
    {
        await using var registry = await EmbeddedSchemaRegistry.StartAsync(); // global settings change: a private registry
        using var admin = new SchemaRegistryAdmin(registry.Url);
        using var client = new CachedSchemaRegistryClient(new SchemaRegistryConfig { Url = registry.Url });
        await client.RegisterSchemaAsync("people-value", new Schema(V1, SchemaType.Json));

        Assert.Equal(CompatibilityLevel.Backward, await admin.GetCompatibilityAsync());
        Assert.Equal(CompatibilityLevel.Backward, await admin.GetCompatibilityAsync("people-value"));

        var (compatible, messages) = await admin.TestCompatibilityAsync("people-value", V2Required);
        Assert.False(compatible);
        Assert.Contains(messages, m => m.Contains("REQUIRED_PROPERTY_ADDED", StringComparison.Ordinal));
        Assert.Equal([1], await admin.ListVersionsAsync("people-value")); // nothing registered by the test

        await admin.SetCompatibilityAsync(CompatibilityLevel.None, "people-value");
        Assert.Equal(CompatibilityLevel.None, await admin.GetCompatibilityAsync("people-value"));
        Assert.True((await admin.TestCompatibilityAsync("people-value", V2Required)).IsCompatible);
        Assert.Equal(Confluent.SchemaRegistry.Compatibility.None, await client.GetCompatibilityAsync("people-value"));

        await admin.SetCompatibilityAsync(CompatibilityLevel.FullTransitive);
        Assert.Equal(CompatibilityLevel.FullTransitive, await admin.GetCompatibilityAsync());
        Assert.Equal(CompatibilityLevel.None, await admin.GetCompatibilityAsync("people-value"));
    }

    [Theory]
    [InlineData(CompatibilityLevel.Backward, V1, V2, true)]
    [InlineData(CompatibilityLevel.Backward, V1, V2Required, false)]
    [InlineData(CompatibilityLevel.Forward, V1, V2, false)]
    [InlineData(CompatibilityLevel.Forward, V1Open, V2Open, true)]
    [InlineData(CompatibilityLevel.Backward, V1Open, V2Open, false)]
    [InlineData(CompatibilityLevel.Full, V1, V2Required, false)]
    [InlineData(CompatibilityLevel.None, V1, V2Required, true)]
    public async Task Registration_follows_the_subjects_level(CompatibilityLevel level, string original, string update, bool accepted)
    {
        var subject = KafkaFixture.Unique("levels") + "-value";
        using var admin = new SchemaRegistryAdmin(kafka.SchemaRegistryUrl);
        using var client = kafka.RegistryClient();
        await client.RegisterSchemaAsync(subject, new Schema(original, SchemaType.Json));
        await admin.SetCompatibilityAsync(level, subject);

        if (accepted)
        {
            await client.RegisterSchemaAsync(subject, new Schema(update, SchemaType.Json));
            Assert.Equal([1, 2], await admin.ListVersionsAsync(subject));
        }
        else
        {
            var ex = await Assert.ThrowsAsync<SchemaRegistryException>(() => client.RegisterSchemaAsync(subject, new Schema(update, SchemaType.Json)));
            Assert.Equal(409, ex.ErrorCode);
            Assert.Contains(level.ToWireName(), ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Subjects_and_versions_are_listed_and_deleted_soft_then_permanently()
    {
        var subject = KafkaFixture.Unique("deletes") + "-value";
        using var admin = new SchemaRegistryAdmin(kafka.SchemaRegistryUrl);
        using var client = kafka.RegistryClient();
        var id1 = await client.RegisterSchemaAsync(subject, new Schema(V1, SchemaType.Json));
        await client.RegisterSchemaAsync(subject, new Schema(V2, SchemaType.Json));
        Assert.Contains(subject, await admin.ListSubjectsAsync());

        await admin.DeleteVersionAsync(subject, 2);
        Assert.Equal([1], await admin.ListVersionsAsync(subject));
        Assert.Equal([1, 2], await admin.ListVersionsAsync(subject, includeDeleted: true));

        Assert.Equal([1], await admin.DeleteSubjectAsync(subject));
        Assert.DoesNotContain(subject, await admin.ListSubjectsAsync());
        Assert.Contains(subject, await admin.ListSubjectsAsync(includeDeleted: true));
        Assert.Equal(V1, (await client.GetSchemaAsync(id1, null)).SchemaString); // still readable by id

        await admin.DeleteSubjectAsync(subject, permanent: true);
        Assert.DoesNotContain(subject, await admin.ListSubjectsAsync(includeDeleted: true));
        var gone = await Assert.ThrowsAsync<SchemaRegistryException>(() => admin.ListVersionsAsync(subject));
        Assert.Equal(40401, gone.ErrorCode);
    }

    [Fact]
    public async Task Registry_errors_carry_confluents_codes()
    {
        using var client = kafka.RegistryClient();
        using var admin = new SchemaRegistryAdmin(kafka.SchemaRegistryUrl);
        var subject = KafkaFixture.Unique("errors") + "-value";

        Assert.Equal(40401, (await Assert.ThrowsAsync<SchemaRegistryException>(() => client.GetLatestSchemaAsync(subject))).ErrorCode);
        Assert.Equal(40403, (await Assert.ThrowsAsync<SchemaRegistryException>(() => client.GetSchemaAsync(int.MaxValue, null))).ErrorCode);
        Assert.Equal(42201, (await Assert.ThrowsAsync<SchemaRegistryException>(() => client.RegisterSchemaAsync(subject, new Schema("{not json", SchemaType.Json)))).ErrorCode);
        await client.RegisterSchemaAsync(subject, new Schema(V1, SchemaType.Json));
        Assert.Equal(40402, (await Assert.ThrowsAsync<SchemaRegistryException>(() => client.GetRegisteredSchemaAsync(subject, 7, false))).ErrorCode);
        Assert.Equal(40403, (await Assert.ThrowsAsync<SchemaRegistryException>(() => client.GetSchemaIdAsync(subject, new Schema(V2, SchemaType.Json), false))).ErrorCode);
        await admin.DeleteSubjectAsync(subject);
        Assert.Equal(40404, (await Assert.ThrowsAsync<SchemaRegistryException>(() => admin.DeleteSubjectAsync(subject))).ErrorCode); // already soft-deleted
    }

    [Fact]
    public async Task Identical_schemas_share_one_global_id_and_lookups_find_them()
    {
        using var client = kafka.RegistryClient();
        var a = KafkaFixture.Unique("ids-a") + "-value";
        var b = KafkaFixture.Unique("ids-b") + "-value";
        var spaced = V1.Replace(",", ", ", StringComparison.Ordinal);

        var idA = await client.RegisterSchemaAsync(a, new Schema(V1, SchemaType.Json));
        var idB = await client.RegisterSchemaAsync(b, new Schema(spaced, SchemaType.Json));
        var again = await client.RegisterSchemaAsync(a, new Schema(V1, SchemaType.Json));

        Assert.Equal(idA, idB);
        Assert.Equal(idA, again);
        var found = await client.LookupSchemaAsync(b, new Schema(V1, SchemaType.Json), ignoreDeletedSchemas: true, normalize: false);
        Assert.Equal(1, found.Version);
        Assert.Equal(idA, found.Id);
    }

    [Fact]
    public async Task The_users_compatibility_question_is_answered_offline()
    {
        // "Is my new User type BACKWARD compatible with the schema registered for user_json-value?"
        var registered = User.Schema;
        var mine = new KafkaClient.SchemaRegistry.Json.JsonSchemaSerializer<User>(kafka.RegistryClient(), User.SchemaWithRequiredEmail).Schema;

        var problems = CompatibilityChecker.Check(new KafkaClient.SchemaRegistry.Compatibility.Json.JsonSchemaDiff(), CompatibilityLevel.Backward, mine, [registered]);

        Assert.Contains(problems, p => p.Contains("REQUIRED_PROPERTY_ADDED", StringComparison.Ordinal) && p.Contains("properties/email", StringComparison.Ordinal));
        await Task.CompletedTask;
    }
}
