using System.Diagnostics;
using System.Text;
using KafkaClient.SchemaRegistry.Compatibility;
using KafkaClient.SchemaRegistry.Compatibility.Json;
using KafkaClient.Testing;

namespace KafkaClient.Tests.SchemaRegistry;

/// <summary>Schemas built to make the JSON Schema diff exponential, and a slow comparison that must not hold up other requests.</summary>
public class EmbeddedRegistryDenialOfServiceTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Builds a schema of <paramref name="layers"/> layers of definitions: each layer is an anyOf that refers twice to the
    /// layer below, so that a diff which re-compares shared subschemas does 4^layers comparisons.
    /// </summary>
    internal static string LayeredSchema(int layers, string? rootDescription = null, int leafMaxLength = 10)
    {
        var text = new StringBuilder();
        text.Append("{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\",");
        if (rootDescription is not null)
        {
            text.Append("\"description\":\"").Append(rootDescription).Append("\",");
        }

        text.Append("\"properties\":{\"p\":{\"$ref\":\"#/definitions/L").Append(layers).Append("\"}},\"definitions\":{");
        text.Append("\"L0\":{\"type\":\"string\",\"maxLength\":").Append(leafMaxLength).Append('}');
        for (var i = 1; i <= layers; i++)
        {
            text.Append(",\"L").Append(i).Append("\":{\"anyOf\":[{\"$ref\":\"#/definitions/L").Append(i - 1)
                .Append("\"},{\"$ref\":\"#/definitions/L").Append(i - 1).Append("\",\"description\":\"again\"}]}");
        }

        return text.Append("}}").ToString();
    }

    [Fact]
    public async Task Second_version_of_a_14_layer_shared_ref_schema_is_checked_at_once_and_other_requests_are_served_meanwhile()
    {
        await using var registry = await EmbeddedSchemaRegistry.StartAsync();
        using var http = new RegistryHttp(registry.Url, HangGuard);
        var v1 = LayeredSchema(14);
        var v2 = LayeredSchema(14, rootDescription: "second version");
        Assert.InRange(v1.Length, 1000, 2000); // the size of the schema that took over a minute

        Assert.Equal(200, (await http.PostAsync("subjects/dos/versions", RegistryHttp.JsonSchemaBody(v1))).Status);
        var stopwatch = Stopwatch.StartNew();
        var second = http.PostAsync("subjects/dos/versions", RegistryHttp.JsonSchemaBody(v2));

        // An unrelated request, while the second version is being checked, answers at once.
        do
        {
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var subjects = await http.GetAsync("subjects", quick.Token);
            Assert.Equal(200, subjects.Status);
        }
        while (!second.IsCompleted && stopwatch.Elapsed < HangGuard);

        var answer = await second.WaitAsync(HangGuard);
        Assert.Equal(200, answer.Status);
        Assert.Contains("\"id\"", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_schema_whose_differences_multiply_beyond_the_bound_gets_a_clear_422()
    {
        await using var registry = await EmbeddedSchemaRegistry.StartAsync();
        using var http = new RegistryHttp(registry.Url, HangGuard);

        // A change at the bottom of 30 layers is reported at 2^30 locations: beyond the bound, refused quickly.
        Assert.Equal(200, (await http.PostAsync("subjects/deep/versions", RegistryHttp.JsonSchemaBody(LayeredSchema(30)))).Status);
        var answer = await http.PostAsync("subjects/deep/versions", RegistryHttp.JsonSchemaBody(LayeredSchema(30, leafMaxLength: 20)));
        Assert.Equal(422, answer.Status);
        Assert.Equal(42201, answer.ErrorCode);
        Assert.Contains("too complex", answer.Body, StringComparison.Ordinal);

        var test = await http.PostAsync("compatibility/subjects/deep/versions/latest", RegistryHttp.JsonSchemaBody(LayeredSchema(30, leafMaxLength: 20)));
        Assert.Equal(422, test.Status);
        Assert.Equal(42201, test.ErrorCode);
    }

    [Fact]
    public void Diff_compares_shared_subschemas_once()
    {
        var diff = new JsonSchemaDiff();
        var result = diff.Compare(LayeredSchema(40), LayeredSchema(40, rootDescription: "changed"));
        Assert.Equal(["DESCRIPTION_CHANGED #/"], result.Changes);

        // Differences below shared subschemas are still reported at every location, as before.
        var deep = diff.Compare(LayeredSchema(3), LayeredSchema(3, leafMaxLength: 20));
        Assert.Equal(8, deep.Changes.Count);
        Assert.All(deep.Changes, c => Assert.StartsWith("MAX_LENGTH_INCREASED #/properties/p/anyOf/", c, StringComparison.Ordinal));
        Assert.True(deep.IsCompatible);

        Assert.Throws<SchemaTooComplexException>(() => diff.Compare(LayeredSchema(30), LayeredSchema(30, leafMaxLength: 20)));
    }

    [Fact]
    public async Task A_comparison_in_progress_holds_no_lock_and_a_subject_changed_meanwhile_is_checked_again()
    {
        await using var registry = await EmbeddedSchemaRegistry.StartAsync(new EmbeddedSchemaRegistryOptions { DefaultCompatibility = CompatibilityLevel.Backward });
        using var http = new RegistryHttp(registry.Url, HangGuard);
        static string Body(int maxLength) => RegistryHttp.JsonSchemaBody($"{{\"type\":\"string\",\"maxLength\":{maxLength}}}");
        Assert.Equal(200, (await http.PostAsync("subjects/held/versions", Body(10))).Status);

        using var entered = new SemaphoreSlim(0);
        using var release = new SemaphoreSlim(0);
        var held = 0;
        registry.Store.CompareStarting = subject =>
        {
            if (subject == "held" && Interlocked.Exchange(ref held, 1) == 0)
            {
                entered.Release();
                Assert.True(release.Wait(HangGuard));
            }
        };

        // maxLength 15 is compatible with 10, the only version when the comparison starts.
        var pending = http.PostAsync("subjects/held/versions", Body(15));
        Assert.True(await entered.WaitAsync(HangGuard));

        // While that comparison is held: reads, registrations elsewhere and in the same subject go through.
        using (var quick = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            Assert.Equal(200, (await http.GetAsync("subjects", quick.Token)).Status);
            Assert.Equal(200, (await http.SendAsync("POST", "subjects/other/versions", Body(1), cancellationToken: quick.Token)).Status);
            Assert.Equal(200, (await http.SendAsync("POST", "subjects/held/versions", Body(20), cancellationToken: quick.Token)).Status);
        }

        release.Release();

        // The subject changed meanwhile: 15 is checked again, now against 20, and refused (maxLength decreased).
        var answer = await pending.WaitAsync(HangGuard);
        Assert.Equal(409, answer.Status);
        Assert.Contains("MAX_LENGTH_DECREASED", answer.Body, StringComparison.Ordinal);
    }
}
