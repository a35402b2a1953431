using System.Text.Json.Nodes;

namespace KafkaClient.SchemaRegistry.Compatibility.Json;

/// <summary>Confluent Schema Registry's JSON Schema compatibility rules: which changes a reader of the new schema tolerates.</summary>
/// <remarks>
/// Differences are named and located as Confluent's registry names them (<c>"TYPE_CHANGED #/properties/foo"</c>).
/// Content models follow Confluent: open (any extra property allowed), partially open (extra properties
/// must match <c>additionalProperties</c> or <c>patternProperties</c> schemas) and closed. Stateless and thread-safe.
/// Each pair of subschemas is compared once per comparison (shared <c>$ref</c>s are not compared again), and the
/// work of one comparison is bounded: beyond <see cref="DefaultMaxWork"/> steps it throws
/// <see cref="SchemaTooComplexException"/> instead of running for minutes.
/// </remarks>
public sealed class JsonSchemaDiff : ISchemaDiff
{
    /// <summary>The changes that keep a schema backward compatible under the STRICT (default) policy. Read-only: not castable to a mutable set.</summary>
    public static readonly IReadOnlySet<string> CompatibleChanges = new ReadOnlyKindSet(
    [
        "ID_CHANGED", "DESCRIPTION_CHANGED", "TITLE_CHANGED", "DEFAULT_CHANGED", "SCHEMA_REMOVED", "TYPE_EXTENDED",
        "MAX_LENGTH_INCREASED", "MAX_LENGTH_REMOVED", "MIN_LENGTH_DECREASED", "MIN_LENGTH_REMOVED", "PATTERN_REMOVED",
        "MAXIMUM_INCREASED", "MAXIMUM_REMOVED", "MINIMUM_DECREASED", "MINIMUM_REMOVED",
        "EXCLUSIVE_MAXIMUM_INCREASED", "EXCLUSIVE_MAXIMUM_REMOVED", "EXCLUSIVE_MINIMUM_DECREASED", "EXCLUSIVE_MINIMUM_REMOVED",
        "MULTIPLE_OF_REDUCED", "MULTIPLE_OF_REMOVED",
        "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED", "REQUIRED_ATTRIBUTE_REMOVED", "DEPENDENCY_ARRAY_NARROWED",
        "DEPENDENCY_ARRAY_REMOVED", "DEPENDENCY_SCHEMA_REMOVED", "MAX_PROPERTIES_INCREASED", "MAX_PROPERTIES_REMOVED",
        "MIN_PROPERTIES_DECREASED", "MIN_PROPERTIES_REMOVED", "ADDITIONAL_PROPERTIES_ADDED", "ADDITIONAL_PROPERTIES_EXTENDED",
        "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL", "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "MAX_ITEMS_INCREASED", "MAX_ITEMS_REMOVED", "MIN_ITEMS_DECREASED", "MIN_ITEMS_REMOVED", "UNIQUE_ITEMS_REMOVED",
        "MAX_CONTAINS_INCREASED", "MAX_CONTAINS_REMOVED", "MIN_CONTAINS_DECREASED", "MIN_CONTAINS_REMOVED",
        "ADDITIONAL_ITEMS_ADDED", "ADDITIONAL_ITEMS_EXTENDED", "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL", "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL", "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ENUM_ARRAY_EXTENDED", "COMBINED_TYPE_EXTENDED", "PRODUCT_TYPE_NARROWED", "SUM_TYPE_EXTENDED", "NOT_TYPE_NARROWED",
    ]);

    /// <summary>The changes that the LENIENT policy also accepts: it treats open content models as closed to unknown writers. Read-only: not castable to a mutable set.</summary>
    public static readonly IReadOnlySet<string> LenientOnlyChanges = new ReadOnlyKindSet(
    [
        "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL",
        "ADDITIONAL_PROPERTIES_REMOVED", "ADDITIONAL_PROPERTIES_NARROWED",
    ]);

    /// <summary>The most steps (subschema pairs compared plus differences recorded) one comparison may take.</summary>
    public const int DefaultMaxWork = 200_000;

