using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Change = KafkaClient.SchemaRegistry.Compatibility.Json.JsonSchemaChangeKind;

namespace KafkaClient.SchemaRegistry.Compatibility.Json;

/// <summary>Confluent Schema Registry's JSON Schema compatibility rules: which changes a reader of the new schema tolerates.</summary>
/// <remarks>
/// Differences are named and located as Confluent's registry names them (<c>"TYPE_CHANGED #/properties/foo"</c>): a
/// <see cref="JsonSchemaChangeKind"/> by its <see cref="JsonSchemaChangeKinds.ToConfluentName">Confluent name</see> and a path.
/// Content models follow Confluent: open (any extra property allowed), partially open (extra properties
/// must match <c>additionalProperties</c> or <c>patternProperties</c> schemas) and closed. Stateless and thread-safe.
/// Each pair of subschemas is compared once per comparison (shared <c>$ref</c>s are not compared again, their
/// differences are reported again wherever they are reached). Recursive <c>$ref</c>s are followed: a pair met again
/// while it is still being compared is assumed compatible there, so its differences are reported once, at the first
/// path that reaches it. The work of one comparison is bounded: beyond <see cref="DefaultMaxWork"/> steps, or pairs
/// nested 500 deep, it throws <see cref="SchemaTooComplexException"/> instead of running for minutes or exhausting
/// the stack.
/// </remarks>
public sealed class JsonSchemaDiff : ISchemaDiff
{
    /// <summary>The changes that keep a schema backward compatible under the STRICT (default) policy. Read-only: not castable to a mutable set.</summary>
    public static readonly IReadOnlySet<JsonSchemaChangeKind> CompatibleChanges = new ReadOnlyKindSet<JsonSchemaChangeKind>(
    [
        Change.IdChanged, Change.DescriptionChanged, Change.TitleChanged, Change.DefaultChanged, Change.SchemaRemoved, Change.TypeExtended,
        Change.MaxLengthIncreased, Change.MaxLengthRemoved, Change.MinLengthDecreased, Change.MinLengthRemoved, Change.PatternRemoved,
        Change.MaximumIncreased, Change.MaximumRemoved, Change.MinimumDecreased, Change.MinimumRemoved,
        Change.ExclusiveMaximumIncreased, Change.ExclusiveMaximumRemoved, Change.ExclusiveMinimumDecreased, Change.ExclusiveMinimumRemoved,
        Change.MultipleOfReduced, Change.MultipleOfRemoved,
        Change.RequiredAttributeWithDefaultAdded, Change.RequiredAttributeRemoved, Change.DependencyArrayNarrowed,
        Change.DependencyArrayRemoved, Change.DependencySchemaRemoved, Change.MaxPropertiesIncreased, Change.MaxPropertiesRemoved,
        Change.MinPropertiesDecreased, Change.MinPropertiesRemoved, Change.AdditionalPropertiesAdded, Change.AdditionalPropertiesExtended,
        Change.PropertyWithEmptySchemaAddedToOpenContentModel, Change.RequiredPropertyWithDefaultAddedToUnopenContentModel,
        Change.OptionalPropertyAddedToUnopenContentModel, Change.PropertyWithFalseRemovedFromClosedContentModel,
        Change.PropertyRemovedFromOpenContentModel, Change.PropertyAddedIsCoveredByPartiallyOpenContentModel,
        Change.PropertyRemovedIsCoveredByPartiallyOpenContentModel,
        Change.MaxItemsIncreased, Change.MaxItemsRemoved, Change.MinItemsDecreased, Change.MinItemsRemoved, Change.UniqueItemsRemoved,
        Change.MaxContainsIncreased, Change.MaxContainsRemoved, Change.MinContainsDecreased, Change.MinContainsRemoved,
        Change.AdditionalItemsAdded, Change.AdditionalItemsExtended, Change.ItemWithEmptySchemaAddedToOpenContentModel,
        Change.ItemAddedToClosedContentModel, Change.ItemWithFalseRemovedFromClosedContentModel,
        Change.ItemRemovedFromOpenContentModel, Change.ItemAddedIsCoveredByPartiallyOpenContentModel,
        Change.ItemRemovedIsCoveredByPartiallyOpenContentModel,
        Change.EnumArrayExtended, Change.CombinedTypeExtended, Change.ProductTypeNarrowed, Change.SumTypeExtended, Change.NotTypeNarrowed,
    ]);

