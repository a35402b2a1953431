using Confluent.SchemaRegistry;

namespace KafkaClient.SchemaRegistry.Serdes;

/// <summary>
/// The registry side of every deserializer: the writer's schema by id, fetched once per id however many records wait
/// for it, kept once prepared, and a failure that is not retriable (an unknown id) remembered for
/// <see cref="SchemaRegistrySerdeConfig.SchemaIdNegativeCacheTime"/>.
/// </summary>
/// <typeparam name="TReader">What the format prepares from a writer schema (for example a validator).</typeparam>
internal sealed class ReaderSchemas<TReader>
{
    private readonly ISchemaRegistryClient _registry;
    private readonly SerdeErrors _errors;
    private readonly Func<int, Schema, Task<TReader>> _prepare;
    private readonly RegistryCache<int, TReader> _cache;
    private readonly string? _format;

    /// <summary>Initializes a new instance of the <see cref="ReaderSchemas{TReader}"/> class.</summary>
    /// <param name="registry">The registry client.</param>
    /// <param name="config">The serde's settings.</param>
    /// <param name="errors">The format's exceptions.</param>
    /// <param name="prepare">Prepares what the format needs to read with a writer schema; throws the format's exceptions.</param>
    /// <param name="time">The clock of the negative cache; null for the system's.</param>
    /// <param name="format">The registry's <c>format</c> for the schema text (Protobuf asks for <c>serialized</c>: a base64 descriptor); null for the default.</param>
    /// <exception cref="ArgumentException">The registry client is configured so that it fails every call (see <see cref="RegistryClients"/>).</exception>
    public ReaderSchemas(ISchemaRegistryClient registry, SchemaRegistrySerdeConfig config, SerdeErrors errors, Func<int, Schema, Task<TReader>> prepare, TimeProvider? time = null, string? format = null)
    {
        RegistryClients.ThrowIfUnusable(registry, nameof(registry));
        _format = format;
        _registry = registry;
        _errors = errors;
        _prepare = prepare;
        _cache = new(LoadAsync, config.SchemaIdNegativeCacheTime, time);
    }

    /// <summary>Gets what the format reads with for a writer schema id; completed once known or while a failure is remembered.</summary>
    /// <param name="id">The schema id from the frame.</param>
    /// <returns>The prepared reader.</returns>
    public Task<TReader> GetAsync(int id) => _cache.GetAsync(id);

    /// <summary>Gets what the format reads with for a schema id if it is already known, without asking the registry.</summary>
    /// <param name="id">The schema id.</param>
    /// <param name="reader">The prepared reader, when known.</param>
    /// <returns>True when known.</returns>
    public bool TryGet(int id, out TReader reader) => _cache.TryGet(id, out reader);

    /// <summary>Prepares the reader for the latest schema registered under <paramref name="subject"/>, so that records written with it need no registry call.</summary>
    /// <param name="subject">The subject.</param>
    /// <returns>The latest schema's id, or null when the subject has no schema yet (nothing to prepare).</returns>
    /// <exception cref="Exception">The format's exception for a registry call that failed otherwise, or a schema that cannot be prepared.</exception>
    public async Task<int?> PrepareLatestAsync(string subject)
    {
        RegisteredSchema latest;
        try
        {
            latest = await _errors.CallAsync(() => _registry.GetLatestSchemaAsync(subject), $"looking up the latest schema of subject \"{ErrorText.Safe(subject, 256)}\"", subject: subject).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex.InnerException is SchemaRegistryException { ErrorCode: RegistryErrors.SubjectNotFound })
        {
            return null;
        }

        _ = await GetAsync(latest.Id).ConfigureAwait(false);
        return latest.Id;
    }

    private async Task<TReader> LoadAsync(int id)
    {
        var schema = await _errors.CallAsync(() => _registry.GetSchemaAsync(id, _format), $"fetching schema {id}", id).ConfigureAwait(false);
        try
        {
            return await _prepare(id, schema).ConfigureAwait(false);
        }
        catch (Exception ex) when (!_errors.IsOwn(ex))
        {
            throw _errors.UnsupportedSchema($"Schema {id} could not be prepared for reading: {ex.GetType().Name}: {ErrorText.Safe(ex.Message, 512)}", ex, id, null);
        }
    }
}