    private readonly bool _lenient;
    private readonly int _maxWork;

    /// <summary>Initializes a new instance of the <see cref="JsonSchemaDiff"/> class.</summary>
    /// <param name="policy">STRICT (the registry's default) or LENIENT, as the <c>compatibilityPolicy</c> config.</param>
    public JsonSchemaDiff(CompatibilityPolicy policy = CompatibilityPolicy.Strict)
        : this(policy, DefaultMaxWork)
    {
    }

    internal JsonSchemaDiff(CompatibilityPolicy policy, int maxWork)
    {
        _lenient = policy == CompatibilityPolicy.Lenient;
        _maxWork = maxWork;
    }

    /// <inheritdoc/>
    public string SchemaType => "JSON";

    /// <summary>Checks that a text is a JSON Schema these rules can compare.</summary>
    /// <param name="schema">The schema text.</param>
    /// <exception cref="FormatException">It is not JSON, not a schema, or has a reference that points nowhere.</exception>
    public static void Validate(string schema)
    {
        try
        {
            _ = JsonSchemaLoader.Load(schema);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new FormatException(ex.Message, ex);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or KeyNotFoundException or OverflowException)
        {
            throw new FormatException(ex.Message, ex);
        }
    }

    /// <inheritdoc/>
    /// <exception cref="FormatException">A schema is not valid JSON Schema.</exception>
    /// <exception cref="SchemaTooComplexException">Comparing the schemas would take more than the bounded work.</exception>
    public SchemaComparison Compare(string original, string update)
    {
        var context = new Context(_maxWork);
        Diff(context, JsonSchemaLoader.Load(original), JsonSchemaLoader.Load(update));
        var changes = context.Differences.Select(d => $"{d.Type} #/{d.Path}").ToList();
        var incompatible = context.Differences.Where(d => !CompatibleChanges.Contains(d.Type) && !(_lenient && LenientOnlyChanges.Contains(d.Type))).Select(d => $"{d.Type} #/{d.Path}").ToList();
        return new SchemaComparison(changes, incompatible);
    }

    private static void Diff(Context ctx, JsonSchemaNode? original, JsonSchemaNode? update)
    {
        if (original is null && update is null)
        {
            return;
        }

        if (original is null)
        {
            ctx.Add("SCHEMA_ADDED");
            return;
        }

        if (update is null)
        {
            ctx.Add("SCHEMA_REMOVED");
            return;
        }

        // The differences of a pair depend on the pair only (their locations are relative to it): each pair is
        // compared once and its differences replayed wherever it occurs again, so that subschemas shared through
        // $ref cost no more than once each.
        ctx.Charge(1);
        if (ctx.TryReplay(original, update))
        {
            return;
        }

        if (!ctx.Enter(original, update))
        {
            return; // already comparing this pair further up: a recursive schema
        }

        var pair = ctx.Fresh();
        try
        {
            DiffPair(pair, original, update);
        }
        finally
        {
            ctx.Exit(original, update);
        }

        ctx.Remember(original, update, pair);
    }

    private static void DiffPair(Context ctx, JsonSchemaNode original, JsonSchemaNode update)
    {

        if (original.Kind != SchemaKind.Combined && update.Kind == SchemaKind.Combined)
        {
            if (update.Subschemas.Count == 1)
            {
                var sub = ctx.Sub();
                Diff(sub, original, update.Subschemas[0]);
                if (sub.IsCompatible)
                {
                    ctx.AddAll(sub);
                    return;
                }
            }
            else if (update.Criterion is "anyOf" or "oneOf")
            {
                for (var j = 0; j < update.Subschemas.Count; j++)
                {
                    var sub = ctx.Sub(update.Criterion, j);
                    Diff(sub, original, update.Subschemas[j]);
                    if (sub.IsCompatible)
                    {
                        ctx.AddAll(sub);
                        ctx.Add("SUM_TYPE_EXTENDED");
                        return;
                    }
                }
            }
        }
        else if (original.Kind == SchemaKind.Combined && update.Kind != SchemaKind.Combined && original.Subschemas.Count == 1)
        {
            var sub = ctx.Sub();
            Diff(sub, original.Subschemas[0], update);
            if (sub.IsCompatible)
            {
                ctx.AddAll(sub);
                return;
            }
        }

        // An allOf against a single schema compares as an allOf of that one schema.
        if (original.Kind == SchemaKind.Combined && original.Criterion == "allOf" && update.Kind is not (SchemaKind.Combined or SchemaKind.Empty))
        {
            update = JsonSchemaNode.AllOf(update);
        }

        if (original.Kind != update.Kind)
        {
            if (original.Kind != SchemaKind.False && update.Kind != SchemaKind.Empty)
            {
                ctx.Add("TYPE_CHANGED");
            }

            return;
        }

        DiffSameKind(ctx, original, update);
    }