    /// <summary>The changes that the LENIENT policy also accepts: it treats open content models as closed to unknown writers. Read-only: not castable to a mutable set.</summary>
    public static readonly IReadOnlySet<JsonSchemaChangeKind> LenientOnlyChanges = new ReadOnlyKindSet<JsonSchemaChangeKind>(
    [
        Change.OptionalPropertyAddedToOpenContentModel, Change.RequiredPropertyWithDefaultAddedToOpenContentModel,
        Change.AdditionalPropertiesRemoved, Change.AdditionalPropertiesNarrowed,
    ]);

    private static readonly LimitKinds MaxLengthLimit = new("maxLength", Change.MaxLengthAdded, Change.MaxLengthRemoved, Change.MaxLengthIncreased, Change.MaxLengthDecreased);
    private static readonly LimitKinds MinLengthLimit = new("minLength", Change.MinLengthAdded, Change.MinLengthRemoved, Change.MinLengthIncreased, Change.MinLengthDecreased);
    private static readonly LimitKinds MaximumLimit = new("maximum", Change.MaximumAdded, Change.MaximumRemoved, Change.MaximumIncreased, Change.MaximumDecreased);
    private static readonly LimitKinds MinimumLimit = new("minimum", Change.MinimumAdded, Change.MinimumRemoved, Change.MinimumIncreased, Change.MinimumDecreased);
    private static readonly LimitKinds ExclusiveMaximumLimit = new("exclusiveMaximum", Change.ExclusiveMaximumAdded, Change.ExclusiveMaximumRemoved, Change.ExclusiveMaximumIncreased, Change.ExclusiveMaximumDecreased);
    private static readonly LimitKinds ExclusiveMinimumLimit = new("exclusiveMinimum", Change.ExclusiveMinimumAdded, Change.ExclusiveMinimumRemoved, Change.ExclusiveMinimumIncreased, Change.ExclusiveMinimumDecreased);
    private static readonly LimitKinds MaxPropertiesLimit = new("maxProperties", Change.MaxPropertiesAdded, Change.MaxPropertiesRemoved, Change.MaxPropertiesIncreased, Change.MaxPropertiesDecreased);
    private static readonly LimitKinds MinPropertiesLimit = new("minProperties", Change.MinPropertiesAdded, Change.MinPropertiesRemoved, Change.MinPropertiesIncreased, Change.MinPropertiesDecreased);
    private static readonly LimitKinds MaxItemsLimit = new("maxItems", Change.MaxItemsAdded, Change.MaxItemsRemoved, Change.MaxItemsIncreased, Change.MaxItemsDecreased);
    private static readonly LimitKinds MinItemsLimit = new("minItems", Change.MinItemsAdded, Change.MinItemsRemoved, Change.MinItemsIncreased, Change.MinItemsDecreased);
    private static readonly LimitKinds MaxContainsLimit = new("maxContains", Change.MaxContainsAdded, Change.MaxContainsRemoved, Change.MaxContainsIncreased, Change.MaxContainsDecreased);
    private static readonly LimitKinds MinContainsLimit = new("minContains", Change.MinContainsAdded, Change.MinContainsRemoved, Change.MinContainsIncreased, Change.MinContainsDecreased);

    private static readonly AdditionalKinds AdditionalPropertiesKinds = new("additionalProperties", Change.AdditionalPropertiesAdded, Change.AdditionalPropertiesRemoved, Change.AdditionalPropertiesExtended, Change.AdditionalPropertiesNarrowed);
    private static readonly AdditionalKinds AdditionalItemsKinds = new("additionalItems", Change.AdditionalItemsAdded, Change.AdditionalItemsRemoved, Change.AdditionalItemsExtended, Change.AdditionalItemsNarrowed);

    /// <summary>The most steps (subschema pairs compared plus differences recorded) one comparison may take.</summary>
    public const int DefaultMaxWork = 200_000;

