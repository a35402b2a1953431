using KafkaClient.SchemaRegistry.Compatibility;

namespace KafkaClient.Testing.SchemaRegistry;

internal sealed record SchemaReference(string Name, string Subject, int Version);

internal sealed record StoredSchema(int Id, string SchemaType, ParsedSchema Parsed, IReadOnlyList<SchemaReference> References, string Key)
{
    /// <summary>Gets the schema text as it was first registered.</summary>
    public string Schema => Parsed.Text;

    /// <summary>Writes the schema as a GET answers it: in the form asked for (Protobuf's <c>serialized</c>), else as its format shows it by default.</summary>
    /// <param name="format">The request's <c>format</c>, or null.</param>
    /// <returns>The schema text.</returns>
    public string Render(string? format) => SchemaFormats.Get(SchemaType).Render(Parsed, format);
}

internal sealed class SubjectVersion(int version, StoredSchema schema)
{
    public int Version { get; } = version;

    public StoredSchema Schema { get; } = schema;

    public bool Deleted { get; set; }
}

/// <summary>A registry error with Confluent's error code; the HTTP status derives from the code.</summary>
internal sealed class RegistryException(RegistryErrorCode errorCode, string message) : Exception(message)
{
    public RegistryErrorCode ErrorCode { get; } = errorCode;

    public int Status => ErrorCode.HttpStatus();
}