    private static void DiffSameKind(Context ctx, JsonSchemaNode original, JsonSchemaNode update)
    {
        if (original.Id != update.Id)
        {
            ctx.Add("ID_CHANGED");
        }

        if (original.Title != update.Title)
        {
            ctx.Add("TITLE_CHANGED");
        }

        if (original.Description != update.Description)
        {
            ctx.Add("DESCRIPTION_CHANGED");
        }

        if (original.HasDefault != update.HasDefault || !JsonNode.DeepEquals(original.Default, update.Default))
        {
            ctx.Add("DEFAULT_CHANGED");
        }

        switch (original.Kind)
        {
            case SchemaKind.String:
                Limit(ctx, "maxLength", "MAX_LENGTH", original.MaxLength, update.MaxLength);
                Limit(ctx, "minLength", "MIN_LENGTH", original.MinLength, update.MinLength);
                if (original.Pattern != update.Pattern)
                {
                    ctx.Add("pattern", original.Pattern is null ? "PATTERN_ADDED" : update.Pattern is null ? "PATTERN_REMOVED" : "PATTERN_CHANGED");
                }

                break;
            case SchemaKind.Number:
                NumberDiff(ctx, original, update);
                break;
            case SchemaKind.Enum:
                EnumDiff(ctx, original, update);
                break;
            case SchemaKind.Const:
                // Confluent treats const as a one-value enum.
                if (!JsonNode.DeepEquals(original.ConstValue, update.ConstValue))
                {
                    ctx.Add("const", "ENUM_ARRAY_CHANGED");
                }

                break;
            case SchemaKind.Combined:
                CombinedDiff(ctx, original, update);
                break;
            case SchemaKind.Not:
                NotDiff(ctx, original, update);
                break;
            case SchemaKind.Object:
                ObjectDiff(ctx, original, update);
                break;
            case SchemaKind.Array:
                ArrayDiff(ctx, original, update);
                break;
        }
    }

    private static void Limit<T>(Context ctx, string keyword, string name, T? original, T? update)
        where T : struct, IComparable<T>
    {
        if (original is null && update is null)
        {
            return;
        }

        if (original is null)
        {
            ctx.Add(keyword, name + "_ADDED");
        }
        else if (update is null)
        {
            ctx.Add(keyword, name + "_REMOVED");
        }
        else if (original.Value.CompareTo(update.Value) < 0)
        {
            ctx.Add(keyword, name + "_INCREASED");
        }
        else if (original.Value.CompareTo(update.Value) > 0)
        {
            ctx.Add(keyword, name + "_DECREASED");
        }
    }

