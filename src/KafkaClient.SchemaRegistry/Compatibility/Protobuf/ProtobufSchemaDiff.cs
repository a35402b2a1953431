using System.Runtime.CompilerServices;
using KafkaClient.SchemaRegistry.Compatibility.Json;

namespace KafkaClient.SchemaRegistry.Compatibility.Protobuf;

/// <summary>Confluent Schema Registry's Protobuf compatibility rules: which changes a reader of the new schema tolerates.</summary>
/// <remarks>
/// Differences are named, located and ordered as Confluent's registry lists them (<c>"FIELD_ADDED #/TestMessage/2"</c>),
/// Java's hash-set iteration order included. Options, reserved ranges, services and extensions are not compared, as
/// in Confluent's rules. Stateless and thread-safe. The work of one comparison is bounded: beyond
/// <see cref="DefaultMaxWork"/> steps, or types compared through too many references deep, it throws
/// <see cref="SchemaTooComplexException"/> instead of running for minutes or exhausting the stack.
/// </remarks>
public sealed class ProtobufSchemaDiff : ISchemaDiff<ProtobufSchema>
{
    /// <summary>The changes that keep a Protobuf schema backward compatible. Read-only: not castable to a mutable set.</summary>
    public static readonly IReadOnlySet<string> CompatibleChanges = new ReadOnlyKindSet<string>(
        ProtobufChanges.Compatible.Select(ProtobufChanges.Name));

    /// <summary>The most steps (messages and fields compared plus differences recorded) one comparison may take.</summary>
    public const int DefaultMaxWork = 200_000;

    /// <summary>The deepest nesting of message comparisons (nested types and types compared through references).</summary>
    internal const int MaxDepth = 200;

    private readonly int _maxWork;

    /// <summary>Initializes a new instance of the <see cref="ProtobufSchemaDiff"/> class.</summary>
    public ProtobufSchemaDiff()
        : this(DefaultMaxWork)
    {
    }

    internal ProtobufSchemaDiff(int maxWork)
    {
        _maxWork = maxWork;
    }

    /// <inheritdoc/>
    public string SchemaType => "PROTOBUF";

    /// <inheritdoc/>
    /// <exception cref="SchemaTooComplexException">Comparing the schemas would take more than the bounded work.</exception>
    public SchemaComparison Compare(ProtobufSchema original, ProtobufSchema update)
    {
        ArgumentNullException.ThrowIfNull(original);
        ArgumentNullException.ThrowIfNull(update);
        var differences = Differences(original, update, _maxWork);
        var changes = differences.Select(d => d.ToString()).ToList();
        var incompatible = differences.Where(d => !ProtobufChanges.IsCompatible(d.Type)).Select(d => d.ToString()).ToList();
        return new SchemaComparison(changes, incompatible);
    }

    internal static List<ProtobufDifference> Differences(ProtobufSchema original, ProtobufSchema update, int maxWork)
    {
        var o = original.DiffModel;
        var u = update.DiffModel;
        var ctx = new Context(o, u, new Budget(maxWork), new HashSet<ProtoMessage>(ReferenceEqualityComparer.Instance), []);
        if (!string.Equals(o.Package, u.Package, StringComparison.Ordinal))
        {
            ctx.Add(ProtobufChange.PackageChanged);
        }

        CompareTypes(ctx, o.File, u.File);
        return ctx.Differences;
    }

    private static void CompareTypes(Context ctx, ProtoMessage original, ProtoMessage update)
    {
        // Messages by simple name (a later one of the same name replaces an earlier one, as in a Java map), with their
        // position among the messages of their level; then enums.
        var originalMessages = Index(original.Messages, m => m.Name);
        var updateMessages = Index(update.Messages, m => m.Name);
        foreach (var name in JavaHashOrder.Union(original.Messages.Select(m => m.Name), update.Messages.Select(m => m.Name)))
        {
            ctx.Push(name);
            var inOriginal = originalMessages.TryGetValue(name, out var o);
            var inUpdate = updateMessages.TryGetValue(name, out var u);
            if (!inUpdate)
            {
                ctx.Add(ProtobufChange.MessageRemoved);
            }
            else if (!inOriginal)
            {
                ctx.Add(ProtobufChange.MessageAdded);
            }
            else
            {
                CompareMessages(ctx, o.Item, u.Item);
                if (o.Index != u.Index)
                {
                    // Compatible: message indexes in the data refer to the writer's schema.
                    ctx.Add(ProtobufChange.MessageMoved);
                }
            }

            ctx.Pop();
        }

        var originalEnums = Index(original.Enums, e => e.Name);
        var updateEnums = Index(update.Enums, e => e.Name);
        foreach (var name in JavaHashOrder.Union(original.Enums.Select(e => e.Name), update.Enums.Select(e => e.Name)))
        {
            ctx.Push(name);
            var inOriginal = originalEnums.TryGetValue(name, out var o);
            var inUpdate = updateEnums.TryGetValue(name, out var u);
            if (!inUpdate)
            {
                ctx.Add(ProtobufChange.EnumRemoved);
            }
            else if (!inOriginal)
            {
                ctx.Add(ProtobufChange.EnumAdded);
            }
            else
            {
                CompareEnums(ctx, o.Item, u.Item);
            }

            ctx.Pop();
        }
    }

