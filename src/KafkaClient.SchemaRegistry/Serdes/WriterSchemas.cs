using Confluent.Kafka;
using Confluent.SchemaRegistry;

namespace KafkaClient.SchemaRegistry.Serdes;

/// <summary>The schema a serializer writes with for one subject, as the registry resolved it.</summary>
/// <param name="Id">The schema id to frame with.</param>
/// <param name="Subject">The subject.</param>
/// <param name="LatestSchema">With <c>use.latest.version</c>, the subject's latest schema text, written with; null when the serializer writes with its own schema.</param>
internal sealed record WriterSchema(int Id, string Subject, string? LatestSchema);

/// <summary>
/// The registry side of every serializer: names the subject, then registers, looks up, takes the latest or the fixed
/// schema id as Confluent's common keys say, and caches the result per topic and component (one registry request
/// however many values wait for it; a failure is forgotten so the next value asks again).
/// </summary>
/// <typeparam name="TWriter">What the format prepares from the resolved schema (for example a validator).</typeparam>
internal sealed class WriterSchemas<TWriter>
{
    private readonly ISchemaRegistryClient _registry;
    private readonly SchemaRegistrySerdeConfig _config;
    private readonly SerdeErrors _errors;
    private readonly Func<Task<Schema>> _ownFactory;
    private readonly Lock _ownGate = new();
    private Task<Schema>? _own;
    private readonly string _recordName;
    private readonly Func<RegisteredSchema, Task<bool>> _fitsLatest;
    private readonly Func<WriterSchema, Task<TWriter>> _prepare;
    private readonly RegistryCache<(string Topic, MessageComponentType Component), TWriter> _cache;
    private volatile LastHit? _lastHit;

    /// <summary>Initializes a new instance of the <see cref="WriterSchemas{TWriter}"/> class.</summary>
    /// <param name="registry">The registry client.</param>
    /// <param name="config">The serde's settings.</param>
    /// <param name="errors">The format's exceptions.</param>
    /// <param name="own">Makes the serializer's own schema, with its type and references (registering the references if need be); asked once, and again only after a failure.</param>
    /// <param name="recordName">The record's fully-qualified name, for the record subject name strategies.</param>
    /// <param name="fitsLatest">With <c>use.latest.version</c> and <c>latest.compatibility.strict</c>: whether the own schema is compatible with the subject's latest schema.</param>
    /// <param name="prepare">Prepares what the format needs to write with a resolved schema; throws the format's exceptions.</param>
    /// <exception cref="ArgumentException">The registry client is configured so that it fails every call (see <see cref="RegistryClients"/>).</exception>
    public WriterSchemas(ISchemaRegistryClient registry, SchemaRegistrySerdeConfig config, SerdeErrors errors, Func<Task<Schema>> own, string recordName, Func<RegisteredSchema, Task<bool>> fitsLatest, Func<WriterSchema, Task<TWriter>> prepare)
    {
        RegistryClients.ThrowIfUnusable(registry, nameof(registry));
        _registry = registry;
        _config = config;
        _errors = errors;
        _ownFactory = own;
        _recordName = recordName;
        _fitsLatest = fitsLatest;
        _prepare = prepare;
        _cache = new(key => ResolveAsync(config.Subject(new SerializationContext(key.Component, key.Topic), recordName)), TimeSpan.Zero);
    }

    /// <summary>Gets what the format writes with for a topic and component; completed once known, without computing the subject again.</summary>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <returns>The prepared writer.</returns>
    public Task<TWriter> GetAsync(SerializationContext context) => _cache.GetAsync((context.Topic, context.Component));

    /// <summary>Gets what the format writes with for a topic and component if it is already known, without asking the registry.</summary>
    /// <param name="context">The topic and whether this is a key or a value.</param>
    /// <param name="writer">The prepared writer, when known.</param>
    /// <returns>True when known.</returns>
    /// <remarks>The last topic found is remembered, so a producer writing one topic compares one string reference per call.</remarks>
    public bool TryGet(SerializationContext context, out TWriter writer)
    {
        if (_lastHit is { } last && last.Component == context.Component
            && (ReferenceEquals(last.Topic, context.Topic) || string.Equals(last.Topic, context.Topic, StringComparison.Ordinal)))
        {
            KafkaClient.Diagnostics.Telemetry.RegistryCacheHit();
            writer = last.Writer;
            return true;
        }

        if (_cache.TryGet((context.Topic, context.Component), out writer))
        {
            _lastHit = new LastHit(context.Topic, context.Component, writer);
            return true;
        }

        return false;
    }

    /// <summary>Gets the own schema, made once; a failed attempt is forgotten so the next value tries again.</summary>
    private Task<Schema> OwnSchemaAsync()
    {
        lock (_ownGate)
        {
            if (_own is null || _own.IsFaulted || _own.IsCanceled)
            {
                _own = _ownFactory();
            }

            return _own;
        }
    }

    private async Task<TWriter> ResolveAsync(string subject)
    {
        var resolved = await ResolveSchemaAsync(subject).ConfigureAwait(false);
        try
        {
            return await _prepare(resolved).ConfigureAwait(false);
        }
        catch (Exception ex) when (!_errors.IsOwn(ex))
        {
            throw _errors.UnsupportedSchema($"Schema {resolved.Id} of subject \"{ErrorText.Safe(subject, 256)}\" could not be prepared for writing: {ex.GetType().Name}: {ErrorText.Safe(ex.Message, 512)}", ex, resolved.Id, subject);
        }
    }

    private async Task<WriterSchema> ResolveSchemaAsync(string subject)
    {
        var what = $"resolving the schema of subject \"{ErrorText.Safe(subject, 256)}\"";
        if (_config.UseSchemaId is { } fixedId)
        {
            return new WriterSchema(fixedId, subject, null);
        }

        if (_config.UseLatestVersion)
        {
            var latest = await _errors.CallAsync(() => _registry.GetLatestSchemaAsync(subject), what, subject: subject).ConfigureAwait(false);
            bool fits;
            try
            {
                fits = !_config.LatestCompatibilityStrict || await _fitsLatest(latest).ConfigureAwait(false);
            }
            catch (Exception ex) when (!_errors.IsOwn(ex))
            {
                // For example a latest schema whose text cannot be compared.
                throw _errors.UnsupportedSchema($"The schema of subject \"{ErrorText.Safe(subject, 256)}\" could not be resolved: {ex.GetType().Name}: {ErrorText.Safe(ex.Message, 512)}", ex, latest.Id, subject);
            }

            return fits
                ? new WriterSchema(latest.Id, subject, latest.SchemaString)
                : throw _errors.UnsupportedSchema($"The serializer's schema is not compatible with the latest schema (version {latest.Version}, id {latest.Id}) of subject \"{ErrorText.Safe(subject, 256)}\".", null, latest.Id, subject);
        }

        var own = await OwnSchemaAsync().ConfigureAwait(false);
        var id = _config.AutoRegisterSchemas
            ? await _errors.CallAsync(() => _registry.RegisterSchemaAsync(subject, own, _config.NormalizeSchemas), what, subject: subject).ConfigureAwait(false)
            : await _errors.CallAsync(() => _registry.GetSchemaIdAsync(subject, own, _config.NormalizeSchemas), what, subject: subject).ConfigureAwait(false);
        return new WriterSchema(id, subject, null);
    }

    /// <summary>The writer found last, for one topic and component; cached writers never change, so it never goes stale.</summary>
    private sealed record LastHit(string Topic, MessageComponentType Component, TWriter Writer);
}