    // The deepest nesting of subschema pairs one comparison may reach (each level a pair still being compared): recursions
    // of different lengths nest as deep as the product of their lengths. A bound that does not depend on the thread, below
    // what a thread pool thread's 1.5 MB stack held in measurements; the stack itself is checked as well.
    private const int MaxDepth = 500;

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
    /// <exception cref="SchemaTooComplexException">Comparing the schemas would take more than the bounded work, or nest subschemas too deep.</exception>
    public SchemaComparison Compare(string original, string update)
    {
        var context = new Context(_maxWork);
        Diff(context, JsonSchemaLoader.Load(original), JsonSchemaLoader.Load(update));
        var changes = context.Differences.Select(Describe).ToList();
        var incompatible = context.Differences.Where(d => !CompatibleChanges.Contains(d.Kind) && !(_lenient && LenientOnlyChanges.Contains(d.Kind))).Select(Describe).ToList();
        return new SchemaComparison(changes, incompatible);
    }

    /// <summary>The text of a difference, as the registry reports it: <c>"TYPE_CHANGED #/properties/foo"</c>.</summary>
    private static string Describe((Change Kind, string Path) difference) => $"{difference.Kind.ToConfluentName()} #/{difference.Path}";

    private static void Diff(Context ctx, JsonSchemaNode? original, JsonSchemaNode? update)
    {
        if (original is null && update is null)
        {
            return;
        }

        if (original is null)
        {
            ctx.Add(Change.SchemaAdded);
            return;
        }

        if (update is null)
        {
            ctx.Add(Change.SchemaRemoved);
            return;
        }

        ctx.Charge(1);
        ctx.Compare(original, update);
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
                        ctx.Add(Change.SumTypeExtended);
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
                ctx.Add(Change.TypeChanged);
            }

