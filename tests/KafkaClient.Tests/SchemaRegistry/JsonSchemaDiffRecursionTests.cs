using System.Diagnostics;
using System.Text;
using KafkaClient.SchemaRegistry.Compatibility;
using KafkaClient.SchemaRegistry.Compatibility.Json;
using KafkaClient.Testing;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Recursive <c>$ref</c>s are compared for real: a change below the first level of recursion is found and located.</summary>
public class JsonSchemaDiffRecursionTests
{
    private readonly JsonSchemaDiff _diff = new();

    // A tree node whose children are nodes: the root node and the nodes below it are separate definitions, so that
    // the root's value may differ from theirs.
    private static string Tree(string rootValue, string nodeValue) =>
        """
        {
          "$ref": "#/definitions/root",
          "definitions": {
            "root": {"type": "object", "properties": {"name": {"type": "string"}, "value": ROOT_VALUE, "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}},
            "node": {"type": "object", "properties": {"name": {"type": "string"}, "value": NODE_VALUE, "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}}
          }
        }
        """.Replace("ROOT_VALUE", rootValue, StringComparison.Ordinal).Replace("NODE_VALUE", nodeValue, StringComparison.Ordinal);

    // One definition for every level: a node whose children are nodes, with the given value schema.
    private static string SelfSimilar(string value) =>
        """
        {
          "$ref": "#/definitions/node",
          "definitions": {
            "node": {"type": "object", "properties": {"name": {"type": "string"}, "value": VALUE, "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}}
          }
        }
        """.Replace("VALUE", value, StringComparison.Ordinal);

    [Fact]
    public void A_narrower_type_below_the_root_of_a_recursive_schema_is_reported_where_it_is_narrowed()
    {
        // Before: integers at the root, numbers in every node below. After: integers everywhere.
        var original = Tree("{\"type\": \"integer\"}", "{\"type\": \"number\"}");
        var update = SelfSimilar("{\"type\": \"integer\"}");

        var result = _diff.Compare(original, update);

        Assert.Equal(["TYPE_NARROWED #/properties/children/items/properties/value"], result.Changes);
        Assert.False(result.IsCompatible);
    }

    [Fact]
    public void A_required_property_added_below_the_root_of_a_recursive_schema_is_reported_where_it_is_added()
    {
        // Before: the root requires a name, the nodes below do not. After: every node requires it.
        const string original = """
            {
              "$ref": "#/definitions/root",
              "definitions": {
                "root": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}},
                "node": {"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}}
              }
            }
            """;
        const string update = """
            {
              "$ref": "#/definitions/node",
              "definitions": {
                "node": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}}
              }
            }
            """;

        var result = _diff.Compare(original, update);

        Assert.Equal(["REQUIRED_ATTRIBUTE_ADDED #/properties/children/items/required/name"], result.Changes);
        Assert.False(result.IsCompatible);
    }

    [Fact]
    public void A_change_two_levels_down_a_recursion_is_reported_there()
    {
        // The update unrolls the recursion twice; only its third level (and below) narrows the value.
        const string original = """
            {"type": "object", "properties": {"value": {"type": "number"}, "next": {"$ref": "#"}}}
            """;
        const string update = """
            {
              "type": "object",
              "properties": {"value": {"type": "number"}, "next": {"$ref": "#/definitions/second"}},
              "definitions": {
                "second": {"type": "object", "properties": {"value": {"type": "number"}, "next": {"$ref": "#/definitions/third"}}},
                "third": {"type": "object", "properties": {"value": {"type": "integer"}, "next": {"$ref": "#/definitions/third"}}}
              }
            }
            """;

        var result = _diff.Compare(original, update);

        Assert.Equal(["TYPE_NARROWED #/properties/next/properties/next/properties/value"], result.Changes);
        Assert.False(result.IsCompatible);
    }

    [Fact]
    public void The_same_recursive_schema_written_through_other_references_is_compatible()
    {
        const string throughDefinitions = """
            {"$ref": "#/definitions/tree", "definitions": {"tree": {"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/definitions/tree"}}}}}}
            """;
        const string throughRoot = """
            {"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}}}
            """;
        const string unrolledOnce = """
            {"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/definitions/tree"}}},
             "definitions": {"tree": {"type": "object", "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/definitions/tree"}}}}}}
            """;
        string[] forms = [throughDefinitions, throughRoot, unrolledOnce];

        foreach (var original in forms)
        {
            foreach (var update in forms)
            {
                var result = _diff.Compare(original, update);
                Assert.True(result.Changes.Count == 0, $"{original} -> {update}: {string.Join(", ", result.Changes)}");
            }
        }
    }

