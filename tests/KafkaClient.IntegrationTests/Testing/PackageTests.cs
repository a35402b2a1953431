using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace KafkaClient.IntegrationTests.Testing;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackageCollection
{
    // Packing compiles the libraries again: alone, so that it does not slow the cluster tests past their timeouts.
    public const string Name = "Packages";
}

/// <summary>
/// The packages as a user gets them: src/ packed with a version of its own, and tests/PackageSmoke (a console app
/// that references them by PackageReference only) restored from that folder, built and run; then tests/PackageSmoke.Keyed
/// (a plain console app on Hosting and Streams only) the same way.
/// </summary>
[Collection(PackageCollection.Name)]
public class PackageTests(ITestOutputHelper log)
{
    private static readonly string[] Libraries =
    [
        "KafkaClient", "KafkaClient.SchemaRegistry", "KafkaClient.Testing", "KafkaClient.Hosting", "KafkaClient.OpenTelemetry", "KafkaClient.Streams",
    ];

    /// <summary>The libraries each package depends on (its project references): at the packed version, nothing more.</summary>
    private static readonly Dictionary<string, string[]> LibraryDependencies = new(StringComparer.Ordinal)
    {
        ["KafkaClient"] = [],
        ["KafkaClient.SchemaRegistry"] = ["KafkaClient"],
        ["KafkaClient.Testing"] = ["KafkaClient", "KafkaClient.SchemaRegistry"],
        ["KafkaClient.Hosting"] = ["KafkaClient"],
        ["KafkaClient.OpenTelemetry"] = ["KafkaClient"],
        ["KafkaClient.Streams"] = ["KafkaClient", "KafkaClient.SchemaRegistry"],
    };