    private static Dictionary<string, (T Item, int Index)> Index<T>(List<T> items, Func<T, string> name)
    {
        var index = new Dictionary<string, (T, int)>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            index[name(items[i])] = (items[i], i);
        }

        return index;
    }

    private static void CompareEnums(Context ctx, ProtoEnum original, ProtoEnum update)
    {
        var originalByNumber = new Dictionary<int, string>();
        foreach (var (number, name) in original.Constants)
        {
            originalByNumber[number] = name;
        }

        var updateByNumber = new Dictionary<int, string>();
        foreach (var (number, name) in update.Constants)
        {
            updateByNumber[number] = name;
        }

        var numbers = JavaHashOrder.Union(original.Constants.Select(c => c.Number), update.Constants.Select(c => c.Number));
        foreach (var number in numbers)
        {
            ctx.Push(number.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (!updateByNumber.TryGetValue(number, out var updateName))
            {
                ctx.Add(ProtobufChange.EnumConstRemoved);
            }
            else if (!originalByNumber.TryGetValue(number, out var originalName))
            {
                ctx.Add(ProtobufChange.EnumConstAdded);
            }
            else if (!string.Equals(originalName, updateName, StringComparison.Ordinal))
            {
                ctx.Add(ProtobufChange.EnumConstChanged);
            }

            ctx.Pop();
        }
    }

    private static void CompareMessages(Context ctx, ProtoMessage original, ProtoMessage update)
    {
        ctx.Enter();
        // A message already being compared further up (a type that refers back to itself through references) is
        // not compared again; its nested types still are, as in Confluent's rules.
        var entered = ctx.Schemas.Add(original);
        try
        {
            if (entered)
            {
                CompareFields(ctx, original, update);
            }

            CompareTypes(ctx, original, update);
        }
        finally
        {
            if (entered)
            {
                ctx.Schemas.Remove(original);
            }

            ctx.Exit();
        }
    }

    private static void CompareFields(Context ctx, ProtoMessage original, ProtoMessage update)
    {
        var (originalByTag, originalOneofOf, originalOneofs) = CollectFields(original);
        var (updateByTag, updateOneofOf, updateOneofs) = CollectFields(update);

        // An original oneof gone by name, none of whose members is left anywhere, was deleted whole (compatible).
        var deletedWhole = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, oneof) in originalOneofs)
        {
            if (!updateOneofs.ContainsKey(name) && !oneof.Fields.Any(f => updateByTag.ContainsKey(f.Tag)))
            {
                deletedWhole.Add(name);
            }
        }

        // Fields that could be set together before and cannot now: members of an update oneof that came from more
        // than one original group (an original oneof, or each original top-level field on its own).
        foreach (var oneof in update.Oneofs)
        {
            ctx.Push(oneof.Name);
            var groups = new HashSet<string>(StringComparer.Ordinal);
            var movedIn = 0;
            foreach (var field in oneof.Fields)
            {
                if (originalOneofOf.TryGetValue(field.Tag, out var from))
                {
                    groups.Add("oneof:" + from);
                }
                else if (originalByTag.ContainsKey(field.Tag))
                {
                    groups.Add("field:" + field.Tag.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    movedIn++;
                }
            }

            if (groups.Count > 1)
            {
                ctx.Add(movedIn > 1 ? ProtobufChange.MultipleFieldsMovedToOneof : ProtobufChange.FieldMovedToExistingOneof);
            }

            ctx.Pop();
        }

        foreach (var name in originalOneofs.Keys.Union(updateOneofs.Keys).Order(StringComparer.Ordinal))
        {
            ctx.Push(name);
            if (!updateOneofs.ContainsKey(name))
            {
                ctx.Add(ProtobufChange.OneofRemoved);
            }
            else if (!originalOneofs.ContainsKey(name))
            {
                ctx.Add(ProtobufChange.OneofAdded);
            }

            ctx.Pop();
        }

        foreach (var tag in originalByTag.Keys.Union(updateByTag.Keys).Order())
        {
            ctx.Charge();
            var tagName = tag.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var inOriginal = originalByTag.TryGetValue(tag, out var originalField);
            var inUpdate = updateByTag.TryGetValue(tag, out var updateField);
            var originalOneof = originalOneofOf.GetValueOrDefault(tag);
            var updateOneof = updateOneofOf.GetValueOrDefault(tag);
            if (!inUpdate)
            {
                if (originalOneof is not null)
                {
                    if (!deletedWhole.Contains(originalOneof))
                    {
                        ctx.Add(ProtobufChange.OneofFieldRemoved, originalOneof, tagName);
                    }
                }
                else
                {
                    ctx.Add(originalField!.Label == ProtoLabel.Required ? ProtobufChange.RequiredFieldRemoved : ProtobufChange.FieldRemoved, tagName);
                }
            }
            else if (!inOriginal)
            {
                if (updateOneof is not null)
                {
                    ctx.Add(ProtobufChange.OneofFieldAdded, updateOneof, tagName);
                }
                else
                {
                    ctx.Add(updateField!.Label == ProtoLabel.Required ? ProtobufChange.RequiredFieldAdded : ProtobufChange.FieldAdded, tagName);
                }
            }
            else
            {
                if (originalOneof is not null && updateOneof is null)
                {
                    ctx.Add(ProtobufChange.OneofFieldMovedToTopLevel, tagName);
                }

                if (updateOneof is not null)
                {
                    ctx.Push(updateOneof);
                }

                ctx.Push(tagName);
                CompareField(ctx, originalField!, updateField!);
                ctx.Pop();
                if (updateOneof is not null)
                {
                    ctx.Pop();
                }
            }
        }
    }

    private static (Dictionary<int, ProtoField> ByTag, Dictionary<int, string> OneofOf, Dictionary<string, ProtoOneof> Oneofs) CollectFields(ProtoMessage message)
    {
        var byTag = new Dictionary<int, ProtoField>();
        var oneofOf = new Dictionary<int, string>();
        var oneofs = new Dictionary<string, ProtoOneof>(StringComparer.Ordinal);
        foreach (var field in message.Fields)
        {
            byTag[field.Tag] = field;
        }

        foreach (var oneof in message.Oneofs)
        {
            oneofs[oneof.Name] = oneof;
            foreach (var field in oneof.Fields)
            {
                byTag[field.Tag] = field;
                oneofOf[field.Tag] = oneof.Name;
            }
        }

        return (byTag, oneofOf, oneofs);
    }

    private static void CompareField(Context ctx, ProtoField original, ProtoField update)
    {
        if (!string.Equals(original.Name, update.Name, StringComparison.Ordinal))
        {
            ctx.Add(ProtobufChange.FieldNameChanged);
        }

        CompareLabelsAndTypes(ctx, original.Label, update.Label, original.Type, update.Type);
    }

    private static void CompareLabelsAndTypes(Context ctx, ProtoLabel? originalLabel, ProtoLabel? updateLabel, ProtoFieldType originalType, ProtoFieldType updateType)
    {
        originalType = ctx.Original.Types.GetValueOrDefault(originalType.Name)?.MapType ?? originalType;
        updateType = ctx.Update.Types.GetValueOrDefault(updateType.Name)?.MapType ?? updateType;
        var originalKind = KindOf(ctx.Original, originalType);
        var updateKind = KindOf(ctx.Update, updateType);
        if (originalKind != updateKind)
        {
            ctx.Add(ProtobufChange.FieldKindChanged);
            return;
        }

        switch (originalKind)
        {
            case ProtoTypeForm.Scalar:
                var originalScalar = ScalarKindOf(ctx.Original, originalType);
                var updateScalar = ScalarKindOf(ctx.Update, updateType);
                if (originalScalar != updateScalar)
                {
                    ctx.Add(ProtobufChange.FieldScalarKindChanged);
                }
                else if (originalLabel is not null && updateLabel is not null && originalLabel != updateLabel)
                {
                    ctx.Add(originalScalar == ScalarKind.StringOrBytes ? ProtobufChange.FieldStringOrBytesLabelChanged : ProtobufChange.FieldNumericLabelChanged);
                }

                break;
            case ProtoTypeForm.Named:
                CompareMessageTypes(ctx, originalType, updateType);
                break;
            default:
                CompareLabelsAndTypes(ctx, null, null, originalType.Key!, updateType.Key!);
                CompareLabelsAndTypes(ctx, null, null, originalType.Value!, updateType.Value!);
                break;
        }
    }

    /// <summary>Gets Confluent's kind of a type: scalar (enums too), map, or message (<see cref="ProtoTypeForm.Named"/>).</summary>
    private static ProtoTypeForm KindOf(ProtobufDiffModel model, ProtoFieldType type) => type.Form switch
    {
        ProtoTypeForm.Named when model.Types.GetValueOrDefault(type.Name)?.Enum is not null => ProtoTypeForm.Scalar,
        _ => type.Form,
    };

    private static ScalarKind ScalarKindOf(ProtobufDiffModel model, ProtoFieldType type)
    {
        if (type.Form == ProtoTypeForm.Named && model.Types.GetValueOrDefault(type.Name)?.Enum is not null)
        {
            return ScalarKind.GeneralNumber;
        }

        return type.Name switch
        {
            "int32" or "int64" or "uint32" or "uint64" or "bool" => ScalarKind.GeneralNumber,
            "sint32" or "sint64" => ScalarKind.SignedNumber,
            "string" or "bytes" => ScalarKind.StringOrBytes,
            "fixed32" or "sfixed32" => ScalarKind.Fixed32,
            "fixed64" or "sfixed64" => ScalarKind.Fixed64,
            "float" => ScalarKind.Float,
            _ => ScalarKind.Double,
        };
    }

    private static void CompareMessageTypes(Context ctx, ProtoFieldType original, ProtoFieldType update)
    {
        var originalType = ctx.Original.Types.GetValueOrDefault(original.Name);
        var updateType = ctx.Update.Types.GetValueOrDefault(update.Name);
        if (originalType?.Message is null || updateType?.Message is null)
        {
            if (!string.Equals(original.Name, update.Name, StringComparison.Ordinal))
            {
                ctx.Add(ProtobufChange.FieldNamedTypeChanged);
            }

            return;
        }

        var originalLocal = LocalName(original.Name, originalType.Package);
        var updateLocal = LocalName(update.Name, updateType.Package);
        if (!string.Equals(originalLocal, updateLocal, StringComparison.Ordinal))
        {
            ctx.Add(ProtobufChange.FieldNamedTypeChanged);
            return;
        }

        // Types of the schema itself, or of one subject version on both sides, are compared where they are declared.
        if (originalType.Ref is not null && originalType.Ref == updateType.Ref)
        {
            return;
        }

        var sub = ctx.Sub(originalLocal.Split('.'));
        CompareMessages(sub, originalType.Message, updateType.Message);
        ctx.Differences.AddRange(sub.Differences);
        if (sub.Differences.Any(d => !ProtobufChanges.IsCompatible(d.Type)))
        {
            ctx.Add(ProtobufChange.FieldNamedTypeChanged);
        }
    }

    private static string LocalName(string fullName, string package) =>
        package.Length > 0 && fullName.StartsWith(package + ".", StringComparison.Ordinal) ? fullName[(package.Length + 1)..] : fullName;

    private enum ScalarKind
    {
        GeneralNumber,
        SignedNumber,
        StringOrBytes,
        Fixed32,
        Fixed64,
        Float,
        Double,
    }

    private sealed class Budget(int maxWork)
    {
        private int _work;

        public int Depth { get; set; }

        public void Charge()
        {
            if (++_work > maxWork)
            {
                throw new SchemaTooComplexException($"Comparing the Protobuf schemas took more than {maxWork} steps.");
            }
        }
    }

    private sealed class Context(ProtobufDiffModel original, ProtobufDiffModel update, Budget budget, HashSet<ProtoMessage> schemas, List<string> path)
    {
        public ProtobufDiffModel Original { get; } = original;

        public ProtobufDiffModel Update { get; } = update;

        public HashSet<ProtoMessage> Schemas { get; } = schemas;

        public List<ProtobufDifference> Differences { get; } = [];

        public Context Sub(IEnumerable<string> path) => new(Original, Update, budget, Schemas, [.. path]);

        public void Push(string segment) => path.Add(segment);

        public void Pop() => path.RemoveAt(path.Count - 1);

        public void Charge() => budget.Charge();

        public void Enter()
        {
            budget.Charge();
            if (++budget.Depth > MaxDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
            {
                throw new SchemaTooComplexException($"Comparing the Protobuf schemas nests messages more than {MaxDepth} deep.");
            }
        }

        public void Exit() => budget.Depth--;

        public void Add(ProtobufChange type, params string[] segments)
        {
            budget.Charge();
            var location = segments.Length == 0 ? path : path.Concat(segments);
            Differences.Add(new ProtobufDifference(type, "#/" + string.Join("/", location)));
        }
    }
}
