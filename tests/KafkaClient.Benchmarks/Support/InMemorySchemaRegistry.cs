using System.Collections.Concurrent;
using System.Net;
using Confluent.SchemaRegistry;

namespace KafkaClient.Benchmarks.Support;

/// <summary>
/// A hand-written in-memory stand-in for Schema Registry, for the serde micro-benchmarks: registration, lookup by id and
/// by subject, latest version, and nothing else; no HTTP and no locks beyond concurrent dictionaries, so a benchmark
/// measures the serde, not the network. Every call is counted, so a benchmark can show that its steady state asks nothing.
/// </summary>
/// <remarks>
/// Identical schema text under one subject gets one id; the same text under another subject gets the same id too, as
/// Confluent's registry does. Compatibility is not checked.
/// </remarks>
public sealed class InMemorySchemaRegistry : ISchemaRegistryClient
{
    private readonly ConcurrentDictionary<int, RegisteredSchema> _byId = new();
    private readonly ConcurrentDictionary<string, int> _idsByText = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, List<RegisteredSchema>> _versions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _calls = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private int _nextId;

    /// <summary>Gets how many calls the serdes made so far.</summary>
    public long Calls => _calls.Values.Sum();

    /// <summary>Gets how many calls of each method the serdes made so far.</summary>
    public IReadOnlyDictionary<string, long> CallsByMethod => new Dictionary<string, long>(_calls, StringComparer.Ordinal);

    public IEnumerable<KeyValuePair<string, string>> Config => [];

    public IAuthenticationHeaderValueProvider AuthHeaderProvider => null!;

    public IWebProxy Proxy => null!;

    public int MaxCachedSchemas => 1000;

    public Task<int> RegisterSchemaAsync(string subject, Schema schema, bool normalize = false)
    {
        Count();
        return Task.FromResult(Register(subject, schema).Id);
    }

    public Task<RegisteredSchema> RegisterSchemaWithResponseAsync(string subject, Schema schema, bool normalize = false)
    {
        Count();
        return Task.FromResult(Register(subject, schema));
    }

    public Task<int> RegisterSchemaAsync(string subject, string avroSchema, bool normalize = false) =>
        RegisterSchemaAsync(subject, new Schema(avroSchema, SchemaType.Avro), normalize);

    public Task<int> GetSchemaIdAsync(string subject, Schema schema, bool normalize = false)
    {
        Count();
        return Find(subject, schema) is { } found ? Task.FromResult(found.Id) : NotFound<int>($"Schema not found under subject {subject}", 40403);
    }

    public Task<int> GetSchemaIdAsync(string subject, string avroSchema, bool normalize = false) =>
        GetSchemaIdAsync(subject, new Schema(avroSchema, SchemaType.Avro), normalize);

    public Task<RegisteredSchema> LookupSchemaAsync(string subject, Schema schema, bool ignoreDeletedSchemas, bool normalize = false)
    {
        Count();
        return Find(subject, schema) is { } found ? Task.FromResult(found) : NotFound<RegisteredSchema>($"Schema not found under subject {subject}", 40403);
    }

    public Task<Schema> GetSchemaAsync(int id, string format = null!)
    {
        Count();
        return ById(id);
    }

    public Task<Schema> GetSchemaBySubjectAndIdAsync(string subject, int id, string format = null!)
    {
        Count();
        return ById(id);
    }

    public Task<RegisteredSchema> GetRegisteredSchemaAsync(string subject, int version, bool ignoreDeletedSchemas = true)
    {
        Count();
        lock (_gate)
        {
            return _versions.TryGetValue(subject, out var versions) && version >= 1 && version <= versions.Count
                ? Task.FromResult(versions[version - 1])
                : NotFound<RegisteredSchema>($"Version {version} of subject {subject} not found", 40402);
        }
    }

    public async Task<string> GetSchemaAsync(string subject, int version) => (await GetRegisteredSchemaAsync(subject, version).ConfigureAwait(false)).SchemaString;

    public Task<RegisteredSchema> GetLatestSchemaAsync(string subject)
    {
        Count();
        lock (_gate)
        {
            return _versions.TryGetValue(subject, out var versions) && versions.Count > 0
                ? Task.FromResult(versions[^1])
                : NotFound<RegisteredSchema>($"Subject {subject} not found", 40401);
        }
    }

    public Task<List<string>> GetAllSubjectsAsync()
    {
        Count();
        return Task.FromResult(_versions.Keys.Order(StringComparer.Ordinal).ToList());
    }

