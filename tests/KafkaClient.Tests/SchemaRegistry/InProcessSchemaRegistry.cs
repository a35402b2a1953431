using System.Collections.Concurrent;
using System.Net;
using Confluent.SchemaRegistry;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>A hand-written in-memory registry client for unit tests: JSON schemas by id and by subject, injectable failures, no network.</summary>
public sealed class InProcessSchemaRegistry : ISchemaRegistryClient
{
    private readonly ConcurrentDictionary<int, Schema> _byId = new();
    private readonly ConcurrentDictionary<string, int> _bySubject = new();
    private int _nextId = 100;
    private int _lookups;

    /// <summary>Gets or sets a failure to raise from every call instead of answering (an unreachable or failing registry).</summary>
    public Func<Exception>? Failure { get; set; }

    /// <summary>Gets or sets a task that lookups by id wait for before answering (many records waiting on one lookup).</summary>
    public Task? Gate { get; set; }

    /// <summary>Gets how many times a schema was fetched by id.</summary>
    public int Lookups => Volatile.Read(ref _lookups);

    /// <summary>Gets the client settings it reports, as Confluent's client reports the ones it was built with; none by default.</summary>
    public IEnumerable<KeyValuePair<string, string>> Config { get; init; } = [];

    public IAuthenticationHeaderValueProvider AuthHeaderProvider => null!;

    public IWebProxy Proxy => null!;

    public int MaxCachedSchemas => 1000;

    /// <summary>Stores a JSON schema under a fixed id, as if another client had registered it.</summary>
    public int Add(int id, string schema, SchemaType type = SchemaType.Json)
    {
        _byId[id] = new Schema(schema, [], type);
        return id;
    }

    public Task<Schema> GetSchemaAsync(int id, string format = null!)
    {
        Interlocked.Increment(ref _lookups);
        if (Gate is { IsCompleted: false } gate)
        {
            return gate.ContinueWith(_ => Answer(id), TaskScheduler.Default).Unwrap();
        }

        return Answer(id);
    }

    private Task<Schema> Answer(int id)
    {
        Fail();
        return _byId.TryGetValue(id, out var schema)
            ? Task.FromResult(schema)
            : Task.FromException<Schema>(new SchemaRegistryException($"Schema {id} not found; error code: 40403", HttpStatusCode.NotFound, 40403));
    }

    public Task<int> RegisterSchemaAsync(string subject, Schema schema, bool normalize = false)
    {
        Fail();
        return Task.FromResult(_bySubject.GetOrAdd(subject + "\n" + schema.SchemaString, _ => Add(Interlocked.Increment(ref _nextId), schema.SchemaString, schema.SchemaType)));
    }

    public Task<int> GetSchemaIdAsync(string subject, Schema schema, bool normalize = false)
    {
        Fail();
        return _bySubject.TryGetValue(subject + "\n" + schema.SchemaString, out var id)
            ? Task.FromResult(id)
            : Task.FromException<int>(new SchemaRegistryException("Schema not found; error code: 40403", HttpStatusCode.NotFound, 40403));
    }

    public Task<int> RegisterSchemaAsync(string subject, string avroSchema, bool normalize = false) => RegisterSchemaAsync(subject, new Schema(avroSchema, SchemaType.Avro), normalize);

    public Task<RegisteredSchema> RegisterSchemaWithResponseAsync(string subject, Schema schema, bool normalize = false) => throw new NotSupportedException();

    public Task<int> GetSchemaIdAsync(string subject, string avroSchema, bool normalize = false) => throw new NotSupportedException();

    public Task<Schema> GetSchemaBySubjectAndIdAsync(string subject, int id, string format = null!) => GetSchemaAsync(id, format);

    public Task<Schema> GetSchemaByGuidAsync(string guid, string format = null!) => throw new NotSupportedException();

    public Task<RegisteredSchema> LookupSchemaAsync(string subject, Schema schema, bool ignoreDeletedSchemas, bool normalize = false) => throw new NotSupportedException();

    public Task<RegisteredSchema> GetRegisteredSchemaAsync(string subject, int version, bool ignoreDeletedSchemas = true) => throw new NotSupportedException();

    public Task<string> GetSchemaAsync(string subject, int version) => throw new NotSupportedException();

    public Task<RegisteredSchema> GetLatestSchemaAsync(string subject)
    {
        Fail();
        var latest = _bySubject.Where(e => e.Key.StartsWith(subject + "\n", StringComparison.Ordinal)).OrderByDescending(e => e.Value).FirstOrDefault();
        return latest.Key is null
            ? Task.FromException<RegisteredSchema>(new SchemaRegistryException("Subject not found; error code: 40401", HttpStatusCode.NotFound, 40401))
            : Task.FromResult(new RegisteredSchema(subject, 1, latest.Value, _byId[latest.Value].SchemaString, _byId[latest.Value].SchemaType, []));
    }

    public Task<RegisteredSchema> GetLatestWithMetadataAsync(string subject, IDictionary<string, string> metadata, bool ignoreDeletedSchemas) => throw new NotSupportedException();

    public Task<List<string>> GetAllSubjectsAsync() => throw new NotSupportedException();

    public Task<List<int>> GetSubjectVersionsAsync(string subject) => throw new NotSupportedException();

    public Task<bool> IsCompatibleAsync(string subject, string avroSchema) => throw new NotSupportedException();

    public Task<bool> IsCompatibleAsync(string subject, Schema schema) => throw new NotSupportedException();

    public string ConstructKeySubjectName(string topic, string recordType = null!) => $"{topic}-key";

    public string ConstructValueSubjectName(string topic, string recordType = null!) => $"{topic}-value";

    public Task<Compatibility> GetCompatibilityAsync(string subject = null!) => throw new NotSupportedException();

    public Task<Compatibility> UpdateCompatibilityAsync(Compatibility compatibility, string subject = null!) => throw new NotSupportedException();

    public Task<List<Association>> GetAssociationsByResourceNameAsync(string resourceName, string resourceNamespace, string resourceType, List<string> associationTypes, string lifecycle, int offset, int limit) => throw new NotSupportedException();

    public Task<AssociationResponse> CreateAssociationAsync(AssociationCreateOrUpdateRequest request) => throw new NotSupportedException();

    public Task DeleteAssociationsAsync(string resourceId, string resourceType, List<string> associationTypes, bool cascadeLifecycle) => throw new NotSupportedException();

    public void ClearLatestCaches()
    {
    }

    public void ClearCaches()
    {
    }

    public void Dispose()
    {
    }

    private void Fail()
    {
        if (Failure?.Invoke() is { } failure)
        {
            throw failure;
        }
    }
}