    private static void NumberDiff(Context ctx, JsonSchemaNode original, JsonSchemaNode update)
    {
        Limit(ctx, "maximum", "MAXIMUM", original.Maximum, update.Maximum);
        Limit(ctx, "minimum", "MINIMUM", original.Minimum, update.Minimum);
        Limit(ctx, "exclusiveMaximum", "EXCLUSIVE_MAXIMUM", original.ExclusiveMaximum, update.ExclusiveMaximum);
        Limit(ctx, "exclusiveMinimum", "EXCLUSIVE_MINIMUM", original.ExclusiveMinimum, update.ExclusiveMinimum);
        if (original.MultipleOf != update.MultipleOf)
        {
            if (original.MultipleOf is null)
            {
                ctx.Add("multipleOf", "MULTIPLE_OF_ADDED");
            }
            else if (update.MultipleOf is null)
            {
                ctx.Add("multipleOf", "MULTIPLE_OF_REMOVED");
            }
            else if (original.MultipleOf.Value % update.MultipleOf.Value == 0)
            {
                ctx.Add("multipleOf", "MULTIPLE_OF_REDUCED");
            }
            else if (update.MultipleOf.Value % original.MultipleOf.Value == 0)
            {
                ctx.Add("multipleOf", "MULTIPLE_OF_EXPANDED");
            }
            else
            {
                ctx.Add("multipleOf", "MULTIPLE_OF_CHANGED");
            }
        }

        if (original.RequiresInteger != update.RequiresInteger)
        {
            ctx.Add(original.RequiresInteger ? "TYPE_EXTENDED" : "TYPE_NARROWED");
        }
    }

    private static void EnumDiff(Context ctx, JsonSchemaNode original, JsonSchemaNode update)
    {
        bool Contains(List<JsonNode?> values, JsonNode? value) => values.Any(v => JsonNode.DeepEquals(v, value));
        var added = update.EnumValues.Any(v => !Contains(original.EnumValues, v));
        var removed = original.EnumValues.Any(v => !Contains(update.EnumValues, v));
        if (added && removed)
        {
            ctx.Add("enum", "ENUM_ARRAY_CHANGED");
        }
        else if (added)
        {
            ctx.Add("enum", "ENUM_ARRAY_EXTENDED");
        }
        else if (removed)
        {
            ctx.Add("enum", "ENUM_ARRAY_NARROWED");
        }
    }

    private static void NotDiff(Context ctx, JsonSchemaNode original, JsonSchemaNode update)
    {
        ctx.Push("not");
        var sub = ctx.Sub();
        Diff(sub, update.NotSchema, original.NotSchema);
        if (!sub.IsCompatible)
        {
            ctx.Add("NOT_TYPE_EXTENDED");
        }
        else if (sub.Differences.Count > 0)
        {
            ctx.Add("NOT_TYPE_NARROWED");
        }

        ctx.Pop();
    }

    private static void CombinedDiff(Context ctx, JsonSchemaNode original, JsonSchemaNode update)
    {
        var originalCount = original.Subschemas.Count;
        var updateCount = update.Subschemas.Count;
        if (original.Criterion != update.Criterion)
        {
            // A singleton behaves like allOf; moving towards a weaker criterion extends the type.
            var extended = update.Criterion switch
            {
                "anyOf" => true,
                "oneOf" => original.Criterion == "allOf" || originalCount == 1,
                _ => originalCount == 1 && updateCount == 1,
            };
            if (!extended)
            {
                ctx.Add("COMBINED_TYPE_CHANGED");
                return;
            }

            ctx.Add("COMBINED_TYPE_EXTENDED");
        }

        if (originalCount < updateCount)
        {
            ctx.Add(update.Criterion == "allOf" ? "PRODUCT_TYPE_EXTENDED" : "SUM_TYPE_EXTENDED");
        }
        else if (originalCount > updateCount)
        {
            ctx.Add(original.Criterion == "allOf" ? "PRODUCT_TYPE_NARROWED" : "SUM_TYPE_NARROWED");
        }

        // Pair each subschema with a compatible counterpart (maximum bipartite matching).
        var edges = new bool[originalCount, updateCount];
        var found = new Context?[originalCount, updateCount];
        for (var i = 0; i < originalCount; i++)
        {
            for (var j = 0; j < updateCount; j++)
            {
                var sub = ctx.Sub(original.Criterion, i);
                Diff(sub, original.Subschemas[i], update.Subschemas[j]);
                edges[i, j] = sub.IsCompatible;
                found[i, j] = sub;
            }
        }

        var matchOfUpdate = Enumerable.Repeat(-1, updateCount).ToArray();
        var matches = 0;
        for (var i = 0; i < originalCount; i++)
        {
            if (Augment(i, edges, matchOfUpdate, new bool[updateCount]))
            {
                matches++;
            }
        }

        if (matches < Math.Min(originalCount, updateCount))
        {
            ctx.Add("COMBINED_TYPE_SUBSCHEMAS_CHANGED");
            return;
        }

        for (var j = 0; j < updateCount; j++)
        {
            if (matchOfUpdate[j] >= 0)
            {
                ctx.AddAll(found[matchOfUpdate[j], j]!);
            }
        }
    }