            return;
        }

        DiffSameKind(ctx, original, update);
    }

    private static void DiffSameKind(Context ctx, JsonSchemaNode original, JsonSchemaNode update)
    {
        if (original.Id != update.Id)
        {
            ctx.Add(Change.IdChanged);
        }

        if (original.Title != update.Title)
        {
            ctx.Add(Change.TitleChanged);
        }

        if (original.Description != update.Description)
        {
            ctx.Add(Change.DescriptionChanged);
        }

        if (original.HasDefault != update.HasDefault || !JsonNode.DeepEquals(original.Default, update.Default))
        {
            ctx.Add(Change.DefaultChanged);
        }

        switch (original.Kind)
        {
            case SchemaKind.String:
                Limit(ctx, MaxLengthLimit, original.MaxLength, update.MaxLength);
                Limit(ctx, MinLengthLimit, original.MinLength, update.MinLength);
                if (original.Pattern != update.Pattern)
                {
                    ctx.Add("pattern", original.Pattern is null ? Change.PatternAdded : update.Pattern is null ? Change.PatternRemoved : Change.PatternChanged);
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
                    ctx.Add("const", Change.EnumArrayChanged);
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

    private static void Limit<T>(Context ctx, LimitKinds kinds, T? original, T? update)
        where T : struct, IComparable<T>
    {
        if (original is null && update is null)
        {
            return;
        }

        if (original is null)
        {
            ctx.Add(kinds.Keyword, kinds.Added);
        }
        else if (update is null)
        {
            ctx.Add(kinds.Keyword, kinds.Removed);
        }
        else if (original.Value.CompareTo(update.Value) < 0)
        {
            ctx.Add(kinds.Keyword, kinds.Increased);
        }
        else if (original.Value.CompareTo(update.Value) > 0)
        {
            ctx.Add(kinds.Keyword, kinds.Decreased);
        }
    }

    private static void NumberDiff(Context ctx, JsonSchemaNode original, JsonSchemaNode update)
    {
        Limit(ctx, MaximumLimit, original.Maximum, update.Maximum);
        Limit(ctx, MinimumLimit, original.Minimum, update.Minimum);
        Limit(ctx, ExclusiveMaximumLimit, original.ExclusiveMaximum, update.ExclusiveMaximum);
        Limit(ctx, ExclusiveMinimumLimit, original.ExclusiveMinimum, update.ExclusiveMinimum);
        if (original.MultipleOf != update.MultipleOf)
        {
            if (original.MultipleOf is null)
            {
                ctx.Add("multipleOf", Change.MultipleOfAdded);
            }
            else if (update.MultipleOf is null)
            {
                ctx.Add("multipleOf", Change.MultipleOfRemoved);
            }
            else if (original.MultipleOf.Value % update.MultipleOf.Value == 0)
            {
                ctx.Add("multipleOf", Change.MultipleOfReduced);
            }
            else if (update.MultipleOf.Value % original.MultipleOf.Value == 0)
            {
                ctx.Add("multipleOf", Change.MultipleOfExpanded);
            }
            else
            {
                ctx.Add("multipleOf", Change.MultipleOfChanged);
            }
        }

        if (original.RequiresInteger != update.RequiresInteger)
        {
            ctx.Add(original.RequiresInteger ? Change.TypeExtended : Change.TypeNarrowed);
        }
    }

    private static void EnumDiff(Context ctx, JsonSchemaNode original, JsonSchemaNode update)
    {
        bool Contains(List<JsonNode?> values, JsonNode? value) => values.Any(v => JsonNode.DeepEquals(v, value));
        var added = update.EnumValues.Any(v => !Contains(original.EnumValues, v));
        var removed = original.EnumValues.Any(v => !Contains(update.EnumValues, v));
        if (added && removed)
        {
            ctx.Add("enum", Change.EnumArrayChanged);
        }
        else if (added)
        {
            ctx.Add("enum", Change.EnumArrayExtended);
        }
        else if (removed)
        {
            ctx.Add("enum", Change.EnumArrayNarrowed);
        }
    }

    private static void NotDiff(Context ctx, JsonSchemaNode original, JsonSchemaNode update)
    {
        ctx.Push("not");
        var sub = ctx.Sub();
        Diff(sub, update.NotSchema, original.NotSchema);
        if (!sub.IsCompatible)
        {
            ctx.Add(Change.NotTypeExtended);
        }
        else if (sub.Differences.Count > 0)
        {
            ctx.Add(Change.NotTypeNarrowed);
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
                ctx.Add(Change.CombinedTypeChanged);
                return;
            }

            ctx.Add(Change.CombinedTypeExtended);
        }

        if (originalCount < updateCount)
        {
            ctx.Add(update.Criterion == "allOf" ? Change.ProductTypeExtended : Change.SumTypeExtended);
        }
        else if (originalCount > updateCount)
        {
            ctx.Add(original.Criterion == "allOf" ? Change.ProductTypeNarrowed : Change.SumTypeNarrowed);
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
            ctx.Add(Change.CombinedTypeSubschemasChanged);
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
                ctx.Add(name, Change.RequiredAttributeRemoved);
            }
            else if (!wasRequired && isRequired)
            {
                ctx.Add(name, update.Properties[name].HasDefault ? Change.RequiredAttributeWithDefaultAdded : Change.RequiredAttributeAdded);
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
                    ctx.Add(Change.PropertyRemovedFromOpenContentModel);
                }
                else if (PartialSchema(update, name) is { } partial)
                {
                    var sub = ctx.Sub();
                    Diff(sub, before, partial);
                    ctx.AddAll(sub);
                    ctx.Add(sub.IsCompatible ? Change.PropertyRemovedIsCoveredByPartiallyOpenContentModel : Change.PropertyRemovedNotCoveredByPartiallyOpenContentModel);
                }
                else
                {
                    ctx.Add(before!.Kind == SchemaKind.False ? Change.PropertyWithFalseRemovedFromClosedContentModel : Change.PropertyRemovedFromClosedContentModel);
                }
            }
            else if (before is null)
            {
                if (IsOpen(original))
                {
                    ctx.Add(after.Kind == SchemaKind.Empty
                        ? Change.PropertyWithEmptySchemaAddedToOpenContentModel
                        : !update.Required.Contains(name) ? Change.OptionalPropertyAddedToOpenContentModel
                        : after.HasDefault ? Change.RequiredPropertyWithDefaultAddedToOpenContentModel : Change.RequiredPropertyAddedToOpenContentModel);
                }
                else
                {
                    if (PartialSchema(original, name) is { } partial)
                    {
                        var sub = ctx.Sub();
                        Diff(sub, partial, after);
                        ctx.AddAll(sub);
                        ctx.Add(sub.IsCompatible ? Change.PropertyAddedIsCoveredByPartiallyOpenContentModel : Change.PropertyAddedNotCoveredByPartiallyOpenContentModel);
                    }

                    ctx.Add(update.Required.Contains(name)
                        ? after.HasDefault ? Change.RequiredPropertyWithDefaultAddedToUnopenContentModel : Change.RequiredPropertyAddedToUnopenContentModel
                        : Change.OptionalPropertyAddedToUnopenContentModel);
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
                ctx.Add(name, Change.DependencyArrayRemoved);
            }
            else if (before is null)
            {
                ctx.Add(name, Change.DependencyArrayAdded);
            }
            else if (!before.SetEquals(after))
            {
                ctx.Add(name, after.IsSupersetOf(before) ? Change.DependencyArrayExtended : before.IsSupersetOf(after) ? Change.DependencyArrayNarrowed : Change.DependencyArrayChanged);
            }
        }

        foreach (var name in original.SchemaDependencies.Keys.Union(update.SchemaDependencies.Keys))
        {
            var before = original.SchemaDependencies.GetValueOrDefault(name);
            var after = update.SchemaDependencies.GetValueOrDefault(name);
            if (after is null)
            {
                ctx.Add(name, Change.DependencySchemaRemoved);
            }
            else if (before is null)
            {
                ctx.Add(name, Change.DependencySchemaAdded);
            }
            else
            {
                ctx.Push(name);
                Diff(ctx, before, after);
                ctx.Pop();
            }
        }

        ctx.Pop();

        AdditionalDiff(ctx, AdditionalPropertiesKinds, (original.PermitsAdditionalProperties, original.AdditionalPropertiesSchema), (update.PermitsAdditionalProperties, update.AdditionalPropertiesSchema));

        Limit(ctx, MaxPropertiesLimit, original.MaxProperties, update.MaxProperties);
        Limit(ctx, MinPropertiesLimit, original.MinProperties, update.MinProperties);
    }

    /// <summary>Compares what a content model allows beyond its declared properties or items.</summary>
    private static void AdditionalDiff(Context ctx, AdditionalKinds kinds, (bool Permits, JsonSchemaNode? Schema) original, (bool Permits, JsonSchemaNode? Schema) update)
    {
        ctx.Push(kinds.Keyword);
        if (original.Permits != update.Permits)
        {
            ctx.Add(update.Permits ? kinds.Added : kinds.Removed);
        }
        else if (original.Schema is null && update.Schema is not null)
        {
            ctx.Add(kinds.Narrowed);
        }
        else if (original.Schema is not null && update.Schema is null)
        {
            ctx.Add(kinds.Extended);
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
        Limit(ctx, MaxItemsLimit, original.MaxItems, update.MaxItems);
        Limit(ctx, MinItemsLimit, original.MinItems, update.MinItems);
        Limit(ctx, MaxContainsLimit, original.MaxContains, update.MaxContains);
        Limit(ctx, MinContainsLimit, original.MinContains, update.MinContains);
        if (original.UniqueItems != update.UniqueItems)
        {
            ctx.Add("uniqueItems", update.UniqueItems ? Change.UniqueItemsAdded : Change.UniqueItemsRemoved);
        }

        AdditionalDiff(ctx, AdditionalItemsKinds, (original.PermitsAdditionalItems, original.AdditionalItemsSchema), (update.PermitsAdditionalItems, update.AdditionalItemsSchema));

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
                    ctx.Add(Change.ItemRemovedFromOpenContentModel);
                }
                else if (update.AdditionalItemsSchema is { } partial)
                {
                    var sub = ctx.Sub();
                    Diff(sub, o, partial);
                    ctx.AddAll(sub);
                    ctx.Add(sub.IsCompatible ? Change.ItemRemovedIsCoveredByPartiallyOpenContentModel : Change.ItemRemovedNotCoveredByPartiallyOpenContentModel);
                }
                else
                {
                    ctx.Add(o!.Kind == SchemaKind.False ? Change.ItemWithFalseRemovedFromClosedContentModel : Change.ItemRemovedFromClosedContentModel);
                }
            }
            else if (o is null)
            {
                if (IsOpenItems(original))
                {
                    ctx.Add(u.Kind == SchemaKind.Empty ? Change.ItemWithEmptySchemaAddedToOpenContentModel : Change.ItemAddedToOpenContentModel);
                }
                else if (original.AdditionalItemsSchema is { } partial)
                {
                    var sub = ctx.Sub();
                    Diff(sub, partial, u);
                    ctx.AddAll(sub);
                    ctx.Add(sub.IsCompatible ? Change.ItemAddedIsCoveredByPartiallyOpenContentModel : Change.ItemAddedNotCoveredByPartiallyOpenContentModel);
                }
                else
                {
                    ctx.Add(Change.ItemAddedToClosedContentModel);
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

    /// <summary>The kinds of a bounded keyword: <c>maxLength</c>, <c>minimum</c>, ...</summary>
    private sealed record LimitKinds(string Keyword, Change Added, Change Removed, Change Increased, Change Decreased);

    /// <summary>The kinds of what a content model allows beyond its declared properties or items.</summary>
    private sealed record AdditionalKinds(string Keyword, Change Added, Change Removed, Change Extended, Change Narrowed);

    /// <summary>Where differences are collected, at a path; all the contexts of one comparison share its memo, its stack and its work bound.</summary>
    /// <remarks>
    /// Pairs of subschemas are memoised: the differences of a pair depend on the pair only (their paths are relative
    /// to it), so a pair is compared once and its differences replayed, under the current path, wherever it is reached
    /// again. A pair reached again while it is still being compared (a recursive <c>$ref</c>) is assumed compatible,
    /// co-inductively: the comparison under way reports its differences, at the first path that reached it. Every
    /// rule is monotone (a subschema that is more compatible never makes its parent less compatible), so a pair
    /// found incompatible under that assumption is incompatible; but a pair found compatible only because of it is
    /// provisional until the pair assumed completes. If that one turns out compatible the assumption held and the
    /// provisional results stand; if not, they are forgotten (they will be compared again, against its now known
    /// result, where they are reached next). Each pair on the stack is a <see cref="Frame"/>; as in Tarjan's strongly
    /// connected components, a frame knows the lowest frame its result assumed, and only a frame that assumed
    /// nothing below itself settles the provisional results computed while it ran.
    /// </remarks>
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
        public List<(Change Kind, string Path)> Differences { get; } = [];

        public bool IsCompatible => Differences.All(d => CompatibleChanges.Contains(d.Kind));

        public Context Sub() => new([.. _path], _shared);

        public Context Sub(string criterion, int index) => new([.. _path, criterion, index.ToString(System.Globalization.CultureInfo.InvariantCulture)], _shared);

        /// <summary>Compares a pair here: replays what is known of it, or compares it at a fresh root and remembers the result.</summary>
        public void Compare(JsonSchemaNode original, JsonSchemaNode update)
        {
            var shared = _shared;
            var key = (original, update);
            if (shared.Memo.TryGetValue(key, out var known))
            {
                if (known.Assumes is { } assumed)
                {
                    shared.Top.Assume(assumed.Settled());
                }

                Replay(known.Differences);
                return;
            }

            if (shared.InProgress.TryGetValue(key, out var running))
            {
                shared.Top.Assume(running); // a recursion: assumed compatible here
                return;
            }

            if (shared.Stack.Count >= MaxDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
            {
                throw new SchemaTooComplexException(
                    $"The schemas are too complex to check for compatibility: comparing them nests subschemas more than {shared.Stack.Count} deep (recursive references of different lengths nest as deep as the product of their lengths).");
            }

            var frame = new Frame(shared.Stack.Count, shared.Provisional.Count);
            shared.Stack.Add(frame);
            shared.InProgress.Add(key, frame);
            var pair = new Context([], shared);
            try
            {
                DiffPair(pair, original, update);
            }
            finally
            {
                shared.Stack.RemoveAt(shared.Stack.Count - 1);
                shared.InProgress.Remove(key);
            }

            shared.Complete(key, frame, pair.Differences, pair.IsCompatible);
            Replay(pair.Differences);
        }

        public void Charge(int steps)
        {
            _shared.Work += steps;
            if (_shared.Work > _shared.MaxWork)
            {
                throw new SchemaTooComplexException(
                    $"The schemas are too complex to check for compatibility: comparing them takes more than {_shared.MaxWork} steps (shared subschemas with differences multiply the locations to report).");
            }
        }

        public void Push(string segment) => _path.Add(segment);

        public void Pop() => _path.RemoveAt(_path.Count - 1);

        public void Add(Change kind)
        {
            Charge(1);
            Differences.Add((kind, string.Join('/', _path)));
        }

        public void Add(string segment, Change kind)
        {
            Push(segment);
            Add(kind);
            Pop();
        }

        public void AddAll(Context sub)
        {
            Charge(sub.Differences.Count);
            Differences.AddRange(sub.Differences);
        }

        private void Replay(List<(Change Kind, string Path)> relative)
        {
            if (relative.Count == 0)
            {
                return;
            }

            Charge(relative.Count);
            var prefix = string.Join('/', _path);
            foreach (var (kind, path) in relative)
            {
                Differences.Add((kind, prefix.Length == 0 ? path : path.Length == 0 ? prefix : prefix + "/" + path));
            }
        }

        /// <summary>A pair being compared, at a depth of the stack.</summary>
        private sealed class Frame(int depth, int firstProvisional)
        {
            public int Depth { get; } = depth;

            /// <summary>Gets the index, in <see cref="Shared.Provisional"/>, of the first result computed while this frame ran.</summary>
            public int FirstProvisional { get; } = firstProvisional;

            /// <summary>Gets the lowest frame (this one or one below) whose pair this one's result assumed compatible; null if none.</summary>
            public Frame? Lowest { get; private set; }

            /// <summary>Gets, once this frame has completed with a provisional result, the frame that result assumed.</summary>
            public Frame? SettledBy { get; set; }

            public void Assume(Frame frame)
            {
                if (Lowest is null || frame.Depth < Lowest.Depth)
                {
                    Lowest = frame;
                }
            }

            /// <summary>Gets the frame still running that decides a result which assumed this one.</summary>
            public Frame Settled()
            {
                var frame = this;
                while (frame.SettledBy is { } next)
                {
                    frame = next;
                }

                // Path compression: the frames passed settle by that one too.
                for (var passed = this; passed.SettledBy is { } next && next != frame; passed = next)
                {
                    passed.SettledBy = frame;
                }

                return frame;
            }
        }

        /// <summary>What is known of a pair: its differences and, while provisional, the frame whose compatibility they assume.</summary>
        private sealed record Known(List<(Change Kind, string Path)> Differences, Frame? Assumes);

        private sealed class Shared(int maxWork)
        {
            public int MaxWork { get; } = maxWork;

            public long Work { get; set; }

            public List<Frame> Stack { get; } = [];

            public Frame Top => Stack[^1];

            public Dictionary<(JsonSchemaNode, JsonSchemaNode), Frame> InProgress { get; } = [];

            public Dictionary<(JsonSchemaNode, JsonSchemaNode), Known> Memo { get; } = [];

            /// <summary>Gets the pairs whose memoised (compatible) result is provisional, in the order they completed.</summary>
            public List<(JsonSchemaNode, JsonSchemaNode)> Provisional { get; } = [];

            public void Complete((JsonSchemaNode, JsonSchemaNode) key, Frame frame, List<(Change Kind, string Path)> differences, bool compatible)
            {
                if (!compatible)
                {
                    // Incompatible even with its recursions assumed compatible: incompatible, whatever the pairs it
                    // assumed turn out to be. The results computed meanwhile that assumed it compatible are wrong:
                    // forget them all (those that assumed only pairs further up are merely compared again).
                    Settle(frame.FirstProvisional, stands: false);
                    Memo[key] = new Known(differences, null);
                    return;
                }

                var lowest = frame.Lowest?.Settled();
                if (lowest is not null && lowest.Depth < frame.Depth)
                {
                    // Compatible if the pair further up that it assumed is: that one decides, for this result and for
                    // those computed meanwhile.
                    frame.SettledBy = lowest;
                    Memo[key] = new Known(differences, lowest);
                    Provisional.Add(key);
                    Top.Assume(lowest);
                    return;
                }

                // It assumed at most itself, and is compatible: the assumption held, what was computed meanwhile stands.
                Settle(frame.FirstProvisional, stands: true);
                Memo[key] = new Known(differences, null);
            }

            /// <summary>Settles the provisional results from an index on: they stand (final now), or are forgotten.</summary>
            private void Settle(int first, bool stands)
            {
                for (var i = first; i < Provisional.Count; i++)
                {
                    var pending = Provisional[i];
                    if (stands)
                    {
                        Memo[pending] = Memo[pending] with { Assumes = null };
                    }
                    else
                    {
                        Memo.Remove(pending);
                    }
                }

                Provisional.RemoveRange(first, Provisional.Count - first);
            }
        }
    }
}