/// <summary>The registry's state: schemas with global ids, subjects with versions, configs and modes. Thread-safe (one lock).</summary>
/// <remarks>
/// Schemas are parsed and compared outside the lock: a registration takes a snapshot of what its check depends on
/// (live versions, level, policy, mode), compares without the lock, and inserts only if the snapshot still holds,
/// else checks again. A slow comparison therefore never delays other requests.
/// </remarks>
internal sealed class SchemaStore(CompatibilityLevel defaultCompatibility)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<int, StoredSchema> _byId = [];
    private readonly Dictionary<string, StoredSchema> _byContent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<SubjectVersion>> _subjects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CompatibilityLevel> _subjectCompatibility = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CompatibilityPolicy> _subjectPolicy = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _subjectMode = new(StringComparer.Ordinal);
    private CompatibilityLevel _globalCompatibility = defaultCompatibility;
    private CompatibilityPolicy _globalPolicy = CompatibilityPolicy.Strict;
    private string _globalMode = "READWRITE";
    private int _nextId = 1;

    /// <summary>Gets or sets a callback run just before a compatibility comparison, outside the lock (tests use it to hold a comparison).</summary>
    internal Action<string>? CompareStarting { get; set; }

    public (StoredSchema Schema, int Version) Register(string subject, string schemaType, string schema, IReadOnlyList<SchemaReference> references)
    {
        if (subject.Any(char.IsControl))
        {
            throw new RegistryException(RegistryErrorCode.InvalidSubject, "The specified subject is not a valid subject: it contains control characters");
        }

        var format = SchemaFormats.Get(schemaType);
        references = WithLatestVersions(references);
        var parsed = Parse(format, schema, references);
        var key = ContentKey(schemaType, parsed, references);
        while (true)
        {
            Snapshot snapshot;
            lock (_gate)
            {
                snapshot = TakeSnapshot(subject);
                if (snapshot.Mode == "READONLY")
                {
                    throw new RegistryException(RegistryErrorCode.OperationNotPermitted, $"Subject {subject} is in read-only mode");
                }

                if (snapshot.Live.FirstOrDefault(v => v.Schema.Key == key) is { } existing)
                {
                    return (existing.Schema, existing.Version);
                }

                CheckReferences(references);
                if (snapshot.Mode == "IMPORT" || snapshot.Level == CompatibilityLevel.None || snapshot.Live.Count == 0)
                {
                    return Insert(subject, schemaType, parsed, references, key);
                }
            }

            var messages = Check(subject, format, parsed, snapshot.Level, snapshot.Policy, snapshot.Live);
            lock (_gate)
            {
                if (!TakeSnapshot(subject).SameAs(snapshot))
                {
                    continue; // the subject changed while comparing: check again against what it is now
                }

                if (messages.Count > 0)
                {
                    var details = string.Join(", ", messages.Append($"{{oldSchemaVersion: {snapshot.Live[0].Version}}}").Append($"{{compatibility: '{snapshot.Level.ToWireName()}'}}"));
                    throw new RegistryException(RegistryErrorCode.IncompatibleSchema, $"Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{details}]");
                }

                CheckReferences(references);
                return Insert(subject, schemaType, parsed, references, key);
            }
        }
    }

    public IReadOnlyList<string> TestCompatibility(string subject, string? version, string schemaType, string schema, IReadOnlyList<SchemaReference> references)
    {
        var format = SchemaFormats.Get(schemaType);
        references = WithLatestVersions(references);
        var parsed = Parse(format, schema, references);
        CompatibilityLevel level;
        CompatibilityPolicy policy;
        List<SubjectVersion> against;
        lock (_gate)
        {
            var snapshot = TakeSnapshot(subject);
            (level, policy) = (snapshot.Level, snapshot.Policy);
            if (version is null)
            {
                against = snapshot.Live;
            }
            else
            {
                against = [Version(subject, version, includeDeleted: false)];
                level = level switch
                {
                    CompatibilityLevel.BackwardTransitive => CompatibilityLevel.Backward,
                    CompatibilityLevel.ForwardTransitive => CompatibilityLevel.Forward,
                    CompatibilityLevel.FullTransitive => CompatibilityLevel.Full,
                    _ => level,
                };
            }
        }

        return Check(subject, format, parsed, level, policy, against);
    }

    public (StoredSchema Schema, int Version) Lookup(string subject, string schemaType, string schema, IReadOnlyList<SchemaReference> references, bool includeDeleted)
    {
        var format = SchemaFormats.Get(schemaType);
        references = WithLatestVersions(references);
        string key;
        try
        {
            key = ContentKey(schemaType, Parse(format, schema, references), references);
        }
        catch (RegistryException ex) when (ex.ErrorCode == RegistryErrorCode.InvalidSchema)
        {
            // A schema that does not parse cannot be registered, so it is not found.
            throw new RegistryException(RegistryErrorCode.SchemaNotFound, "Schema not found");
        }

        lock (_gate)
        {
            var versions = Subject(subject, includeDeleted);
            var match = versions.Where(v => includeDeleted || !v.Deleted).FirstOrDefault(v => v.Schema.Key == key);
            return match is null
                ? throw new RegistryException(RegistryErrorCode.SchemaNotFound, "Schema not found")
                : (match.Schema, match.Version);
        }
    }

    public StoredSchema ById(int id)
    {
        lock (_gate)
        {
            return _byId.TryGetValue(id, out var schema) ? schema : throw new RegistryException(RegistryErrorCode.SchemaNotFound, $"Schema {id} not found");
        }
    }

    public IReadOnlyList<(string Subject, int Version)> UsesOf(int id, bool includeDeleted)
    {
        lock (_gate)
        {
            _ = ById(id);
            return _subjects.SelectMany(s => s.Value.Where(v => v.Schema.Id == id && (includeDeleted || !v.Deleted)).Select(v => (s.Key, v.Version))).ToList();
        }
    }

    public IReadOnlyList<string> Subjects(bool includeDeleted, string? prefix)
    {
        lock (_gate)
        {
            return _subjects.Where(s => s.Value.Any(v => includeDeleted || !v.Deleted))
                .Select(s => s.Key)
                .Where(s => prefix is null || s.StartsWith(prefix, StringComparison.Ordinal))
                .Order(StringComparer.Ordinal)
                .ToList();
        }
    }

    public IReadOnlyList<int> Versions(string subject, bool includeDeleted)
    {
        lock (_gate)
        {
            return Subject(subject, includeDeleted).Where(v => includeDeleted || !v.Deleted).Select(v => v.Version).Order().ToList();
        }
    }

    public SubjectVersion Version(string subject, string version, bool includeDeleted, bool forReference = false)
    {
        // As Confluent's registry: the version is checked before the subject is looked up.
        var number = VersionNumber(version);
        lock (_gate)
        {
            List<SubjectVersion> versions;
            try
            {
                versions = Subject(subject, includeDeleted);
            }
            catch (RegistryException) when (forReference)
            {
                throw new RegistryException(RegistryErrorCode.InvalidSchema, $"Invalid schema reference: subject {subject} not found");
            }

            var candidates = versions.Where(v => includeDeleted || !v.Deleted).ToList();
            var match = number is null ? candidates.MaxBy(v => v.Version) : candidates.FirstOrDefault(v => v.Version == number);
            return match ?? throw (forReference
                ? new RegistryException(RegistryErrorCode.InvalidSchema, $"Invalid schema reference: version {version} of subject {subject} not found")
                : new RegistryException(RegistryErrorCode.VersionNotFound, $"Version {version} not found."));
        }
    }

    /// <summary>Parses a version as Confluent's registry does: 1 to 2^31-1, or <c>latest</c> / -1 (null).</summary>
    public static int? VersionNumber(string version)
    {
        if (version is "latest" or "-1")
        {
            return null;
        }

        return int.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && number > 0
            ? number
            : throw new RegistryException(RegistryErrorCode.InvalidVersion, $"The specified version '{version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"");
    }

    public IReadOnlyList<int> ReferencedBy(string subject, string version)
    {
        lock (_gate)
        {
            var target = Version(subject, version, includeDeleted: false);
            return ReferrersOf(subject, target.Version);
        }
    }

    public IReadOnlyList<int> DeleteSubject(string subject, bool permanent)
    {
        lock (_gate)
        {
            var versions = Subject(subject, includeDeleted: true);
            if (permanent)
            {
                if (versions.Any(v => !v.Deleted))
                {
                    throw new RegistryException(RegistryErrorCode.SubjectNotSoftDeleted, $"Subject '{subject}' was not deleted first before being permanently deleted");
                }

                _subjects.Remove(subject);
                ForgetSettings(subject);
                ForgetUnusedSchemas(versions);
                return versions.Select(v => v.Version).Order().ToList();
            }

            if (versions.All(v => v.Deleted))
            {
                throw new RegistryException(RegistryErrorCode.SubjectSoftDeleted, $"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently");
            }

            var live = versions.Where(v => !v.Deleted).ToList();
            if (live.FirstOrDefault(v => ReferrersOf(subject, v.Version).Count > 0) is { } referenced)
            {
                throw new RegistryException(RegistryErrorCode.ReferenceExists, $"One or more references exist to the schema {{magic=1,keytype=SCHEMA,subject={subject},version={referenced.Version}}}.");
            }

            live.ForEach(v => v.Deleted = true);

            // As Confluent's registry: a subject without live versions keeps no compatibility level or mode of its own.
            ForgetSettings(subject);
            return live.Select(v => v.Version).Order().ToList();
        }
    }

    public int DeleteVersion(string subject, string version, bool permanent)
    {
        _ = VersionNumber(version);
        lock (_gate)
        {
            var versions = Subject(subject, includeDeleted: true);
            var target = Version(subject, version, includeDeleted: true);
            if (permanent)
            {
                if (!target.Deleted)
                {
                    throw new RegistryException(RegistryErrorCode.SchemaVersionNotSoftDeleted, $"Subject '{subject}' Version {target.Version} was not deleted first before being permanently deleted");
                }

                versions.Remove(target);
                if (versions.Count == 0)
                {
                    _subjects.Remove(subject);
                    ForgetSettings(subject);
                }

                ForgetUnusedSchemas([target]);
                return target.Version;
            }

            if (target.Deleted)
            {
                throw new RegistryException(RegistryErrorCode.SchemaVersionSoftDeleted, $"Subject '{subject}' Version {target.Version} was soft deleted.Set permanent=true to delete permanently");
            }

            if (ReferrersOf(subject, target.Version).Count > 0)
            {
                throw new RegistryException(RegistryErrorCode.ReferenceExists, $"One or more references exist to the schema {{magic=1,keytype=SCHEMA,subject={subject},version={target.Version}}}.");
            }

            target.Deleted = true;
            if (versions.All(v => v.Deleted))
            {
                ForgetSettings(subject);
            }

            return target.Version;
        }
    }

    public (CompatibilityLevel Level, CompatibilityPolicy Policy)? Config(string? subject, bool defaultToGlobal)
    {
        lock (_gate)
        {
            if (subject is null || defaultToGlobal && !_subjectCompatibility.ContainsKey(subject))
            {
                return (_globalCompatibility, _globalPolicy);
            }

            return _subjectCompatibility.TryGetValue(subject, out var level)
                ? (level, _subjectPolicy.GetValueOrDefault(subject, _globalPolicy))
                : null;
        }
    }

    public void SetConfig(string? subject, CompatibilityLevel? level, CompatibilityPolicy? policy)
    {
        lock (_gate)
        {
            if (subject is null)
            {
                _globalCompatibility = level ?? _globalCompatibility;
                _globalPolicy = policy ?? _globalPolicy;
                return;
            }

            _subjectCompatibility[subject] = level ?? _subjectCompatibility.GetValueOrDefault(subject, _globalCompatibility);
            if (policy is { } p)
            {
                _subjectPolicy[subject] = p;
            }
        }
    }

    public CompatibilityLevel? DeleteConfig(string subject)
    {
        lock (_gate)
        {
            _subjectPolicy.Remove(subject);
            return _subjectCompatibility.Remove(subject, out var level) ? level : null;
        }
    }

    public string? Mode(string? subject, bool defaultToGlobal)
    {
        lock (_gate)
        {
            return subject is null || (defaultToGlobal && !_subjectMode.ContainsKey(subject)) ? _globalMode : _subjectMode.GetValueOrDefault(subject);
        }
    }

    public void SetMode(string? subject, string mode)
    {
        lock (_gate)
        {
            if (subject is null)
            {
                _globalMode = mode;
            }
            else
            {
                _subjectMode[subject] = mode;
            }
        }
    }

    public string? DeleteMode(string subject)
    {
        lock (_gate)
        {
            return _subjectMode.Remove(subject, out var mode) ? mode : null;
        }
    }

    /// <summary>Resolves each reference to version -1 to its subject's latest live version, as Confluent's registry does before parsing (and stores that number).</summary>
    private IReadOnlyList<SchemaReference> WithLatestVersions(IReadOnlyList<SchemaReference> references)
    {
        if (!references.Any(r => r.Version == -1))
        {
            return references;
        }

        lock (_gate)
        {
            return references
                .Select(r => r.Version == -1 && _subjects.GetValueOrDefault(r.Subject)?.Where(v => !v.Deleted).MaxBy(v => v.Version) is { } latest ? r with { Version = latest.Version } : r)
                .ToList();
        }
    }

    /// <summary>Parses a schema with the references it names that are registered (a missing one is reported by <see cref="CheckReferences"/>).</summary>
    private ParsedSchema Parse(ISchemaFormat format, string schema, IReadOnlyList<SchemaReference> references)
    {
        if (string.IsNullOrWhiteSpace(schema))
        {
            throw new RegistryException(RegistryErrorCode.InvalidSchema, "Empty schema");
        }

        var resolved = new List<ResolvedReference>(references.Count);
        lock (_gate)
        {
            foreach (var reference in references)
            {
                var version = _subjects.GetValueOrDefault(reference.Subject)?.FirstOrDefault(v => v.Version == reference.Version && !v.Deleted);
                if (version is not null)
                {
                    resolved.Add(new ResolvedReference(reference.Name, reference.Subject, reference.Version, version.Schema));
                }
            }
        }

        return format.Parse(schema, resolved);
    }

    private List<string> Check(string subject, ISchemaFormat format, ParsedSchema candidate, CompatibilityLevel level, CompatibilityPolicy policy, List<SubjectVersion> previousNewestFirst)
    {
        var sameType = previousNewestFirst.Where(v => v.Schema.SchemaType == format.SchemaType).Select(v => v.Schema.Parsed).ToList();
        if (level == CompatibilityLevel.None || sameType.Count == 0)
        {
            return [];
        }

        CompareStarting?.Invoke(subject);
        try
        {
            return format.Check(level, policy, candidate, sameType).ToList();
        }
        catch (SchemaTooComplexException ex)
        {
            throw new RegistryException(RegistryErrorCode.InvalidSchema, $"Schema is too complex to check for compatibility with subject \"{subject}\": {ex.Message}");
        }
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException ex)
        {
            throw new RegistryException(RegistryErrorCode.InvalidSchema, $"Schema is too complex to check for compatibility with subject \"{subject}\": a pattern took too long to match ({ex.Pattern})");
        }
    }

    /// <summary>What a compatibility check of a subject depends on, taken under the lock.</summary>
    private Snapshot TakeSnapshot(string subject) => new(
        _subjectMode.GetValueOrDefault(subject, _globalMode),
        _subjectCompatibility.GetValueOrDefault(subject, _globalCompatibility),
        _subjectPolicy.GetValueOrDefault(subject, _globalPolicy),
        (_subjects.GetValueOrDefault(subject) ?? []).Where(v => !v.Deleted).OrderByDescending(v => v.Version).ToList());

    private void ForgetSettings(string subject)
    {
        _subjectCompatibility.Remove(subject);
        _subjectPolicy.Remove(subject);
        _subjectMode.Remove(subject);
    }

    /// <summary>A hard delete removes the schema ids that no version of any subject, soft-deleted ones included, still has.</summary>
    private void ForgetUnusedSchemas(IEnumerable<SubjectVersion> removed)
    {
        foreach (var schema in removed.Select(v => v.Schema).Distinct())
        {
            if (!_subjects.Values.Any(versions => versions.Any(v => v.Schema.Id == schema.Id)))
            {
                _byId.Remove(schema.Id);
                _byContent.Remove(schema.Key);
            }
        }
    }

    private void CheckReferences(IReadOnlyList<SchemaReference> references)
    {
        foreach (var reference in references)
        {
            _ = Version(reference.Subject, reference.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), includeDeleted: false, forReference: true);
        }
    }

    private (StoredSchema Schema, int Version) Insert(string subject, string schemaType, ParsedSchema parsed, IReadOnlyList<SchemaReference> references, string key)
    {
        if (!_byContent.TryGetValue(key, out var stored))
        {
            stored = new StoredSchema(_nextId++, schemaType, parsed, references, key);
            _byContent[key] = stored;
            _byId[stored.Id] = stored;
        }

        if (!_subjects.TryGetValue(subject, out var versions))
        {
            versions = [];
            _subjects[subject] = versions;
        }

        var version = versions.Count == 0 ? 1 : versions.Max(v => v.Version) + 1;
        versions.Add(new SubjectVersion(version, stored));
        return (stored, version);
    }

    private List<SubjectVersion> Subject(string subject, bool includeDeleted)
    {
        return _subjects.TryGetValue(subject, out var versions) && versions.Any(v => includeDeleted || !v.Deleted)
            ? versions
            : throw new RegistryException(RegistryErrorCode.SubjectNotFound, $"Subject '{subject}' not found.");
    }

    private List<int> ReferrersOf(string subject, int version) =>
        _byId.Values.Where(s => s.References.Any(r => r.Subject == subject && r.Version == version))
            .Where(s => _subjects.Values.Any(vs => vs.Any(v => !v.Deleted && v.Schema.Id == s.Id)))
            .Select(s => s.Id)
            .Order()
            .ToList();

    /// <summary>Identifies a schema by type, canonical form and references: two registrations with the same key share one id.</summary>
    private static string ContentKey(string schemaType, ParsedSchema parsed, IReadOnlyList<SchemaReference> references) =>
        $"{schemaType}\n{parsed.Canonical}\n{string.Join(";", references.Select(r => $"{r.Name}={r.Subject}:{r.Version}"))}";

    private sealed record Snapshot(string Mode, CompatibilityLevel Level, CompatibilityPolicy Policy, List<SubjectVersion> Live)
    {
        public bool SameAs(Snapshot other) =>
            Mode == other.Mode && Level == other.Level && Policy == other.Policy && Live.SequenceEqual(other.Live);
    }
}