    public Task<List<int>> GetSubjectVersionsAsync(string subject)
    {
        Count();
        lock (_gate)
        {
            return Task.FromResult(_versions.TryGetValue(subject, out var versions) ? versions.Select(v => v.Version).ToList() : []);
        }
    }

    public string ConstructKeySubjectName(string topic, string recordType = null!) => $"{topic}-key";

    public string ConstructValueSubjectName(string topic, string recordType = null!) => $"{topic}-value";

    public Task<Schema> GetSchemaByGuidAsync(string guid, string format = null!) => throw Unsupported();

    public Task<RegisteredSchema> GetLatestWithMetadataAsync(string subject, IDictionary<string, string> metadata, bool ignoreDeletedSchemas) => throw Unsupported();

    public Task<bool> IsCompatibleAsync(string subject, string avroSchema) => throw Unsupported();

    public Task<bool> IsCompatibleAsync(string subject, Schema schema) => throw Unsupported();

    public Task<Compatibility> GetCompatibilityAsync(string subject = null!) => throw Unsupported();

    public Task<Compatibility> UpdateCompatibilityAsync(Compatibility compatibility, string subject = null!) => throw Unsupported();

    /// <summary>No topic has an associated subject, so Confluent's serdes (whose default strategy asks first) fall back to topic naming.</summary>
    public Task<List<Association>> GetAssociationsByResourceNameAsync(string resourceName, string resourceNamespace, string resourceType, List<string> associationTypes, string lifecycle, int offset, int limit)
    {
        Count();
        return Task.FromResult(new List<Association>());
    }

    public Task<AssociationResponse> CreateAssociationAsync(AssociationCreateOrUpdateRequest request) => throw Unsupported();

    public Task DeleteAssociationsAsync(string resourceId, string resourceType, List<string> associationTypes, bool cascadeLifecycle) => throw Unsupported();

    public void ClearLatestCaches()
    {
    }

    public void ClearCaches()
    {
    }

    public void Dispose()
    {
    }

    private static Task<T> NotFound<T>(string message, int errorCode) =>
        Task.FromException<T>(new SchemaRegistryException($"{message}; error code: {errorCode}", HttpStatusCode.NotFound, errorCode));

    private static NotSupportedException Unsupported([System.Runtime.CompilerServices.CallerMemberName] string call = "") =>
        new($"The benchmarks' in-memory registry does not implement {call}.");

    private static string Key(Schema schema) => $"{schema.SchemaType}\n{schema.SchemaString}";

    private void Count([System.Runtime.CompilerServices.CallerMemberName] string call = "") => _calls.AddOrUpdate(call, 1, (_, count) => count + 1);

    private Task<Schema> ById(int id) =>
        _byId.TryGetValue(id, out var schema)
            ? Task.FromResult<Schema>(schema)
            : NotFound<Schema>($"Schema {id} not found", 40403);

    private RegisteredSchema Register(string subject, Schema schema)
    {
        lock (_gate)
        {
            if (Find(subject, schema) is { } existing)
            {
                return existing;
            }

            var id = _idsByText.GetOrAdd(Key(schema), _ => ++_nextId);
            var versions = _versions.GetOrAdd(subject, _ => []);
            var registered = new RegisteredSchema(subject, versions.Count + 1, id, schema.SchemaString, schema.SchemaType, schema.References ?? []);
            versions.Add(registered);
            _byId.TryAdd(id, registered);
            return registered;
        }
    }

    private RegisteredSchema? Find(string subject, Schema schema)
    {
        lock (_gate)
        {
            return _versions.TryGetValue(subject, out var versions)
                ? versions.FirstOrDefault(v => v.SchemaType == schema.SchemaType && v.SchemaString == schema.SchemaString)
                : null;
        }
    }
}

/// <summary>Describes the registry calls made since a snapshot of <see cref="InMemorySchemaRegistry.CallsByMethod"/>.</summary>
internal static class RegistryCalls
{
    public static string Since(InMemorySchemaRegistry registry, IReadOnlyDictionary<string, long> before)
    {
        var made = registry.CallsByMethod
            .Select(c => (Method: c.Key, Count: c.Value - before.GetValueOrDefault(c.Key)))
            .Where(c => c.Count > 0)
            .Select(c => $"{c.Method} x{c.Count}")
            .ToList();
        return made.Count == 0 ? "none" : string.Join(", ", made);
    }
}
