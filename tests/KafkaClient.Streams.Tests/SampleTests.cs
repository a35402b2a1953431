using System.Text.RegularExpressions;
using KafkaClient.TestProcesses;

namespace KafkaClient.Streams.Tests;

/// <summary>
/// samples/StreamJoins (whose stream-table join the README shows) run as a user runs it: on its own embedded stack, and
/// twice against one dev stack (<c>kafka-devstack</c> as a process, named by KAFKA_BOOTSTRAP_SERVERS and SCHEMA_REGISTRY_URL).
/// </summary>
public class SampleTests
{
    /// <summary>What every run prints, on any cluster.</summary>
    private static readonly string[] Joins =
    [
        "table_table_join   id=1 left=apple right=red (at +0 s)",
        "table_table_join   id=1 left=apple right=green (at +1 s)",
        "table_table_join   id=2 left=banana right=yellow (at +2 s)",
        "table_table_join   id=1 deleted (at +3 s)",
        "stream_table_join  id=1 left=event 1 right=green (at +10 s)",
        "stream_table_join  id=2 left=event 2 right=yellow (at +11 s)",
        "stream_table_join  id=3 left=event 3 right=blue (at +12 s)",
        "stream_table_join  id=1 left=event 4 right=purple (at +14 s)",
        "stream_table_join  id=2 left=event 5 right=yellow (at +15 s)",
        "stream_stream_join id=8 left=event 8 right=right event 8 (at +175 s)",
        "SELECT * FROM table_table_join WHERE id = '1';  -> no row",
        "SELECT * FROM table_table_join WHERE id = '2';  -> left=banana right=yellow",
        "StreamJoins done: 4 table-table, 5 stream-table, 1 stream-stream records",
    ];

    [Fact]
    public async Task The_stream_joins_sample_prints_the_three_joins_and_answers_pull_queries()
    {
        var (exitCode, text) = await SampleProcess.RunAsync("StreamJoins.dll");

        Assert.True(exitCode == 0, text);
        Assert.Contains("internal topic stream-joins-table_table_join-changelog (Changelog, 1 partition)", text, StringComparison.Ordinal);
        AssertJoins(text);
    }

    [Fact]
    public async Task The_stream_joins_sample_runs_twice_on_the_dev_stack_where_streamiz_creates_its_internal_topics() =>
        await SampleProcess.RunTwiceOnDevStackAsync("StreamJoins.dll", async (text, stack) =>
        {
            AssertJoins(text);

            // A new application id each run; Streamiz created its changelogs through the stack's CreateTopics, asking for
            // compaction, which the stack reports it does not keep.
            var applicationId = Regex.Match(text, "Streamiz creates the internal topics of application (stream-joins-[0-9a-f]{8})").Groups[1].Value;
            Assert.NotEmpty(applicationId);
            var changelog = $"warning: topic \"{applicationId}-table_table_join-changelog\" was created without its configs (";
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (!stack.Lines.Any(l => l.StartsWith(changelog, StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            Assert.Contains(stack.Lines, l => l.StartsWith(changelog, StringComparison.Ordinal) && l.Contains("cleanup.policy=compact", StringComparison.Ordinal));
        });

    private static void AssertJoins(string text)
    {
        Assert.All(Joins, line => Assert.Contains(line, text, StringComparison.Ordinal));
        Assert.DoesNotContain("id=7 left=event 7", text, StringComparison.Ordinal);
        Assert.DoesNotContain("event 6", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_line_of_the_readmes_stream_processing_code_is_in_the_sample()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Client.sln")))
        {
            root = root.Parent;
        }

        Assert.NotNull(root);
        var readme = File.ReadAllText(Path.Combine(root.FullName, "README.md"));
        var section = readme[readme.IndexOf("## Stream processing", StringComparison.Ordinal)..];
        var code = section[(section.IndexOf("```csharp", StringComparison.Ordinal) + "```csharp".Length)..];
        code = code[..code.IndexOf("```", StringComparison.Ordinal)];
        var sample = File.ReadAllLines(Path.Combine(root.FullName, "samples", "StreamJoins", "Program.cs")).Select(l => l.Trim()).ToHashSet();

        var lines = code.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length >= 10, code);
        Assert.All(lines, line => Assert.Contains(line, sample));
    }
}
