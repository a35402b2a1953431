using System.Collections;
using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KafkaClient.SchemaRegistry.Compatibility.Json;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>The loaded form of a JSON Schema: a placeholder for a recursive reference becomes the whole target.</summary>
public class JsonSchemaNodeTests
{
    [Fact]
    public void Copy_from_copies_every_member_so_a_member_added_later_cannot_be_forgotten()
    {
        var source = new JsonSchemaNode();
        var properties = typeof(JsonSchemaNode).GetProperties(BindingFlags.Public | BindingFlags.Instance);
        Assert.NotEmpty(properties);
        foreach (var property in properties)
        {
            if (property.CanWrite)
            {
                var value = NonDefault(property.PropertyType, property.GetValue(source));
                property.SetValue(source, value);
                Assert.NotEqual(property.GetValue(new JsonSchemaNode()), value);
            }
            else
            {
                Fill((IEnumerable)property.GetValue(source)!);
            }
        }

        var copy = new JsonSchemaNode();
        copy.CopyFrom(source);

        foreach (var property in properties)
        {
            var expected = property.GetValue(source);
            var actual = property.GetValue(copy);
            if (property.CanWrite)
            {
                Assert.True(Equals(expected, actual), property.Name);
            }
            else
            {
                Assert.True(((IEnumerable)expected!).Cast<object>().SequenceEqual(((IEnumerable)actual!).Cast<object>()), property.Name);
                Assert.NotSame(expected, actual); // the placeholder keeps its own collections
            }
        }
    }

    private static object NonDefault(Type type, object? current)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        return target switch
        {
            _ when target == typeof(bool) => !(bool)current!,
            _ when target == typeof(string) => "x",
            _ when target == typeof(long) => 7L,
            _ when target == typeof(decimal) => 7m,
            _ when target == typeof(SchemaKind) => SchemaKind.Not,
            _ when target == typeof(JsonNode) => JsonValue.Create(7),
            _ when target == typeof(JsonSchemaNode) => new JsonSchemaNode(),
            _ when target == typeof(List<JsonSchemaNode>) => new List<JsonSchemaNode> { new() },
            _ => throw new InvalidOperationException($"No test value for {type}: add one."),
        };
    }

    private static void Fill(IEnumerable collection)
    {
        switch (collection)
        {
            case Dictionary<string, JsonSchemaNode> schemas:
                schemas["x"] = new JsonSchemaNode();
                break;
            case HashSet<string> names:
                names.Add("x");
                break;
            case List<(Regex Pattern, JsonSchemaNode Schema)> patterns:
                patterns.Add((new Regex("x", RegexOptions.None, TimeSpan.FromSeconds(1)), new JsonSchemaNode()));
                break;
            case Dictionary<string, HashSet<string>> dependencies:
                dependencies["x"] = ["y"];
                break;
            case List<JsonNode?> values:
                values.Add(JsonValue.Create(7));
                break;
            case List<JsonSchemaNode> subschemas:
                subschemas.Add(new JsonSchemaNode());
                break;
            default:
                throw new InvalidOperationException($"No test value for {collection.GetType()}: add one.");
        }
    }
}