    [Theory]
    [InlineData("#/definitions/node")]
    [InlineData("#")]
    public void A_change_to_a_recursive_node_is_reported_once_at_the_first_path_that_reaches_it(string reference)
    {
        static string Node(string reference, int maxLength) => (reference == "#"
            ? """{"type": "object", "properties": {"value": {"type": "string", "maxLength": MAX_LENGTH}, "children": {"type": "array", "items": {"$ref": "#"}}}}"""
            : """{"$ref": "#/definitions/node", "definitions": {"node": {"type": "object", "properties": {"value": {"type": "string", "maxLength": MAX_LENGTH}, "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}}}}""").Replace("MAX_LENGTH", maxLength.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

        var wider = _diff.Compare(Node(reference, 10), Node(reference, 20));
        Assert.Equal(["MAX_LENGTH_INCREASED #/properties/value/maxLength"], wider.Changes);
        Assert.True(wider.IsCompatible);

        var narrower = _diff.Compare(Node(reference, 20), Node(reference, 10));
        Assert.Equal(["MAX_LENGTH_DECREASED #/properties/value/maxLength"], narrower.Changes);
        Assert.False(narrower.IsCompatible);
    }

    [Fact]
    public void A_narrower_type_throughout_a_recursive_node_is_reported_once()
    {
        var result = _diff.Compare(SelfSimilar("{\"type\": \"number\"}"), SelfSimilar("{\"type\": \"integer\"}"));

        Assert.Equal(["TYPE_NARROWED #/properties/value"], result.Changes);
        Assert.False(result.IsCompatible);
    }

    [Fact]
    public void Mutually_recursive_definitions_are_compared_where_the_recursion_differs()
    {
        // a -> b -> a. After, the a reached through b is a2, whose x is limited: found two levels down, where a2 is.
        const string original = """
            {
              "$ref": "#/definitions/a",
              "definitions": {
                "a": {"type": "object", "properties": {"x": {"type": "string"}, "b": {"$ref": "#/definitions/b"}}},
                "b": {"type": "object", "properties": {"y": {"type": "string"}, "a": {"$ref": "#/definitions/a"}}}
              }
            }
            """;
        const string update = """
            {
              "$ref": "#/definitions/a",
              "definitions": {
                "a": {"type": "object", "properties": {"x": {"type": "string"}, "b": {"$ref": "#/definitions/b"}}},
                "b": {"type": "object", "properties": {"y": {"type": "string"}, "a": {"$ref": "#/definitions/a2"}}},
                "a2": {"type": "object", "properties": {"x": {"type": "string", "maxLength": 5}, "b": {"$ref": "#/definitions/b"}}}
              }
            }
            """;

        var result = _diff.Compare(original, update);

        Assert.Equal(["MAX_LENGTH_ADDED #/properties/b/properties/a/properties/x/maxLength"], result.Changes);
        Assert.False(result.IsCompatible);
    }

    [Fact]
    public void A_comparison_assumed_compatible_inside_an_alternative_that_failed_is_compared_again()
    {
        // Property a: x against anyOf [u, x]. Comparing x with u (integers: incompatible) compares x with w on the way
        // (w.next is u again, which is being compared: assumed compatible there). The alternative u fails, x matches.
        // Property b then compares x with w on its own: w.next is u, which narrows the value, so b is incompatible;
        // a result for (x, w) kept from inside the failed alternative would wrongly say compatible.
        const string original = """
            {
              "type": "object",
              "properties": {"a": {"$ref": "#/definitions/x"}, "b": {"$ref": "#/definitions/x"}},
              "definitions": {
                "x": {"type": "object", "properties": {"v": {"type": "number"}, "next": {"$ref": "#/definitions/x"}}}
              }
            }
            """;
        const string update = """
            {
              "type": "object",
              "properties": {"a": {"anyOf": [{"$ref": "#/definitions/u"}, {"$ref": "#/definitions/x"}]}, "b": {"$ref": "#/definitions/w"}},
              "definitions": {
                "x": {"type": "object", "properties": {"v": {"type": "number"}, "next": {"$ref": "#/definitions/x"}}},
                "u": {"type": "object", "properties": {"v": {"type": "integer"}, "next": {"$ref": "#/definitions/w"}}},
                "w": {"type": "object", "properties": {"v": {"type": "number"}, "next": {"$ref": "#/definitions/u"}}}
              }
            }
            """;

        var result = _diff.Compare(original, update);

        Assert.Equal(["SUM_TYPE_EXTENDED #/properties/a", "TYPE_NARROWED #/properties/b/properties/next/properties/v"], result.Changes.Order(StringComparer.Ordinal));
        Assert.Equal(["TYPE_NARROWED #/properties/b/properties/next/properties/v"], result.Incompatible);
    }

    [Fact]
    public void Densely_recursive_definitions_are_compared_quickly()
    {
        // Ten definitions, each allowing any of the ten as its next: 100 pairs of definitions and 100 pairs of anyOfs.
        static string Dense(int maxLength)
        {
            var text = new StringBuilder("{\"$ref\": \"#/definitions/d0\", \"definitions\": {");
            for (var i = 0; i < 10; i++)
            {
                text.Append(i == 0 ? string.Empty : ",").Append("\"d").Append(i).Append("\": {\"type\": \"object\", \"properties\": {\"v\": {\"type\": \"string\", \"maxLength\": ")
                    .Append(i == 9 ? maxLength : 10).Append("}, \"next\": {\"anyOf\": [");
                for (var j = 0; j < 10; j++)
                {
                    text.Append(j == 0 ? string.Empty : ",").Append("{\"$ref\": \"#/definitions/d").Append(j).Append("\"}");
                }

                text.Append("]}}}");
            }

            return text.Append("}}").ToString();
        }

        var stopwatch = Stopwatch.StartNew();
        var same = _diff.Compare(Dense(10), Dense(10));
        var wider = _diff.Compare(Dense(10), Dense(20));
        var narrower = _diff.Compare(Dense(20), Dense(10));
        stopwatch.Stop();

        Assert.Empty(same.Changes);

        // The wider d9 is reported where the matching of the root's anyOf pairs it (with whichever d it matched).
        Assert.True(wider.IsCompatible);
        Assert.Matches("^MAX_LENGTH_INCREASED #/properties/next/anyOf/[0-9]/properties/v/maxLength$", Assert.Single(wider.Changes));

        // The narrower d9 matches none of the original's ten.
        Assert.Equal(["COMBINED_TYPE_SUBSCHEMAS_CHANGED #/properties/next"], narrower.Changes);
        Assert.False(narrower.IsCompatible);
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Recursions_of_different_lengths_nested_too_deep_are_refused_as_too_complex_not_a_crash()
    {
        // A cycle of 97 definitions against one of 89: the pairs met on the way nest 97 * 89 deep before one repeats.
        static string Cycle(int length, string type)
        {
            var text = new StringBuilder("{\"$ref\": \"#/definitions/c0\", \"definitions\": {");
            for (var i = 0; i < length; i++)
            {
                text.Append(i == 0 ? string.Empty : ",").Append("\"c").Append(i).Append("\": {\"type\": \"object\", \"properties\": {\"v\": {\"type\": \"").Append(type)
                    .Append("\"}, \"next\": {\"$ref\": \"#/definitions/c").Append((i + 1) % length).Append("\"}}}");
            }

            return text.Append("}}").ToString();
        }

        Assert.Empty(_diff.Compare(Cycle(97, "string"), Cycle(97, "string")).Changes);
        Assert.Throws<SchemaTooComplexException>(() => _diff.Compare(Cycle(97, "string"), Cycle(89, "string")));
    }

    [Fact]
    public async Task The_embedded_registry_refuses_a_version_whose_recursive_part_is_narrower()
    {
        await using var registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions { DefaultCompatibility = CompatibilityLevel.Backward });
        using var http = new RegistryHttp(registry.Url, TimeSpan.FromSeconds(30));
        var original = Tree("{\"type\": \"integer\"}", "{\"type\": \"number\"}");
        Assert.Equal(200, (await http.PostAsync("subjects/tree/versions", RegistryHttp.JsonSchemaBody(original))).Status);

        var narrower = await http.PostAsync("subjects/tree/versions", RegistryHttp.JsonSchemaBody(SelfSimilar("{\"type\": \"integer\"}")));
        Assert.Equal(409, narrower.Status);
        Assert.Contains("TYPE_NARROWED", narrower.Body, StringComparison.Ordinal);
        Assert.Contains("#/properties/children/items/properties/value", narrower.Body, StringComparison.Ordinal);

        // The same tree, written with one definition for every level and a description: compatible.
        var same = Tree("{\"type\": \"integer\"}", "{\"type\": \"number\", \"description\": \"a node's value\"}");
        Assert.Equal(200, (await http.PostAsync("subjects/tree/versions", RegistryHttp.JsonSchemaBody(same))).Status);
    }
}
