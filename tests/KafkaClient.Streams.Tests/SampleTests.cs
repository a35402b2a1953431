using KafkaClient.TestProcesses;

namespace KafkaClient.Streams.Tests;

/// <summary>samples/StreamJoins (whose stream-table join the README shows) run as a user runs it, on its own embedded stack.</summary>
public class SampleTests
{
    /// <summary>What every run prints.</summary>
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