    private static bool Augment(int i, bool[,] edges, int[] matchOfUpdate, bool[] visited)
    {
        for (var j = 0; j < matchOfUpdate.Length; j++)
        {
            if (!edges[i, j] || visited[j])
            {
                continue;
            }

            visited[j] = true;
            if (matchOfUpdate[j] < 0 || Augment(matchOfUpdate[j], edges, matchOfUpdate, visited))
            {
                matchOfUpdate[j] = i;
                return true;
            }
        }

        return false;
    }

    private static bool IsOpen(JsonSchemaNode o) => o.PatternProperties.Count == 0 && o.AdditionalPropertiesSchema is null && o.PermitsAdditionalProperties;

    private static JsonSchemaNode? PartialSchema(JsonSchemaNode o, string property) =>
        o.PatternProperties.FirstOrDefault(p => p.Pattern.IsMatch(property)).Schema ?? o.AdditionalPropertiesSchema;

    private static void ObjectDiff(Context ctx, JsonSchemaNode original, JsonSchemaNode update)
    {
        ctx.Push("required");
        foreach (var name in original.Properties.Keys.Where(update.Properties.ContainsKey))
        {
            var wasRequired = original.Required.Contains(name);
            var isRequired = update.Required.Contains(name);
            if (wasRequired && !isRequired)
            {
                ctx.Add(name, "REQUIRED_ATTRIBUTE_REMOVED");
            }
            else if (!wasRequired && isRequired)
            {
                ctx.Add(name, update.Properties[name].HasDefault ? "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED" : "REQUIRED_ATTRIBUTE_ADDED");
            }
        }

        ctx.Pop();

        ctx.Push("properties");
        foreach (var name in original.Properties.Keys.Union(update.Properties.Keys))
        {
            ctx.Push(name);
            var before = original.Properties.GetValueOrDefault(name);
            var after = update.Properties.GetValueOrDefault(name);
            if (after is null)
            {
                if (IsOpen(update))
                {
                    ctx.Add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL");
                }
                else if (PartialSchema(update, name) is { } partial)
                {
                    var sub = ctx.Sub();
                    Diff(sub, before, partial);
                    ctx.AddAll(sub);
                    ctx.Add(sub.IsCompatible ? "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" : "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL");
                }
                else
                {
                    ctx.Add(before!.Kind == SchemaKind.False ? "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL" : "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL");
                }
            }
            else if (before is null)
            {
                if (IsOpen(original))
                {
                    ctx.Add(after.Kind == SchemaKind.Empty
                        ? "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
                        : !update.Required.Contains(name) ? "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
                        : after.HasDefault ? "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL" : "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL");
                }
                else
                {
                    if (PartialSchema(original, name) is { } partial)
                    {
                        var sub = ctx.Sub();
                        Diff(sub, partial, after);
                        ctx.AddAll(sub);
                        ctx.Add(sub.IsCompatible ? "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" : "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL");
                    }

                    ctx.Add(update.Required.Contains(name)
                        ? after.HasDefault ? "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL" : "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
                        : "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL");
                }
            }
            else
            {
                Diff(ctx, before, after);
            }

            ctx.Pop();
        }

        ctx.Pop();

        ctx.Push("dependencies");
        foreach (var name in original.PropertyDependencies.Keys.Union(update.PropertyDependencies.Keys))
        {
            var before = original.PropertyDependencies.GetValueOrDefault(name);
            var after = update.PropertyDependencies.GetValueOrDefault(name);
            if (after is null)
            {
                ctx.Add(name, "DEPENDENCY_ARRAY_REMOVED");
            }
            else if (before is null)
            {
                ctx.Add(name, "DEPENDENCY_ARRAY_ADDED");
            }
            else if (!before.SetEquals(after))
            {
                ctx.Add(name, after.IsSupersetOf(before) ? "DEPENDENCY_ARRAY_EXTENDED" : before.IsSupersetOf(after) ? "DEPENDENCY_ARRAY_NARROWED" : "DEPENDENCY_ARRAY_CHANGED");
            }
        }

        foreach (var name in original.SchemaDependencies.Keys.Union(update.SchemaDependencies.Keys))
        {
            var before = original.SchemaDependencies.GetValueOrDefault(name);
            var after = update.SchemaDependencies.GetValueOrDefault(name);
            if (after is null)
            {
                ctx.Add(name, "DEPENDENCY_SCHEMA_REMOVED");
            }
            else if (before is null)
            {
                ctx.Add(name, "DEPENDENCY_SCHEMA_ADDED");
            }
            else
            {
                ctx.Push(name);
                Diff(ctx, before, after);
                ctx.Pop();
            }
        }

        ctx.Pop();

        AdditionalDiff(ctx, "additionalProperties", "ADDITIONAL_PROPERTIES", (original.PermitsAdditionalProperties, original.AdditionalPropertiesSchema), (update.PermitsAdditionalProperties, update.AdditionalPropertiesSchema));

        Limit(ctx, "maxProperties", "MAX_PROPERTIES", original.MaxProperties, update.MaxProperties);
        Limit(ctx, "minProperties", "MIN_PROPERTIES", original.MinProperties, update.MinProperties);
    }