    [Fact]
    public async Task A_console_app_restored_from_the_packed_packages_produces_and_consumes_through_the_registry()
    {
        var root = RepositoryRoot();
        var id = Guid.NewGuid().ToString("N");
        var work = Path.Combine(Path.GetTempPath(), $"kafkaclient-packages-{id}");
        var packages = Path.Combine(work, "packages");
        try
        {
            // Pack in a build folder of its own (--artifacts-path), so the checkout's bin/ and obj/ are not touched.
            var filter = Path.Combine(work, "libraries.slnf");
            Directory.CreateDirectory(work);
            await File.WriteAllTextAsync(filter, SolutionFilter(Path.Combine(root, "Client.sln"), Libraries));
            await DotnetAsync(work, TimeSpan.FromMinutes(8), "pack", filter, "-c", "Release", "--artifacts-path", Path.Combine(work, "artifacts"),
                $"-p:VersionSuffix=smoke-{id}", $"-p:PackageOutputPath={packages}");
            var version = PackedVersion(packages, id);
            foreach (var library in Libraries)
            {
                AssertPackage(Path.Combine(packages, $"{library}.{version}.nupkg"), library, version);
                using var symbols = ZipFile.OpenRead(Path.Combine(packages, $"{library}.{version}.snupkg"));
                Assert.Contains(symbols.Entries, e => e.FullName == $"lib/net10.0/{library}.pdb");
            }

            var fallback = await GlobalPackagesFolderAsync(work);
            var output = await BuildAndRunAsync(root, work, packages, fallback, version, "PackageSmoke");
            foreach (var library in Libraries)
            {
                Assert.True(Directory.Exists(Path.Combine(work, "nuget-packages", library.ToLowerInvariant(), version)), $"{library} {version} was not restored from the pack folder");
                Assert.Matches(new Regex($@"^loaded {Regex.Escape(library)} {Regex.Escape(version)}(\+\w+)?\r?$", RegexOptions.Multiline), output);
            }

            Assert.Contains("package smoke passed", output, StringComparison.Ordinal);

            // Without the ASP.NET Core shared framework (which KafkaClient.Testing brings to the app above), the
            // container is the Microsoft.Extensions.DependencyInjection the packages resolve to: with Streams, it
            // must still be one that supports keyed services (Streamiz alone would make it 6.0.0).
            var keyed = await BuildAndRunAsync(root, work, packages, fallback, version, "PackageSmoke.Keyed");
            foreach (var library in new[] { "KafkaClient.Hosting", "KafkaClient.Streams" })
            {
                Assert.Matches(new Regex($@"^loaded {Regex.Escape(library)} {Regex.Escape(version)}(\+\w+)?\r?$", RegexOptions.Multiline), keyed);
            }

            Assert.Contains("keyed package smoke passed", keyed, StringComparison.Ordinal);
            var container = Regex.Match(keyed, @"^loaded Microsoft\.Extensions\.DependencyInjection (\d+)\.", RegexOptions.Multiline);
            Assert.True(container.Success && int.Parse(container.Groups[1].Value, CultureInfo.InvariantCulture) >= 8, $"the keyed app ran on a container without keyed services:\n{keyed}");
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
                // A leftover in the temp folder is not worth failing the test for.
            }
        }
    }

    /// <summary>
    /// Builds and runs a copy of tests/{app} outside the checkout, so that none of its props, nuget.config or central
    /// versions apply. Its nuget.config adds the pack folder to the machine's sources; packages are extracted into a
    /// folder of the test's own (nothing stale can be picked up), with the machine's package folder as a read-only
    /// fallback for the dependencies. Returns what the app printed; fails unless it exits 0.
    /// </summary>
    private async Task<string> BuildAndRunAsync(string root, string work, string packages, string fallback, string version, string app)
    {
        var copy = Path.Combine(work, app);
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.GetFiles(Path.Combine(root, "tests", app)))
        {
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }

        await File.WriteAllTextAsync(Path.Combine(copy, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="kafkaclient-under-test" value="{packages}" />
              </packageSources>
            </configuration>
            """);
        await DotnetAsync(copy, TimeSpan.FromMinutes(5), "build", "-c", "Release", $"-p:KafkaClientVersion={version}",
            $"-p:RestorePackagesPath={Path.Combine(work, "nuget-packages")}", $"-p:RestoreAdditionalProjectFallbackFolders={fallback}");
        return await DotnetAsync(copy, TimeSpan.FromMinutes(2), Path.Combine(copy, "bin", "Release", "net10.0", $"{app}.dll"));
    }

    private static void AssertPackage(string path, string library, string version)
    {
        using var package = ZipFile.OpenRead(path);
        Assert.Contains(package.Entries, e => e.FullName == $"lib/net10.0/{library}.dll");
        Assert.Contains(package.Entries, e => e.FullName == $"lib/net10.0/{library}.xml");
        var readme = package.GetEntry("README.md");
        Assert.NotNull(readme);
        using (var reader = new StreamReader(readme.Open()))
        {
            Assert.StartsWith("# KafkaClient", reader.ReadToEnd(), StringComparison.Ordinal);
        }

        using var nuspec = new StreamReader(package.GetEntry($"{library}.nuspec")!.Open());
        var metadata = nuspec.ReadToEnd();
        Assert.Contains("<readme>README.md</readme>", metadata, StringComparison.Ordinal);
        Assert.Contains("<license type=\"expression\">Apache-2.0</license>", metadata, StringComparison.Ordinal);
        Assert.Contains("<repository type=\"git\"", metadata, StringComparison.Ordinal);
        Assert.Matches("<description>.+</description>", metadata);

        // Project references become dependencies on the packages of the same version; a library that is not packed
        // (or packed under another name) would be a dependency no source serves.
        var dependencies = Regex.Matches(metadata, "<dependency id=\"(KafkaClient[^\"]*)\" version=\"([^\"]*)\"")
            .Select(m => (Id: m.Groups[1].Value, Version: m.Groups[2].Value))
            .ToList();
        Assert.Equal(LibraryDependencies[library].Order(StringComparer.Ordinal), dependencies.Select(d => d.Id).Order(StringComparer.Ordinal));
        Assert.All(dependencies, d => Assert.Equal(version, d.Version));
    }

    private static string PackedVersion(string packages, string id)
    {
        var name = Path.GetFileName(Assert.Single(Directory.GetFiles(packages, "KafkaClient.Testing.*.nupkg")));
        var version = name["KafkaClient.Testing.".Length..^".nupkg".Length];
        Assert.EndsWith($"-smoke-{id}", version, StringComparison.Ordinal);
        return version;
    }

    private static string SolutionFilter(string solution, IEnumerable<string> projects)
    {
        var list = string.Join(",\n", projects.Select(p => $"      \"src/{p}/{p}.csproj\""));
        return $$"""
            {
              "solution": {
                "path": "{{solution.Replace("\\", "\\\\", StringComparison.Ordinal)}}",
                "projects": [
            {{list}}
                ]
              }
            }
            """;
    }

    private async Task<string> GlobalPackagesFolderAsync(string workingDirectory)
    {
        var output = await DotnetAsync(workingDirectory, TimeSpan.FromMinutes(1), "nuget", "locals", "global-packages", "--list");
        var line = output.Split('\n').Single(l => l.StartsWith("global-packages:", StringComparison.Ordinal));
        return line["global-packages:".Length..].Trim();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Client.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no Client.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Runs the dotnet CLI to completion; fails the test with everything it printed unless it exits 0.</summary>
    private async Task<string> DotnetAsync(string workingDirectory, TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // A nested build must not inherit the test run's MSBuild settings, nor leave build servers behind holding
        // this process's output pipes open.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment.Remove("KAFKA_BOOTSTRAP_SERVERS");
        start.Environment.Remove("SCHEMA_REGISTRY_URL");

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        var stopwatch = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            // Also waits until both outputs are read to their end.
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"dotnet {string.Join(' ', arguments)} did not finish in {timeout}:\n{Text()}");
        }

        log.WriteLine($"dotnet {string.Join(' ', arguments)}: exit code {process.ExitCode} after {stopwatch.Elapsed.TotalSeconds:F1} s");
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited with {process.ExitCode} after {stopwatch.Elapsed.TotalSeconds:F0} s:\n{Text()}");
        return Text();

        void Append(string? line)
        {
            if (line is not null)
            {
                lock (output)
                {
                    output.AppendLine(line);
                }
            }
        }

        string Text()
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }
}