    /// <summary>Compares what a content model allows beyond its declared properties or items.</summary>
    private static void AdditionalDiff(Context ctx, string keyword, string name, (bool Permits, JsonSchemaNode? Schema) original, (bool Permits, JsonSchemaNode? Schema) update)
    {
        ctx.Push(keyword);
        if (original.Permits != update.Permits)
        {
            ctx.Add(name + (update.Permits ? "_ADDED" : "_REMOVED"));
        }
        else if (original.Schema is null && update.Schema is not null)
        {
            ctx.Add(name + "_NARROWED");
        }
        else if (original.Schema is not null && update.Schema is null)
        {
            ctx.Add(name + "_EXTENDED");
        }
        else
        {
            Diff(ctx, original.Schema, update.Schema);
        }

        ctx.Pop();
    }

    private static bool IsOpenItems(JsonSchemaNode a) => a.AdditionalItemsSchema is null && a.PermitsAdditionalItems;

    private static void ArrayDiff(Context ctx, JsonSchemaNode original, JsonSchemaNode update)
    {
        Limit(ctx, "maxItems", "MAX_ITEMS", original.MaxItems, update.MaxItems);
        Limit(ctx, "minItems", "MIN_ITEMS", original.MinItems, update.MinItems);
        Limit(ctx, "maxContains", "MAX_CONTAINS", original.MaxContains, update.MaxContains);
        Limit(ctx, "minContains", "MIN_CONTAINS", original.MinContains, update.MinContains);
        if (original.UniqueItems != update.UniqueItems)
        {
            ctx.Add("uniqueItems", update.UniqueItems ? "UNIQUE_ITEMS_ADDED" : "UNIQUE_ITEMS_REMOVED");
        }

        AdditionalDiff(ctx, "additionalItems", "ADDITIONAL_ITEMS", (original.PermitsAdditionalItems, original.AdditionalItemsSchema), (update.PermitsAdditionalItems, update.AdditionalItemsSchema));

        ctx.Push("items");
        Diff(ctx, original.AllItems, update.AllItems);
        var before = original.ItemList ?? [];
        var after = update.ItemList ?? [];
        for (var i = 0; i < Math.Max(before.Count, after.Count); i++)
        {
            ctx.Push(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var o = i < before.Count ? before[i] : null;
            var u = i < after.Count ? after[i] : null;
            if (u is null)
            {
                if (IsOpenItems(update))
                {
                    ctx.Add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL");
                }
                else if (update.AdditionalItemsSchema is { } partial)
                {
                    var sub = ctx.Sub();
                    Diff(sub, o, partial);
                    ctx.AddAll(sub);
                    ctx.Add(sub.IsCompatible ? "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" : "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL");
                }
                else
                {
                    ctx.Add(o!.Kind == SchemaKind.False ? "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL" : "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL");
                }
            }
            else if (o is null)
            {
                if (IsOpenItems(original))
                {
                    ctx.Add(u.Kind == SchemaKind.Empty ? "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL" : "ITEM_ADDED_TO_OPEN_CONTENT_MODEL");
                }
                else if (original.AdditionalItemsSchema is { } partial)
                {
                    var sub = ctx.Sub();
                    Diff(sub, partial, u);
                    ctx.AddAll(sub);
                    ctx.Add(sub.IsCompatible ? "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL" : "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL");
                }
                else
                {
                    ctx.Add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL");
                }
            }
            else
            {
                Diff(ctx, o, u);
            }

            ctx.Pop();
        }

        ctx.Pop();
    }

    private sealed class Context
    {
        private readonly List<string> _path;
        private readonly Shared _shared;

        public Context(int maxWork)
            : this([], new Shared(maxWork))
        {
        }

        private Context(List<string> path, Shared shared)
        {
            _path = path;
            _shared = shared;
        }

        /// <summary>Gets the differences found, each located by a path relative to the root of this comparison (no leading <c>#/</c>).</summary>
        public List<(string Type, string Path)> Differences { get; } = [];

        public bool IsCompatible => Differences.All(d => CompatibleChanges.Contains(d.Type));

        public Context Sub() => new([.. _path], _shared);

        public Context Sub(string criterion, int index) => new([.. _path, criterion, index.ToString(System.Globalization.CultureInfo.InvariantCulture)], _shared);

        /// <summary>Gets a context at the root, sharing the memo and the work bound, for a pair compared on its own.</summary>
        public Context Fresh() => new([], _shared);

        public bool Enter(JsonSchemaNode original, JsonSchemaNode update) => _shared.InProgress.Add((original, update));

        public void Exit(JsonSchemaNode original, JsonSchemaNode update) => _shared.InProgress.Remove((original, update));

        public void Charge(int steps)
        {
            _shared.Work += steps;
            if (_shared.Work > _shared.MaxWork)
            {
                throw new SchemaTooComplexException(
                    $"The schemas are too complex to check for compatibility: comparing them takes more than {_shared.MaxWork} steps (shared subschemas with differences multiply the locations to report).");
            }
        }

        public void Remember(JsonSchemaNode original, JsonSchemaNode update, Context pair)
        {
            _shared.Memo[(original, update)] = pair.Differences;
            Replay(pair.Differences);
        }

        public bool TryReplay(JsonSchemaNode original, JsonSchemaNode update)
        {
            if (!_shared.Memo.TryGetValue((original, update), out var differences))
            {
                return false;
            }

            Replay(differences);
            return true;
        }

        public void Push(string segment) => _path.Add(segment);

        public void Pop() => _path.RemoveAt(_path.Count - 1);

        public void Add(string type)
        {
            Charge(1);
            Differences.Add((type, string.Join('/', _path)));
        }

        public void Add(string segment, string type)
        {
            Push(segment);
            Add(type);
            Pop();
        }

        public void AddAll(Context sub)
        {
            Charge(sub.Differences.Count);
            Differences.AddRange(sub.Differences);
        }

        private void Replay(List<(string Type, string Path)> relative)
        {
            if (relative.Count == 0)
            {
                return;
            }

            Charge(relative.Count);
            var prefix = string.Join('/', _path);
            foreach (var (type, path) in relative)
            {
                Differences.Add((type, prefix.Length == 0 ? path : path.Length == 0 ? prefix : prefix + "/" + path));
            }
        }

        private sealed class Shared(int maxWork)
        {
            public int MaxWork { get; } = maxWork;

            public long Work { get; set; }

            public HashSet<(JsonSchemaNode, JsonSchemaNode)> InProgress { get; } = [];

            public Dictionary<(JsonSchemaNode, JsonSchemaNode), List<(string Type, string Path)>> Memo { get; } = [];
        }
    }
}
